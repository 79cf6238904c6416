"""Money onto a card: the council's scheduled loads (a few a day early or 1-2 days late, within the
reconciliation's tolerance) and the client's weekly contributions (some late, mistyped, or a week missed
and caught up), with the finance cases planted in them: a load missing, late, twice, for the wrong amount
or unexpected; contributions short after a reassessment, or stopped.

Plans are made before the day loop (``plan_loads``, ``plan_contributions``); ``arrivals`` turns a day's
planned arrivals into actions for it.
"""

from __future__ import annotations

import datetime as dt

from simulator import plants
from simulator.card import CardSim, Planned
from simulator.days import DAY, at, next_weekday
from simulator.draws import mistype

PLANTED_LOAD_RULES = ("missing_load", "late_load", "duplicate_load", "wrong_amount_load")


def plan_loads(sim: CardSim) -> None:
    """When each scheduled load (and a planted unexpected one) arrives."""
    c, pop, rng = sim.c, sim.pop, sim.rng
    p = c.plant_params
    lo = max(pop.start, c.opened)
    for due, pence, ref, _known in c.schedule:
        if due > pop.end:
            continue
        t = sim.secs(8, 10)
        if c.plant in PLANTED_LOAD_RULES and p.get("due") == due:
            _planted_load(sim, due, pence, ref, t)
            continue
        arrive = due
        if c.plant != "drain_after_load" or p.get("due") != due:
            r = rng.random()
            if r < 0.08 and due - DAY >= lo:
                arrive = due - DAY
            elif r < 0.13 and due + 2 * DAY <= pop.end:
                arrive = due + rng.choice((1, 2)) * DAY
        sim.load_arrivals[arrive].append((t, pence, ref, -1))
    if c.plant == "unexpected_load":
        day = pop.start + p["day"] * DAY
        tag = sim.new_case("unexpected_load", f"load of £{p['amount'] / 100:.2f} from the council's funding account with "
                           f"reference {p['ref']!r}, which matches no load_schedule row", date=day, amount=p["amount"])
        sim.load_arrivals[day].append((sim.secs(10, 15), p["amount"], p["ref"], tag))


def _planted_load(sim: CardSim, due: dt.date, pence: int, ref: str, t: int) -> None:
    c, p = sim.c, sim.c.plant_params
    rule = c.plant
    if rule == "missing_load":
        sim.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} due {due} never arrives", date=due, amount=pence)
    elif rule == "late_load":
        arrive = p["arrive"]
        tag = sim.new_case(rule, f"scheduled load {ref} due {due} arrives {(arrive - due).days} days late on {arrive}",
                           date=arrive, amount=pence)
        sim.load_arrivals[arrive].append((t, pence, ref, tag))
    elif rule == "duplicate_load":
        arrive = p["arrive"]
        tag = sim.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} arrives twice ({due} and {arrive})",
                           date=arrive, amount=pence)
        sim.load_arrivals[due].append((t, pence, ref, tag))
        t2 = t + 3600 * 3 if arrive == due else sim.secs(8, 10)
        sim.load_arrivals[arrive].append((t2, pence, ref, tag))
    elif rule == "wrong_amount_load":
        variant = p["variant"]
        actual = pence * 2 if variant == 0 else (pence + 5000 if variant == 1 else max(100, pence - 10000))
        tag = sim.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} arrives as £{actual / 100:.2f} "
                           "(amount_pence is actual minus scheduled)", date=due, amount=actual - pence)
        sim.load_arrivals[due].append((t, actual, ref, tag))


def _due_days(sim: CardSim) -> list[dt.date]:
    c, pop = sim.c, sim.pop
    dues = []
    d = next_weekday(max(pop.start, c.opened), c.contrib_weekday)
    while d <= pop.end:
        dues.append(d)
        d += 7 * DAY
    return dues


def plan_contributions(sim: CardSim) -> None:
    """When each weekly contribution of a net-model client arrives, and how much (planted: short or stopped)."""
    c, pop, rng = sim.c, sim.pop, sim.rng
    if c.model != "net" or not c.contributions:
        return
    dues = _due_days(sim)
    change = c.plant_params.get("change")
    carried = 0
    affected: list[tuple[dt.date, int]] = []
    for k, due in enumerate(dues):
        assessed = c.contribution_on(due)
        if assessed <= 0:
            continue
        ref = c.contrib_ref_habit or c.contributions[0].reference
        if c.contrib_ref_habit is None and rng.random() < 0.03:
            ref = mistype(ref, rng)
        if change is not None and due >= change:
            if c.plant == "contributions_stopped":
                affected.append((due, assessed))
                continue
            paid = c.contributions[0].weekly_pence
            affected.append((due, assessed - paid))
            sim.contrib_arrivals[due].append((sim.secs(6, 12), paid, ref))
            continue
        r = rng.random()
        if r < 0.02 and k < len(dues) - 1 and change is None and carried == 0:
            carried = assessed  # missed this week, paid double next week (never two weeks running)
            continue
        pence = assessed + carried
        carried = 0
        day = due
        if r < 0.08 and due + 2 * DAY <= pop.end:
            day = due + rng.choice((1, 2)) * DAY
        sim.contrib_arrivals[day].append((sim.secs(6, 12), pence, ref))
    if affected and c.plant in ("contribution_shortfall", "contributions_stopped"):
        _plant_contribution_case(sim, affected, change)


def _plant_contribution_case(sim: CardSim, affected: list[tuple[dt.date, int]], change: dt.date | None) -> None:
    """The contribution_shortfall or contributions_stopped case: dated the third short or missed week."""
    c = sim.c
    third = affected[min(2, len(affected) - 1)][0]
    total = sum(a for _, a in affected)
    if c.plant == "contributions_stopped":
        desc = f"net-model client stops paying the weekly contribution from {affected[0][0]} ({len(affected)} weeks unpaid)"
    else:
        desc = (f"contribution reassessed to £{c.contribution_on(change) / 100:.2f} a week from {change}; the client "
                f"keeps paying £{c.contributions[0].weekly_pence / 100:.2f} ({len(affected)} weeks short)")
    sim.new_case(c.plant, desc, date=third, amount=total)
    sim.shortfall_tag = len(sim.cases) - 1


def arrivals(sim: CardSim, day: dt.date) -> list[Planned]:
    """The day's loads (a planted drain follows its load) and then its contributions, as actions."""
    c = sim.c
    todo: list[Planned] = []
    for secs, pence, ref, tag in sim.load_arrivals.pop(day, []):
        when = at(day, secs)

        def do_load(when=when, pence=pence, ref=ref, tag=tag, day=day):
            it = sim.load(when, pence, ref, tag)
            if sim.drain_due == day and c.plant == "drain_after_load" and tag == -1:
                sim.drain_due = None
                plants.drain(sim, it)

        todo.append((when, 0, do_load))
    for secs, pence, ref in sim.contrib_arrivals.pop(day, []):
        when = at(day, secs)
        tag = sim.shortfall_tag if c.plant == "contribution_shortfall" else -1
        kw = dict(cp_name=c.payer_name, cp_sort_code=c.payer_sort_code, cp_account=c.payer_account, reference=ref)

        def do_contrib(when=when, pence=pence, kw=kw, tag=tag, due_change=c.plant_params.get("change")):
            it = sim.item("contribution", +1, pence, when, "SO_IN", "Standing order", **kw)
            sim.post_now(it)
            if tag >= 0 and due_change and when.date() >= due_change:
                it.tag = tag
                sim.cases[tag].evidence.append(it)

        todo.append((when, 1, do_contrib))
    return todo
