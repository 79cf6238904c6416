"""Goal: the rules' findings on a simulated council's two months are pinned, with the council's default
thresholds and with every threshold moved (and client overrides and MCC exceptions set), so a change
that alters any finding (its key, words, amount, policy, override or details) is noticed. The pins were
taken at f77dc61, before screening/rules.py was split into a package; a deliberate change to a rule
updates them, and its commit says why. Both databases must give the same findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from sqlalchemy import text

from db.engine import get_engine
from records.reference import load_reference
from schemas.council_policy import parse_councils
from screening.rules import client_overrides, client_params, run_rules
from screening.run import load_input
from tests.screening.conftest import DAYS, START

END = START + dt.timedelta(days=DAYS - 1)
PINNED = {
    "default thresholds": (19, "d444082ad39c8d3134ac6c4994f3230d2cb9fa253aa16d3bc75e8a21ffb6f7a2"),
    "moved thresholds": (64, "1e0203b1aaf50b675ec2393b5732782c579e17dabb573e62554e579c01810307"),
}


def moved_thresholds(clients: list[str]) -> str:
    """Every screening threshold moved from its default, three client overrides and two MCC exceptions."""
    c1, c2, c3, c4 = clients[3], clients[17], clients[40], clients[51]
    return (
        "{drain_share: 0.5, drain_window_hours: 30, spike_baseline_weeks: 6, spike_mad_multiplier: 2.5, "
        "spike_floor_pence: 6000, spike_min_history_weeks: 2, new_payee_burst_count: 2, new_payee_window_days: 21, "
        "dormant_days: 9, unusual_hours_start: 22, unusual_hours_end: 7, unusual_hours_min_count: 2, "
        "unusual_hours_window_days: 10, velocity_count: 4, velocity_window_minutes: 90, "
        f"client_thresholds: {{{c1}: {{drain_share: 0.95, dormant_days: 42}}, "
        f"{c2}: {{velocity_count: 2, unusual_hours_start: 3, unusual_hours_end: 2}}, {c3}: {{spike_floor_pence: 1000}}}}, "
        f'allowed_mcc_by_client: {{{c4}: ["5411", gambling], {c2}: [alcohol]}}}}'
    )


def digest(findings) -> tuple[int, str]:
    rows = [[f.rule, f.client_id, f.london_date.isoformat(), list(f.evidence_txn_ids), f.severity, f.explanation,
             f.amount_pence, f.policy, f.override, json.dumps(f.details, sort_keys=True, default=str)] for f in findings]
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def test_findings_on_two_simulated_months_are_pinned(two_months):
    with get_engine(two_months).connect() as conn:
        inp = load_input(conn, START, END, full_history=True)
        ref = load_reference(conn)
        (policy_yaml,) = conn.execute(text("SELECT policy_yaml FROM ref_councils")).one()
    got = {"default thresholds": digest(run_rules(inp))}
    assert "thresholds: {}" in policy_yaml
    clients = sorted(ref.cardholders["client_id"].to_list())
    councils = parse_councils(policy_yaml.replace("thresholds: {}", "thresholds: " + moved_thresholds(clients)))
    moved = dataclasses.replace(inp, clients=client_params(ref.cardholders, councils), councils=councils,
                                overrides=client_overrides(councils))
    got["moved thresholds"] = digest(run_rules(moved))
    assert got == PINNED
