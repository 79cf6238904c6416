"""The simulator writes FEEDS.md's formats, ties to the penny, plants every rule, and is repeatable.

Checked with tests/simulator/checker.py, a reader written for these tests only (not feeds.readers),
so a misunderstanding shared by simulator and pipeline cannot hide here.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.council_policy import parse_councils
from schemas.mcc import group_of
from schemas.reference import REFERENCE_FILES
from simulator import RULES, simulate
from tests.simulator.checker import NAME, balance_differences, decode_a, read_tree

START = dt.date(2026, 3, 2)
A_HEADER = (
    "Account Number,Transaction ID,Transaction Date,Posted Date,Type,Description,Merchant Name,MCC,Money In,"
    "Money Out,Balance,Status,Related Transaction ID,Payee Name,Payee Sort Code,Payee Account Number,Reference"
)
B_FIELDS = [
    "token", "card_token", "type", "state", "amount_minor", "currency", "created_time", "settlement_date",
    "preceding_related_token", "card_acceptor", "counterparty", "memo", "balance_after_minor",
]


# The output of three runs, pinned (sha256 over every file's relative path and bytes, tree_hash). Why pinned:
# a refactoring of the simulator must not change a byte of what it writes for a seed; a change of its
# behaviour (more noise, a new planted case) changes these on purpose, and the commit says so.
GOLDEN = {
    "Testshire 300 clients x 90 days, seed 11": "6ff4b8b89713442953d08c6cbf84452c9542d7c39d4f22d2138d3702fa41950f",
    "Testshire 60 clients x 12 days, seed 5": "3e6f1d16379e9a1cb0f31c34126ea4f278c1a3f7ce98355b0abbf19ac1cbf6c6",
    "Otherborough 80 clients x 20 days, seed 3, background only": "f8078cf6eb11876b4805663496f984207a76b82e4965a4e6b49f8f02f16476e2",
}


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """300 clients for 90 days: long enough for every planted rule."""
    out = tmp_path_factory.mktemp("sim300x90")
    result = simulate("Testshire", 300, START, 90, 11, out)
    return result, read_tree(out)


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    # Goal: reproducible output (same seed → identical tree), and the seed actually matters.
    # "b" runs in another interpreter with another hash seed: no dependence on set/dict hashing.
    a = simulate("Testshire", 60, START, 12, 5, tmp_path / "a")
    code = (f"import datetime as dt, pathlib, simulator; simulator.simulate('Testshire', 60, dt.date(2026, 3, 2), 12, 5, "
            f"pathlib.Path({str(tmp_path / 'b')!r}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[2])
    c = simulate("Testshire", 60, START, 12, 6, tmp_path / "c")
    assert len(a.drops) == 12 and a.ground_truth == tmp_path / "a" / "ground_truth.json"
    assert tree_hash(tmp_path / "a") == tree_hash(tmp_path / "b") == GOLDEN["Testshire 60 clients x 12 days, seed 5"]
    assert tree_hash(tmp_path / "a") != tree_hash(tmp_path / "c")
    assert c.ground_truth.exists()


def test_output_for_a_seed_is_pinned(big):
    # Goal: the bytes written for a seed do not change unnoticed (GOLDEN says why); the 300 x 90 run
    # plants every rule, so every generator and writer is in it.
    assert tree_hash(big[0].out) == GOLDEN["Testshire 300 clients x 90 days, seed 11"]


def test_drop_folders_hold_every_file(big):
    # Goal: one folder per day, each with the council extract; provider files named with their date.
    result, feed = big
    assert [d.name for d in result.drops] == [(START + dt.timedelta(days=i)).strftime("%Y%m%d") for i in range(90)]
    for folder in result.drops:
        names = {p.name for p in folder.iterdir()}
        for ref in REFERENCE_FILES:
            assert ref.file_name in names
        assert "councils.yaml" in names
        for n in names - {r.file_name for r in REFERENCE_FILES} - {"councils.yaml"}:
            assert NAME.match(n), n
    gt = json.loads(result.ground_truth.read_text())
    late = {(c["provider"], c["date"]) for c in gt["cases"] if c["rule"] == "late_file"}
    missing = {(c["provider"], c["date"]) for c in gt["cases"] if c["rule"] == "missing_file"}
    for (provider, _kind, day), path in feed.files.items():
        key = (provider, day.isoformat())
        assert key not in missing
        expected_folder = day + dt.timedelta(days=1) if key in late else day
        assert path.parent.name == expected_folder.strftime("%Y%m%d"), (path, key)
    for provider, day in missing:
        d = dt.date.fromisoformat(day)
        assert (provider, "transactions", d) not in feed.files and (provider, "balances", d) not in feed.files
    # every other provider-day has both files
    for i in range(90):
        d = START + dt.timedelta(days=i)
        for p in "ABC":
            if (p, d.isoformat()) not in missing:
                assert (p, "transactions", d) in feed.files and (p, "balances", d) in feed.files


def test_provider_a_format(big):
    # Goal: exact header, CRLF, FEEDS.md amounts/dates, and the encodings a real portal sends.
    result, feed = big
    encodings = {"bom": 0, "cp1252": 0, "utf8": 0}
    pounds = 0
    for (provider, kind, _day), path in feed.files.items():
        if provider != "A":
            continue
        data = path.read_bytes()
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
        if data.startswith(b"\xef\xbb\xbf"):
            encodings["bom"] += 1
        else:
            try:
                data.decode("utf-8")
                encodings["utf8"] += 1
            except UnicodeDecodeError:
                encodings["cp1252"] += 1
        text = decode_a(data)
        lines = text.split("\r\n")
        if kind == "balances":
            assert lines[0] == "Account Number,Balance Date,Closing Balance,Available Balance"
            continue
        assert lines[0] == A_HEADER
        for row in csv.DictReader(io.StringIO(text, newline="")):
            assert len(row["Account Number"]) == 8 and row["Account Number"].isdigit()
            dt.datetime.strptime(row["Transaction Date"], "%d/%m/%Y %H:%M:%S")
            assert bool(row["Money In"]) != bool(row["Money Out"]), row
            amount = row["Money In"] or row["Money Out"]
            pounds += amount.startswith("£")
            assert amount.replace("£", "").replace(",", "").replace(".", "").isdigit()
            if "," in amount.replace("£", ""):
                assert f'"{amount}"' in text
            settled = row["Status"] == "SETTLED"
            assert bool(row["Posted Date"]) == settled and bool(row["Balance"]) == settled, row
            assert row["Status"] in ("SETTLED", "PENDING", "DECLINED", "REVERSED")
    assert encodings["bom"] and encodings["cp1252"] and encodings["utf8"], encodings
    assert pounds > 0


def test_provider_b_format_and_repeats(big):
    # Goal: every line is a JSON object with exactly FEEDS.md's fields; repeats are identical copies.
    _result, feed = big
    seen: dict[str, str] = {}
    repeats = 0
    for (provider, kind, _day), path in sorted(feed.files.items()):
        if provider != "B":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if kind == "balances":
                assert list(obj) == ["card_token", "as_of_date", "ledger_balance_minor", "available_balance_minor"]
                continue
            assert list(obj) == B_FIELDS
            assert obj["card_token"].startswith("ct_") and obj["currency"] == "GBP"
            assert isinstance(obj["amount_minor"], int) and obj["amount_minor"] > 0
            assert obj["created_time"].endswith("Z")
            assert (obj["state"] == "COMPLETION") == (obj["settlement_date"] is not None)
            if obj["token"] in seen:
                repeats += 1
                assert seen[obj["token"]] == line
            seen[obj["token"]] = line
    assert repeats > 0


def test_provider_c_format(big):
    # Goal: OBReadTransaction6 / OBReadBalance1 bodies with ClosingBooked for every open account.
    _result, feed = big
    booked = pending = 0
    for (provider, kind, _day), path in feed.files.items():
        if provider != "C":
            continue
        body = json.loads(path.read_text(encoding="utf-8"))
        assert set(body) == {"Data", "Links", "Meta"}
        if kind == "transactions":
            for t in body["Data"]["Transaction"]:
                assert t["Status"] in ("Booked", "Pending") and t["CreditDebitIndicator"] in ("Credit", "Debit")
                assert t["Amount"]["Currency"] == "GBP"
                dt.datetime.fromisoformat(t["BookingDateTime"])
                booked += t["Status"] == "Booked"
                pending += t["Status"] == "Pending"
                for side in ("CreditorAccount", "DebtorAccount"):
                    if side in t:
                        assert t[side]["SchemeName"] == "UK.OBIE.SortCodeAccountNumber"
                        assert len(t[side]["Identification"]) == 14
        else:
            closing = [b for b in body["Data"]["Balance"] if b["Type"] == "ClosingBooked"]
            assert closing and len({b["AccountId"] for b in closing}) == len(closing)
    assert booked and pending


def test_council_extract_matches_schemas(big):
    # Goal: the council's CSVs have the declared headers, ISO dates, 2-decimal pounds; the policy parses.
    result, _feed = big
    last = result.drops[-1]
    policies = parse_councils((last / "councils.yaml").read_text(encoding="utf-8"))
    assert list(policies) == ["Testshire"]
    clients = set()
    for ref in REFERENCE_FILES:
        text = (last / ref.file_name).read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert tuple(csv.reader(io.StringIO(text)).__next__()) == ref.header
        keys = set()
        for row in rows:
            key = tuple(row[k] for k in ref.key)
            assert key not in keys, (ref.file_name, key)
            keys.add(key)
            for col in ref.columns:
                v = row[col.name]
                if not v:
                    assert not col.required, (ref.file_name, col.name)
                elif col.kind == "date":
                    dt.date.fromisoformat(v)
                elif col.kind == "money":
                    whole, frac = v.split(".")
                    assert whole.isdigit() and len(frac) == 2
                elif col.kind == "choice":
                    assert v in col.choices
        if ref.file_name == "cardholders.csv":
            clients = {r["client_id"] for r in rows}
            assert {r["provider"] for r in rows} == {"A", "B", "C"}
        else:
            assert {r["client_id"] for r in rows} <= clients


def test_balances_tie_to_the_penny_except_planted(big):
    # Goal: closing = take-on + settled items to that day for every card and day, except exactly the
    # planted balance_discrepancy cases (account, day, amount).
    result, feed = big
    diffs, checked = balance_differences(feed)
    gt = json.loads(result.ground_truth.read_text())
    planted = {(c["provider"], c["account_id"], dt.date.fromisoformat(c["date"])): c["amount_pence"]
               for c in gt["cases"] if c["rule"] == "balance_discrepancy"}
    assert checked > 20_000
    assert planted and diffs == planted


def test_clean_run_ties_everywhere(tmp_path):
    # Goal: planted=False writes no cases and every balance ties.
    result = simulate("Otherborough", 80, START, 20, 3, tmp_path, planted=False)
    gt = json.loads(result.ground_truth.read_text())
    assert gt["cases"] == [] and gt["council"] == "Otherborough" and gt["days"] == 20
    diffs, checked = balance_differences(read_tree(tmp_path))
    assert checked > 1000 and diffs == {}
    assert tree_hash(tmp_path) == GOLDEN["Otherborough 80 clients x 20 days, seed 3, background only"]


def test_ground_truth_covers_every_rule(big):
    # Goal: each contract rule is planted at least once on 300 clients × 90 days, with evidence that
    # exists in the files, and no client carries two planted cases (a burst implies unapproved payee).
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    assert set(gt) == {"council", "start", "days", "seed", "cases"}
    assert gt["start"] == "2026-03-02" and gt["days"] == 90 and gt["seed"] == 11
    counts = defaultdict(int)
    ids_in_files = {f"{t.provider}:{t.txn_id}" for t in feed.txns}
    by_client = defaultdict(set)
    for case in gt["cases"]:
        assert list(case) == ["rule", "client_id", "provider", "account_id", "date", "evidence_txn_ids", "amount_pence",
                              "description"]
        assert case["rule"] in RULES
        counts[case["rule"]] += 1
        dt.date.fromisoformat(case["date"])
        for e in case["evidence_txn_ids"]:
            assert e in ids_in_files, (case["rule"], e)
        if case["rule"] in ("late_file", "missing_file"):
            assert case["client_id"] is None and case["provider"] in "ABC"
        else:
            assert case["client_id"] and case["account_id"]
            by_client[case["client_id"]].add(case["rule"])
        if case["rule"] not in ("missing_load", "contributions_stopped", "balance_discrepancy", "late_file",
                                "missing_file", "contribution_shortfall"):
            assert case["evidence_txn_ids"], case
    assert set(counts) == set(RULES), set(RULES) - set(counts)
    for client, rules in by_client.items():
        assert len(rules) == 1 or rules == {"new_payee_burst", "unapproved_payee"}, (client, rules)


def _final_reference(result) -> dict[str, list[dict]]:
    last = result.drops[-1]
    return {ref.file_name: list(csv.DictReader(io.StringIO((last / ref.file_name).read_text(encoding="utf-8"))))
            for ref in REFERENCE_FILES}


def test_background_is_clean(big):
    # Goal: clients without a planted case never do what a rule looks for, so precision is measurable:
    # no restricted MCC, nothing abroad, no card use 00:00–05:00, bank payments only to approved payees
    # inside their dates, cash only where allowed and within the weekly limit.
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    planted = {c["client_id"] for c in gt["cases"] if c["client_id"]}
    ref = _final_reference(result)
    holder = {(r["provider"], r["account_id"]): r for r in ref["cardholders.csv"]}
    approved = defaultdict(list)
    for p in ref["payees.csv"]:
        approved[p["client_id"]].append(p)
    cash_week = defaultdict(int)
    seen = set()
    card_types = {"POS", "ECOM", "ATM", "authorization", "pindebit.atm"}
    payment_types = {"FPS_OUT", "SO", "DD", "BACS", "transfer.out"}
    checked_payments = 0
    for t in feed.txns:
        h = holder[(t.provider, t.account)]
        if h["client_id"] in planted or (t.provider, t.txn_id, t.status) in seen:
            continue
        seen.add((t.provider, t.txn_id, t.status))
        assert group_of(t.mcc) in (None, "cash"), t
        assert t.country in (None, "GBR"), t
        if t.kind in card_types or (t.provider == "C" and t.mcc):
            assert t.occurred_london.hour >= 5, t
        if t.kind in payment_types and t.status == "settled":
            day = t.posted
            ok = [p for p in approved[h["client_id"]] if p["sort_code"] == t.cp_sort and p["account_number"] == t.cp_account
                  and dt.date.fromisoformat(p["approved_from"]) <= day
                  and (not p["approved_to"] or day <= dt.date.fromisoformat(p["approved_to"]))]
            assert ok, t
            checked_payments += 1
        if t.mcc in ("6010", "6011") and t.status == "settled":
            assert h["cash_allowed"] == "Y", t
            cash_week[(t.provider, t.account, t.occurred_london.isocalendar()[:2])] += -t.amount_pence
    assert checked_payments > 1000
    for (p, a, _week), pence in cash_week.items():
        limit = holder[(p, a)]["cash_weekly_limit"]
        if limit:
            assert pence <= int(limit.replace(".", "")), (p, a, pence, limit)


def test_cards_join_and_leave_with_take_on(big):
    # Goal: existing cards open with a take-on balance; joiners start at their first load; leavers end at 0.
    result, feed = big
    ref = _final_reference(result)
    start = START
    first_balance = {}
    last_balance = {}
    for (p, a, day), pence in sorted(feed.balances.items(), key=lambda kv: kv[0][2]):
        first_balance.setdefault((p, a), (day, pence))
        last_balance[(p, a)] = (day, pence)
    joiners = [r for r in ref["cardholders.csv"] if dt.date.fromisoformat(r["opened"]) >= start]
    leavers = [r for r in ref["cardholders.csv"] if r["closed"]]
    assert joiners and leavers
    existing = [r for r in ref["cardholders.csv"] if dt.date.fromisoformat(r["opened"]) < start]
    assert sum(first_balance[(r["provider"], r["account_id"])][1] > 0 for r in existing) > 0.9 * len(existing)
    for r in leavers:
        day, pence = last_balance[(r["provider"], r["account_id"])]
        assert day == dt.date.fromisoformat(r["closed"]) and pence == 0, r
    for r in joiners:
        day, _pence = first_balance[(r["provider"], r["account_id"])]
        assert day >= dt.date.fromisoformat(r["opened"])


def test_thousand_clients_four_weeks_timing(tmp_path):
    # Goal: report how long 1,000 clients × 28 days takes (the brief's budget is one minute).
    started = time.perf_counter()
    result = simulate("Testshire", 1000, START, 28, 1, tmp_path)
    seconds = time.perf_counter() - started
    print(f"\nsimulate 1,000 clients × 28 days: {seconds:.1f} s, {result.items} items, {result.cases} planted cases")
    assert len(result.drops) == 28 and result.items > 20_000


_BY_ID: dict[int, dict[str, list]] = {}


def _by_id(feed) -> dict[str, list]:
    if id(feed) not in _BY_ID:
        by_id: dict[str, list] = defaultdict(list)
        for t in feed.txns:
            by_id[f"{t.provider}:{t.txn_id}"].append(t)
        _BY_ID[id(feed)] = by_id
    return _BY_ID[id(feed)]


def _primary(feed, ids: list[str]) -> list:
    """One record per evidence item: A/C the settled row if there is one; B the authorisation (or the
    completion when nothing was authorised first) — a clearing that names an authorisation is skipped."""
    by_id = _by_id(feed)
    out = []
    for e in ids:
        rows = by_id[e]
        assert rows, e
        t = next((r for r in rows if r.status == "settled"), rows[0])
        if t.provider == "B" and t.kind == "authorization.clearing" and t.related:
            continue
        out.append(t)
    return out


@dataclass
class _Known:
    """What the council's final extract and the files say, for checking planted cases against."""

    ref: dict
    holder: dict
    approved: set
    events: dict
    schedule: dict
    loads_by_ref: dict


