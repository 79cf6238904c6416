"""Goal: the council's extract is read from the declarations in schemas/reference.py; a bad row is
held with file, line and reason while the rest loads, and an extract that cannot be used as a whole
(missing file, wrong header, invalid policy) is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from feeds.readers import FileRefused, read_reference
from tests.ingest import drops


@pytest.fixture
def extract(tmp_path):
    return drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, {"A": 1, "B": 1})


def test_reads_the_extract(extract):
    ref, quarantine, _ = read_reference(extract)
    assert quarantine.height == 0
    assert set(ref.councils) == {"Testshire"} and ref.councils["Testshire"].funding_account_number == "90001234"
    first = ref.cardholders.row(0, named=True)
    assert first["client_id"] == "C0442817" and first["weekly_budget_pence"] == 28_000 and first["cash_allowed"] is False
    assert first["opened"] == dt.date(2025, 1, 6) and first["closed"] is None and first["source_line"] == 2
    second = ref.cardholders.row(1, named=True)
    assert (second["contingency_weeks"], second["cash_weekly_limit_pence"], second["cash_allowed"]) == (6, 5_000, True)
    assert ref.contributions.row(0, named=True)["weekly_amount_pence"] == 3_533
    assert ref.load_schedule.row(0, named=True)["amount_pence"] == 112_000


def test_bad_rows_are_quarantined_with_file_line_reason(extract):
    (extract / "cardholders.csv").write_text(
        drops.CARDHOLDERS
        + "C0003,Testshire,A,10000003,2025-13-01,,100.00,,N,,net,,\n"  # line 4: bad date
        + "C0004,Testshire,D,10000004,2025-01-01,,100.00,,N,,net,,\n"  # line 5: bad choice
        + "C0005,Elsewhere,A,10000005,2025-01-01,,100.00,,N,,net,,\n"  # line 6: council not in yaml
        + "C0006,Testshire,A,10000006,2025-01-01,,1OO.00,,maybe,,net,,\n"  # line 7: bad amount and flag
        + "C0007,Testshire,A,10000007,2025-01-01,,100.00,,N,,net,,\n"  # lines 8-9: duplicate key
        + "C0007,Testshire,A,10000008,2025-01-01,,100.00,,N,,net,,\n"
        + "C0010,Testshire,A,10000010\n",  # line 10: wrong field count
        encoding="utf-8",
    )
    (extract / "payees.csv").write_text(
        drops.PAYEES + "C0003,BOB,402715,87654321,agency,2025-01-06,\n" + "C0442817,ANN,40-27-15,87654321,agency,2025-01-06,\n",
        encoding="utf-8",
    )
    ref, q, _ = read_reference(extract)
    assert sorted(ref.cardholders["client_id"]) == ["C0019", "C0442817"]
    reasons = {(r["source_file"], r["source_line"]): r["reason"] for r in q.iter_rows(named=True)}
    assert "opened '2025-13-01' is not a YYYY-MM-DD date" in reasons[("cardholders.csv", 4)]
    assert "provider 'D' is not one of A, B, C" in reasons[("cardholders.csv", 5)]
    assert "council 'Elsewhere' is not in councils.yaml" in reasons[("cardholders.csv", 6)]
    assert "weekly_budget '1OO.00' is not an amount" in reasons[("cardholders.csv", 7)]
    assert "cash_allowed 'maybe' is not Y or N" in reasons[("cardholders.csv", 7)]
    assert "duplicate key (client_id) = (C0007) on 2 lines" in reasons[("cardholders.csv", 8)]
    assert ("cardholders.csv", 9) in reasons
    assert "expected 13 comma-separated fields" in reasons[("cardholders.csv", 10)]
    assert "unknown client_id 'C0003'" in reasons[("payees.csv", 3)]
    assert "sort_code '40-27-15' does not have the expected form" in reasons[("payees.csv", 4)]
    assert ref.payees.height == 1
    assert all(q["raw_text"].is_not_null()) and q["provider"].unique().to_list() == ["council"]


@pytest.mark.parametrize("missing", ["cardholders.csv", "councils.yaml", "payees.csv"])
def test_missing_file_refuses_the_extract(extract, missing):
    (extract / missing).unlink()
    with pytest.raises(FileRefused, match=missing):
        read_reference(extract)


def test_wrong_header_refuses_the_extract(extract):
    (extract / "cardholders.csv").write_text(drops.CARDHOLDERS.replace("weekly_budget", "budget", 1), encoding="utf-8")
    with pytest.raises(FileRefused, match="column 7 is 'budget' where 'weekly_budget' was expected"):
        read_reference(extract)


def test_invalid_policy_refuses_the_extract(extract):
    (extract / "councils.yaml").write_text(drops.COUNCILS_YAML.replace("clawback_minimum", "clawback_minmum"), encoding="utf-8")
    with pytest.raises(FileRefused, match="unknown key.*clawback_minmum"):
        read_reference(extract)


def test_a_card_number_in_the_council_extract_is_masked_and_reported(extract, sqlite_url):
    # Goal: a PAN typed into the council's files (here a payee name, and a broken line) never
    # reaches the database; each one is a security incident with file and line, as for providers.
    from sqlalchemy import text

    from db.engine import get_engine
    from feeds.ingest import ingest_drop

    pan = "4111 1111 1111 1111"
    (extract / "payees.csv").write_text(
        drops.PAYEES
        + f"C0442817,CARD {pan},402715,11112222,agency,2025-01-06,\n"  # line 3: PAN in a field
        + f"C0442817,{pan.replace(' ', '')}\n",  # line 4: a broken line holding a PAN
        encoding="utf-8",
    )
    summary = ingest_drop(sqlite_url, extract)
    council = next(f for f in summary.files if f.provider == "council")
    assert council.incidents == 2 and "SECURITY" in council.message and "payees.csv line 3" in council.message
    with get_engine(sqlite_url).connect() as conn:
        incidents = conn.execute(text("SELECT source_file, source_line, field, description FROM security_incidents")).all()
        assert sorted((r[0], r[1], r[2]) for r in incidents) == [("payees.csv", 3, "payee_name"), ("payees.csv", 4, "line")]
        assert all("1111" in r[3] and pan.replace(" ", "") not in r[3] for r in incidents)
        stored = " ".join(
            str(v) for table in ("ref_payees", "quarantine", "security_incidents")
            for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row
        )
    assert pan not in stored and pan.replace(" ", "") not in stored
    assert "CARD " in stored, "the rest of the row is kept"


def test_a_row_repeated_word_for_word_is_one_row(extract):
    # Goal: an export that wrote a line twice does not make a known card unknown; rows that share a
    # key but differ are still all held (test_bad_rows_are_quarantined_with_file_line_reason).
    lines = drops.CARDHOLDERS.splitlines(keepends=True)
    (extract / "cardholders.csv").write_text("".join(lines + lines[1:]), encoding="utf-8")
    ref, q, _ = read_reference(extract)
    assert q.height == 0
    assert sorted(ref.cardholders["client_id"]) == sorted(line.split(",")[0] for line in lines[1:])


def test_an_extract_that_drops_most_cards_is_refused_until_confirmed(extract, sqlite_url):
    # Goal: a cardholders.csv cut down to its header (or to a fraction) would make every card
    # unknown overnight; it is refused whole, the stored extract stays, and a person can confirm it.
    from db.engine import get_engine
    from feeds.ingest import ingest_drop
    from records.reference import load_reference

    assert ingest_drop(sqlite_url, extract, only_files=[]).refused == []
    with get_engine(sqlite_url).connect() as conn:
        before = sorted(load_reference(conn).cardholders["client_id"])
    assert len(before) >= 2
    header = drops.CARDHOLDERS.splitlines(keepends=True)[0]
    (extract / "cardholders.csv").write_text(header, encoding="utf-8")
    refused = ingest_drop(sqlite_url, extract, only_files=[])
    (council,) = [f for f in refused.files if f.provider == "council"]
    assert council.status == "refused" and f"about the {len(before)} cardholders" in council.message
    assert "--accept-smaller-extract" in council.message
    with get_engine(sqlite_url).connect() as conn:
        assert sorted(load_reference(conn).cardholders["client_id"]) == before, "the stored extract stays in use"
    confirmed = ingest_drop(sqlite_url, extract, only_files=[], accept_smaller_extract=True)
    assert [f.status for f in confirmed.files if f.provider == "council"] == ["loaded"]
    with get_engine(sqlite_url).connect() as conn:
        assert load_reference(conn).cardholders.height == 0
