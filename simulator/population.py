"""Who is on the scheme: clients, their cards, payees, contributions, load schedule, life events.

Also decides which clients carry a planted case and bends their attributes so the case is the
only unusual thing about them (a cash-spike client is given cash with no weekly limit, so the spike
does not also break a limit; a death case is given a non-contributing client, so contributions do
not also stop). Every draw comes from one ``random.Random`` seeded from (seed, council).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator import catalogue as cat
from simulator.days import DAY, next_weekday
from simulator.draws import account_number, mistype, person, sort_code
from simulator.model import Client, ContributionRow, Payee

SAFEGUARDING_RULES: tuple[str, ...] = (
    "restricted_mcc", "unapproved_payee", "cash_not_allowed", "cash_over_limit", "spending_abroad",
    "spend_after_death", "spend_in_hospital", "drain_after_load", "cash_spike", "new_payee_burst",
    "dormant_card", "unusual_hours", "velocity",
)
FINANCE_RULES: tuple[str, ...] = (
    "contribution_shortfall", "contributions_stopped", "balance_discrepancy", "missing_load", "late_load",
    "duplicate_load", "wrong_amount_load", "unexpected_load",
)
FILE_RULES: tuple[str, ...] = ("late_file", "missing_file")
ALL_RULES: tuple[str, ...] = SAFEGUARDING_RULES + FINANCE_RULES + FILE_RULES

# Mean everyday card purchase (weights × log-normal means in catalogue.EVERYDAY, ~£17.58) plus headroom.
MEAN_PURCHASE_PENCE = 1800
# Planted cases per rule = max(1, round(clients * PLANT_RATE)): 6 per rule on 1,000 clients.
PLANT_RATE = 0.006
# Shortest simulation (days) in which a rule can be planted honestly.
MIN_DAYS: dict[str, int] = {
    "dormant_card": 28, "cash_spike": 28, "contributions_stopped": 28, "contribution_shortfall": 28,
    "new_payee_burst": 14, "late_load": 10, "missing_load": 6, "spend_in_hospital": 8, "spend_after_death": 7,
    "cash_over_limit": 13, "spending_abroad": 5, "drain_after_load": 5, "unusual_hours": 4, "velocity": 3,
    "restricted_mcc": 3, "unapproved_payee": 3, "cash_not_allowed": 3, "balance_discrepancy": 3,
    "duplicate_load": 4, "wrong_amount_load": 3, "unexpected_load": 3, "late_file": 4, "missing_file": 4,
}


@dataclass
class Council:
    name: str
    code: int  # two digits from the name, keeps ids of different councils apart
    slug: str
    funding_sort_code: str
    funding_account: str
    starter_float_weeks: int = 8
    daily_atm_limit_pence: int = 25_000
    restricted_groups: tuple[str, ...] = ("alcohol", "tobacco", "gambling", "adult", "pawn", "quasi_cash", "money_transfer")


@dataclass
class Population:
    council: Council
    clients: list[Client]
    start: dt.date
    days: int
    seed: int = 0
    # planted provider-day file cases: (rule, provider, date)
    file_cases: list[tuple[str, str, dt.date]] = field(default_factory=list)
    # planted statement errors: (client, date, delta_pence)
    discrepancies: list[tuple[Client, dt.date, int]] = field(default_factory=list)

    @property
    def end(self) -> dt.date:
        return self.start + (self.days - 1) * DAY


def council_for(name: str) -> Council:
    crc = zlib.crc32(name.encode("utf-8"))
    slug = re.sub(r"[^a-z0-9]+", "", name.lower()) or "council"
    return Council(
        name=name,
        code=10 + crc % 90,
        slug=slug,
        funding_sort_code=f"{40 + crc % 50:02d}{(crc >> 8) % 10000:04d}",
        funding_account=f"9{(crc >> 4) % 10_000_000:07d}",
    )


def _pence(pounds: float) -> int:
    return int(round(pounds * 100))


def _round_pounds(pence: int, step_pounds: int) -> int:
    step = step_pounds * 100
    return max(step, int(round(pence / step)) * step)


def build_population(council_name: str, n_clients: int, start: dt.date, days: int, seed: int, planted: bool) -> Population:
    """Every client of the scheme with their cards, payees, contributions, schedule and life events;
    with ``planted``, the clients carrying a planted case bent to fit it."""
    assert n_clients > 0 and days > 0
    council = council_for(council_name)
    rng = random.Random(f"careledger-sim:{seed}:{council_name}:population")
    end = start + (days - 1) * DAY
    prefix = (re.sub(r"[^A-Z]", "", council_name.upper()) + "XXX")[:3]

    n_a = round(n_clients * 0.40)
    n_b = round(n_clients * 0.35)
    providers = ["A"] * n_a + ["B"] * n_b + ["C"] * (n_clients - n_a - n_b)
    rng.shuffle(providers)
    ids = _Ids(
        providers=providers,
        a=rng.sample(range(10_000_000, 100_000_000), n_clients),
        b=rng.sample(range(16**8), n_clients),
        c=rng.sample(range(10**9, 10**10), n_clients),
    )
    clients: list[Client] = []
    for i in range(n_clients):
        c = _new_client(i, council, prefix, ids, rng, start, days)
        _payees(c, rng, start, end, days)
        clients.append(c)

    pop = Population(council, clients, start, days, seed)
    _background_events(pop, rng)
    if planted:
        _assign_plants(pop, rng)
    for c in clients:
        _schedule(c, pop)
        _rates(c)
    return pop


@dataclass(frozen=True)
class _Ids:
    """Each client's provider and the card account numbers drawn for them, by client index."""

    providers: list[str]
    a: list[int]
    b: list[int]
    c: list[int]


