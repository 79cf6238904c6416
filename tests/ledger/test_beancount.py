"""Goal: Beancount's own checker — a tool nobody here wrote — agrees our books balance and tie to the provider."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from db.engine import get_engine
from ledger.export_beancount import export_beancount
from ledger.journal import post_entries
from tests.ledger import factories as f

BEAN_CHECK = shutil.which("bean-check") or str(Path(sys.executable).with_name("bean-check"))


def _provider_balance(url: str, day: dt.date, pence: int) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO provider_balances (provider, account_id, balance_date, closing_balance_pence, source_file, loaded_at)"
                " VALUES ('A', '10442817', :d, :p, 'A_balances.csv', :t)"
            ),
            {"d": day, "p": pence, "t": dt.datetime.now(dt.UTC)},
        )


def _bean_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BEAN_CHECK, str(path)], capture_output=True, text=True, timeout=120)


def test_bean_check_accepts_our_ledger_and_balances(db_url, tmp_path):
    d1, d2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    with get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L1", 112_000, d1), f.spend("S1", 1_249, d2)]), f.accounts(), source="t")
    _provider_balance(db_url, d1, 112_000)
    _provider_balance(db_url, d2, 110_751)
    with get_engine(db_url).connect() as conn:
        path = export_beancount(conn, tmp_path / "ledger.beancount")
    content = path.read_text()
    assert "2026-03-04 balance Assets:Card:A-10442817  1107.51 ~ 0.001 GBP" in content
    result = _bean_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bean_check_catches_a_balance_that_does_not_tie(sqlite_url, tmp_path):
    with get_engine(sqlite_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L1", 112_000)]), f.accounts(), source="t")
    _provider_balance(sqlite_url, dt.date(2026, 3, 2), 111_999)
    with get_engine(sqlite_url).connect() as conn:
        path = export_beancount(conn, tmp_path / "ledger.beancount")
    result = _bean_check(path)
    assert result.returncode != 0
    assert "Balance failed" in result.stdout + result.stderr
