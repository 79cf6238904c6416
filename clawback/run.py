"""``careledger clawback``: the weekly surplus schedule, its approval, and matching the unloads.

Flow per council (docs/clawback.md):

1. match unloads seen in the feeds to instructions issued earlier; an instruction unmatched after
   ``clawback_instruction_match_days`` is an ``unmatched_unload`` exception;
2. read each card's council/client parts from the ledger at the end of the day before the
   council's clawback day, with its open holds, contingency and commitments, and compute the
   schedule with the pure ``clawback.calc``;
3. store it (``clawback_runs`` / ``clawback_lines``) and write the XLSX and CSV for finance.

``approve`` freezes a computed schedule and issues one instruction per card to recover, in each
provider's format. Idempotent: a re-run with the same inputs writes nothing new; an approved week
is never recomputed; approving twice issues nothing new (and rewrites the same files).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, text

from clawback import calc
from clawback.instructions import (
    Instruction,
    UnloadSeen,
    instruction_file_name,
    match_unloads,
    overdue,
    reference_for,
    write_instruction_files,
)
from clawback.schedule import write_schedule
from clawback.tables import clawback_instructions, clawback_lines, clawback_runs
from db.engine import get_engine, take_ledger_lock
from ledger.queries import balances, card_balances
from reconciliation.exceptions import ExceptionItem, sync_exceptions
from records.reference import load_reference
from records.transactions import load_transactions, open_holds
from schemas.council_policy import CouncilPolicy
from schemas.reference import ReferenceData
from screening.cases import open_cases_on

LINE_FIELDS = (
    "client_id", "provider", "account_id", "balance_pence", "council_part_pence", "client_part_pence",
    "contingency_weeks", "contingency_pence", "commitments_pence", "holds_pence", "reserve_pence", "surplus_pence",
    "council_surplus_pence", "client_excess_pence", "amount_to_recover_pence", "outcome", "reason",
)


def run_id_for(council: str, iso_week: str) -> str:
    return f"{council}:{iso_week}"


# --- inputs ---------------------------------------------------------------------------------------
def open_safeguarding_cases(conn: Connection, council: str, as_of: dt.date) -> dict[str, str]:
    """client_id -> a short description of the client's first case open on ``as_of`` (point in time:
    ``screening.cases.open_cases_on``), so a re-run of an older week excludes the same cards."""
    out: dict[str, str] = {}
    for case in open_cases_on(conn, council, as_of):
        out.setdefault(case.client_id, f"case {case.case_id}, {case.rule}, open since {case.opened_on}")
    return out


def _instructions(conn: Connection, where: str, params: dict) -> list[tuple[Instruction, str, str | None]]:
    rows = conn.execute(
        text(
            "SELECT instruction_id, council, iso_week, client_id, provider, account_id, amount_pence, reference,"
            " issued_on, status, matched_provider_txn_id FROM clawback_instructions WHERE " + where
            + " ORDER BY instruction_id"
        ),
        params,
    ).all()
    out = []
    for r in rows:
        issued = r[8] if isinstance(r[8], dt.date) else dt.date.fromisoformat(str(r[8])[:10])
        out.append((Instruction(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7], issued), r[9], r[10]))
    return out


def sync_unloads(conn: Connection, policy: CouncilPolicy, as_of: dt.date) -> dict:
    """Match issued instructions to unloads seen in the feeds, then raise or resolve
    ``unmatched_unload`` exceptions for instructions still unseen after the threshold."""
    council = policy.name
    issued = [i for i, status, _ in _instructions(conn, "council = :c AND status = 'issued'", {"c": council})]
    matched_count = 0
    if issued:
        taken = {
            (i.provider, txn)
            for i, status, txn in _instructions(conn, "council = :c AND status = 'matched'", {"c": council})
            if txn
        }
        first = min(i.issued_on for i in issued)
        txns = load_transactions(conn, first, None, statuses=("settled",), kinds=("unload",))
        seen = [
            UnloadSeen(r["provider_txn_id"], r["provider"], r["account_id"], r["posted_date"] or r["london_date"],
                       -int(r["amount_pence"]), r["reference"])
            for r in txns.iter_rows(named=True)
            if r["council"] in (council, None) and r["amount_pence"] < 0
        ]
        matches = match_unloads(issued, seen, taken)
        for instruction_id, u in matches.items():
            conn.execute(
                clawback_instructions.update()
                .where((clawback_instructions.c.instruction_id == instruction_id) & (clawback_instructions.c.status == "issued"))
                .values(status="matched", matched_provider_txn_id=u.txn_id, matched_on=u.day)
            )
        matched_count = len(matches)
        issued = [i for i in issued if i.instruction_id not in matches]
    match_days = int(policy.threshold("clawback_instruction_match_days"))
    late = overdue(issued, as_of, match_days)
    found = [
        ExceptionItem(
            key=f"unmatched_unload:{i.instruction_id}",
            exception_type="unmatched_unload",
            explanation=(
                f"Unload instruction {i.reference} for {calc.pounds_text(i.amount_pence)} from card {i.provider}/"
                f"…{i.account_id[-4:]} (client {i.client_id}), issued {i.issued_on.isoformat()}, has not appeared in "
                f"the {i.provider} feed after {(as_of - i.issued_on).days} days (threshold {match_days}). Check with the "
                "provider that the instruction file was received and actioned."
            ),
            council=council,
            client_id=i.client_id,
            provider=i.provider,
            account_id=i.account_id,
            london_date=i.issued_on,
            amount_pence=i.amount_pence,
        )
        for i in late
    ]
    result = sync_exceptions(
        conn, found, run_day=as_of, scope_types=("unmatched_unload",),
        scope_date_to=as_of - dt.timedelta(days=match_days + 1), scope_council=council,
    )
    return {"matched": matched_count, "waiting": len(issued), "overdue": len(late),
            "exceptions_raised": result.raised, "exceptions_resolved": result.resolved}


@dataclass(frozen=True)
class _CouncilInputs:
    """What one council's schedule is computed from, read once for all its cards."""

    parts: pl.DataFrame  # ledger.queries.card_balances of the council at as_of
    parts_by_card: dict[tuple[str, str], tuple[int, int]]  # (council part, client part)
    holds_by_card: dict[tuple[str, str], int]  # pence held by open authorisations
    deceased: dict[str, dt.date]
    commitments: dict[str, list[tuple[dt.date, int]]]
    cases: dict[str, str]  # client -> open safeguarding case
    under_recovery: dict[tuple[str, str], str]  # card -> an earlier week's instruction still unseen