def _new_client(i: int, council: Council, prefix: str, ids: _Ids, rng: random.Random, start: dt.date, days: int) -> Client:
    """Client ``i``: budget, contribution model, card dates, cash terms, team, payer (draws in a fixed order)."""
    span = days / 28.0
    provider = ids.providers[i]
    account_id = {
        "A": f"{ids.a[i]}",
        "B": f"ct_{ids.b[i]:08x}",
        "C": f"{council.code}{ids.c[i]}",
    }[provider]
    num = f"{council.code}{i + 1:05d}"
    budget = min(max(_pence(260 * math.exp(rng.gauss(0, 0.45))), 8_000), 120_000)
    model = rng.choices(("net", "gross", "none"), weights=(55, 20, 25))[0]
    contribution = 0
    if model != "none":
        contribution = max(500, _pence(budget / 100 * rng.uniform(0.05, 0.25)))
    new_joiner = days >= 8 and rng.random() < min(0.05, 0.01 * span)
    opened = start + rng.randrange(2, days - 3) * DAY if new_joiner else start - rng.randrange(30, 1500) * DAY
    closed = None
    if not new_joiner and days >= 14 and rng.random() < min(0.04, 0.008 * span):
        closed = start + rng.randrange(10, days - 1) * DAY
    cash_allowed = rng.random() < 0.2
    limit = None
    cash_weekly = 0
    if cash_allowed:
        limit = None if rng.random() < 0.1 else rng.choice((50, 75, 100, 150)) * 100
        cash_weekly = _round_pounds(int((limit or 8000) * rng.uniform(0.3, 0.8)), 10)
    team = rng.choice(cat.TEAMS)
    known_from = min(opened, start)
    anchor = opened if new_joiner else start + 7 * rng.randrange(4) * DAY
    c = Client(
        idx=i,
        client_id=f"{prefix}{num}",
        num=num,
        provider=provider,
        account_id=account_id,
        opened=opened,
        closed=closed,
        known_from=known_from,
        weekly_budget_pence=budget,
        contingency_weeks=None if rng.random() < 0.8 else rng.choice((4, 5, 6, 8)),
        cash_allowed=cash_allowed,
        cash_weekly_limit_pence=limit,
        model=model,
        team=team,
        safeguarding_email=f"lead.{team.lower()}@{council.slug}.example" if rng.random() < 0.6 else "",
        take_on_pence=0 if new_joiner else int(budget * rng.uniform(1.5, 5.0)) + rng.randrange(100),
        payer_name=f"{rng.choice(cat.FIRST_NAMES)[0]} {rng.choice(cat.SURNAMES)}",
        payer_sort_code=sort_code(rng),
        payer_account=account_number(rng),
        contrib_weekday=rng.choice((0, 0, 0, 4, 4, 1, 2, 3)),
        contrib_ref_habit=None,
        load_anchor=anchor,
        cash_weekday=rng.randrange(7),
        cash_weekly_pence=cash_weekly,
        purchase_rate=0.0,
    )
    c.closed_known = closed
    if model != "none":
        ref = f"CONTRIB {num}" if model == "net" else ""
        c.contributions.append(ContributionRow(contribution, opened, None, ref, known_from))
        if model == "net" and rng.random() < 0.04:
            c.contrib_ref_habit = mistype(ref, rng)
    return c


