"""The planted safeguarding cases: for the client carrying one (simulator.population chose it and bent
its attributes), the items that make the pattern, planned on their days, and the case with its evidence.

Each rule has one planter here (``PLANTERS``); ``drain`` runs when the drain's load arrives, because its
spending follows the load's moment. ``finish_cases`` fills in what depends on what was generated (the
day a threshold was crossed, amounts). Planters also keep the background out of the pattern's way
(``quiet_*``), so the planted case is the only unusual thing about the client.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from simulator import catalogue as cat
from simulator.card import CardSim
from simulator.days import DAY, HOUR, at
from simulator.draws import account_number, person, sort_code
from simulator.model import Case, Payee
from simulator.population import Population

DRAIN_SHARE_CROSSED = 0.8  # a drain's case date: the day this share of its load has left the card
DORMANT_DAYS = 28  # a dormant_card case's date: the 28th quiet day


def plan_plants(sim: CardSim) -> None:
    """Quiet periods around stays and deaths (background ones too), then the client's planted case."""
    c, pop = sim.c, sim.pop
    p = c.plant_params
    # Card payments made just before a stay, a death or a dormant spell would settle inside it
    # (settlement lags up to 3 days), so the background stops card use 3 days ahead.
    if "quiet" in p:
        a, b = p["quiet"]
        sim.quiet_out.append((at(a, 0), at(b + DAY, 0)))
        sim.quiet_card_days.update(a - k * DAY for k in (1, 2, 3))
    if "death" in p:
        sim.quiet_out.append((at(p["death"], 0), at(pop.end + 30 * DAY, 0)))
        sim.quiet_card_days.update(p["death"] - k * DAY for k in (1, 2, 3))
    planter = PLANTERS.get(c.plant) if c.plant is not None else None
    if planter is not None:
        planter(sim)


def _plan(sim: CardSim, day: dt.date, when: dt.datetime, action: Callable[[], object]) -> None:
    sim.planned[day].append((when, 5, action))


def _plan_cash(sim: CardSim, first_day: dt.date, withdrawals: tuple[tuple[int, int], ...], tag: int) -> None:
    """Planted cash withdrawals: (days after ``first_day``, pence), each at a daytime moment."""
    for off, pence in withdrawals:
        day = first_day + off * DAY
        when = at(day, sim.secs(10, 18))
        _plan(sim, day, when, lambda when=when, pence=pence: sim.cash(when, pence, tag=tag))


def _restricted_mcc(sim: CardSim) -> None:
    rng, p = sim.rng, sim.c.plant_params
    day = sim.pop.start + p["day"] * DAY
    group = rng.choice(sim.pop.council.restricted_groups)
    mcc, channel, merchant = rng.choice(cat.RESTRICTED[group])
    pence = rng.randrange(800, 6000)
    tag = sim.new_case("restricted_mcc", f"card payment at {merchant} (MCC {mcc}, {group})", date=day, amount=pence)
    when = at(day, sim.secs(11, 21))
    _plan(sim, day, when, lambda: sim.purchase(when, mcc, channel, merchant, pence, tag=tag, background=False))


def _unapproved_payee(sim: CardSim) -> None:
    rng, p = sim.rng, sim.c.plant_params
    day = sim.pop.start + p["day"] * DAY
    pence = rng.randrange(6000, 25000)
    former = p.get("former")
    if former is not None:
        target: Payee | tuple[str, str, str] = former
        why = f"to {former.name}, whose approval ended {former.approved_to}"
        ref = "PA WAGES"
    else:
        target = (person(rng), sort_code(rng), account_number(rng))
        why = f"to {target[0]} (account ending {target[2][-4:]}), who is not in payees.csv"
        ref = rng.choice(("THANKS", "LOAN REPAY", "GIFT", "HELP"))
    tag = sim.new_case("unapproved_payee", f"faster payment of £{pence / 100:.2f} {why}", date=day, amount=pence)
    when = at(day, sim.secs(10, 19))
    _plan(sim, day, when, lambda: sim.pay(when, target, pence, "FPS_OUT", ref, tag=tag))


def _cash_not_allowed(sim: CardSim) -> None:
    rng, p = sim.rng, sim.c.plant_params
    day = sim.pop.start + p["day"] * DAY
    pence = rng.randrange(2, 9) * 1000
    tag = sim.new_case("cash_not_allowed", f"cash withdrawal of £{pence / 100:.2f}; the support plan does not allow cash",
                       date=day, amount=pence)
    when = at(day, sim.secs(10, 18))
    _plan(sim, day, when, lambda: sim.cash(when, pence, tag=tag))


