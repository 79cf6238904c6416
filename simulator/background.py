"""What normal looks like on a card, day by day: bank payments to approved payees and known commitments,
weekly cash, everyday card purchases, refunds, fees and the odd credit, and the closing unload.

Guards keep the background clean of every planted pattern (docs/simulator.md, "The background"): no
restricted MCC, no foreign merchant, no card use at night; cash only for cash-allowed clients, once a week
on a fixed weekday, within the weekly limit; bank payments only to payees approved that day; at most
``MAX_PURCHASES_A_DAY`` purchases; never more than card.DRAIN_GUARD_SHARE of a load spent in the 48 hours
after it; something spent at least every ``DORMANCY_GUARD_DAYS`` days (unless in hospital or respite, which
stop spending).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from simulator import catalogue as cat
from simulator.card import CardSim, Planned
from simulator.days import DAY, at
from simulator.draws import poisson
from simulator.model import Payee

_EVERYDAY_WEIGHTS = [w for _, _, w, _, _, _ in cat.EVERYDAY]
_EVERYDAY_CUM = [sum(_EVERYDAY_WEIGHTS[: i + 1]) for i in range(len(_EVERYDAY_WEIGHTS))]
MAX_PURCHASES_A_DAY = 5
DORMANCY_GUARD_DAYS = 8
CLOSING_QUIET_DAYS = 9  # card purchases stop this many days before a card closes


@dataclass
class Routine:
    """A client's fixed background facts, worked out once before the day loop."""

    commitments_by_day: dict[dt.date, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    payee_by_name: dict[str, Payee] = field(default_factory=dict)
    death: dt.date | None = None
    close_quiet_from: dt.date | None = None


def routine(sim: CardSim) -> Routine:
    c = sim.c
    r = Routine(payee_by_name={p.name: p for p in c.payees}, death=c.plant_params.get("death"),
                close_quiet_from=c.closed - CLOSING_QUIET_DAYS * DAY if c.closed else None)
    for due, pence, desc, _known in c.commitments:
        r.commitments_by_day[due].append((pence, desc))
    return r


def background(sim: CardSim, r: Routine, day: dt.date) -> list[Planned]:
    """The day's background actions, in the order they are drawn (refunds due today happen at once)."""
    c = sim.c
    dead = r.death is not None and day >= r.death
    closing_soon = r.close_quiet_from is not None and day >= r.close_quiet_from
    todo: list[Planned] = []
    if not dead:
        todo += _payee_payments(sim, day)
        todo += _commitments(sim, r, day)
    card_ok = not dead and not closing_soon and day not in sim.quiet_card_days
    if card_ok:
        todo += _weekly_cash(sim, day)
        todo += _everyday_purchases(sim, day)
    for original in sim.refund_q.pop(day, []):
        if not (c.closed and day >= c.closed):
            sim.refund(original, day)
    todo += _fees_and_credits(sim, day, dead)
    if c.closed and day == c.closed:
        when = at(day, sim.secs(10, 11))
        todo.append((when, 9, lambda when=when: sim.unload(when)))
    return todo


def _payee_payments(sim: CardSim, day: dt.date) -> list[Planned]:
    """Personal assistants weekly (standing order fixed, faster payment varying), payroll bureaux on the 15th."""
    rng, todo = sim.rng, []
    for p in sim.c.payees:
        if p.first_pay is None or day < p.first_pay or (p.last_pay and day > p.last_pay):
            continue
        if p.approved_to is not None and day > p.approved_to:
            continue
        if p.kind == "payroll_bureau":
            if day.day != 15:
                continue
            pence, secs = p.amount_pence, sim.secs(6, 8)
            ref = p.reference
        else:
            if (day - p.first_pay).days % p.cadence_days:
                continue
            if p.method == "SO":
                pence, secs, ref = p.amount_pence, sim.secs(6, 8), p.reference
            else:
                pence = int(p.amount_pence * rng.uniform(0.85, 1.1))
                secs = sim.secs(9, 20)
                ref = f"PA WAGES WK{day.isocalendar()[1]}"
        when = at(day, secs)
        todo.append((when, 2, lambda when=when, p=p, pence=pence, ref=ref: sim.pay(when, p, pence, p.method, ref)
                     if sim.background_out_ok(when, pence) else None))
    return todo


def _commitments(sim: CardSim, r: Routine, day: dt.date) -> list[Planned]:
    """Agency invoices and equipment orders due today (commitments.csv), paid to their payee."""
    todo = []
    for pence, desc in r.commitments_by_day.get(day, []):
        p = r.payee_by_name[desc.split(" ", 2)[2]]
        when = at(day, sim.secs(7, 10))
        todo.append((when, 2, lambda when=when, p=p, pence=pence: sim.pay(when, p, pence, p.method, p.reference)
                     if sim.background_out_ok(when, pence) else None))
    return todo


def _weekly_cash(sim: CardSim, day: dt.date) -> list[Planned]:
    c = sim.c
    if not (c.cash_allowed and c.cash_weekly_pence and day.weekday() == c.cash_weekday and day not in sim.quiet_cash_days):
        return []
    when = at(day, sim.secs(10, 18))
    pence = c.cash_weekly_pence
    return [(when, 3, lambda when=when, pence=pence: sim.cash(when, pence) if sim.background_out_ok(when, pence) else None)]


def _everyday_purchases(sim: CardSim, day: dt.date) -> list[Planned]:
    """A Poisson number of everyday purchases (at least one after DORMANCY_GUARD_DAYS without spending)."""
    rng, todo = sim.rng, []
    n = min(poisson(rng, sim.c.purchase_rate), MAX_PURCHASES_A_DAY)
    if n == 0 and (day - sim.last_out).days >= DORMANCY_GUARD_DAYS:
        n = 1
    for _ in range(n):
        when = at(day, sim.secs(7, 22.5))
        k = bisect.bisect_right(_EVERYDAY_CUM, rng.random() * _EVERYDAY_CUM[-1])
        mcc, channel, _w, median, sigma, merchants = cat.EVERYDAY[k]
        merchant = rng.choice(merchants)
        pence = max(50, int(median * math.exp(rng.gauss(0, sigma))))
        todo.append((when, 4, lambda when=when, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
                     sim.purchase(when, mcc, channel, merchant, pence)
                     if not sim.quiet(when) and sim.drain_ok(when, pence) else None))
    return todo


def _fees_and_credits(sim: CardSim, day: dt.date, dead: bool) -> list[Planned]:
    """B's monthly fee, a rare replacement-card fee, goodwill credit or gift from the payer."""
    c, rng, todo = sim.c, sim.rng, []
    if c.provider == "B" and day.day == 1 and not sim.quiet(at(day, 6 * 3600)):
        when = at(day, sim.secs(5.5, 6))
        todo.append((when, 0, lambda when=when: sim.fee(when, 100, "Monthly card fee") if sim.ledger >= 100 else None))
    if c.provider != "B" and not dead and rng.random() < 0.0005:
        when = at(day, sim.secs(9, 17))
        todo.append((when, 3, lambda when=when: sim.fee(when, 500, "Replacement card fee")
                     if sim.background_out_ok(when, 500) else None))
    if not dead and c.provider != "C" and rng.random() < 0.0002:
        when = at(day, sim.secs(9, 17))
        pence = rng.randrange(100, 1000)
        todo.append((when, 3, lambda when=when, pence=pence: sim.post_now(
            sim.item("adjustment", +1, pence, when, "ADJUSTMENT", "Goodwill credit"))))
    if not dead and rng.random() < 0.0002:
        when = at(day, sim.secs(9, 20))
        pence = rng.randrange(10, 60) * 100
        who = (c.payer_name, c.payer_sort_code, c.payer_account)
        todo.append((when, 3, lambda when=when, pence=pence, who=who: sim.post_now(sim.item(
            "other_in", +1, pence, when, "FPS_IN", "Faster payment received", cp_name=who[0], cp_sort_code=who[1],
            cp_account=who[2], reference="GIFT"))))
    return todo
