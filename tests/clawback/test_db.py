"""Goal: the weekly clawback and contribution runs are reproducible and safe against the real ledger
(SQLite and PostgreSQL): re-running changes nothing, approving twice issues nothing new, exclusions
show their reasons, unloads are matched to instructions and unmatched ones become exceptions.

State is built through the real ledger: reference data with ``save_reference`` and canonical rows
posted by ``feeds.ingest.store_and_post``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from sqlalchemy import MetaData, Table, inspect, select, text

from clawback import run
from clawback.contributions import run_contributions
from clawback.tables import clawback_instructions, clawback_lines, contribution_weeks
from db.engine import get_engine
from reconciliation.exceptions import list_exceptions
from tests.clawback import builders as b

D = dt.date
WEEK = "2026-W10"  # clawback day Wednesday 2026-03-04, balances at end of 2026-03-03


def _base_state(url: str) -> None:
    with get_engine(url).begin() as conn:
        ref = b.save_ref(
            conn,
            holders=[
                b.holder("C1", "A", "10000001", weekly_budget_pence=10_000, model="net"),  # recover
                b.holder("C2", "B", "ct_2", opened=D(2026, 2, 20)),  # starter float
                b.holder("C3", "C", "acc-3", closed=D(2026, 2, 27)),  # closed: recover all
                b.holder("C4", "A", "10000004", weekly_budget_pence=10_000),  # deceased
                b.holder("C5", "A", "10000005", weekly_budget_pence=10_000),  # below minimum
            ],
            contributions=[{"client_id": "C1", "weekly_amount_pence": 3533, "effective_from": D(2025, 1, 6),
                            "effective_to": None, "reference": "CONTRIB 0001"}],
            commitments=[{"client_id": "C1", "due_date": D(2026, 3, 20), "amount_pence": 24_000, "description": "PA wages"},
                         {"client_id": "C1", "due_date": D(2026, 6, 1), "amount_pence": 99_999, "description": "later"}],
            events=[{"client_id": "C4", "event": "deceased", "date": D(2026, 2, 25)}],
        )
        b.post(conn, ref, [
            b.txn("A", "10000001", "C1", "council_load", 120_000, D(2026, 2, 2)),
            b.txn("A", "10000001", "C1", "contribution", 3_533, D(2026, 2, 3), reference="CONTRIB 0001"),
            b.txn("A", "10000001", "C1", "card_purchase", -2_000, D(2026, 2, 4)),
            b.txn("A", "10000001", "C1", "card_purchase", -500, D(2026, 3, 2), status="pending"),
            b.txn("B", "ct_2", "C2", "council_load", 90_000, D(2026, 2, 23)),
            b.txn("C", "acc-3", "C3", "council_load", 41_240, D(2026, 2, 2)),
            b.txn("A", "10000004", "C4", "council_load", 80_000, D(2026, 2, 2)),
            b.txn("A", "10000005", "C5", "council_load", 64_000, D(2026, 2, 2)),
        ])


def _lines(url: str) -> dict[str, dict]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(select(clawback_lines).where(clawback_lines.c.run_id == f"Testshire:{WEEK}")).mappings().all()
    return {r["client_id"]: dict(r) for r in rows}


def test_schedule_figures_and_rerun_idempotent(db_url, tmp_path):
    _base_state(db_url)
    first = run.compute_schedule(db_url, WEEK, tmp_path / "out")["councils"]["Testshire"]
    lines = _lines(db_url)
    # C1: balance 1200 + 35.33 - 20 = 1215.33; reserve 600 + 240 (due in window) + 5 hold = 845;
    # client part 15.33 is charged first, so the council surplus is the whole surplus 370.33.
    c1 = lines["C1"]
    assert (c1["balance_pence"], c1["council_part_pence"], c1["client_part_pence"]) == (121_533, 120_000, 1_533)
    assert (c1["contingency_pence"], c1["commitments_pence"], c1["holds_pence"]) == (60_000, 24_000, 500)
    assert c1["amount_to_recover_pence"] == 121_533 - 84_500 and c1["outcome"] == "recover"
    assert lines["C2"]["outcome"] == "excluded" and "starter float" in lines["C2"]["reason"]
    assert lines["C3"]["outcome"] == "recover_all" and lines["C3"]["amount_to_recover_pence"] == 41_240
    assert "closed" in lines["C3"]["reason"]
    assert lines["C4"]["outcome"] == "recover_all" and "deceased" in lines["C4"]["reason"]
    assert lines["C5"]["outcome"] == "below_minimum" and lines["C5"]["amount_to_recover_pence"] == 0
    assert first["total_to_recover_pence"] == sum(r["amount_to_recover_pence"] for r in lines.values())
    assert first["changed"] is True

    files = {k: Path(v).read_bytes() for k, v in first["files"].items()}
    assert files["csv"].startswith(b"\xef\xbb\xbf")
    again = run.compute_schedule(db_url, WEEK, tmp_path / "out")["councils"]["Testshire"]
    assert again["changed"] is False
    assert _lines(db_url) == lines
    assert {k: Path(v).read_bytes() for k, v in again["files"].items()} == files
    assert {k: again[k] for k in first if k not in ("changed", "files")} == {k: first[k] for k in first if k not in ("changed", "files")}


def test_approve_twice_issues_nothing_new_and_approved_week_is_frozen(db_url, tmp_path):
    _base_state(db_url)
    out = tmp_path / "out"
    run.compute_schedule(db_url, WEEK, out)
    one = run.approve(db_url, WEEK, out, "J Finance")["councils"]["Testshire"]
    assert one["status"] == "approved" and one["issued"] == 3  # C1, C3 (closed), C4 (deceased)
    files = {p: Path(f).read_bytes() for p, f in one["files"].items()}
    assert set(files) == {"A", "C"}
    a_rows = files["A"].decode().split("\r\n")
    assert a_rows[0] == "Account Number,Amount,Reference" and "10000001,370.33,CB 2026-W10 0001" in a_rows
    two = run.approve(db_url, WEEK, out, "Someone Else")["councils"]["Testshire"]
    assert two["status"] == "already_approved" and two["issued"] == 0 and two["approved_by"] == "J Finance"
    assert {p: Path(f).read_bytes() for p, f in two["files"].items()} == files
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clawback_instructions")).scalar_one() == 3
    # New money after approval does not change the approved schedule.
    before = _lines(db_url)
    with get_engine(db_url).begin() as conn:
        from records.reference import load_reference

        b.post(conn, load_reference(conn), [b.txn("A", "10000005", "C5", "council_load", 50_000, D(2026, 3, 2))])
    again = run.compute_schedule(db_url, WEEK, out)["councils"]["Testshire"]
    assert again["status"] == "approved" and _lines(db_url) == before


def _add_safeguarding_case(conn, council: str, client_id: str, **dates) -> None:
    """Insert an open case into screening's table, creating a minimal one if screening has not yet."""
    if not inspect(conn).has_table("safeguarding_cases"):
        conn.execute(text("CREATE TABLE safeguarding_cases (case_id INTEGER PRIMARY KEY, council VARCHAR(100),"
                          " client_id VARCHAR(100), rule VARCHAR(60), status VARCHAR(20))"))
    table = Table("safeguarding_cases", MetaData(), autoload_with=conn)
    values = {"case_id": 17, "council": council, "client_id": client_id, "rule": "drain_after_load", "status": "open",
              **dates}
    for col in table.columns:  # fill any other required column of the real table with a plain value
        if col.name in values or col.nullable or col.server_default is not None or col.autoincrement is True:
            continue
        py = col.type.python_type
        values[col.name] = {int: 1, str: "x", bool: False, dt.date: D(2026, 3, 1)}.get(
            py, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        )
    conn.execute(table.insert().values(**{k: v for k, v in values.items() if k in table.c}))