def _cash_over_limit(sim: CardSim) -> None:
    c, p = sim.c, sim.c.plant_params
    monday = sim.pop.start + p["monday"] * DAY
    first, second = p["amounts"]
    limit = c.cash_weekly_limit_pence or 0
    for k in range(-6, 14):
        sim.quiet_cash_days.add(monday + k * DAY)
    tag = sim.new_case("cash_over_limit", f"cash £{(first + second) / 100:.2f} in the week of {monday} against a weekly "
                       f"limit of £{limit / 100:.2f}", date=monday + 3 * DAY, amount=first + second)
    _plan_cash(sim, monday, ((1, first), (3, second)), tag)


def _cash_spike(sim: CardSim) -> None:
    c, p = sim.c, sim.c.plant_params
    s = sim.pop.start + p["day"] * DAY
    a1, a2 = p["amounts"]
    for k in range(-6, 8):
        sim.quiet_cash_days.add(s + k * DAY)
    tag = sim.new_case("cash_spike", f"cash £{(a1 + a2) / 100:.2f} over two days against a steady "
                       f"£{c.cash_weekly_pence / 100:.2f} a week", date=s, amount=a1 + a2)
    _plan_cash(sim, s, ((0, a1), (1, a2)), tag)


def _spending_abroad(sim: CardSim) -> None:
    rng, p = sim.rng, sim.c.plant_params
    d0 = sim.pop.start + p["day"] * DAY
    country = rng.choice(sorted({a[3] for a in cat.ABROAD}))
    shops = [a for a in cat.ABROAD if a[3] == country]
    n = rng.randrange(2, 5)
    span = rng.randrange(0, 3)
    tag = sim.new_case("spending_abroad", f"{n} card payments in {country}", date=d0)
    for k in range(span + 1):
        sim.quiet_card_days.add(d0 + k * DAY)
    days_used = sorted(rng.randrange(0, span + 1) for _ in range(n))
    days_used[0] = 0
    for off in days_used:
        day = d0 + off * DAY
        mcc, merchant, city, ctry = rng.choice(shops)
        when = at(day, sim.secs(10, 21))
        pence = rng.randrange(500, 6000)
        _plan(sim, day, when, lambda when=when, mcc=mcc, merchant=merchant, city=city, ctry=ctry, pence=pence:
              sim.purchase(when, mcc, "POS", merchant, pence, city=city, country=ctry, tag=tag, background=False))


def _spend_after_death(sim: CardSim) -> None:
    rng, death = sim.rng, sim.c.plant_params["death"]
    n = rng.randrange(2, 5)
    offs = sorted(rng.randrange(1, 4) for _ in range(n))
    tag = sim.new_case("spend_after_death", f"{n} card payments after the client's death on {death}", date=death + offs[0] * DAY)
    everyday_plants(sim, tag, [death + o * DAY for o in offs])


def _spend_in_hospital(sim: CardSim) -> None:
    rng = sim.rng
    adm, dis = sim.c.plant_params["quiet"]
    last = min(dis - DAY, sim.pop.end)
    span = (last - adm).days
    n = rng.randrange(2, 4)
    offs = sorted(rng.randrange(1, span + 1) for _ in range(n))
    tag = sim.new_case("spend_in_hospital", f"{n} card payments while in hospital ({adm} to {dis})", date=adm + offs[0] * DAY)
    everyday_plants(sim, tag, [adm + o * DAY for o in offs])


def _dormant_card(sim: CardSim) -> None:
    s = sim.pop.start + sim.c.plant_params["from"] * DAY
    last = s + (DORMANT_DAYS - 1) * DAY
    sim.quiet_out.append((at(s, 0), at(sim.pop.end + 30 * DAY, 0)))
    sim.quiet_card_days.update(s - k * DAY for k in (1, 2, 3))
    sim.dormant = (s, sim.new_case("dormant_card", f"loads continue but nothing spent from {s} ({DORMANT_DAYS} days by "
                                   f"{last})", date=last))


