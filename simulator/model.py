"""The simulator's records: clients, payees, money items and planted cases.

Why plain dataclasses with slots: a 1,000-client, 90-day run makes a few hundred thousand items,
built one at a time in Python; slots keep that small and quick. Times are London local wall-clock
(naive ``datetime``), the council's day; writers convert to UTC where a format needs it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, eq=False)
class Payee:
    name: str
    sort_code: str
    account_number: str
    kind: str  # personal_assistant, agency, payroll_bureau, supplier, other
    approved_from: dt.date
    approved_to: dt.date | None
    known_from: dt.date  # first extract that lists the payee
    to_known_from: dt.date | None = None  # first extract that shows approved_to (None: from known_from)
    method: str = "FPS_OUT"  # FPS_OUT, SO, DD, BACS: how the client pays them
    amount_pence: int = 0  # per payment
    cadence_days: int = 7
    first_pay: dt.date | None = None  # None: never paid by the background
    last_pay: dt.date | None = None  # inclusive; None: open-ended
    reference: str = ""


@dataclass(slots=True, eq=False)
class ContributionRow:
    weekly_pence: int
    effective_from: dt.date
    effective_to: dt.date | None
    reference: str
    known_from: dt.date
    to_known_from: dt.date | None = None


@dataclass(slots=True, eq=False)
class Client:
    idx: int
    client_id: str
    num: str  # the digits of the client id, used in references
    provider: str
    account_id: str
    opened: dt.date
    closed: dt.date | None
    known_from: dt.date
    weekly_budget_pence: int
    contingency_weeks: int | None
    cash_allowed: bool
    cash_weekly_limit_pence: int | None
    model: str  # net, gross, none
    team: str
    safeguarding_email: str
    take_on_pence: int
    payer_name: str
    payer_sort_code: str
    payer_account: str
    contrib_weekday: int
    contrib_ref_habit: str | None  # the mistyped reference this person habitually uses, if any
    load_anchor: dt.date
    cash_weekday: int
    cash_weekly_pence: int
    purchase_rate: float  # card purchases a day (Poisson mean)
    contributions: list[ContributionRow] = field(default_factory=list)
    payees: list[Payee] = field(default_factory=list)
    events: list[tuple[str, dt.date]] = field(default_factory=list)
    plant: str | None = None
    plant_params: dict[str, Any] = field(default_factory=dict)
    # loads: (due_date, amount_pence, reference, known_from); arrivals are decided during generation
    schedule: list[tuple[dt.date, int, str, dt.date]] = field(default_factory=list)
    closed_known: dt.date | None = None
    # commitments: (due_date, amount_pence, description, known_from)
    commitments: list[tuple[dt.date, int, str, dt.date]] = field(default_factory=list)

    def contribution_on(self, day: dt.date) -> int:
        """The weekly contribution assessed for ``day`` (0 when no row covers it), in pence."""
        for row in self.contributions:
            if row.effective_from <= day and (row.effective_to is None or day <= row.effective_to):
                return row.weekly_pence
        return 0


@dataclass(slots=True, eq=False)
class Item:
    """One money movement on a card, through its whole life (authorised, settled, released ...).

    Each provider renders the same item its own way: A as rows sharing a Transaction ID, B as
    events (authorisation, clearing, release) with their own tokens, C as a Pending then Booked
    entry under one TransactionId.
    """

    client: Client
    seq: int
    kind: str  # load unload contribution other_in purchase cash payment refund fee reversal chargeback adjustment
    sign: int  # +1 onto the card, -1 off it
    amount_pence: int  # authorised / presented amount, positive
    settle_pence: int  # amount that posts, positive (0 if it never posts)
    at: dt.datetime  # London local: when it happened (the authorisation)
    state: str  # settled (posted at once), pending (settles later), released, cancelled, declined
    a_type: str  # provider A's Type for the item
    description: str
    settle_at: dt.datetime | None = None  # London local posting instant (None: never posts)
    end_at: dt.datetime | None = None  # release / cancel instant
    merchant: str | None = None
    mcc: str | None = None
    city: str | None = None
    country: str | None = None
    cp_name: str | None = None  # counterparty (payee or payer)
    cp_sort_code: str | None = None
    cp_account: str | None = None
    reference: str = ""
    related: Item | None = None
    forcepost: bool = False  # B: clearing with no authorisation seen
    atm_auth: bool = False  # B: a cash withdrawal that names an authorisation
    tag: int = -1  # index of the planted case this item is evidence for
    txn_id: str = ""  # A Transaction ID / C TransactionId
    b_auth: str | None = None  # B token of the authorization event
    b_final: str | None = None  # B token of the posting (COMPLETION) event
    b_end: str | None = None  # B token of the release / reversal event
    balance_after_pence: int | None = None

    @property
    def posts(self) -> bool:
        return self.settle_at is not None and self.state in ("settled", "pending")

    @property
    def london_day(self) -> dt.date:
        return self.at.date()


@dataclass(slots=True, eq=False)
class Case:
    """A planted case; evidence items are resolved to provider ids once ids are assigned."""

    rule: str
    client: Client | None
    provider: str | None
    account_id: str | None
    date: dt.date | None
    amount_pence: int | None
    description: str
    evidence: list[Item] = field(default_factory=list)
    extra_evidence_ids: list[str] = field(default_factory=list)