def _known(result, feed) -> _Known:
    ref = _final_reference(result)
    events: dict = defaultdict(dict)
    for e in ref["client_events.csv"]:
        events[e["client_id"]][e["event"]] = dt.date.fromisoformat(e["date"])
    schedule = {r["reference"]: r for r in ref["load_schedule.csv"]}
    loads_by_ref = defaultdict(set)
    for t in feed.txns:
        if t.kind in ("LOAD", "gpa.credit") or (t.provider == "C" and t.cp_account and t.amount_pence > 0
                                               and t.reference and t.reference in schedule):
            loads_by_ref[t.reference].add((t.provider, t.txn_id))
    return _Known(ref=ref, holder={r["client_id"]: r for r in ref["cardholders.csv"]},
                  approved={(p["client_id"], p["sort_code"], p["account_number"]) for p in ref["payees.csv"]},
                  events=events, schedule=schedule, loads_by_ref=loads_by_ref)


def _check_spending_case(rule: str, client: str, day: dt.date, ev: list, k: _Known, feed) -> bool:
    """A planted safeguarding case shows its rule's pattern (False: not a spending rule)."""
    h = k.holder.get(client)
    if rule == "restricted_mcc":
        assert group_of(ev[0].mcc) not in (None, "cash")
    elif rule == "cash_not_allowed":
        assert ev[0].mcc in ("6010", "6011") and h["cash_allowed"] == "N"
    elif rule == "cash_over_limit":
        assert -sum(t.amount_pence for t in ev) > int(h["cash_weekly_limit"].replace(".", ""))
    elif rule == "spending_abroad":
        assert all(t.country not in (None, "GBR") for t in ev)
    elif rule == "spend_after_death":
        assert all(t.occurred_london.date() > k.events[client]["deceased"] for t in ev)
    elif rule == "spend_in_hospital":
        adm = k.events[client]["hospital_admission"]
        dis = k.events[client].get("hospital_discharge", dt.date.max)
        assert all(adm <= t.occurred_london.date() < dis for t in ev)
    elif rule == "unusual_hours":
        assert sum(t.occurred_london.hour < 5 for t in ev) >= 3
    elif rule == "velocity":
        times = sorted(t.occurred_london for t in ev)
        assert len(times) >= 8 and times[7] - times[0] <= dt.timedelta(minutes=60)
    elif rule == "drain_after_load":
        load = next(t for t in ev if t.amount_pence > 0)
        spent = -sum(t.amount_pence for t in ev if t.amount_pence < 0
                     and t.occurred_london - load.occurred_london <= dt.timedelta(hours=48))
        assert spent >= 0.8 * load.amount_pence
    elif rule == "cash_spike":
        assert -sum(t.amount_pence for t in ev) >= 20_000
        baseline = [-t.amount_pence for t in feed.txns if t.provider == h["provider"] and t.account == h["account_id"]
                    and t.mcc == "6011" and t.status == "settled" and t.occurred_london.date() < day]
        assert baseline and -sum(t.amount_pence for t in ev) > 5 * max(baseline)
    elif rule == "new_payee_burst":
        times = sorted(t.occurred_london for t in ev)
        assert len(ev) >= 3 and times[2] - times[0] <= dt.timedelta(days=14)
        assert all((client, t.cp_sort, t.cp_account) not in k.approved for t in ev)
    elif rule == "unapproved_payee":
        for t in ev:
            rows = [p for p in k.ref["payees.csv"] if (p["client_id"], p["sort_code"], p["account_number"]) ==
                    (client, t.cp_sort, t.cp_account)]
            assert not rows or all(p["approved_to"] and dt.date.fromisoformat(p["approved_to"]) < t.posted for p in rows)
    elif rule == "dormant_card":
        window = (day - dt.timedelta(days=27), day)
        out = [t for t in feed.txns if t.provider == h["provider"] and t.account == h["account_id"]
               and t.amount_pence < 0 and window[0] <= t.occurred_london.date() <= window[1]]
        assert not out and ev and all(t.amount_pence > 0 for t in ev)
    else:
        return False
    return True


