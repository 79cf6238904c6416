"""Goal: the clawback arithmetic keeps its promises for any card (hypothesis).

* a recovery never exceeds the council-funded share;
* it never takes the balance below contingency + commitments + holds;
* amounts are whole pence and the parts of the surplus sum exactly to it;
* the council surplus is exactly what the ledger's ``take_from_parts`` leaves of the council part;
* contribution positions add up: arrears - overpaid = sum(expected) - sum(received).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from clawback import calc
from ledger.posting_rules import take_from_parts

pence = st.integers(min_value=0, max_value=5_000_000)

positions = st.builds(
    calc.CardPosition,
    council_part_pence=st.integers(min_value=-50_000, max_value=5_000_000),
    client_part_pence=st.integers(min_value=0, max_value=1_000_000),
    weekly_budget_pence=st.integers(min_value=0, max_value=200_000),
    contingency_weeks=st.integers(min_value=0, max_value=12),
    commitments_pence=st.integers(min_value=0, max_value=500_000),
    holds_pence=st.integers(min_value=0, max_value=100_000),
    clawback_minimum_pence=st.integers(min_value=0, max_value=10_000),
    split_policy=st.sampled_from(["client_first", "pro_rata"]),
    exclusion=st.one_of(st.none(), st.just("open safeguarding case (case 1)")),
    recover_all=st.one_of(st.none(), st.just("card closed")),
)


@settings(max_examples=500, deadline=None)
@given(p=positions)
def test_recovery_bounds(p: calc.CardPosition):
    r = calc.clawback_for_card(p)
    for field in ("amount_to_recover_pence", "surplus_pence", "council_surplus_pence", "client_excess_pence", "reserve_pence"):
        assert isinstance(getattr(r, field), int)
    assert 0 <= r.amount_to_recover_pence <= max(0, p.council_part_pence)
    if r.amount_to_recover_pence > 0:
        assert p.balance_pence - r.amount_to_recover_pence >= r.contingency_pence + r.commitments_pence + r.holds_pence
    assert r.reserve_pence == r.contingency_pence + r.commitments_pence + r.holds_pence
    assert r.surplus_pence == max(0, p.balance_pence - r.reserve_pence)
    assert r.council_surplus_pence + r.client_excess_pence == r.surplus_pence
    assert r.council_surplus_pence >= 0 and r.client_excess_pence >= 0
    if p.exclusion:
        assert r.amount_to_recover_pence == 0 and r.outcome == "excluded"
    elif r.outcome == "recover":
        assert r.amount_to_recover_pence >= p.clawback_minimum_pence
    # The council surplus is what the ledger's own split leaves of the council part.
    if r.surplus_pence > 0:
        from_council, _ = take_from_parts(r.reserve_pence, p.council_part_pence, p.client_part_pence, p.split_policy)
        assert r.council_surplus_pence == max(0, min(r.surplus_pence, p.council_part_pence - from_council))


@settings(max_examples=200, deadline=None)
@given(ps=st.lists(positions, min_size=1, max_size=30))
def test_schedule_totals_sum_exactly(ps):
    results = [calc.clawback_for_card(p) for p in ps]
    total = sum(r.amount_to_recover_pence for r in results)
    assert total == sum(r.amount_to_recover_pence for r in results if r.outcome in ("recover", "recover_all"))
    assert total <= sum(max(0, p.council_part_pence) for p in ps)


@settings(max_examples=200, deadline=None)
@given(
    weekly=st.integers(min_value=0, max_value=50_000),
    offsets=st.tuples(st.integers(0, 60), st.integers(0, 60)),
    received=st.lists(st.integers(min_value=0, max_value=60_000), min_size=1, max_size=12),
)
def test_contribution_series_adds_up(weekly, offsets, received):
    start = dt.date(2026, 1, 5) + dt.timedelta(days=offsets[0])
    end = start + dt.timedelta(days=offsets[1])
    rate = calc.ContributionRate(weekly, start, end)
    mondays = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(len(received))]
    weeks = [(m, calc.expected_for_week([rate], m), r) for m, r in zip(mondays, received, strict=True)]
    for m, e, _ in weeks:
        days = sum(1 for i in range(7) if start <= m + dt.timedelta(days=i) <= end)
        assert e == weekly * days // 7  # whole pence, rounded down
    series = calc.contribution_series(weeks)
    last = series[-1]
    assert last.arrears_pence - last.overpaid_pence == sum(e for _, e, _ in weeks) - sum(received)
    assert last.arrears_pence == 0 or last.overpaid_pence == 0
    for w in series:
        assert not w.missed or (w.received_pence == 0 and w.expected_pence > 0 and w.arrears_pence > 0)