def test_open_safeguarding_case_excludes_the_card(db_url, tmp_path):
    _base_state(db_url)
    with get_engine(db_url).begin() as conn:
        _add_safeguarding_case(conn, "Testshire", "C1")
    run.compute_schedule(db_url, WEEK, tmp_path)
    c1 = _lines(db_url)["C1"]
    assert c1["outcome"] == "excluded" and c1["amount_to_recover_pence"] == 0
    assert "open safeguarding case" in c1["reason"] and c1["council_surplus_pence"] == 37_033


def test_safeguarding_cases_are_read_as_of_the_clawback_day(db_url, tmp_path):
    # Goal: a re-run of an older week excludes the same cards as the first run: a case opened after
    # the clawback day, or closed before it, does not exclude the card; one closed later still does.
    _base_state(db_url)
    day = D(2026, 3, 4)  # the council's Wednesday in WEEK
    with get_engine(db_url).begin() as conn:
        _add_safeguarding_case(conn, "Testshire", "C1", opened_on=day + dt.timedelta(days=1))
    run.compute_schedule(db_url, WEEK, tmp_path)
    assert _lines(db_url)["C1"]["outcome"] != "excluded", "a case opened after the day"
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE safeguarding_cases SET opened_on = :o, closed_on = :c, status = 'closed'"),
                     {"o": day - dt.timedelta(days=5), "c": day - dt.timedelta(days=1)})
    run.compute_schedule(db_url, WEEK, tmp_path)
    assert _lines(db_url)["C1"]["outcome"] != "excluded", "a case closed before the day"
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE safeguarding_cases SET closed_on = :c"), {"c": day + dt.timedelta(days=3)})
    run.compute_schedule(db_url, WEEK, tmp_path)
    assert _lines(db_url)["C1"]["outcome"] == "excluded", "open on the day, closed later"