def _check_finance_case(case: dict, day: dt.date, ev: list, k: _Known, feed) -> None:
    """A planted load or contribution case shows in the files (file and statement cases: checked elsewhere)."""
    rule, client = case["rule"], case["client_id"]
    if rule in ("late_load", "duplicate_load", "wrong_amount_load"):
        row = k.schedule[ev[0].reference]
        if rule == "late_load":
            assert (ev[0].posted - dt.date.fromisoformat(row["due_date"])).days > 3
        elif rule == "duplicate_load":
            assert len(ev) == 2 and len(k.loads_by_ref[row["reference"]]) == 2
        else:
            assert ev[0].amount_pence - int(row["amount"].replace(".", "")) == case["amount_pence"] != 0
    elif rule == "unexpected_load":
        assert ev[0].amount_pence > 0 and (ev[0].reference or "") not in k.schedule
    elif rule == "missing_load":
        matching = [r for r in k.ref["load_schedule.csv"] if r["client_id"] == client and r["due_date"] == case["date"]]
        assert len(matching) == 1 and not k.loads_by_ref[matching[0]["reference"]]
    elif rule == "contributions_stopped":
        h = k.holder.get(client)
        last_paid = max((t.occurred_london.date() for t in feed.txns if t.account == h["account_id"]
                         and t.kind in ("SO_IN", "transfer.in", "SO")), default=None)
        assert last_paid is None or (day - last_paid).days >= 14