def _payees(c: Client, rng: random.Random, start: dt.date, end: dt.date, days: int) -> None:
    budget = c.weekly_budget_pence
    has_pa = rng.random() < 0.6
    has_agency = rng.random() < (0.35 if has_pa else 0.55)
    pa_share = rng.uniform(0.35, 0.55) * (0.6 if has_agency else 1.0)
    before = c.opened - rng.randrange(0, 30) * DAY
    if has_pa:
        n_pa = 2 if rng.random() < 0.2 else 1
        for k in range(n_pa):
            weekly = int(budget * pa_share / n_pa)
            method = "SO" if rng.random() < 0.4 else "FPS_OUT"
            pay_day = next_weekday(max(start, c.opened), rng.choice((3, 4, 4, 0)))
            c.payees.append(Payee(
                name=person(rng), sort_code=sort_code(rng), account_number=account_number(rng),
                kind="personal_assistant", approved_from=before, approved_to=None, known_from=c.known_from,
                method=method, amount_pence=weekly, cadence_days=7, first_pay=pay_day,
                reference="PA WAGES" if method == "SO" else f"PA WAGES {k + 1}",
            ))
        if rng.random() < 0.08:  # a former PA, approval ended before the period: never paid now
            c.payees.append(Payee(
                name=person(rng), sort_code=sort_code(rng), account_number=account_number(rng),
                kind="personal_assistant", approved_from=before - 400 * DAY,
                approved_to=start - rng.randrange(20, 200) * DAY, known_from=c.known_from,
            ))
        if rng.random() < 0.10:
            c.payees.append(Payee(
                name=rng.choice(cat.PAYROLL_BUREAUX), sort_code=sort_code(rng), account_number=account_number(rng),
                kind="payroll_bureau", approved_from=before, approved_to=None, known_from=c.known_from,
                method="DD", amount_pence=rng.randrange(1200, 2500), cadence_days=0,  # monthly on day 15
                first_pay=start, reference=f"PAYROLL {c.num}",
            ))
        # A change of PA part-way through: old approval ends, new PA approved the same day.
        if days >= 21 and c.opened < start and rng.random() < min(0.1, 0.02 * days / 28):
            old = c.payees[0]
            switch = start + rng.randrange(7, days - 7) * DAY
            old.approved_to = switch - DAY
            old.to_known_from = switch
            old.last_pay = switch - DAY
            c.payees.append(Payee(
                name=person(rng), sort_code=sort_code(rng), account_number=account_number(rng),
                kind="personal_assistant", approved_from=switch, approved_to=None, known_from=switch,
                method=old.method, amount_pence=old.amount_pence, cadence_days=7,
                first_pay=next_weekday(switch, old.first_pay.weekday() if old.first_pay else 4),
                reference=old.reference,
            ))
    if has_agency:
        c.payees.append(Payee(
            name=rng.choice(cat.AGENCIES), sort_code=sort_code(rng), account_number=account_number(rng),
            kind="agency", approved_from=before, approved_to=None, known_from=c.known_from,
            method="DD", amount_pence=int(budget * rng.uniform(0.2, 0.3) * 4), cadence_days=28,
            first_pay=None,  # invoices come from commitments, due mid-cycle between loads
            reference=f"INV {c.num}",
        ))
    if rng.random() < 0.08 and days >= 10:
        c.payees.append(Payee(
            name=rng.choice(cat.SUPPLIERS), sort_code=sort_code(rng), account_number=account_number(rng),
            kind="supplier", approved_from=before, approved_to=None, known_from=c.known_from,
            method="BACS", amount_pence=rng.randrange(2_000, 12_000), cadence_days=0, first_pay=None,
            reference=f"ORDER {c.num}",
        ))