def test_unload_matching_under_recovery_and_unmatched_exception(db_url, tmp_path):
    _base_state(db_url)
    run.compute_schedule(db_url, WEEK, tmp_path)
    run.approve(db_url, WEEK, tmp_path, "J Finance")
    # Two weeks later (run day 2026-03-18, as of 03-17: 13 days > 10) nothing has been unloaded.
    w12 = run.compute_schedule(db_url, "2026-W12", tmp_path)["councils"]["Testshire"]
    assert w12["unload_matching"]["overdue"] == 3
    with get_engine(db_url).connect() as conn:
        lines = conn.execute(select(clawback_lines).where(clawback_lines.c.run_id == "Testshire:2026-W12")).mappings().all()
        exc = list_exceptions(conn, status=("open",))
    c1 = next(r for r in lines if r["client_id"] == "C1")
    assert c1["outcome"] == "excluded" and "already under recovery" in c1["reason"]
    unmatched = exc.filter(pl.col("exception_type") == "unmatched_unload")
    assert sorted(unmatched["client_id"].to_list()) == ["C1", "C3", "C4"]
    # C1's unload arrives (with its reference); C3's arrives for a different amount (no match).
    with get_engine(db_url).begin() as conn:
        from records.reference import load_reference

        ref = load_reference(conn)
        b.post(conn, ref, [
            b.txn("A", "10000001", "C1", "unload", -37_033, D(2026, 3, 19), reference="CB 2026-W10 0001", txn_id="U1"),
            b.txn("C", "acc-3", "C3", "unload", -41_000, D(2026, 3, 19), txn_id="U3"),
        ])
    nightly = run.match_unloads_for_day(db_url, D(2026, 3, 20))["councils"]["Testshire"]
    assert nightly["matched"] == 1 and nightly["overdue"] == 2
    w13 = run.compute_schedule(db_url, "2026-W13", tmp_path)["councils"]["Testshire"]
    assert w13["unload_matching"]["matched"] == 0  # already matched by the nightly run
    assert w13["recovered_to_date_pence"] == 37_033 + 41_000
    with get_engine(db_url).connect() as conn:
        status = dict(conn.execute(select(clawback_instructions.c.client_id, clawback_instructions.c.status)).all())
        exc = list_exceptions(conn, status=("open",)).filter(pl.col("exception_type") == "unmatched_unload")
        c1_w13 = conn.execute(select(clawback_lines.c.outcome).where(
            (clawback_lines.c.run_id == "Testshire:2026-W13") & (clawback_lines.c.client_id == "C1"))).scalar_one()
    assert status == {"C1": "matched", "C3": "issued", "C4": "issued"}
    assert sorted(exc["client_id"].to_list()) == ["C3", "C4"]
    assert c1_w13 != "excluded"  # no longer under recovery