def _council_inputs(conn: Connection, ref: ReferenceData, council: str, run_date: dt.date) -> _CouncilInputs:
    as_of = run_date - dt.timedelta(days=1)
    parts = card_balances(conn, as_of).filter(pl.col("council") == council)
    holds = open_holds(conn, as_of).filter((pl.col("council") == council) & (pl.col("amount_pence") < 0))
    commitments: dict[str, list[tuple[dt.date, int]]] = {}
    for c, due, amount in ref.commitments.select("client_id", "due_date", "amount_pence").iter_rows():
        commitments.setdefault(c, []).append((due, int(amount)))
    this_run = run_id_for(council, calc.iso_week_of(run_date))
    return _CouncilInputs(
        parts=parts,
        parts_by_card={
            (r["provider"], r["account_id"]): (int(r["council_part_pence"]), int(r["client_part_pence"]))
            for r in parts.iter_rows(named=True)
        },
        holds_by_card={
            (p, a): -int(s)
            for p, a, s in holds.group_by("provider", "account_id").agg(pl.col("amount_pence").sum()).iter_rows()
        },
        deceased={
            c: d for c, d in ref.client_events.filter((pl.col("event") == "deceased") & (pl.col("date") <= run_date))
            .group_by("client_id").agg(pl.col("date").min()).iter_rows()
        },
        commitments=commitments,
        cases=open_safeguarding_cases(conn, council, run_date),
        under_recovery={
            (i.provider, i.account_id): f"{calc.pounds_text(i.amount_pence)} instructed {i.iso_week} (reference {i.reference}), not yet seen in a feed"
            for i, _, _ in _instructions(conn, "council = :c AND status = 'issued' AND run_id <> :r", {"c": council, "r": this_run})
        },
    )