def test_planted_cases_meet_their_definitions(big):
    # Goal: the ground truth is honest — read back from the files, each planted case really shows the
    # pattern its rule looks for (docs/simulator.md gives the definitions).
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    known = _known(result, feed)
    checked = defaultdict(int)
    for case in gt["cases"]:
        ev = _primary(feed, case["evidence_txn_ids"])
        day = dt.date.fromisoformat(case["date"])
        if not _check_spending_case(case["rule"], case["client_id"], day, ev, known, feed):
            _check_finance_case(case, day, ev, known, feed)
        checked[case["rule"]] += 1
    assert set(checked) == set(RULES)


def test_background_never_looks_like_a_planted_pattern(big):
    # Goal: the rate-based patterns are absent for unplanted clients: no 8 card items in an hour, no
    # load 80% gone in 48 h, no 28 days without spending on an open card, loads on time and as scheduled.
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    planted = {c["client_id"] for c in gt["cases"] if c["client_id"]}
    ref = _final_reference(result)
    holder = {(r["provider"], r["account_id"]): r for r in ref["cardholders.csv"]}
    schedule = {r["reference"]: r for r in ref["load_schedule.csv"]}
    quiet = {e["client_id"] for e in ref["client_events.csv"]}
    per_card = defaultdict(list)
    seen = set()
    for t in feed.txns:
        key = (t.provider, t.txn_id)
        if holder[(t.provider, t.account)]["client_id"] in planted or key in seen:
            continue
        if t.provider == "B" and t.kind == "authorization.clearing" and t.related:
            continue
        if t.status not in ("settled", "pending"):
            continue
        seen.add(key)
        per_card[(t.provider, t.account)].append(t)
    end = START + dt.timedelta(days=89)
    for card, txns in per_card.items():
        h = holder[card]
        txns.sort(key=lambda t: t.occurred_london)
        card_times = [t.occurred_london for t in txns if t.mcc]
        for i in range(len(card_times) - 7):
            assert card_times[i + 7] - card_times[i] > dt.timedelta(minutes=60), card
        for load in (t for t in txns if t.kind in ("LOAD", "gpa.credit") or (t.reference or "") in schedule):
            spent = -sum(t.amount_pence for t in txns if t.amount_pence < 0
                         and dt.timedelta(0) <= t.occurred_london - load.occurred_london <= dt.timedelta(hours=48))
            assert spent < 0.8 * load.amount_pence, (card, load)
            row = schedule.get(load.reference)
            assert row is not None, load
            assert abs((load.occurred_london.date() - dt.date.fromisoformat(row["due_date"])).days) <= 3
            assert int(row["amount"].replace(".", "")) == load.amount_pence
        if h["client_id"] in quiet or h["closed"]:
            continue
        out_days = sorted({t.occurred_london.date() for t in txns if t.amount_pence < 0})
        opened = max(dt.date.fromisoformat(h["opened"]), START)
        marks = [opened, *out_days, end]
        assert all((b - a).days < 27 for a, b in zip(marks, marks[1:], strict=False)), card