def test_contributions_arrears_exception_rerun_and_recovery(db_url):
    with get_engine(db_url).begin() as conn:
        ref = b.save_ref(
            conn,
            holders=[b.holder("N1", "A", "20000001", model="net"), b.holder("G1", "A", "20000002", model="gross"),
                     b.holder("O1", "A", "20000003", model="net")],
            contributions=[
                {"client_id": "N1", "weekly_amount_pence": 3533, "effective_from": D(2025, 1, 6), "effective_to": None, "reference": "CONTRIB 0442817"},
                {"client_id": "G1", "weekly_amount_pence": 5000, "effective_from": D(2025, 1, 6), "effective_to": None, "reference": "GROSS 0002"},
                {"client_id": "O1", "weekly_amount_pence": 2000, "effective_from": D(2025, 1, 6), "effective_to": None, "reference": "CONTRIB 0000003"},
            ],
        )
        b.post(conn, ref, [
            b.txn("A", "20000001", "N1", "council_load", 100_000, D(2026, 2, 2)),
            # paid week 1 correctly, week 2 with a mistyped reference (classified other money in), then stopped
            b.txn("A", "20000001", "N1", "contribution", 3533, D(2026, 2, 3), reference="CONTRIB 0442817", payer=("309634", "12345678")),
            b.txn("A", "20000001", "N1", "other_money_in", 3533, D(2026, 2, 10), reference="CONTRIB 0442871"),
            b.txn("A", "20000002", "G1", "council_load", 100_000, D(2026, 2, 2)),
            b.txn("A", "20000003", "O1", "council_load", 100_000, D(2026, 2, 2)),
            b.txn("A", "20000003", "O1", "contribution", 20_000, D(2026, 2, 3), reference="CONTRIB 0000003"),
        ])
    res = run_contributions(db_url, WEEK)
    t = res["councils"]["Testshire"]
    assert t["net_clients"] == 2 and t["gross_clients"] == 1
    assert t["exceptions"]["raised"] == 1  # N1 only: G1 is gross (report only), O1 paid ahead
    with get_engine(db_url).connect() as conn:
        rows = {r["client_id"]: dict(r) for r in conn.execute(select(contribution_weeks)).mappings()}
        exc = list_exceptions(conn, status=("open",))
    n1 = rows["N1"]
    assert (n1["expected_pence"], n1["received_pence"], n1["arrears_pence"], n1["consecutive_missed_weeks"]) == (3533, 0, 3 * 3533, 3)
    assert n1["missed"] and str(n1["first_missed_week_start"])[:10] == "2026-02-16"
    assert rows["O1"]["overpaid_pence"] == 20_000 - 5 * 2000 and not rows["O1"]["missed"]
    assert rows["G1"]["arrears_pence"] == 5 * 5000  # reported
    arrears = exc.filter(pl.col("exception_type") == "contribution_arrears")
    assert arrears["client_id"].to_list() == ["N1"] and arrears["amount_pence"].to_list() == [3 * 3533]
    f = res["findings"]
    assert f["count"] == 1 and f["client_ids"] == ["N1"]
    if f["recorded"]:  # screening is installed: the finding is in its table, once
        with get_engine(db_url).connect() as conn:
            got = conn.execute(text("SELECT rule, client_id, london_date FROM screening_findings")).all()
        assert [(r[0], r[1], str(r[2])[:10]) for r in got] == [("contributions_stopped", "N1", "2026-02-16")]
    else:
        assert f["findings"][0]["rule"] == "contributions_stopped" and f["findings"][0]["london_date"] == "2026-02-16"

    rerun = run_contributions(db_url, WEEK)
    again = rerun["councils"]["Testshire"]
    assert again["rows_written"] == 0 and again["exceptions"] == {"raised": 0, "carried": 1, "resolved": 0}
    if rerun["findings"]["recorded"]:
        assert rerun["findings"]["screening"]["new_findings"] == 0

    # N1 pays the arrears and this week's: the exception resolves itself.
    with get_engine(db_url).begin() as conn:
        from records.reference import load_reference

        b.post(conn, load_reference(conn), [
            b.txn("A", "20000001", "N1", "contribution", 4 * 3533, D(2026, 3, 5), reference="CONTRIB 0442817")
        ])
    # A check as of the Wednesday (the weekly run's day) does not count Thursday's payment, however
    # late it is re-run: the same answer as on the day.
    on_the_day = run_contributions(db_url, WEEK, as_of=D(2026, 3, 4))["councils"]["Testshire"]
    assert on_the_day["rows_written"] == 0 and on_the_day["exceptions"] == {"raised": 0, "carried": 1, "resolved": 0}
    cleared = run_contributions(db_url, WEEK)["councils"]["Testshire"]
    assert cleared["exceptions"]["resolved"] == 1 and cleared["rows_written"] == 1