def _holder_line(h: dict, inputs: _CouncilInputs, policy: CouncilPolicy, run_date: dt.date) -> dict | None:
    """The schedule line of a card in the cardholder register, or None when it has none to show."""
    card = (h["provider"], h["account_id"])
    council_part, client_part = inputs.parts_by_card.get(card, (0, 0))
    opened, closed = h["opened"], h["closed"]
    if opened is not None and opened > run_date:
        return None  # not on the scheme yet
    recover_all = None
    if h["client_id"] in inputs.deceased:
        recover_all = f"client deceased {inputs.deceased[h['client_id']].isoformat()}: whole council share recovered"
    elif closed is not None and closed <= run_date:
        recover_all = f"card closed {closed.isoformat()}: whole council share recovered"
    if recover_all and council_part == 0 and client_part == 0:
        return None  # a closed, empty card has nothing to show
    weeks = h["contingency_weeks"] if h["contingency_weeks"] is not None else policy.default_contingency_weeks
    exclusion = calc.exclusion_reason(
        run_date=run_date, opened=opened, starter_float_weeks=policy.starter_float_weeks,
        open_case=inputs.cases.get(h["client_id"]), under_recovery=inputs.under_recovery.get(card), recover_all=bool(recover_all),
    )
    position = calc.CardPosition(
        council_part_pence=council_part,
        client_part_pence=client_part,
        weekly_budget_pence=int(h["weekly_budget_pence"]),
        contingency_weeks=int(weeks),
        commitments_pence=calc.commitments_due(inputs.commitments.get(h["client_id"], []), run_date, int(weeks)),
        holds_pence=inputs.holds_by_card.get(card, 0),
        clawback_minimum_pence=policy.clawback_minimum_pence,
        split_policy=str(policy.threshold("balance_split")),
        exclusion=exclusion,
        recover_all=recover_all,
    )
    return _line(h["client_id"], card, position)


def _unregistered_lines(inputs: _CouncilInputs, policy: CouncilPolicy, run_date: dt.date, seen_cards: set) -> list[dict]:
    """Lines of cards the ledger holds for the council that are no longer the client's card in the register
    (replaced, or the client left the scheme): their council money goes back."""
    lines = []
    for (provider, account_id), (council_part, client_part) in sorted(inputs.parts_by_card.items()):
        if (provider, account_id) in seen_cards or (council_part == 0 and client_part == 0):
            continue
        parts = inputs.parts
        client_id = parts.filter((pl.col("provider") == provider) & (pl.col("account_id") == account_id))["client_id"][0]
        if client_id is None:
            continue
        position = calc.CardPosition(
            council_part_pence=council_part, client_part_pence=client_part, weekly_budget_pence=0, contingency_weeks=0,
            commitments_pence=0, holds_pence=inputs.holds_by_card.get((provider, account_id), 0),
            clawback_minimum_pence=policy.clawback_minimum_pence, split_policy=str(policy.threshold("balance_split")),
            exclusion=calc.exclusion_reason(
                run_date=run_date, opened=None, starter_float_weeks=0, open_case=inputs.cases.get(client_id),
                under_recovery=inputs.under_recovery.get((provider, account_id)), recover_all=True,
            ),
            recover_all="card no longer in the cardholder register (replaced or left the scheme): whole council share recovered",
        )
        lines.append(_line(client_id, (provider, account_id), position))
    return lines


def compute_lines(conn: Connection, ref: ReferenceData, policy: CouncilPolicy, run_date: dt.date) -> list[dict]:
    """The schedule lines of one council for a clawback day (balances at the end of the day before)."""
    inputs = _council_inputs(conn, ref, policy.name, run_date)
    holders = ref.cardholders.filter(pl.col("council") == policy.name)
    lines: list[dict] = []
    seen_cards: set[tuple[str, str]] = set()
    for h in holders.sort("client_id").iter_rows(named=True):
        seen_cards.add((h["provider"], h["account_id"]))
        line = _holder_line(h, inputs, policy, run_date)
        if line is not None:
            lines.append(line)
    return lines + _unregistered_lines(inputs, policy, run_date, seen_cards)


def _line(client_id: str, card: tuple[str, str], position: calc.CardPosition) -> dict:
    res = calc.clawback_for_card(position)
    return {
        "client_id": client_id,
        "provider": card[0],
        "account_id": card[1],
        "council_part_pence": position.council_part_pence,
        "client_part_pence": position.client_part_pence,
        **{k: getattr(res, k) for k in LINE_FIELDS if hasattr(res, k)},
    }


