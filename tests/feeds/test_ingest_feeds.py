"""Goal: what the readers produce goes through ingest into the database as intended — holds closed
by a release, a force-post posted, C council loads recognised, card numbers never stored (only the
incident), bad rows kept in quarantine with line and reason."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import ingest_drop
from ledger.verify import verify_ledger
from tests.feeds.files import a_row, b_line, c_txn, write_a, write_b, write_c
from tests.ingest import drops

PAN = "4111111111111111"


def test_release_force_post_c_load_pan_and_quarantine_end_to_end(db_url, tmp_path):
    day1 = drops.write_drop(tmp_path, "20260302", [], [], {"A": 48_751, "B": 10_000 - 799})  # closing balances tie: no take-on
    with (day1 / "cardholders.csv").open("a", encoding="utf-8") as fh:
        fh.write("C0777,Testshire,C,acc-777,2025-01-06,,280.00,,N,,net,North,\n")
    write_a(day1, [
        a_row("A1", "02/03/2026 09:00:00", "LOAD", money_in="500.00", money_out="", posted="02/03/2026", balance="500.00",
              reference="DP-0442817-2026-03"),
        a_row("A2", "02/03/2026 10:00:00", description=f"Card {PAN}", posted="02/03/2026", balance="487.51"),
        a_row("A3", "31/02/2026 10:00:00", reference=f"bad date {PAN}"),
    ])
    write_b(day1, [
        b_line("b-load", "gpa.credit", "COMPLETION", 10_000, "2026-03-02T08:00:00Z", settlement="2026-03-02", mcc=None),
        b_line("auth1", "authorization", "PENDING", 2_000, "2026-03-02T12:00:00Z"),
        b_line("force1", "authorization.clearing", "COMPLETION", 799, "2026-03-02T13:00:00Z", settlement="2026-03-02"),
    ])
    write_c(day1, [
        c_txn("c-load", "300.00", "Credit", account="acc-777", debtor=("UK.OBIE.SortCodeAccountNumber", "40112290001234", "TESTSHIRE CC")),
        c_txn("c-spend", "20.00", account="acc-777", mcc="5411", merchant="TESCO"),
    ])
    s1 = ingest_drop(db_url, day1)
    assert not s1.refused, [f.message for f in s1.refused]
    a_file = next(f for f in s1.files if f.file_name.startswith("A_transactions"))
    assert (a_file.rows_quarantined, a_file.incidents) == (1, 2)
    assert "SECURITY" in a_file.message

    day2 = tmp_path / "d2"
    day2.mkdir()
    write_b(day2, [b_line("rel1", "authorization.release", "CLEARED", 2_000, "2026-03-03T12:00:00Z", related="auth1")], day="20260303")
    s2 = ingest_drop(db_url, day2)
    assert not s2.refused

    with get_engine(db_url).connect() as conn:
        assert verify_ledger(conn).ok
        take_ons = conn.execute(text("SELECT count(*) FROM journal_entries WHERE entry_type = 'take_on'")).scalar_one()
        tx = {r[0]: r[1:] for r in conn.execute(text("SELECT provider_txn_id, kind, status, hold_open, entry_id FROM transactions"))}
        card_b = conn.execute(text("SELECT sum(amount_pence) FROM postings WHERE account_code LIKE 'card:B:%'")).scalar_one()
        card_c = conn.execute(text("SELECT sum(amount_pence) FROM postings WHERE account_code LIKE 'card:C:%'")).scalar_one()
        funding_c = conn.execute(
            text("SELECT count(*) FROM journal_entries WHERE provider_txn_id = 'c-load' AND entry_type = 'council_load'")
        ).scalar_one()
        quarantine = conn.execute(text("SELECT source_file, source_line, reason, raw_text FROM quarantine")).all()
        incidents = conn.execute(text("SELECT source_file, source_line, field, description FROM security_incidents ORDER BY 2")).all()
        everything = " ".join(
            str(row)
            for table in ("transactions", "quarantine", "security_incidents", "journal_entries", "feed_files")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert tx["auth1"][1:3] == ("pending", False)  # the release closed the hold
    assert tx["rel1"][1] == "released" and tx["rel1"][3] is None  # nothing posts for a release
    assert tx["force1"][1] == "settled" and tx["force1"][3] is not None  # settlement with no authorisation posts
    assert card_b == 10_000 - 799 and take_ons == 0
    assert funding_c == 1 and card_c == 30_000 - 2_000
    assert [(q[0], q[1]) for q in quarantine] == [("A_transactions_20260302.csv", 4)]
    assert "Transaction Date" in quarantine[0][2] and "************1111" in quarantine[0][3]
    assert [(i[1], i[2]) for i in incidents] == [(3, "Description"), (4, "Reference")]
    assert PAN not in everything
    assert tx["A1"][0] == "council_load"


def test_a_payer_who_contributed_before_is_recognised_on_a_later_day(db_url, tmp_path):
    contrib = dict(money_in="35.33", money_out="", payee="J SMITH", sort_code="309634", payee_account="12345678")
    day1 = drops.write_drop(tmp_path, "20260302", [], [], {"A": 3_533, "B": 0})
    write_a(day1, [a_row("A1", "02/03/2026 09:00:00", "SO_IN", **contrib, posted="02/03/2026", reference="CONTRIB 0442817")])
    day2 = drops.write_drop(tmp_path, "20260309", [], [], {"A": 10_599, "B": 0})
    write_a(day2, [
        a_row("A2", "09/03/2026 09:00:00", "SO_IN", **contrib, posted="09/03/2026", reference="J SMITH CARE"),
        a_row("A3", "09/03/2026 09:00:00", "FPS_IN", money_in="35.33", money_out="", posted="09/03/2026",
              payee="A STRANGER", sort_code="111111", payee_account="22222222", reference="J SMITH CARE"),
    ], day="20260309")
    for folder in (day1, day2):
        assert not ingest_drop(db_url, folder).refused
    with get_engine(db_url).connect() as conn:
        kinds = dict(conn.execute(text("SELECT provider_txn_id, kind FROM transactions WHERE provider = 'A'")).all())
    assert kinds == {"A1": "contribution", "A2": "contribution", "A3": "other_money_in"}