def _unusual_hours(sim: CardSim) -> None:
    rng = sim.rng
    d0 = sim.pop.start + sim.c.plant_params["day"] * DAY
    n = rng.randrange(3, 6)
    tag = sim.new_case("unusual_hours", f"{n} card payments between 00:00 and 05:00 London", date=d0)
    for k in range(n):
        day = d0 + (DAY if (n >= 4 and k >= n - 2) else 0 * DAY)
        hour = rng.choice((0, 2, 3, 4))
        when = at(day, hour * 3600 + rng.randrange(60, 3540))
        mcc, channel, merchant = rng.choice(cat.NIGHT_MERCHANTS)
        pence = rng.randrange(300, 2500)
        _plan(sim, day, when, lambda when=when, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
              sim.purchase(when, mcc, channel, merchant, pence, tag=tag, background=False))


def _velocity(sim: CardSim) -> None:
    rng = sim.rng
    day = sim.pop.start + sim.c.plant_params["day"] * DAY
    n = rng.randrange(8, 12)
    t0 = sim.secs(11, 18)
    times = sorted(rng.sample(range(t0, t0 + 45 * 60), n))
    merchant = rng.choice(("AMZN MKTP UK", "EBAY O*12-0981", "STEAMGAMES.COM 4259"))
    mcc = "5999" if merchant != "STEAMGAMES.COM 4259" else "5816"
    tag = sim.new_case("velocity", f"{n} card payments at {merchant} within 45 minutes", date=day)
    sim.quiet_card_days.add(day)
    for t in times:
        when = at(day, t)
        pence = rng.randrange(150, 1200)
        _plan(sim, day, when, lambda when=when, pence=pence:
              sim.purchase(when, mcc, "ECOM", merchant, pence, tag=tag, background=False))


def _new_payee_burst(sim: CardSim) -> None:
    rng = sim.rng
    d0 = sim.pop.start + sim.c.plant_params["day"] * DAY
    who = (person(rng), sort_code(rng), account_number(rng))
    offs = [0, rng.randrange(3, 6), rng.randrange(7, 10)] + ([rng.randrange(10, 13)] if rng.random() < 0.5 else [])
    tag = sim.new_case("new_payee_burst", f"{len(offs)} faster payments to {who[0]} (account ending {who[2][-4:]}), a new "
                       "payee not in payees.csv, within 14 days", date=d0 + offs[2] * DAY)
    tag2 = sim.new_case("unapproved_payee", f"implied by new_payee_burst: payments to {who[0]}, who is not in "
                        "payees.csv", date=d0)
    ref = rng.choice(("FRIEND", "HELP", "BILLS", "SHOPPING"))
    for off in offs:
        day = d0 + off * DAY
        when = at(day, sim.secs(10, 19))
        pence = rng.randrange(4000, 18000)

        def send(when=when, pence=pence):
            it = sim.pay(when, who, pence, "FPS_OUT", ref, tag=tag)
            sim.cases[tag2].evidence.append(it)

        _plan(sim, day, when, send)


def _drain_after_load(sim: CardSim) -> None:
    """The drain itself is planned when its load arrives (``drain``); until then keep background cash
    out of any week the drain's cash falls in."""
    due = sim.c.plant_params["due"]
    sim.drain_due = due
    for k in range(-7, 9):
        sim.quiet_cash_days.add(due + k * DAY)


PLANTERS: dict[str, Callable[[CardSim], None]] = {
    "restricted_mcc": _restricted_mcc,
    "unapproved_payee": _unapproved_payee,
    "cash_not_allowed": _cash_not_allowed,
    "cash_over_limit": _cash_over_limit,
    "cash_spike": _cash_spike,
    "spending_abroad": _spending_abroad,
    "spend_after_death": _spend_after_death,
    "spend_in_hospital": _spend_in_hospital,
    "dormant_card": _dormant_card,
    "unusual_hours": _unusual_hours,
    "velocity": _velocity,
    "new_payee_burst": _new_payee_burst,
    "drain_after_load": _drain_after_load,
}


def everyday_plants(sim: CardSim, tag: int, days: list[dt.date]) -> None:
    """One ordinary-looking card purchase on each of ``days``, as evidence of a case (it is the day that is wrong)."""
    rng = sim.rng
    for day in days:
        mcc, channel, _w, median, sigma, merchants = cat.EVERYDAY[rng.choice((0, 0, 1, 2, 12))]
        merchant = rng.choice(merchants)
        pence = max(100, int(median * math.exp(rng.gauss(0, sigma))))
        when = at(day, sim.secs(10, 19))
        _plan(sim, day, when, lambda when=when, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
              sim.purchase(when, mcc, channel, merchant, pence, tag=tag, background=False))