def test_background_life_events_stop_spending(big):
    # Goal: an unplanted client in hospital, in respite or dead has no money leaving the card in that
    # time — not even the settlement of an earlier card payment — so spend_in_hospital and
    # spend_after_death fire only on planted cases, whichever record (authorisation or settlement)
    # a rule reads.
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    planted = {c["client_id"] for c in gt["cases"] if c["client_id"]}
    ref = _final_reference(result)
    holder = {r["client_id"]: r for r in ref["cardholders.csv"]}
    windows = defaultdict(list)
    events = defaultdict(dict)
    for e in ref["client_events.csv"]:
        events[e["client_id"]][e["event"]] = dt.date.fromisoformat(e["date"])
    for client, ev in events.items():
        if client in planted:
            continue
        for first, last in (("hospital_admission", "hospital_discharge"), ("respite_start", "respite_end")):
            if first in ev:
                windows[client].append((ev[first], ev.get(last, dt.date.max)))
        if "deceased" in ev:
            windows[client].append((ev["deceased"], dt.date.max))
    assert windows
    by_card = {(holder[c]["provider"], holder[c]["account_id"]): w for c, w in windows.items()}
    checked = 0
    for t in feed.txns:
        w = by_card.get((t.provider, t.account))
        if not w or t.amount_pence >= 0 or t.kind in ("UNLOAD", "gpa.debit") or (t.provider == "C" and t.kind == "UNLOAD"):
            continue
        checked += 1
        for a, b in w:
            for day in (t.occurred_london.date(), t.posted):
                assert day is None or not (a <= day <= b), (t, a, b)
    assert checked > 0