def recovery_figures(conn: Connection, council: str, as_of: dt.date) -> dict[str, int]:
    """Loads and unloads posted for the council in the 7 days ending ``as_of`` and up to it, from the
    ledger. The window ends where the schedule's balances are read, so the figures are complete
    when the run is made and the same on every re-run."""
    codes = [f"council:{council}:funding", f"council:{council}:recovered"]

    def at(day: dt.date) -> tuple[int, int]:
        b = dict(balances(conn, day, codes=codes).select("code", "balance_pence").iter_rows())
        return -int(b.get(codes[0], 0)), int(b.get(codes[1], 0))

    loads_end, rec_end = at(as_of)
    loads_start, rec_start = at(as_of - dt.timedelta(days=7))
    return {
        "loads_week_pence": loads_end - loads_start,
        "loads_to_date_pence": loads_end,
        "recovered_week_pence": rec_end - rec_start,
        "recovered_to_date_pence": rec_end,
    }


def _content_hash(lines: list[dict], figures: dict) -> str:
    doc = {"lines": sorted((tuple(line[k] for k in LINE_FIELDS) for line in lines), key=lambda t: t[:3]), "figures": figures}
    return hashlib.sha256(json.dumps(doc, default=str, sort_keys=True).encode()).hexdigest()


def _stored_lines(conn: Connection, run_id: str) -> list[dict]:
    rows = conn.execute(
        clawback_lines.select().where(clawback_lines.c.run_id == run_id).order_by(
            clawback_lines.c.client_id, clawback_lines.c.provider, clawback_lines.c.account_id
        )
    ).mappings().all()
    return [{k: r[k] for k in LINE_FIELDS} for r in rows]


def _run_row(conn: Connection, run_id: str) -> dict | None:
    row = conn.execute(clawback_runs.select().where(clawback_runs.c.run_id == run_id)).mappings().one_or_none()
    return dict(row) if row else None


def _totals(lines: list[dict]) -> dict[str, int]:
    return {
        "lines": len(lines),
        "lines_to_recover": sum(1 for r in lines if r["amount_to_recover_pence"] > 0),
        "lines_excluded": sum(1 for r in lines if r["outcome"] == "excluded"),
        "total_balance_pence": sum(r["balance_pence"] for r in lines),
        "total_to_recover_pence": sum(r["amount_to_recover_pence"] for r in lines),
        "total_client_excess_pence": sum(r["client_excess_pence"] for r in lines),
    }


def scheduled_to_date(conn: Connection, council: str, iso_week: str) -> int:
    """Amounts scheduled for recovery in this council's runs up to and including the week."""
    return int(
        conn.execute(
            text("SELECT coalesce(sum(total_to_recover_pence), 0) FROM clawback_runs WHERE council = :c AND iso_week <= :w"),
            {"c": council, "w": iso_week},
        ).scalar_one()
    )


def _share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(part / whole, 4)


def _summary_for(conn: Connection, run: dict, files: dict[str, Path], extra: dict) -> dict:
    council, week = run["council"], run["iso_week"]
    sched_cum = scheduled_to_date(conn, council, week)
    return {
        "run_id": run["run_id"],
        "status": run["status"],
        "run_date": str(run["run_date"])[:10],
        "as_of": str(run["as_of_date"])[:10],
        **{k: int(run[k]) for k in (
            "lines", "lines_to_recover", "lines_excluded", "total_balance_pence", "total_to_recover_pence",
            "total_client_excess_pence", "loads_week_pence", "loads_to_date_pence", "recovered_week_pence",
            "recovered_to_date_pence",
        )},
        "scheduled_to_date_pence": sched_cum,
        "scheduled_share_of_week_loads": _share(int(run["total_to_recover_pence"]), int(run["loads_week_pence"])),
        "scheduled_share_of_loads_to_date": _share(sched_cum, int(run["loads_to_date_pence"])),
        "recovered_share_of_week_loads": _share(int(run["recovered_week_pence"]), int(run["loads_week_pence"])),
        "recovered_share_of_loads_to_date": _share(int(run["recovered_to_date_pence"]), int(run["loads_to_date_pence"])),
        "files": {k: str(v) for k, v in files.items()},
        **extra,
    }