def _drain_times(sim: CardSim, lt: dt.datetime, n: int) -> list[dt.datetime]:
    """``n`` moments in the load's day and the next, from 40 minutes after it, between 09:00 and 21:00."""
    rng = sim.rng
    slots = []
    first = max(lt + dt.timedelta(minutes=40), at(lt.date(), 9 * 3600))
    for off in (0, 1):
        lo = first if off == 0 else at(lt.date() + DAY, 9 * 3600)
        hi = at(lt.date() + off * DAY, 21 * 3600)
        if hi > lo:
            slots.append((lo, hi))
    times = []
    for _ in range(n):
        lo, hi = rng.choice(slots)
        times.append(lo + dt.timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()))))
    times.sort()
    return times


def drain(sim: CardSim, load_item) -> None:
    """Most of a fresh load leaves the card within two days: big-ticket buys, cash if allowed."""
    c, rng = sim.c, sim.rng
    lt = load_item.at
    target = int(load_item.settle_pence * rng.uniform(0.86, 0.93))
    target = min(target, sim.available() - 500)
    n = rng.randrange(4, 7)
    tag = sim.new_case("drain_after_load", f"{n} payments take most of the £{load_item.settle_pence / 100:.2f} load "
                       "within 48 hours", date=None, amount=None)
    sim.cases[tag].evidence.append(load_item)
    sim.quiet_out.append((lt, lt + 48 * HOUR))
    times = _drain_times(sim, lt, n)
    weights = [rng.uniform(0.6, 1.4) for _ in range(n)]
    cash_pence = 0
    if c.cash_allowed and c.cash_weekly_limit_pence:
        cash_pence = min(c.cash_weekly_limit_pence, 10_000) // 1000 * 1000
        for k in range(-6, 8):
            sim.quiet_cash_days.add(lt.date() + k * DAY)
    rest = target - cash_pence
    amounts = [int(rest * w / sum(weights)) for w in weights]
    amounts[-1] += rest - sum(amounts)
    events = []
    for k, (t, pence) in enumerate(zip(times, amounts, strict=True)):
        if k == 1 and cash_pence:
            events.append((t - dt.timedelta(minutes=30), "cash", cash_pence))
        mcc, channel, merchant = rng.choice(cat.BIG_TICKET)
        events.append((t, (mcc, channel, merchant), pence))
    for t, what, pence in events:
        def act(t=t, what=what, pence=pence):
            if what == "cash":
                sim.cash(t, pence, tag=tag)
            else:
                mcc, channel, merchant = what
                sim.purchase(t, mcc, channel, merchant, pence, tag=tag, background=False)
        if sim.today is not None and t.date() == lt.date():
            sim.push(t, 5, act)
        else:
            sim.planned[t.date()].append((t, 5, act))


def finish_dormant(sim: CardSim) -> None:
    """A dormant case's evidence: the loads of its quiet days (known once the loop has run)."""
    if sim.dormant is not None:
        s, tag = sim.dormant
        last = s + (DORMANT_DAYS - 1) * DAY
        sim.cases[tag].evidence.extend(it for it in sim.items if it.kind == "load" and s <= it.at.date() <= last)


def finish_cases(pop: Population, cases: list[Case]) -> None:
    """Dates and amounts that depend on what was generated (the day a threshold was crossed)."""
    for case in cases:
        ev = [it for it in case.evidence if it.kind != "load"] if case.rule == "drain_after_load" else case.evidence
        if case.rule == "drain_after_load":
            load = case.evidence[0]
            spent, crossed = 0, None
            for it in sorted(ev, key=lambda i: i.at):
                spent += it.settle_pence
                if crossed is None and spent >= DRAIN_SHARE_CROSSED * load.settle_pence:
                    crossed = it.at.date()
            case.amount_pence = spent
            case.date = crossed or load.at.date()
            case.description += f" (£{spent / 100:.2f} of £{load.settle_pence / 100:.2f} by {case.date})"
        elif case.rule in ("unusual_hours",) and len(ev) >= 3:
            case.date = sorted(it.at for it in ev)[2].date()
        if case.amount_pence is None and case.rule not in ("dormant_card",) and case.evidence:
            case.amount_pence = sum(it.settle_pence or it.amount_pence for it in case.evidence)