def test_cli_commands(db_url, tmp_path):
    from typer.testing import CliRunner

    from careledger.cli import app

    _base_state(db_url)
    runner = CliRunner()
    r = runner.invoke(app, ["clawback", "--week", WEEK, "--out", str(tmp_path), "--db", db_url, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["councils"]["Testshire"]["lines_to_recover"] == 3
    r = runner.invoke(app, ["clawback", "--week", WEEK, "--approve", "--by", "J Finance", "--out", str(tmp_path), "--db", db_url])
    assert r.exit_code == 0 and "3 instruction(s) issued now" in r.output, r.output
    r = runner.invoke(app, ["contributions", "--week", WEEK, "--db", db_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["councils"]["Testshire"]["net_clients"] == 1
    r = runner.invoke(app, ["clawback", "--week", "2026-10", "--db", db_url])
    assert r.exit_code == 2


def test_pro_rata_split_follows_the_ledger_and_recovery_summary(db_url, tmp_path):
    with get_engine(db_url).begin() as conn:
        ref = b.save_ref(
            conn, holders=[b.holder("P1", "A", "30000001", weekly_budget_pence=10_000, model="net")],
            yaml_text=b.councils_yaml(thresholds="{balance_split: pro_rata}"),
        )
        b.post(conn, ref, [
            b.txn("A", "30000001", "P1", "council_load", 100_000, D(2026, 2, 2)),
            b.txn("A", "30000001", "P1", "contribution", 50_000, D(2026, 2, 3)),
            b.txn("A", "30000001", "P1", "card_purchase", -30_000, D(2026, 2, 4)),
        ])
    s = run.compute_schedule(db_url, WEEK, tmp_path)["councils"]["Testshire"]
    p1 = _lines(db_url)["P1"]
    # The ledger charged the purchase pro rata: 100 of 300 to the client part.
    assert (p1["council_part_pence"], p1["client_part_pence"]) == (80_000, 40_000)
    # Reserve 600 charged the same way: 200 client, 400 council -> council surplus 400, client excess 200.
    assert (p1["council_surplus_pence"], p1["client_excess_pence"], p1["amount_to_recover_pence"]) == (40_000, 20_000, 40_000)
    assert s["loads_to_date_pence"] == 100_000 and s["loads_week_pence"] == 0
    summary = run.recovery_summary(db_url, WEEK)["councils"]["Testshire"]
    assert summary["scheduled_week_pence"] == 40_000 and summary["scheduled_share_of_loads_to_date"] == 0.4