def test_background_contributions_keep_up(big):
    # Goal: unplanted net-model clients never fall three weeks behind (contributions_stopped and
    # contribution_shortfall stay planted-only): payments at most 16 days apart (a missed week is
    # paid double the next week, up to 2 days late) and the period's total covers all but one week.
    result, feed = big
    gt = json.loads(result.ground_truth.read_text())
    planted = {c["client_id"] for c in gt["cases"] if c["client_id"]}
    ref = _final_reference(result)
    weekly = {r["client_id"]: int(r["weekly_amount"].replace(".", "")) for r in ref["contributions.csv"]}
    paid = defaultdict(list)
    holder = {(r["provider"], r["account_id"]): r for r in ref["cardholders.csv"]}
    seen = set()
    for t in feed.txns:
        if t.kind in ("SO_IN", "transfer.in") and t.status == "settled" and (t.provider, t.txn_id) not in seen:
            seen.add((t.provider, t.txn_id))
            paid[holder[(t.provider, t.account)]["client_id"]].append((t.posted, t.amount_pence))
    end = START + dt.timedelta(days=89)
    checked = 0
    for r in ref["cardholders.csv"]:
        cid = r["client_id"]
        if r["contribution_model"] != "net" or cid in planted or r["closed"] or dt.date.fromisoformat(r["opened"]) >= START:
            continue
        days = sorted(d for d, _ in paid[cid])
        marks = [START, *days, end]
        assert all((b - a).days <= 16 for a, b in zip(marks, marks[1:], strict=False)), (cid, days)
        assert sum(p for _, p in paid[cid]) >= weekly[cid] * (len(range(0, 90, 7)) - 2), cid
        checked += 1
    assert checked > 50
