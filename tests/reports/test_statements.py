"""Statements of account for audits in CSV, HTML and XLSX, through the CLI, with the right balances."""

from __future__ import annotations

import csv
import json

import openpyxl
from typer.testing import CliRunner

from careledger.cli import app
from tests.reconciliation.builders import Book, day


def test_statement_in_three_formats(db_url, tmp_path):
    # Goal: `careledger statement C1 --from --to --out DIR` writes CSV, HTML and XLSX whose opening, items and
    # closing agree with the ledger (opening = items before the period; closing = opening + items).
    book = Book(db_url).card("C1", "A", "10000001")
    book.save_reference()
    book.post([
        book.item("A", "L1", "10000001", "council_load", 100_000, day(1), reference="L1"),
        book.item("A", "P1", "10000001", "card_purchase", -1_249, day(2)),
        book.item("A", "P2", "10000001", "card_purchase", -24_000, day(3)),
        book.item("A", "P3", "10000001", "card_purchase", -500, day(6)),
    ])
    runner = CliRunner()
    res = runner.invoke(app, ["statement", "C1", "--from", str(day(2)), "--to", str(day(4)), "--db", db_url,
                              "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout.strip().splitlines()[-1])
    assert (payload["opening_pence"], payload["closing_pence"]) == (100_000, 100_000 - 1_249 - 24_000)

    stem = f"statement_C1_{day(2)}_{day(4)}"
    wb = openpyxl.load_workbook(tmp_path / f"{stem}.xlsx")
    ws = wb["Statement"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert rows[0][3] == "Opening balance" and rows[0][6] == 1_000.00
    assert [r[5] for r in rows[1:-1]] == [-12.49, -240.00]
    assert rows[-1][3] == "Closing balance" and rows[-1][6] == 747.51
    assert ws.cell(5, 6).number_format == "£#,##0.00"

    html = (tmp_path / f"{stem}.html").read_text(encoding="utf-8")
    assert "Statement of account — client C1" in html and "£747.51" in html and "£1,000.00" in html
    assert "10000001" not in html

    raw = (tmp_path / f"{stem}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (tmp_path / f"{stem}.csv").open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    assert [r["type"] for r in lines] == ["opening", "card_purchase", "card_purchase", "closing"]
    assert lines[-1]["balance_gbp"] == "747.51"