def _background_events(pop: Population, rng: random.Random) -> None:
    """Hospital stays, respite, suspensions and deaths among clients who carry no planted case.

    Background events never come with spending: a stay or a death stops card use (that is what
    the planted cases break)."""
    span = pop.days / 28.0
    for c in pop.clients:
        if c.opened >= pop.start or c.closed is not None or pop.days < 10:
            continue
        r = rng.random()
        if r < 0.012 * span:
            kind = rng.choice(("hospital", "respite"))
            a = pop.start + rng.randrange(1, pop.days - 3) * DAY
            b = a + rng.randrange(2, 10) * DAY
            first, last = ("hospital_admission", "hospital_discharge") if kind == "hospital" else ("respite_start", "respite_end")
            c.events.append((first, a))
            if b <= pop.end:
                c.events.append((last, b))
            c.plant_params["quiet"] = (a, b)
        elif r < 0.012 * span + 0.002 * span and c.model != "net" and pop.days >= 20:
            d = pop.start + rng.randrange(2, pop.days - 16) * DAY
            c.events.append(("deceased", d))
            c.plant_params["death"] = d
            c.closed = d + 14 * DAY
            c.closed_known = c.closed
        elif r < 0.012 * span + 0.002 * span + 0.003 * span and pop.days >= 20:
            s = pop.start + rng.randrange(1, pop.days - 10) * DAY
            e = s + rng.randrange(14, 28) * DAY
            c.events.append(("suspended", s))
            if e <= pop.end:
                c.events.append(("resumed", e))
            c.plant_params["suspended"] = (s, e)


def _eligible(c: Client, start: dt.date) -> bool:
    return c.plant is None and not c.events and c.closed is None and c.opened < start and not c.plant_params


