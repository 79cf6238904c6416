"""What happens on each card, day by day: loads, contributions, wages, bills, shopping, cash, and
the planted cases.

Each client is simulated on its own (own seeded ``random.Random``), walking its days in order and
keeping its ledger balance and open holds, so background spending never takes a card below zero
(an attempt the card cannot cover is declined) and never does what a planted case does:

- no restricted MCC, no foreign merchant, no card use between 00:00 and 06:59 London;
- cash only for cash-allowed clients, once a week on a fixed weekday, within the weekly limit;
- bank payments only to approved payees inside their approval dates;
- at most 5 card purchases a day; at most 60% of a load spent in the 48 hours after it;
- something spent at least every 8 days (unless in hospital or respite, which stops spending);
- contributions paid in full, at most 2 days late, a missed week caught up the next week.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import random
from collections import defaultdict
from collections.abc import Callable

from simulator import catalogue as cat
from simulator.model import Case, Client, Item, Payee
from simulator.population import (
    DAY,
    Population,
    _account_number,
    _mistype,
    _next_weekday,
    _person,
    _sort_code,
    contribution_on,
)

HOUR = dt.timedelta(hours=1)
_EVERYDAY_WEIGHTS = [w for _, _, w, _, _, _ in cat.EVERYDAY]
_EVERYDAY_CUM = [sum(_EVERYDAY_WEIGHTS[: i + 1]) for i in range(len(_EVERYDAY_WEIGHTS))]
DRAIN_GUARD_SHARE = 0.6  # background never spends more than this share of a load within 48 hours of it
MAX_PURCHASES_A_DAY = 5
DORMANCY_GUARD_DAYS = 8


def _at(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(seconds=seconds)


class ClientSim:
    def __init__(self, c: Client, pop: Population, cases: list[Case]):
        self.c = c
        self.pop = pop
        self.rng = random.Random(f"careledger-sim:{pop.seed}:{pop.council.name}:client:{c.idx}")
        self.items: list[Item] = []
        self.cases = cases
        self.seq = 0
        self.ledger = c.take_on_pence if c.opened < pop.start else 0
        self.holds = 0
        self.settle_q: dict[dt.date, list[Item]] = defaultdict(list)
        self.release_q: dict[dt.date, list[Item]] = defaultdict(list)
        self.refund_q: dict[dt.date, list[Item]] = defaultdict(list)
        self.loads: list[tuple[dt.datetime, int]] = []
        self.outs: list[tuple[dt.datetime, int]] = []
        self.last_out = pop.start - self.rng.randrange(0, 4) * DAY
        self.planned: dict[dt.date, list[tuple[dt.datetime, int, Callable[[], None]]]] = defaultdict(list)
        self.quiet_out: list[tuple[dt.datetime, dt.datetime]] = []  # no background money out
        self.quiet_card_days: set[dt.date] = set()  # no background card purchases or cash
        self.quiet_cash_days: set[dt.date] = set()  # no background cash
        self.contrib_arrivals: dict[dt.date, list[tuple[int, str, int]]] = defaultdict(list)
        self.load_arrivals: dict[dt.date, list[tuple[int, int, str, int]]] = defaultdict(list)  # (secs, pence, ref, tag)
        self._shortfall_tag = -1  # the contribution_shortfall case, once planned
        self._drain_due: dt.date | None = None  # the load a planted drain follows
        self._dormant: tuple[dt.date, int] | None = None  # (first quiet day, case index)
        self.today: list | None = None  # the current day's heap of (when, priority, n, action)
        self.pushed = 0
        self.council_cp = (f"{pop.council.name.upper()} COUNCIL", pop.council.funding_sort_code, pop.council.funding_account)

    # ------------------------------------------------------------------ helpers
    def secs(self, h0: float, h1: float) -> int:
        return self.rng.randrange(int(h0 * 3600), int(h1 * 3600))

    def new_case(self, rule: str, description: str, *, date: dt.date | None = None, amount: int | None = None) -> int:
        c = self.c
        self.cases.append(Case(rule, c, c.provider, c.account_id, date, amount, description))
        return len(self.cases) - 1

    def item(self, kind: str, sign: int, pence: int, at: dt.datetime, a_type: str, description: str, **kw) -> Item:
        assert pence > 0, (kind, pence)
        self.seq += 1
        it = Item(self.c, self.seq, kind, sign, pence, pence, at, "settled", a_type, description, settle_at=at, **kw)
        self.items.append(it)
        if it.tag >= 0:
            self.cases[it.tag].evidence.append(it)
        return it

    def post_now(self, it: Item) -> None:
        self.ledger += it.sign * it.settle_pence
        if it.sign < 0:
            self.outs.append((it.at, it.settle_pence))

    def available(self) -> int:
        return self.ledger - self.holds

    def drain_ok(self, at: dt.datetime, pence: int) -> bool:
        for lt, amount in self.loads:
            if lt <= at < lt + 48 * HOUR:
                spent = sum(a for t, a in self.outs if t >= lt)
                if spent + pence > DRAIN_GUARD_SHARE * amount:
                    return False
        return True

    def quiet(self, at: dt.datetime) -> bool:
        return any(a <= at < b for a, b in self.quiet_out)

    def background_out_ok(self, at: dt.datetime, pence: int) -> bool:
        return not self.quiet(at) and self.available() >= pence and self.drain_ok(at, pence)

    def settle_time(self, day: dt.date, lag_days: int) -> dt.datetime:
        return _at(day + lag_days * DAY, self.secs(5, 9))

    # ------------------------------------------------------------------ card purchases
    def purchase(self, at: dt.datetime, mcc: str, channel: str, merchant: str, pence: int, *, city: str | None = None,
                 country: str = "GBR", tag: int = -1, background: bool = True) -> Item | None:
        c, rng = self.c, self.rng
        city = city or cat.TOWNS[(c.idx + len(merchant)) % len(cat.TOWNS)]
        kw = dict(merchant=merchant, mcc=mcc, city=city, country=country, tag=tag)
        a_type = "ECOM" if channel == "ECOM" else "POS"
        desc = "Online purchase" if channel == "ECOM" else "Card purchase"
        if background and self.available() < pence:
            if c.provider == "C":
                return None  # Open Banking lists booked and pending items only
            it = self.item("purchase", -1, pence, at, a_type, desc, **kw)
            it.state, it.settle_at, it.settle_pence = "declined", None, 0
            return None
        it = self.item("purchase", -1, pence, at, a_type, desc, **kw)
        r = rng.random()
        if not background:
            # Planted items keep their time on every provider's settled record: C books at once (its
            # BookingDateTime is the only time a Booked item carries); A and B settle next morning.
            lifecycle = "settled" if c.provider == "C" or (c.provider == "A" and r < 0.4) else "pending"
        elif c.provider == "B":
            lifecycle = "forcepost" if r < 0.02 else ("released" if r < 0.05 else "pending")
        else:
            lifecycle = "settled" if r < 0.40 else ("released" if r < 0.43 else "pending")
        if lifecycle == "settled":
            self.post_now(it)
        elif lifecycle == "forcepost":
            it.forcepost = True  # B: a clearing with no authorisation seen
            self.post_now(it)
        elif lifecycle == "released":
            it.state = "cancelled" if (c.provider == "B" and rng.random() < 0.3) else "released"
            lag = 1 if it.state == "cancelled" else rng.choice((7, 8))
            it.settle_at, it.settle_pence = None, 0
            it.end_at = self.settle_time(at.date(), lag)
            self.holds += pence
            self.release_q[it.end_at.date()].append(it)
        else:
            lag = rng.choices((1, 2, 3), weights=(70, 22, 8))[0] if background else 1
            it.state = "pending"
            it.settle_at = self.settle_time(at.date(), lag) if background else _at(at.date() + DAY, self.secs(5, 7))
            if background and mcc == "5812" and rng.random() < 0.3:
                it.settle_pence = int(pence * rng.uniform(1.08, 1.15))  # tip added at settlement
            elif background and rng.random() < 0.03:
                it.settle_pence = max(1, int(pence * rng.uniform(0.95, 1.05)))
            if it.settle_pence - pence > self.available() - pence:
                it.settle_pence = pence
            self.holds += pence
            self.settle_q[it.settle_at.date()].append(it)
            self.outs.append((at, pence))
        self.last_out = max(self.last_out, at.date())
        if background and it.settle_at is not None:
            u = rng.random()
            if u < 0.01:
                self.refund_q[it.settle_at.date() + rng.randrange(1, 6) * DAY].append(it)
            elif u < 0.013 and c.provider != "B" and lifecycle == "settled":
                self.duplicate_charge(it)
        return it

    def duplicate_charge(self, original: Item) -> None:
        """The merchant took the money twice; the provider reverses the second charge next day."""
        dup = self.item("purchase", -1, original.amount_pence, original.at + dt.timedelta(seconds=self.rng.randrange(2, 40)),
                        original.a_type, original.description, merchant=original.merchant, mcc=original.mcc,
                        city=original.city, country=original.country)
        self.post_now(dup)
        self.outs.pop()  # a duplicate charge is not spending
        self.refund_q[original.at.date() + DAY].append(dup)
        dup.reference = "DUPLICATE"

    def refund(self, original: Item, day: dt.date) -> None:
        at = _at(day, self.secs(9, 18))
        kw = dict(merchant=original.merchant, mcc=original.mcc, city=original.city, country=original.country, related=original)
        if original.reference == "DUPLICATE" and original.client.provider != "B":
            it = self.item("reversal", +1, original.settle_pence, at, "REVERSAL", "Reversal", **kw)
        elif self.rng.random() < 0.1:
            it = self.item("chargeback", +1, original.settle_pence, at, "CHARGEBACK", "Chargeback", **kw)
        else:
            pence = original.settle_pence if self.rng.random() < 0.6 else max(1, original.settle_pence // 2)
            it = self.item("refund", +1, pence, at, "REFUND", "Refund", **kw)
        self.post_now(it)

    def cash(self, at: dt.datetime, pence: int, *, tag: int = -1) -> Item:
        c = self.c
        it = self.item("cash", -1, pence, at, "ATM", "Cash withdrawal", merchant=self.rng.choice(cat.ATM_MERCHANTS),
                       mcc="6011", city=cat.TOWNS[c.idx % len(cat.TOWNS)], country="GBR", tag=tag)
        it.atm_auth = c.provider == "B" and self.rng.random() < 0.5
        self.post_now(it)
        self.last_out = max(self.last_out, at.date())
        return it

    def pay(self, at: dt.datetime, payee: Payee | tuple[str, str, str], pence: int, method: str, reference: str,
            *, tag: int = -1) -> Item:
        name, sort_code, account = (payee.name, payee.sort_code, payee.account_number) if isinstance(payee, Payee) else payee
        desc = {"FPS_OUT": "Faster payment", "SO": "Standing order", "DD": "Direct debit", "BACS": "BACS payment"}[method]
        it = self.item("payment", -1, pence, at, method, desc, cp_name=name, cp_sort_code=sort_code, cp_account=account,
                       reference=reference, tag=tag)
        self.post_now(it)
        self.last_out = max(self.last_out, at.date())
        return it

    def load(self, at: dt.datetime, pence: int, reference: str, tag: int = -1) -> Item:
        name, sc, acct = self.council_cp
        it = self.item("load", +1, pence, at, "LOAD", "Council load", cp_name=name, cp_sort_code=sc, cp_account=acct,
                       reference=reference, tag=tag)
        self.post_now(it)
        self.loads.append((at, pence))
        return it

    # ------------------------------------------------------------------ plans
    def plan_loads(self) -> None:
        c, pop, rng = self.c, self.pop, self.rng
        p = c.plant_params
        lo = max(pop.start, c.opened)
        for due, pence, ref, _known in c.schedule:
            if due > pop.end:
                continue
            t = self.secs(8, 10)
            if c.plant in ("missing_load", "late_load", "duplicate_load", "wrong_amount_load") and p.get("due") == due:
                self.planted_load(due, pence, ref, t)
                continue
            arrive = due
            if c.plant != "drain_after_load" or p.get("due") != due:
                r = rng.random()
                if r < 0.08 and due - DAY >= lo:
                    arrive = due - DAY
                elif r < 0.13 and due + 2 * DAY <= pop.end:
                    arrive = due + rng.choice((1, 2)) * DAY
            self.load_arrivals[arrive].append((t, pence, ref, -1))
        if c.plant == "unexpected_load":
            day = pop.start + p["day"] * DAY
            tag = self.new_case("unexpected_load", f"load of £{p['amount'] / 100:.2f} from the council's funding account with "
                                f"reference {p['ref']!r}, which matches no load_schedule row", date=day, amount=p["amount"])
            self.load_arrivals[day].append((self.secs(10, 15), p["amount"], p["ref"], tag))

    def planted_load(self, due: dt.date, pence: int, ref: str, t: int) -> None:
        c, p = self.c, self.c.plant_params
        rule = c.plant
        if rule == "missing_load":
            self.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} due {due} never arrives", date=due, amount=pence)
        elif rule == "late_load":
            arrive = p["arrive"]
            tag = self.new_case(rule, f"scheduled load {ref} due {due} arrives {(arrive - due).days} days late on {arrive}",
                                date=arrive, amount=pence)
            self.load_arrivals[arrive].append((t, pence, ref, tag))
        elif rule == "duplicate_load":
            arrive = p["arrive"]
            tag = self.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} arrives twice ({due} and {arrive})",
                                date=arrive, amount=pence)
            self.load_arrivals[due].append((t, pence, ref, tag))
            t2 = t + 3600 * 3 if arrive == due else self.secs(8, 10)
            self.load_arrivals[arrive].append((t2, pence, ref, tag))
        elif rule == "wrong_amount_load":
            variant = p["variant"]
            actual = pence * 2 if variant == 0 else (pence + 5000 if variant == 1 else max(100, pence - 10000))
            tag = self.new_case(rule, f"scheduled load {ref} of £{pence / 100:.2f} arrives as £{actual / 100:.2f} "
                                "(amount_pence is actual minus scheduled)", date=due, amount=actual - pence)
            self.load_arrivals[due].append((t, actual, ref, tag))

    def plan_contributions(self) -> None:
        c, pop, rng = self.c, self.pop, self.rng
        if c.model != "net" or not c.contributions:
            return
        first = _next_weekday(max(pop.start, c.opened), c.contrib_weekday)
        dues = []
        d = first
        while d <= pop.end:
            dues.append(d)
            d += 7 * DAY
        change = c.plant_params.get("change")
        carried = 0
        affected: list[tuple[dt.date, int]] = []
        for k, due in enumerate(dues):
            assessed = contribution_on(c, due)
            if assessed <= 0:
                continue
            ref = c.contrib_ref_habit or c.contributions[0].reference
            if c.contrib_ref_habit is None and rng.random() < 0.03:
                ref = _mistype(ref, rng)
            if change is not None and due >= change:
                if c.plant == "contributions_stopped":
                    affected.append((due, assessed))
                    continue
                paid = c.contributions[0].weekly_pence
                affected.append((due, assessed - paid))
                self.contrib_arrivals[due].append((self.secs(6, 12), paid, ref))
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
            self.contrib_arrivals[day].append((self.secs(6, 12), pence, ref))
        if affected and c.plant in ("contribution_shortfall", "contributions_stopped"):
            third = affected[min(2, len(affected) - 1)][0]
            total = sum(a for _, a in affected)
            if c.plant == "contributions_stopped":
                desc = f"net-model client stops paying the weekly contribution from {affected[0][0]} ({len(affected)} weeks unpaid)"
            else:
                desc = (f"contribution reassessed to £{contribution_on(c, change) / 100:.2f} a week from {change}; the client "
                        f"keeps paying £{c.contributions[0].weekly_pence / 100:.2f} ({len(affected)} weeks short)")
            self.new_case(c.plant, desc, date=third, amount=total)
            self._shortfall_tag = len(self.cases) - 1

    def plan_plants(self) -> None:
        c, pop, rng = self.c, self.pop, self.rng
        rule, p = c.plant, c.plant_params
        start = pop.start
        # Card payments made just before a stay, a death or a dormant spell would settle inside it
        # (settlement lags up to 3 days), so the background stops card use 3 days ahead.
        if "quiet" in p:
            a, b = p["quiet"]
            self.quiet_out.append((_at(a, 0), _at(b + DAY, 0)))
            self.quiet_card_days.update(a - k * DAY for k in (1, 2, 3))
        if "death" in p:
            self.quiet_out.append((_at(p["death"], 0), _at(pop.end + 30 * DAY, 0)))
            self.quiet_card_days.update(p["death"] - k * DAY for k in (1, 2, 3))
        if rule is None or rule == "balance_discrepancy":
            return
        if rule == "restricted_mcc":
            day = start + p["day"] * DAY
            group = rng.choice(pop.council.restricted_groups)
            mcc, channel, merchant = rng.choice(cat.RESTRICTED[group])
            pence = rng.randrange(800, 6000)
            tag = self.new_case(rule, f"card payment at {merchant} (MCC {mcc}, {group})", date=day, amount=pence)
            at = _at(day, self.secs(11, 21))
            self.planned[day].append((at, 5, lambda: self.purchase(at, mcc, channel, merchant, pence, tag=tag, background=False)))
        elif rule == "unapproved_payee":
            day = start + p["day"] * DAY
            pence = rng.randrange(6000, 25000)
            former = p.get("former")
            if former is not None:
                target: Payee | tuple[str, str, str] = former
                why = f"to {former.name}, whose approval ended {former.approved_to}"
                ref = "PA WAGES"
            else:
                target = (_person(rng), _sort_code(rng), _account_number(rng))
                why = f"to {target[0]} (account ending {target[2][-4:]}), who is not in payees.csv"
                ref = rng.choice(("THANKS", "LOAN REPAY", "GIFT", "HELP"))
            tag = self.new_case(rule, f"faster payment of £{pence / 100:.2f} {why}", date=day, amount=pence)
            at = _at(day, self.secs(10, 19))
            self.planned[day].append((at, 5, lambda: self.pay(at, target, pence, "FPS_OUT", ref, tag=tag)))
        elif rule == "cash_not_allowed":
            day = start + p["day"] * DAY
            pence = rng.randrange(2, 9) * 1000
            tag = self.new_case(rule, f"cash withdrawal of £{pence / 100:.2f}; the support plan does not allow cash",
                                date=day, amount=pence)
            at = _at(day, self.secs(10, 18))
            self.planned[day].append((at, 5, lambda: self.cash(at, pence, tag=tag)))
        elif rule == "cash_over_limit":
            monday = start + p["monday"] * DAY
            first, second = p["amounts"]
            limit = c.cash_weekly_limit_pence or 0
            for k in range(-6, 14):
                self.quiet_cash_days.add(monday + k * DAY)
            tag = self.new_case(rule, f"cash £{(first + second) / 100:.2f} in the week of {monday} against a weekly limit "
                                f"of £{limit / 100:.2f}", date=monday + 3 * DAY, amount=first + second)
            for off, pence in ((1, first), (3, second)):
                day = monday + off * DAY
                at = _at(day, self.secs(10, 18))
                self.planned[day].append((at, 5, lambda at=at, pence=pence: self.cash(at, pence, tag=tag)))
        elif rule == "cash_spike":
            s = start + p["day"] * DAY
            a1, a2 = p["amounts"]
            for k in range(-6, 8):
                self.quiet_cash_days.add(s + k * DAY)
            tag = self.new_case(rule, f"cash £{(a1 + a2) / 100:.2f} over two days against a steady "
                                f"£{c.cash_weekly_pence / 100:.2f} a week", date=s, amount=a1 + a2)
            for off, pence in ((0, a1), (1, a2)):
                day = s + off * DAY
                at = _at(day, self.secs(10, 18))
                self.planned[day].append((at, 5, lambda at=at, pence=pence: self.cash(at, pence, tag=tag)))
        elif rule == "spending_abroad":
            d0 = start + p["day"] * DAY
            country = rng.choice(sorted({a[3] for a in cat.ABROAD}))
            shops = [a for a in cat.ABROAD if a[3] == country]
            n = rng.randrange(2, 5)
            span = rng.randrange(0, 3)
            tag = self.new_case(rule, f"{n} card payments in {country}", date=d0)
            for k in range(span + 1):
                self.quiet_card_days.add(d0 + k * DAY)
            days_used = sorted(rng.randrange(0, span + 1) for _ in range(n))
            days_used[0] = 0
            for off in days_used:
                day = d0 + off * DAY
                mcc, merchant, city, ctry = rng.choice(shops)
                at = _at(day, self.secs(10, 21))
                pence = rng.randrange(500, 6000)
                self.planned[day].append((at, 5, lambda at=at, mcc=mcc, merchant=merchant, city=city, ctry=ctry, pence=pence:
                                          self.purchase(at, mcc, "POS", merchant, pence, city=city, country=ctry, tag=tag,
                                                        background=False)))
        elif rule == "spend_after_death":
            death = p["death"]
            n = rng.randrange(2, 5)
            offs = sorted(rng.randrange(1, 4) for _ in range(n))
            tag = self.new_case(rule, f"{n} card payments after the client's death on {death}", date=death + offs[0] * DAY)
            self._everyday_plants(tag, [death + o * DAY for o in offs])
        elif rule == "spend_in_hospital":
            adm, dis = p["quiet"]
            last = min(dis - DAY, pop.end)
            span = (last - adm).days
            n = rng.randrange(2, 4)
            offs = sorted(rng.randrange(1, span + 1) for _ in range(n))
            tag = self.new_case(rule, f"{n} card payments while in hospital ({adm} to {dis})", date=adm + offs[0] * DAY)
            self._everyday_plants(tag, [adm + o * DAY for o in offs])
        elif rule == "dormant_card":
            s = start + p["from"] * DAY
            self.quiet_out.append((_at(s, 0), _at(pop.end + 30 * DAY, 0)))
            self.quiet_card_days.update(s - k * DAY for k in (1, 2, 3))
            self._dormant = (s, self.new_case(rule, f"loads continue but nothing spent from {s} (28 days by "
                                              f"{s + 27 * DAY})", date=s + 27 * DAY))
        elif rule == "unusual_hours":
            d0 = start + p["day"] * DAY
            n = rng.randrange(3, 6)
            tag = self.new_case(rule, f"{n} card payments between 00:00 and 05:00 London", date=d0)
            for k in range(n):
                day = d0 + (DAY if (n >= 4 and k >= n - 2) else 0 * DAY)
                hour = rng.choice((0, 2, 3, 4))
                at = _at(day, hour * 3600 + rng.randrange(60, 3540))
                mcc, channel, merchant = rng.choice(cat.NIGHT_MERCHANTS)
                pence = rng.randrange(300, 2500)
                self.planned[day].append((at, 5, lambda at=at, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
                                          self.purchase(at, mcc, channel, merchant, pence, tag=tag, background=False)))
        elif rule == "velocity":
            day = start + p["day"] * DAY
            n = rng.randrange(8, 12)
            t0 = self.secs(11, 18)
            times = sorted(rng.sample(range(t0, t0 + 45 * 60), n))
            merchant = rng.choice(("AMZN MKTP UK", "EBAY O*12-0981", "STEAMGAMES.COM 4259"))
            mcc = "5999" if merchant != "STEAMGAMES.COM 4259" else "5816"
            tag = self.new_case(rule, f"{n} card payments at {merchant} within 45 minutes", date=day)
            self.quiet_card_days.add(day)
            for t in times:
                at = _at(day, t)
                pence = rng.randrange(150, 1200)
                self.planned[day].append((at, 5, lambda at=at, pence=pence:
                                          self.purchase(at, mcc, "ECOM", merchant, pence, tag=tag, background=False)))
        elif rule == "new_payee_burst":
            d0 = start + p["day"] * DAY
            who = (_person(rng), _sort_code(rng), _account_number(rng))
            offs = [0, rng.randrange(3, 6), rng.randrange(7, 10)] + ([rng.randrange(10, 13)] if rng.random() < 0.5 else [])
            tag = self.new_case(rule, f"{len(offs)} faster payments to {who[0]} (account ending {who[2][-4:]}), a new "
                                "payee not in payees.csv, within 14 days", date=d0 + offs[2] * DAY)
            tag2 = self.new_case("unapproved_payee", f"implied by new_payee_burst: payments to {who[0]}, who is not in "
                                 "payees.csv", date=d0)
            ref = rng.choice(("FRIEND", "HELP", "BILLS", "SHOPPING"))
            for off in offs:
                day = d0 + off * DAY
                at = _at(day, self.secs(10, 19))
                pence = rng.randrange(4000, 18000)

                def send(at=at, pence=pence):
                    it = self.pay(at, who, pence, "FPS_OUT", ref, tag=tag)
                    self.cases[tag2].evidence.append(it)

                self.planned[day].append((at, 5, send))
        elif rule == "drain_after_load":
            self._drain_due = p["due"]
            for k in range(-7, 9):  # keep background cash out of any week the drain's cash falls in
                self.quiet_cash_days.add(p["due"] + k * DAY)

    def _everyday_plants(self, tag: int, days: list[dt.date]) -> None:
        for day in days:
            mcc, channel, _w, median, sigma, merchants = cat.EVERYDAY[self.rng.choice((0, 0, 1, 2, 12))]
            merchant = self.rng.choice(merchants)
            pence = max(100, int(median * math.exp(self.rng.gauss(0, sigma))))
            at = _at(day, self.secs(10, 19))
            self.planned[day].append((at, 5, lambda at=at, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
                                      self.purchase(at, mcc, channel, merchant, pence, tag=tag, background=False)))

    def drain(self, load_item: Item) -> None:
        """Most of a fresh load leaves the card within two days: big-ticket buys, cash if allowed."""
        c, rng = self.c, self.rng
        lt = load_item.at
        target = int(load_item.settle_pence * rng.uniform(0.86, 0.93))
        target = min(target, self.available() - 500)
        n = rng.randrange(4, 7)
        tag = self.new_case("drain_after_load", f"{n} payments take most of the £{load_item.settle_pence / 100:.2f} load "
                            "within 48 hours", date=None, amount=None)
        self.cases[tag].evidence.append(load_item)
        self.quiet_out.append((lt, lt + 48 * HOUR))
        slots = []
        first = max(lt + dt.timedelta(minutes=40), _at(lt.date(), 9 * 3600))
        for off in (0, 1):
            lo = first if off == 0 else _at(lt.date() + DAY, 9 * 3600)
            hi = _at(lt.date() + off * DAY, 21 * 3600)
            if hi > lo:
                slots.append((lo, hi))
        times = []
        for _ in range(n):
            lo, hi = rng.choice(slots)
            times.append(lo + dt.timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()))))
        times.sort()
        weights = [rng.uniform(0.6, 1.4) for _ in range(n)]
        cash_pence = 0
        if c.cash_allowed and c.cash_weekly_limit_pence:
            cash_pence = min(c.cash_weekly_limit_pence, 10_000) // 1000 * 1000
            for k in range(-6, 8):
                self.quiet_cash_days.add(lt.date() + k * DAY)
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
                    self.cash(t, pence, tag=tag)
                else:
                    mcc, channel, merchant = what
                    self.purchase(t, mcc, channel, merchant, pence, tag=tag, background=False)
            if self.today is not None and t.date() == lt.date():
                self.pushed += 1
                heapq.heappush(self.today, (t, 5, self.pushed, act))
            else:
                self.planned[t.date()].append((t, 5, act))

    # ------------------------------------------------------------------ the day loop
    def run(self) -> list[Item]:
        c, pop, rng = self.c, self.pop, self.rng
        self.plan_plants()
        self.plan_loads()
        self.plan_contributions()
        commitments_by_day: dict[dt.date, list[tuple[int, str]]] = defaultdict(list)
        for due, pence, desc, _known in c.commitments:
            commitments_by_day[due].append((pence, desc))
        payee_by_name = {p.name: p for p in c.payees}
        death = c.plant_params.get("death")
        close_quiet_from = c.closed - 9 * DAY if c.closed else None
        for d in range(pop.days):
            day = pop.start + d * DAY
            if day < c.opened or (c.closed and day > c.closed):
                continue
            for it in self.settle_q.pop(day, []):
                self.ledger -= it.settle_pence
                self.holds -= it.amount_pence
            for it in self.release_q.pop(day, []):
                self.holds -= it.amount_pence
            todo: list[tuple[dt.datetime, int, Callable[[], None]]] = list(self.planned.pop(day, []))
            for secs, pence, ref, tag in self.load_arrivals.pop(day, []):
                at = _at(day, secs)

                def do_load(at=at, pence=pence, ref=ref, tag=tag, day=day):
                    it = self.load(at, pence, ref, tag)
                    if self._drain_due == day and c.plant == "drain_after_load" and tag == -1:
                        self._drain_due = None
                        self.drain(it)

                todo.append((at, 0, do_load))
            for secs, pence, ref in self.contrib_arrivals.pop(day, []):
                at = _at(day, secs)
                tag = self._shortfall_tag if c.plant == "contribution_shortfall" else -1
                kw = dict(cp_name=c.payer_name, cp_sort_code=c.payer_sort_code, cp_account=c.payer_account, reference=ref)

                def do_contrib(at=at, pence=pence, kw=kw, tag=tag, due_change=c.plant_params.get("change")):
                    it = self.item("contribution", +1, pence, at, "SO_IN", "Standing order", **kw)
                    self.post_now(it)
                    if tag >= 0 and due_change and at.date() >= due_change:
                        it.tag = tag
                        self.cases[tag].evidence.append(it)

                todo.append((at, 1, do_contrib))
            dead = death is not None and day >= death
            closing_soon = close_quiet_from is not None and day >= close_quiet_from
            # bank payments to approved payees
            if not dead:
                for p in c.payees:
                    if p.first_pay is None or day < p.first_pay or (p.last_pay and day > p.last_pay):
                        continue
                    if p.approved_to is not None and day > p.approved_to:
                        continue
                    if p.kind == "payroll_bureau":
                        if day.day != 15:
                            continue
                        pence, secs = p.amount_pence, self.secs(6, 8)
                        ref = p.reference
                    else:
                        if (day - p.first_pay).days % p.cadence_days:
                            continue
                        if p.method == "SO":
                            pence, secs, ref = p.amount_pence, self.secs(6, 8), p.reference
                        else:
                            pence = int(p.amount_pence * rng.uniform(0.85, 1.1))
                            secs = self.secs(9, 20)
                            ref = f"PA WAGES WK{day.isocalendar()[1]}"
                    at = _at(day, secs)
                    todo.append((at, 2, lambda at=at, p=p, pence=pence, ref=ref: self.pay(at, p, pence, p.method, ref)
                                 if self.background_out_ok(at, pence) else None))
                for pence, desc in commitments_by_day.get(day, []):
                    name = desc.split(" ", 2)[2]
                    p = payee_by_name[name]
                    at = _at(day, self.secs(7, 10))
                    todo.append((at, 2, lambda at=at, p=p, pence=pence: self.pay(at, p, pence, p.method, p.reference)
                                 if self.background_out_ok(at, pence) else None))
            card_ok = not dead and not closing_soon and day not in self.quiet_card_days
            if card_ok and c.cash_allowed and c.cash_weekly_pence and day.weekday() == c.cash_weekday \
                    and day not in self.quiet_cash_days:
                at = _at(day, self.secs(10, 18))
                pence = c.cash_weekly_pence
                todo.append((at, 3, lambda at=at, pence=pence: self.cash(at, pence)
                             if self.background_out_ok(at, pence) else None))
            if card_ok:
                n = min(_poisson(rng, c.purchase_rate), MAX_PURCHASES_A_DAY)
                if n == 0 and (day - self.last_out).days >= DORMANCY_GUARD_DAYS:
                    n = 1
                for _ in range(n):
                    at = _at(day, self.secs(7, 22.5))
                    k = bisect.bisect_right(_EVERYDAY_CUM, rng.random() * _EVERYDAY_CUM[-1])
                    mcc, channel, _w, median, sigma, merchants = cat.EVERYDAY[k]
                    merchant = rng.choice(merchants)
                    pence = max(50, int(median * math.exp(rng.gauss(0, sigma))))
                    todo.append((at, 4, lambda at=at, mcc=mcc, channel=channel, merchant=merchant, pence=pence:
                                 self.purchase(at, mcc, channel, merchant, pence)
                                 if not self.quiet(at) and self.drain_ok(at, pence) else None))
            for original in self.refund_q.pop(day, []):
                if not (c.closed and day >= c.closed):
                    self.refund(original, day)
            if c.provider == "B" and day.day == 1 and not self.quiet(_at(day, 6 * 3600)):
                at = _at(day, self.secs(5.5, 6))
                todo.append((at, 0, lambda at=at: self.fee(at, 100, "Monthly card fee") if self.ledger >= 100 else None))
            if c.provider != "B" and not dead and rng.random() < 0.0005:
                at = _at(day, self.secs(9, 17))
                todo.append((at, 3, lambda at=at: self.fee(at, 500, "Replacement card fee")
                             if self.background_out_ok(at, 500) else None))
            if not dead and c.provider != "C" and rng.random() < 0.0002:
                at = _at(day, self.secs(9, 17))
                pence = rng.randrange(100, 1000)
                todo.append((at, 3, lambda at=at, pence=pence: self.post_now(
                    self.item("adjustment", +1, pence, at, "ADJUSTMENT", "Goodwill credit"))))
            if not dead and rng.random() < 0.0002:
                at = _at(day, self.secs(9, 20))
                pence = rng.randrange(10, 60) * 100
                who = (c.payer_name, c.payer_sort_code, c.payer_account)
                todo.append((at, 3, lambda at=at, pence=pence, who=who: self.post_now(self.item(
                    "other_in", +1, pence, at, "FPS_IN", "Faster payment received", cp_name=who[0], cp_sort_code=who[1],
                    cp_account=who[2], reference="GIFT"))))
            if c.closed and day == c.closed:
                at = _at(day, self.secs(10, 11))
                todo.append((at, 9, lambda at=at: self.unload(at)))
            # A heap, because handling one item can schedule more for later the same day (a drain).
            self.today = [(when, prio, k, fn) for k, (when, prio, fn) in enumerate(todo)]
            heapq.heapify(self.today)
            self.pushed = len(self.today)
            while self.today:
                _when, _prio, _k, fn = heapq.heappop(self.today)
                fn()
            self.today = None
        if self._dormant is not None:
            s, tag = self._dormant
            self.cases[tag].evidence.extend(it for it in self.items if it.kind == "load" and s <= it.at.date() <= s + 27 * DAY)
        return self.items

    def fee(self, at: dt.datetime, pence: int, desc: str) -> None:
        self.post_now(self.item("fee", -1, pence, at, "FEE", desc, reference=desc.upper()))

    def unload(self, at: dt.datetime) -> None:
        assert self.holds == 0, (self.c.client_id, self.holds)
        if self.ledger > 0:
            name, sc, acct = self.council_cp
            it = self.item("unload", -1, self.ledger, at, "UNLOAD", "Return to council", cp_name=name, cp_sort_code=sc,
                           cp_account=acct, reference=f"CLOSURE {self.c.num}")
            self.ledger -= it.settle_pence


def _poisson(rng: random.Random, lam: float) -> int:
    limit = math.exp(-lam)
    k, prod = 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def generate(pop: Population) -> tuple[list[Item], list[Case]]:
    """Every item on every card, plus the planted cases with their evidence items."""
    items: list[Item] = []
    cases: list[Case] = []
    for c in pop.clients:
        items.extend(ClientSim(c, pop, cases).run())
    _finish_cases(pop, cases)
    return items, cases


def _finish_cases(pop: Population, cases: list[Case]) -> None:
    """Dates and amounts that depend on what was generated (the day a threshold was crossed)."""
    for case in cases:
        ev = [it for it in case.evidence if it.kind != "load"] if case.rule == "drain_after_load" else case.evidence
        if case.rule == "drain_after_load":
            load = case.evidence[0]
            spent, crossed = 0, None
            for it in sorted(ev, key=lambda i: i.at):
                spent += it.settle_pence
                if crossed is None and spent >= 0.8 * load.settle_pence:
                    crossed = it.at.date()
            case.amount_pence = spent
            case.date = crossed or load.at.date()
            case.description += f" (£{spent / 100:.2f} of £{load.settle_pence / 100:.2f} by {case.date})"
        elif case.rule in ("unusual_hours",) and len(ev) >= 3:
            case.date = sorted(it.at for it in ev)[2].date()
        if case.amount_pence is None and case.rule not in ("dormant_card",) and case.evidence:
            case.amount_pence = sum(it.settle_pence or it.amount_pence for it in case.evidence)
