"""Goal: instructions issued by an approved schedule are matched when each provider's own feed
carries the unload back — A's UNLOAD row (Reference), B's gpa.debit (memo), C's payment to the
council's funding account (TransactionReference) — read by the real readers and posted by the real
ingest, and the ledger then shows the money recovered from the council part."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import text

from clawback import run
from db.engine import get_engine
from feeds.ingest import ingest_drop
from ledger.posting_rules import item_payload_hash
from ledger.queries import balances
from tests.clawback.builders import councils_yaml

CARDHOLDERS = (
    "client_id,council,provider,account_id,opened,closed,weekly_budget,contingency_weeks,cash_allowed,"
    "cash_weekly_limit,contribution_model,team,safeguarding_email\n"
    "C1,Testshire,A,10442817,2025-01-06,,100.00,,N,,none,North,\n"
    "C2,Testshire,B,ct_19a0,2025-01-06,,100.00,,N,,none,North,\n"
    "C3,Testshire,C,acc0077,2025-01-06,,100.00,,N,,none,North,\n"
)
A_HEADER = (
    "Account Number,Transaction ID,Transaction Date,Posted Date,Type,Description,Merchant Name,MCC,Money In,"
    "Money Out,Balance,Status,Related Transaction ID,Payee Name,Payee Sort Code,Payee Account Number,Reference"
)


def _b(token, etype, pence, created, memo="", balance=None):
    return json.dumps({
        "token": token, "card_token": "ct_19a0", "type": etype, "state": "COMPLETION", "amount_minor": pence, "currency": "GBP",
        "created_time": created, "settlement_date": created[:10], "preceding_related_token": None, "card_acceptor": None,
        "counterparty": None, "memo": memo, "balance_after_minor": balance,
    })


def _c(txn_id, pounds, indicator, at, account, reference=None):
    item = {
        "AccountId": "acc0077", "TransactionId": txn_id, "Amount": {"Amount": pounds, "Currency": "GBP"},
        "CreditDebitIndicator": indicator, "Status": "Booked", "BookingDateTime": at, "ValueDateTime": at,
        "TransactionInformation": "Council" if indicator == "Credit" else "Return to council",
    }
    item["DebtorAccount" if indicator == "Credit" else "CreditorAccount"] = account
    if reference:
        item["TransactionReference"] = reference
    return item


FUNDING = {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "40112290001234", "Name": "Testshire"}


def _drop(root: Path, day: str, a_rows: list[str], b_rows: list[str], c_items: list[dict], closing_pence: int) -> Path:
    folder = root / day
    folder.mkdir(parents=True)
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    (folder / "councils.yaml").write_text(councils_yaml())
    (folder / "cardholders.csv").write_text(CARDHOLDERS)
    (folder / "payees.csv").write_text("client_id,payee_name,sort_code,account_number,kind,approved_from,approved_to\n")
    (folder / "contributions.csv").write_text("client_id,weekly_amount,effective_from,effective_to,reference\n")
    (folder / "load_schedule.csv").write_text("client_id,due_date,amount,reference\n")
    (folder / "client_events.csv").write_text("client_id,event,date\n")
    (folder / "commitments.csv").write_text("client_id,due_date,amount,description\n")
    (folder / f"A_transactions_{day}.csv").write_bytes(("\r\n".join([A_HEADER, *a_rows]) + "\r\n").encode())
    d = f"{day[6:]}/{day[4:6]}/{day[:4]}"
    pounds = f"{closing_pence / 100:.2f}"
    (folder / f"A_balances_{day}.csv").write_bytes(
        f"Account Number,Balance Date,Closing Balance,Available Balance\r\n10442817,{d},{pounds},{pounds}\r\n".encode()
    )
    (folder / f"B_events_{day}.jsonl").write_text("".join(r + "\n" for r in b_rows))
    (folder / f"B_balances_{day}.jsonl").write_text(json.dumps(
        {"card_token": "ct_19a0", "as_of_date": iso, "ledger_balance_minor": closing_pence, "available_balance_minor": closing_pence}
    ) + "\n")
    (folder / f"C_transactions_{day}.json").write_text(json.dumps({"Data": {"Transaction": c_items}}))
    (folder / f"C_balances_{day}.json").write_text(json.dumps({"Data": {"Balance": [{
        "AccountId": "acc0077", "Amount": {"Amount": pounds, "Currency": "GBP"}, "CreditDebitIndicator": "Credit",
        "Type": "ClosingBooked", "DateTime": f"{iso}T23:00:00+00:00"}]}}))
    return folder


def test_unloads_in_each_provider_format_match_their_instructions(db_url, tmp_path):
    drops = tmp_path / "drops"
    day1 = _drop(
        drops, "20260302",
        ['10442817,A1,02/03/2026 09:00:00,02/03/2026,LOAD,Council load,,,"1,000.00",,"1,000.00",SETTLED,,,,,DP-1'],
        [_b("b-load", "gpa.credit", 100_000, "2026-03-02T09:00:00Z", balance=100_000)],
        [_c("c-load", "1000.00", "Credit", "2026-03-02T09:00:00+00:00", FUNDING)],
        100_000,
    )
    day2 = _drop(drops, "20260303", [], [], [], 100_000)
    for d in (day1, day2):
        summary = ingest_drop(db_url, d)
        assert not summary.refused, summary.as_dict()

    sched = run.compute_schedule(db_url, "2026-W10", tmp_path / "out")["councils"]["Testshire"]
    assert sched["lines_to_recover"] == 3 and sched["total_to_recover_pence"] == 3 * 40_000  # 1000 - 6 x 100 each
    approved = run.approve(db_url, "2026-W10", tmp_path / "out", "J Finance")["councils"]["Testshire"]
    assert approved["issued"] == 3 and set(approved["files"]) == {"A", "B", "C"}

    # The providers carry the instructions out; each feed carries the reference its own way.
    day3 = _drop(
        drops, "20260305",
        ["10442817,A2,05/03/2026 08:00:00,05/03/2026,UNLOAD,Return to council,,,,400.00,600.00,SETTLED,,,,,CB 2026-W10 2817"],
        [_b("b-unload", "gpa.debit", 40_000, "2026-03-05T08:00:00Z", memo="CB 2026-W10 19a0", balance=60_000)],
        [_c("c-unload", "400.00", "Debit", "2026-03-05T08:00:00+00:00", FUNDING, reference="CB 2026-W10 0077")],
        60_000,
    )
    assert not ingest_drop(db_url, day3).refused
    matched = run.match_unloads_for_day(db_url, dt.date(2026, 3, 5))["councils"]["Testshire"]
    assert matched == {"matched": 3, "waiting": 0, "overdue": 0, "exceptions_raised": 0, "exceptions_resolved": 0}
    with get_engine(db_url).connect() as conn:
        b = dict(balances(conn, prefix="c").select("code", "balance_pence").iter_rows())
    assert b["council:Testshire:recovered"] == 120_000
    assert all(b[f"card:{p}:council"] == 60_000 for p in ("A:10442817", "B:ct_19a0", "C:acc0077"))
    # Ingest hashes items before classify decides their kinds (the read-ahead worker); C's payment to the
    # funding account became an unload there, so its hash is the unload's, as on every other stored item.
    with get_engine(db_url).connect() as conn:
        stored = conn.execute(text(
            "SELECT provider, provider_txn_id, account_id, kind, amount_pence, related_txn_id, payload_hash FROM transactions"
        )).mappings().all()
    assert {(r["provider_txn_id"], r["kind"]) for r in stored} >= {("c-unload", "unload"), ("c-load", "council_load")}
    assert all(r["payload_hash"] == item_payload_hash(r) for r in stored), stored