def _assign_plants(pop: Population, rng: random.Random) -> None:
    n = len(pop.clients)
    count = max(1, round(n * PLANT_RATE))
    start, days = pop.start, pop.days
    pool = [c for c in pop.clients if _eligible(c, start)]
    rng.shuffle(pool)

    def take(pred=lambda c: True) -> Client | None:
        for k, c in enumerate(pool):
            if pred(c):
                return pool.pop(k)
        return None

    for rule in SAFEGUARDING_RULES + FINANCE_RULES:
        if days < MIN_DAYS[rule]:
            continue
        placed = 0
        for _attempt in range(count * 20):  # bounded: a rule may fit few clients (a load due in the window)
            if placed == count:
                break
            pred = {
                "spending_abroad": lambda c: c.provider == "B",
                "spend_after_death": lambda c: c.model != "net",
                "dormant_card": lambda c: c.model != "net",
                "contribution_shortfall": lambda c: c.model == "net",
                "contributions_stopped": lambda c: c.model == "net",
            }.get(rule, lambda c: True)
            c = take(pred)
            if c is None:
                break
            c.plant = rule
            _bend(c, rule, pop, rng)
            if c.plant is None:  # the rule does not fit this client's dates: give it back
                c.plant_params.clear()
                pool.append(c)
            else:
                placed += 1

    if days >= MIN_DAYS["late_file"]:
        used: set[tuple[str, dt.date]] = set()
        n_files = max(1, days // 30)
        for rule in FILE_RULES:
            for _ in range(n_files):
                for _attempt in range(50):
                    p = rng.choice(("A", "B", "C"))
                    d = start + rng.randrange(1, days - 2) * DAY
                    if any((p, d + k * DAY) in used for k in (-2, -1, 0, 1, 2)):
                        continue
                    used.add((p, d))
                    pop.file_cases.append((rule, p, d))
                    break
    if days >= MIN_DAYS["balance_discrepancy"]:
        blocked = {(p, d + k * DAY) for _, p, d in pop.file_cases for k in (0, 1)}
        for c in [c for c in pop.clients if c.plant == "balance_discrepancy"]:
            for _attempt in range(50):
                d = start + rng.randrange(1, days) * DAY
                if (c.provider, d) not in blocked:
                    delta = rng.choice((-1249, 2500, -5000, 100, -3700, 1, -899, 12000))
                    pop.discrepancies.append((c, d, delta))
                    break


def _dues(c: Client, pop: Population) -> list[dt.date]:
    out = []
    due = c.load_anchor
    while due <= pop.end + 28 * DAY:
        out.append(due)
        due += 28 * DAY
    return out


def _bend(c: Client, rule: str, pop: Population, rng: random.Random) -> None:
    """Fix the attributes and dates a planted case needs, so nothing else about the client is odd. A rule
    that does not fit the client's dates sets ``c.plant`` back to None."""
    bend = _BENDS.get(rule)
    if bend is not None:
        bend(c, pop, rng)


def _bend_cash_not_allowed(c: Client, pop: Population, rng: random.Random) -> None:
    c.cash_allowed, c.cash_weekly_limit_pence, c.cash_weekly_pence = False, None, 0
    c.plant_params["day"] = rng.randrange(1, pop.days - 1)


def _bend_cash_over_limit(c: Client, pop: Population, rng: random.Random) -> None:
    """Cash allowed with a limit of £50-£100, usual cash half of it; two withdrawals in one week cross it."""
    limit = rng.choice((50, 60, 75, 80, 100)) * 100
    c.cash_allowed, c.cash_weekly_limit_pence = True, limit
    c.cash_weekly_pence = _round_pounds(limit // 2, 10)
    mondays = [d for d in range(pop.days - 6) if (pop.start + d * DAY).weekday() == 0]
    if not mondays:
        c.plant = None
        return
    monday = rng.choice(mondays)
    first = _round_pounds(int(limit * 0.6), 10)
    second = limit - first + rng.choice((20, 30, 40)) * 100
    c.plant_params.update(monday=monday, amounts=(first, second))


def _bend_cash_spike(c: Client, pop: Population, rng: random.Random) -> None:
    """Steady weekly cash with no limit (so the spike breaks no limit), the spike in week 4 or later,
    never within 3 days of a load."""
    c.cash_allowed, c.cash_weekly_limit_pence = True, None
    c.cash_weekly_pence = rng.choice((30, 40, 50, 60)) * 100
    c.weekly_budget_pence = max(c.weekly_budget_pence, rng.randrange(25_000, 40_000))
    load_days = {(d - pop.start).days for d in _dues(c, pop)}
    candidates = [d for d in range(21, pop.days - 1) if not any(0 <= d - ld <= 3 for ld in load_days)]
    s = rng.choice(candidates) if candidates else pop.days - 2
    c.plant_params.update(day=s, amounts=(rng.choice((200, 220, 240, 250)) * 100, rng.choice((150, 200, 250)) * 100))


def _bend_spend_after_death(c: Client, pop: Population, rng: random.Random) -> None:
    d = rng.randrange(2, pop.days - 4)
    death = pop.start + d * DAY
    c.events.append(("deceased", death))
    c.plant_params["death"] = death
    if death + 14 * DAY <= pop.end:
        c.closed = c.closed_known = death + 14 * DAY


def _bend_spend_in_hospital(c: Client, pop: Population, rng: random.Random) -> None:
    a = rng.randrange(1, pop.days - 6)
    length = rng.randrange(5, 10)
    adm, dis = pop.start + a * DAY, pop.start + (a + length) * DAY
    c.events.append(("hospital_admission", adm))
    if dis <= pop.end:
        c.events.append(("hospital_discharge", dis))
    c.plant_params["quiet"] = (adm, dis)


def _bend_dormant_card(c: Client, pop: Population, rng: random.Random) -> None:
    p = c.plant_params
    c.model, c.contributions = "none", []
    p["from"] = 0 if pop.days < 56 else rng.randrange(0, pop.days - 27)
    if p["from"] == 0:
        # Quiet from day 1: its first load lands on day 1 too, so the card's first item is on the
        # first quiet day whether a rule counts from the card's first balance or its first item.
        c.load_anchor = pop.start


def _in_sim_dues(c: Client, pop: Population) -> list[dt.date]:
    return [d for d in _dues(c, pop) if d <= pop.end]


def _bend_drain_after_load(c: Client, pop: Population, rng: random.Random) -> None:
    choices = [d for d in _in_sim_dues(c, pop) if d <= pop.end - 2 * DAY and d >= pop.start]
    c.plant_params["due"] = rng.choice(choices) if choices else None
    if c.plant_params["due"] is None:
        c.plant = None


def _bend_load(c: Client, pop: Population, rng: random.Random) -> None:
    """missing_load, late_load, duplicate_load, wrong_amount_load: a scheduled load far enough from the end."""
    rule, p, end = c.plant, c.plant_params, pop.end
    margin = {"missing_load": 4, "late_load": 7, "duplicate_load": 2, "wrong_amount_load": 1}[rule]
    choices = [d for d in _in_sim_dues(c, pop) if d <= end - margin * DAY and d >= pop.start + (DAY if rule == "late_load" else 0 * DAY)]
    if not choices:
        c.plant = None
        return
    due = rng.choice(choices)
    p["due"] = due
    if rule == "late_load":
        p["arrive"] = due + rng.randrange(4, min(7, (end - due).days + 1)) * DAY
    elif rule == "duplicate_load":
        p["arrive"] = due + rng.randrange(0, 2) * DAY
    elif rule == "wrong_amount_load":
        p["variant"] = rng.randrange(3)


def _bend_unexpected_load(c: Client, pop: Population, rng: random.Random) -> None:
    p = c.plant_params
    p["day"] = rng.randrange(1, pop.days - 1)
    p["amount"] = rng.choice((100, 150, 250, 300, 480, 600)) * 100
    p["ref"] = rng.choice((f"DP-{c.num}-ADHOC", "TOP UP", "EMERGENCY PAYMENT", ""))


def _bend_contributions(c: Client, pop: Population, rng: random.Random) -> None:
    """contribution_shortfall (reassessed upwards, the old amount still paid) and contributions_stopped:
    the week the change starts."""
    start, end = pop.start, pop.end
    row = c.contributions[0]
    first_due = next_weekday(start, c.contrib_weekday)
    n_dues = ((end - first_due).days // 7) + 1
    k = rng.randrange(1, max(2, n_dues - 2))
    change = first_due + 7 * k * DAY
    c.plant_params["change"] = change
    if c.plant == "contribution_shortfall":
        new = int(row.weekly_pence * rng.uniform(1.3, 1.8))
        row.effective_to = change - DAY
        row.to_known_from = max(start, change - 14 * DAY)
        c.contributions.append(ContributionRow(new, change, None, row.reference, row.to_known_from))
    c.contrib_ref_habit = None


def _bend_unapproved_payee(c: Client, pop: Population, rng: random.Random) -> None:
    """A day for the payment; 40 % of the time its payee is a former PA whose approval has ended."""
    start = pop.start
    c.plant_params["day"] = rng.randrange(1, pop.days - 1)
    if rng.random() < 0.4:
        former = Payee(
            name=person(rng), sort_code=sort_code(rng), account_number=account_number(rng),
            kind="personal_assistant", approved_from=start - 500 * DAY,
            approved_to=start - rng.randrange(10, 60) * DAY, known_from=c.known_from,
        )
        c.payees.append(former)
        c.plant_params["former"] = former


def _bend_day(first: int, last_from_end: int) -> Callable[[Client, Population, random.Random], None]:
    """A rule that needs only a day: drawn from [first, days - last_from_end)."""
    def bend(c: Client, pop: Population, rng: random.Random) -> None:
        c.plant_params["day"] = rng.randrange(first, pop.days - last_from_end)
    return bend


def _bend_short_rule(c: Client, pop: Population, rng: random.Random) -> None:
    """restricted_mcc, unusual_hours, velocity, balance_discrepancy: a day, day 1 in runs of 3 days or fewer."""
    c.plant_params["day"] = rng.randrange(1, pop.days - 2) if pop.days > 3 else 1


_BENDS: dict[str, Callable[[Client, Population, random.Random], None]] = {
    "cash_not_allowed": _bend_cash_not_allowed,
    "cash_over_limit": _bend_cash_over_limit,
    "cash_spike": _bend_cash_spike,
    "spend_after_death": _bend_spend_after_death,
    "spend_in_hospital": _bend_spend_in_hospital,
    "dormant_card": _bend_dormant_card,
    "drain_after_load": _bend_drain_after_load,
    "missing_load": _bend_load,
    "late_load": _bend_load,
    "duplicate_load": _bend_load,
    "wrong_amount_load": _bend_load,
    "unexpected_load": _bend_unexpected_load,
    "contribution_shortfall": _bend_contributions,
    "contributions_stopped": _bend_contributions,
    "unapproved_payee": _bend_unapproved_payee,
    "new_payee_burst": _bend_day(1, 12),
    "spending_abroad": _bend_day(1, 3),
    "restricted_mcc": _bend_short_rule,
    "unusual_hours": _bend_short_rule,
    "velocity": _bend_short_rule,
    "balance_discrepancy": _bend_short_rule,
}


def _schedule(c: Client, pop: Population) -> None:
    """Scheduled loads (every 4 weeks, in advance, net of contribution) and known commitments."""
    death = c.plant_params.get("death")
    susp = c.plant_params.get("suspended")
    weeks = 4
    for k, due in enumerate(_dues(c, pop)):
        if due < pop.start or due < c.opened or (c.closed and due >= c.closed):
            continue
        if susp and susp[0] <= due < susp[1]:
            continue
        weekly = c.weekly_budget_pence
        if c.model == "net":
            weekly -= c.contribution_on(due)
        n_weeks = pop.council.starter_float_weeks if (k == 0 and c.opened >= pop.start) else weeks
        known = max(due - 28 * DAY, c.known_from)
        if death and due > death:
            continue
        c.schedule.append((due, n_weeks * weekly, f"DP-{c.num}-{due:%Y%m%d}", known))
    for p in c.payees:
        if p.kind == "agency":
            first = c.load_anchor + 14 * DAY
            while first - 28 * DAY >= max(pop.start, c.opened):
                first -= 28 * DAY
            due = first
            seq = 0
            while due <= pop.end + 28 * DAY:
                if due >= max(pop.start, c.opened) and not (c.closed and due >= c.closed - 9 * DAY):
                    amount = int(p.amount_pence * (0.9 + 0.2 * ((c.idx * 7 + seq * 13) % 11) / 10))
                    c.commitments.append((due, amount, f"Agency invoice {p.name}", max(due - 21 * DAY, c.known_from)))
                due += 28 * DAY
                seq += 1
        elif p.kind == "supplier" and pop.days >= 10:
            due = pop.start + ((c.idx * 5) % (pop.days - 3) + 2) * DAY
            if not (c.closed and due >= c.closed - 9 * DAY) and due >= c.opened:
                c.commitments.append((due, p.amount_pence, f"Equipment order {p.name}", max(due - 21 * DAY, c.known_from)))


def _rates(c: Client) -> None:
    """Card purchases make up what bank payments and cash leave of ~78–95% of the weekly budget."""
    weekly_out = 0
    for p in c.payees:
        if p.first_pay is None and p.kind != "agency":
            continue
        if p.kind == "personal_assistant" and (p.approved_to is None or p.last_pay is not None):
            weekly_out += p.amount_pence
        elif p.kind == "agency":
            weekly_out += p.amount_pence // 4
    weekly_out += c.cash_weekly_pence
    factor = 0.78 + 0.17 * ((c.idx * 37) % 100) / 100
    card_weekly = max(c.weekly_budget_pence * factor - weekly_out, 1000)
    c.purchase_rate = min(max(card_weekly / 7 / MEAN_PURCHASE_PENCE, 0.25), 3.0)