def _xlsx_summary(run: dict, council: str, iso_week: str) -> dict:
    return {
        "Council": council,
        "ISO week": iso_week,
        "Clawback day": str(run["run_date"])[:10],
        "Balances as of end of": str(run["as_of_date"])[:10],
        "Status": run["status"],
        "Cards": int(run["lines"]),
        "Cards to recover from": int(run["lines_to_recover"]),
        "Cards excluded": int(run["lines_excluded"]),
        "Total to recover (£)": int(run["total_to_recover_pence"]),
        "Client excess, refund or keep (£)": int(run["total_client_excess_pence"]),
        "Loads, 7 days to as-of (£)": int(run["loads_week_pence"]),
        "Loads to as-of (£)": int(run["loads_to_date_pence"]),
        "Unloads posted, 7 days to as-of (£)": int(run["recovered_week_pence"]),
        "Unloads posted to as-of (£)": int(run["recovered_to_date_pence"]),
    }


def _policies(ref: ReferenceData, council: str | None) -> list[CouncilPolicy]:
    if council is not None:
        if council not in ref.councils:
            known = ", ".join(sorted(ref.councils)) or "none loaded yet"
            raise ValueError(f"unknown council {council!r}; councils in the reference data: {known}")
        return [ref.councils[council]]
    return [ref.councils[name] for name in sorted(ref.councils)]


# --- entry points ------------------------------------------------------------------------------------
def compute_schedule(db_url: str | None, week: str, out_dir: Path, council: str | None = None) -> dict:
    """Compute (or re-read, once approved) each council's clawback schedule for an ISO week and write
    its XLSX and CSV into ``out_dir``. Returns a JSON-able summary per council."""
    calc.parse_week(week)
    out_dir = Path(out_dir)
    engine = get_engine(db_url)
    summary: dict = {"week": week, "councils": {}}
    with engine.begin() as conn:
        # One consistent view of posted entries and holds, and one schedule writer at a time.
        take_ledger_lock(conn)
        ref = load_reference(conn)
        for policy in _policies(ref, council):
            name = policy.name
            run_date = policy.clawback_date(week)
            as_of = run_date - dt.timedelta(days=1)
            run_id = run_id_for(name, week)
            unloads = sync_unloads(conn, policy, as_of)
            existing = _run_row(conn, run_id)
            if existing and existing["status"] == "approved":
                lines = _stored_lines(conn, run_id)
                changed = False
            else:
                lines = compute_lines(conn, ref, policy, run_date)
                figures = recovery_figures(conn, name, as_of)
                content = _content_hash(lines, figures)
                changed = existing is None or existing["content_hash"] != content
                if changed:
                    values = {
                        "council": name, "iso_week": week, "run_date": run_date, "as_of_date": as_of, "status": "computed",
                        "content_hash": content, **_totals(lines), **figures, "computed_at": dt.datetime.now(dt.UTC),
                    }
                    conn.execute(clawback_lines.delete().where(clawback_lines.c.run_id == run_id))
                    if existing is None:
                        conn.execute(clawback_runs.insert().values(run_id=run_id, **values))
                    else:
                        conn.execute(clawback_runs.update().where(clawback_runs.c.run_id == run_id).values(**values))
                    if lines:
                        conn.execute(
                            clawback_lines.insert(),
                            [{"run_id": run_id, "council": name, "iso_week": week, **line} for line in lines],
                        )
            run = _run_row(conn, run_id)
            assert run is not None
            files = write_schedule(lines, out_dir, council=name, iso_week=week, summary=_xlsx_summary(run, name, week))
            extra = {"changed": changed, "unload_matching": unloads}
            summary["councils"][name] = _summary_for(conn, run, files, extra)
    return summary


