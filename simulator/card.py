"""One card as the simulator lives it: its ledger balance and open holds, the queues of what settles,
is released or refunded later, the plans for coming days, and the money movements themselves
(purchases with their provider lifecycles, cash, bank payments, loads, refunds, fees, the closing unload).

Why a balance and holds: background spending never takes a card below zero (an attempt the card cannot
cover is declined). Why one seeded ``random.Random`` per card, drawn in a fixed order: the same seed
writes the same bytes, whatever else changes between clients.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import defaultdict
from collections.abc import Callable

from simulator import catalogue as cat
from simulator.days import DAY, HOUR, at
from simulator.model import Case, Client, Item, Payee
from simulator.population import Population

DRAIN_GUARD_SHARE = 0.6  # background never spends more than this share of a load within 48 hours of it

Action = Callable[[], object]
Planned = tuple[dt.datetime, int, Action]  # (when, priority within the moment, what happens)


class CardSim:
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
        self.planned: dict[dt.date, list[Planned]] = defaultdict(list)
        self.quiet_out: list[tuple[dt.datetime, dt.datetime]] = []  # no background money out
        self.quiet_card_days: set[dt.date] = set()  # no background card purchases or cash
        self.quiet_cash_days: set[dt.date] = set()  # no background cash
        self.contrib_arrivals: dict[dt.date, list[tuple[int, str, int]]] = defaultdict(list)
        self.load_arrivals: dict[dt.date, list[tuple[int, int, str, int]]] = defaultdict(list)  # (secs, pence, ref, tag)
        self.shortfall_tag = -1  # the contribution_shortfall case, once planned
        self.drain_due: dt.date | None = None  # the load a planted drain follows
        self.dormant: tuple[dt.date, int] | None = None  # (first quiet day, case index)
        self.today: list | None = None  # the current day's heap of (when, priority, n, action)
        self.pushed = 0
        self.council_cp = (f"{pop.council.name.upper()} COUNCIL", pop.council.funding_sort_code, pop.council.funding_account)

    # ------------------------------------------------------------------ helpers
    def secs(self, h0: float, h1: float) -> int:
        """A random second of the day between hours h0 and h1."""
        return self.rng.randrange(int(h0 * 3600), int(h1 * 3600))

    def new_case(self, rule: str, description: str, *, date: dt.date | None = None, amount: int | None = None) -> int:
        """Plant a case on this card; its index is the tag its evidence items carry."""
        c = self.c
        self.cases.append(Case(rule, c, c.provider, c.account_id, date, amount, description))
        return len(self.cases) - 1

    def item(self, kind: str, sign: int, pence: int, when: dt.datetime, a_type: str, description: str, **kw) -> Item:
        assert pence > 0, (kind, pence)
        self.seq += 1
        it = Item(self.c, self.seq, kind, sign, pence, pence, when, "settled", a_type, description, settle_at=when, **kw)
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

    def drain_ok(self, when: dt.datetime, pence: int) -> bool:
        """Would spending ``pence`` now keep every load of the last 48 hours under DRAIN_GUARD_SHARE spent?"""
        for lt, amount in self.loads:
            if lt <= when < lt + 48 * HOUR:
                spent = sum(a for t, a in self.outs if t >= lt)
                if spent + pence > DRAIN_GUARD_SHARE * amount:
                    return False
        return True

    def quiet(self, when: dt.datetime) -> bool:
        return any(a <= when < b for a, b in self.quiet_out)

    def background_out_ok(self, when: dt.datetime, pence: int) -> bool:
        return not self.quiet(when) and self.available() >= pence and self.drain_ok(when, pence)

    def settle_time(self, day: dt.date, lag_days: int) -> dt.datetime:
        return at(day + lag_days * DAY, self.secs(5, 9))

    def run_today(self, todo: list[Planned]) -> None:
        """Do a day's actions in time order. A heap, because an action can schedule more for later the
        same day (a drain after its load): ``push``."""
        self.today = [(when, prio, k, fn) for k, (when, prio, fn) in enumerate(todo)]
        heapq.heapify(self.today)
        self.pushed = len(self.today)
        while self.today:
            _when, _prio, _k, fn = heapq.heappop(self.today)
            fn()
        self.today = None

    def push(self, when: dt.datetime, prio: int, fn: Action) -> None:
        """Schedule an action later on the day being run."""
        assert self.today is not None, "push only while a day runs"
        self.pushed += 1
        heapq.heappush(self.today, (when, prio, self.pushed, fn))

    # ------------------------------------------------------------------ card purchases
    def purchase(self, when: dt.datetime, mcc: str, channel: str, merchant: str, pence: int, *, city: str | None = None,
                 country: str = "GBR", tag: int = -1, background: bool = True) -> Item | None:
        """A card purchase with its provider's lifecycle (posted at once, pending then settled, released,
        force-posted), or declined when a background purchase is more than the card holds."""
        c = self.c
        city = city or cat.TOWNS[(c.idx + len(merchant)) % len(cat.TOWNS)]
        kw = dict(merchant=merchant, mcc=mcc, city=city, country=country, tag=tag)
        a_type = "ECOM" if channel == "ECOM" else "POS"
        desc = "Online purchase" if channel == "ECOM" else "Card purchase"
        if background and self.available() < pence:
            if c.provider == "C":
                return None  # Open Banking lists booked and pending items only
            it = self.item("purchase", -1, pence, when, a_type, desc, **kw)
            it.state, it.settle_at, it.settle_pence = "declined", None, 0
            return None
        it = self.item("purchase", -1, pence, when, a_type, desc, **kw)
        lifecycle = self._lifecycle(background)
        if lifecycle == "settled":
            self.post_now(it)
        elif lifecycle == "forcepost":
            it.forcepost = True  # B: a clearing with no authorisation seen
            self.post_now(it)
        elif lifecycle == "released":
            self._hold_until_released(it, when, pence)
        else:
            self._hold_until_settled(it, when, mcc, pence, background)
        self.last_out = max(self.last_out, when.date())
        if background and it.settle_at is not None:
            self._maybe_refund_or_duplicate(it, lifecycle)
        return it

    def _lifecycle(self, background: bool) -> str:
        c, r = self.c, self.rng.random()
        if not background:
            # Planted items keep their time on every provider's settled record: C books at once (its
            # BookingDateTime is the only time a Booked item carries); A and B settle next morning.
            return "settled" if c.provider == "C" or (c.provider == "A" and r < 0.4) else "pending"
        if c.provider == "B":
            return "forcepost" if r < 0.02 else ("released" if r < 0.05 else "pending")
        return "settled" if r < 0.40 else ("released" if r < 0.43 else "pending")

    def _hold_until_released(self, it: Item, when: dt.datetime, pence: int) -> None:
        it.state = "cancelled" if (self.c.provider == "B" and self.rng.random() < 0.3) else "released"
        lag = 1 if it.state == "cancelled" else self.rng.choice((7, 8))
        it.settle_at, it.settle_pence = None, 0
        it.end_at = self.settle_time(when.date(), lag)
        self.holds += pence
        self.release_q[it.end_at.date()].append(it)

    def _hold_until_settled(self, it: Item, when: dt.datetime, mcc: str, pence: int, background: bool) -> None:
        rng = self.rng
        lag = rng.choices((1, 2, 3), weights=(70, 22, 8))[0] if background else 1
        it.state = "pending"
        it.settle_at = self.settle_time(when.date(), lag) if background else at(when.date() + DAY, self.secs(5, 7))
        if background and mcc == "5812" and rng.random() < 0.3:
            it.settle_pence = int(pence * rng.uniform(1.08, 1.15))  # tip added at settlement
        elif background and rng.random() < 0.03:
            it.settle_pence = max(1, int(pence * rng.uniform(0.95, 1.05)))
        if it.settle_pence - pence > self.available() - pence:
            it.settle_pence = pence
        self.holds += pence
        self.settle_q[it.settle_at.date()].append(it)
        self.outs.append((when, pence))

    def _maybe_refund_or_duplicate(self, it: Item, lifecycle: str) -> None:
        u = self.rng.random()
        if u < 0.01:
            self.refund_q[it.settle_at.date() + self.rng.randrange(1, 6) * DAY].append(it)
        elif u < 0.013 and self.c.provider != "B" and lifecycle == "settled":
            self.duplicate_charge(it)

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
        """Money back for a purchase: a reversal of a duplicate, a chargeback, or a full or half refund."""
        when = at(day, self.secs(9, 18))
        kw = dict(merchant=original.merchant, mcc=original.mcc, city=original.city, country=original.country, related=original)
        if original.reference == "DUPLICATE" and original.client.provider != "B":
            it = self.item("reversal", +1, original.settle_pence, when, "REVERSAL", "Reversal", **kw)
        elif self.rng.random() < 0.1:
            it = self.item("chargeback", +1, original.settle_pence, when, "CHARGEBACK", "Chargeback", **kw)
        else:
            pence = original.settle_pence if self.rng.random() < 0.6 else max(1, original.settle_pence // 2)
            it = self.item("refund", +1, pence, when, "REFUND", "Refund", **kw)
        self.post_now(it)

    # ------------------------------------------------------------------ other money out and in
    def cash(self, when: dt.datetime, pence: int, *, tag: int = -1) -> Item:
        c = self.c
        it = self.item("cash", -1, pence, when, "ATM", "Cash withdrawal", merchant=self.rng.choice(cat.ATM_MERCHANTS),
                       mcc="6011", city=cat.TOWNS[c.idx % len(cat.TOWNS)], country="GBR", tag=tag)
        it.atm_auth = c.provider == "B" and self.rng.random() < 0.5
        self.post_now(it)
        self.last_out = max(self.last_out, when.date())
        return it

    def pay(self, when: dt.datetime, payee: Payee | tuple[str, str, str], pence: int, method: str, reference: str,
            *, tag: int = -1) -> Item:
        name, sort_code, account = (payee.name, payee.sort_code, payee.account_number) if isinstance(payee, Payee) else payee
        desc = {"FPS_OUT": "Faster payment", "SO": "Standing order", "DD": "Direct debit", "BACS": "BACS payment"}[method]
        it = self.item("payment", -1, pence, when, method, desc, cp_name=name, cp_sort_code=sort_code, cp_account=account,
                       reference=reference, tag=tag)
        self.post_now(it)
        self.last_out = max(self.last_out, when.date())
        return it

    def load(self, when: dt.datetime, pence: int, reference: str, tag: int = -1) -> Item:
        name, sc, acct = self.council_cp
        it = self.item("load", +1, pence, when, "LOAD", "Council load", cp_name=name, cp_sort_code=sc, cp_account=acct,
                       reference=reference, tag=tag)
        self.post_now(it)
        self.loads.append((when, pence))
        return it

    def fee(self, when: dt.datetime, pence: int, desc: str) -> None:
        self.post_now(self.item("fee", -1, pence, when, "FEE", desc, reference=desc.upper()))

    def unload(self, when: dt.datetime) -> None:
        """The closing day: what is left on the card goes back to the council."""
        assert self.holds == 0, (self.c.client_id, self.holds)
        if self.ledger > 0:
            name, sc, acct = self.council_cp
            it = self.item("unload", -1, self.ledger, when, "UNLOAD", "Return to council", cp_name=name, cp_sort_code=sc,
                           cp_account=acct, reference=f"CLOSURE {self.c.num}")
            self.ledger -= it.settle_pence