def approve(db_url: str | None, week: str, out_dir: Path, approved_by: str, *, council: str | None = None) -> dict:
    """Approve each council's computed schedule for the week and issue its unload instructions.

    What finance saw is what is approved: the stored lines, not a recomputation. A week already
    approved issues nothing new; its instruction files are rewritten from the stored instructions
    (the same bytes), so a lost file can be recovered by approving again.
    """
    calc.parse_week(week)
    if not approved_by or not approved_by.strip():
        raise ValueError("approve needs the name of the person approving (--by NAME)")
    out_dir = Path(out_dir)
    engine = get_engine(db_url)
    summary: dict = {"week": week, "approved_by": approved_by, "councils": {}}
    with engine.begin() as conn:
        take_ledger_lock(conn)
        ref = load_reference(conn)
        for policy in _policies(ref, council):
            name = policy.name
            run_id = run_id_for(name, week)
            run = _run_row(conn, run_id)
            if run is None:
                summary["councils"][name] = {
                    "status": "not_computed", "issued": 0,
                    "message": f"no schedule computed for {name} {week}: run `careledger clawback --week {week}` first",
                }
                continue
            issued_now = 0
            already = run["status"] == "approved"
            if not already:
                now = dt.datetime.now(dt.UTC)
                done = conn.execute(
                    clawback_runs.update()
                    .where((clawback_runs.c.run_id == run_id) & (clawback_runs.c.status == "computed"))
                    .values(status="approved", approved_at=now, approved_by=approved_by)
                )
                if done.rowcount != 1:  # approved concurrently by someone else: issue nothing
                    already = True
                else:
                    rows = []
                    for line in _stored_lines(conn, run_id):
                        if line["amount_to_recover_pence"] <= 0:
                            continue
                        rows.append({
                            "instruction_id": f"{run_id}:{line['provider']}:{line['account_id']}",
                            "run_id": run_id, "council": name, "iso_week": week, "client_id": line["client_id"],
                            "provider": line["provider"], "account_id": line["account_id"],
                            "amount_pence": line["amount_to_recover_pence"],
                            "reference": reference_for(week, line["account_id"]),
                            "file_name": instruction_file_name(line["provider"], name, week),
                            "issued_on": run["run_date"], "approved_by": approved_by, "approved_at": now, "status": "issued",
                        })
                    if rows:
                        conn.execute(clawback_instructions.insert(), rows)
                    issued_now = len(rows)
            items = [i for i, _, _ in _instructions(conn, "run_id = :r", {"r": run_id})]
            paths = write_instruction_files(
                items, out_dir, council=name, iso_week=week,
                funding_sort_code=policy.funding_sort_code, funding_account_number=policy.funding_account_number,
            )
            run = _run_row(conn, run_id)
            summary["councils"][name] = {
                "status": "already_approved" if already else "approved",
                "approved_by": run["approved_by"],
                "issued": issued_now,
                "instructions": len(items),
                "amount_pence": sum(i.amount_pence for i in items),
                "files": {p: str(path) for p, path in paths.items()},
            }
    return summary


def recovery_summary(db_url: str | None, week: str, council: str | None = None) -> dict:
    """Weekly and cumulative amounts scheduled and recovered as a share of loads, per council
    (for the finance report). Reads stored runs and the ledger; writes nothing."""
    calc.parse_week(week)
    out: dict = {"week": week, "councils": {}}
    with get_engine(db_url).connect() as conn:
        ref = load_reference(conn)
        for policy in _policies(ref, council):
            name = policy.name
            run = _run_row(conn, run_id_for(name, week))
            figures = recovery_figures(conn, name, policy.clawback_date(week) - dt.timedelta(days=1))
            scheduled_week = int(run["total_to_recover_pence"]) if run else 0
            sched_cum = scheduled_to_date(conn, name, week)
            out["councils"][name] = {
                "run_status": run["status"] if run else None,
                **figures,
                "scheduled_week_pence": scheduled_week,
                "scheduled_to_date_pence": sched_cum,
                "scheduled_share_of_week_loads": _share(scheduled_week, figures["loads_week_pence"]),
                "scheduled_share_of_loads_to_date": _share(sched_cum, figures["loads_to_date_pence"]),
                "recovered_share_of_week_loads": _share(figures["recovered_week_pence"], figures["loads_week_pence"]),
                "recovered_share_of_loads_to_date": _share(figures["recovered_to_date_pence"], figures["loads_to_date_pence"]),
            }
    return out


def match_unloads_for_day(db_url: str | None, day: dt.date) -> dict:
    """Nightly: match unloads that arrived to their instructions and refresh ``unmatched_unload``
    exceptions, for every council, as of a London day (no schedule is computed)."""
    out: dict = {"day": day.isoformat(), "councils": {}}
    with get_engine(db_url).begin() as conn:
        take_ledger_lock(conn)
        ref = load_reference(conn)
        for policy in _policies(ref, None):
            out["councils"][policy.name] = sync_unloads(conn, policy, day)
    return out
