"""The clawback and contribution arithmetic: pure functions over plain values (docs/clawback.md).

Why pure: every figure finance approves must be reproducible and explainable. Nothing here reads
the database, the clock or a file; ``clawback.run`` and ``clawback.contributions`` gather the
inputs (ledger parts, holds, reference data) and store the results.

The council/client split of a card's balance is the ledger's (``ledger.posting_rules``): the parts
are read from the ledger, and the reserve that stays on the card is charged to the parts with the
ledger's own ``take_from_parts`` under the council's ``balance_split`` policy, because the reserve is
money the person will spend, and spending follows that policy. Nothing here splits money any other
way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.posting_rules import take_from_parts
from schemas.money import pounds as pounds_text

DAYS_PER_WEEK = 7
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


# --- weeks --------------------------------------------------------------------------------------
def parse_week(iso_week: str) -> tuple[int, int]:
    """``"2026-W10"`` -> (2026, 10); anything else is refused with what was expected."""
    m = WEEK_RE.match(iso_week or "")
    if not m:
        raise ValueError(f"expected an ISO week such as 2026-W10, found {iso_week!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{iso_week!r} is not a week of {year}") from exc
    return year, week


def week_bounds(iso_week: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday (London days) of an ISO week."""
    year, week = parse_week(iso_week)
    monday = dt.date.fromisocalendar(year, week, 1)
    return monday, monday + dt.timedelta(days=6)


def iso_week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(first_monday: dt.date, last_monday: dt.date) -> list[dt.date]:
    """Mondays from ``first_monday`` to ``last_monday`` inclusive."""
    assert first_monday.isoweekday() == 1 and last_monday.isoweekday() == 1
    n = (last_monday - first_monday).days // DAYS_PER_WEEK
    return [first_monday + dt.timedelta(weeks=i) for i in range(n + 1)]


# --- clawback -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardPosition:
    """One card on the clawback day: what the ledger and the council's data say about it."""

    council_part_pence: int  # ledger card:*:council at as_of
    client_part_pence: int  # ledger card:*:client at as_of
    weekly_budget_pence: int
    contingency_weeks: int  # the client's own value, else the council default
    commitments_pence: int  # commitments due within the contingency window
    holds_pence: int  # pending authorisations still holding funds (positive pence)
    clawback_minimum_pence: int
    split_policy: str = "client_first"
    exclusion: str | None = None  # a reason the card is excluded this week (shown on the line)
    recover_all: str | None = None  # closed card / deceased client: the reason (no contingency, no minimum)

    @property
    def balance_pence(self) -> int:
        return self.council_part_pence + self.client_part_pence


@dataclass(frozen=True)
class ClawbackResult:
    balance_pence: int
    contingency_weeks: int
    contingency_pence: int
    commitments_pence: int
    holds_pence: int
    reserve_pence: int
    surplus_pence: int
    council_surplus_pence: int
    client_excess_pence: int
    amount_to_recover_pence: int
    outcome: str  # recover, recover_all, excluded, below_minimum, nothing_to_recover
    reason: str | None


def clawback_for_card(p: CardPosition) -> ClawbackResult:
    """What to recover from one card this week, and why.

    surplus = balance - (contingency + commitments + holds), never below zero. The reserve is
    charged to the card's parts as spending would be (``take_from_parts`` under the council's split
    policy); what remains of the council part is recoverable, what remains of the client part is
    the client's excess (reported, never recovered). Nothing is recovered below the council's
    minimum, nor from an excluded card. A closed card or a deceased client's card keeps no
    contingency and no commitments and ignores the minimum: the whole council share not already
    held by pending authorisations is recovered.
    """
    assert p.weekly_budget_pence >= 0 and p.contingency_weeks >= 0
    assert p.commitments_pence >= 0 and p.holds_pence >= 0 and p.clawback_minimum_pence >= 0
    balance = p.balance_pence
    weeks = 0 if p.recover_all else p.contingency_weeks
    contingency = weeks * p.weekly_budget_pence
    commitments = 0 if p.recover_all else p.commitments_pence
    reserve = contingency + commitments + p.holds_pence
    surplus = max(0, balance - reserve)
    if surplus > 0:
        # The reserve is future spending: charge it to the parts as the ledger charges spending.
        from_council, from_client = take_from_parts(reserve, p.council_part_pence, p.client_part_pence, p.split_policy)
        council_free = p.council_part_pence - from_council
        council_surplus = max(0, min(surplus, council_free))
    else:
        council_surplus = 0
    client_excess = surplus - council_surplus

    if p.exclusion:
        amount, outcome, reason = 0, "excluded", p.exclusion
    elif council_surplus == 0:
        amount, outcome, reason = 0, "nothing_to_recover", None
    elif p.recover_all:
        amount, outcome, reason = council_surplus, "recover_all", p.recover_all
    elif council_surplus < p.clawback_minimum_pence:
        amount, outcome = 0, "below_minimum"
        reason = f"council surplus {pounds_text(council_surplus)} is below the clawback minimum {pounds_text(p.clawback_minimum_pence)}"
    else:
        amount, outcome, reason = council_surplus, "recover", None

    # Invariants (docs/clawback.md): never more than the council-funded share, never into the reserve.
    assert 0 <= amount <= max(0, p.council_part_pence)
    assert amount == 0 or balance - amount >= reserve
    assert council_surplus + client_excess == surplus and client_excess >= 0
    return ClawbackResult(
        balance_pence=balance,
        contingency_weeks=weeks,
        contingency_pence=contingency,
        commitments_pence=commitments,
        holds_pence=p.holds_pence,
        reserve_pence=reserve,
        surplus_pence=surplus,
        council_surplus_pence=council_surplus,
        client_excess_pence=client_excess,
        amount_to_recover_pence=amount,
        outcome=outcome,
        reason=reason,
    )


def commitments_due(rows: Iterable[tuple[dt.date, int]], run_date: dt.date, contingency_weeks: int) -> int:
    """Commitments due from the run date to the end of the contingency window (exclusive).

    A commitment due before the run date is taken as paid or overdue elsewhere: the ledger shows
    whether it left the card, and holding it twice would under-recover.
    """
    end = run_date + dt.timedelta(weeks=contingency_weeks)
    return sum(int(amount) for due, amount in rows if run_date <= due < end)


def exclusion_reason(
    *,
    run_date: dt.date,
    opened: dt.date | None,
    starter_float_weeks: int,
    open_case: str | None,
    under_recovery: str | None,
    recover_all: bool,
) -> str | None:
    """The first reason this card is excluded this week, in order of precedence.

    An open safeguarding case comes first (the money trail must stay as it is while it is looked
    at), then an earlier recovery not yet seen in a feed (recovering again would take the money
    twice), then the starter float (not for a closed card or a deceased client: that money is all
    going back).
    """
    if open_case:
        return f"open safeguarding case ({open_case})"
    if under_recovery:
        return f"already under recovery: {under_recovery}"
    if not recover_all and opened is not None and run_date < opened + dt.timedelta(weeks=starter_float_weeks):
        float_end = opened + dt.timedelta(weeks=starter_float_weeks)
        return f"starter float: card opened {opened.isoformat()}, float until {float_end.isoformat()}"
    return None


# --- contributions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContributionRate:
    weekly_amount_pence: int
    effective_from: dt.date
    effective_to: dt.date | None  # inclusive; None = open-ended


def expected_for_week(
    rates: Sequence[ContributionRate],
    week_start: dt.date,
    *,
    opened: dt.date | None = None,
    closed: dt.date | None = None,
) -> int:
    """The contribution due for one week: each rate pro-rata by the days it is effective (and the
    card open) in the week, ``weekly_amount x days // 7``, i.e. rounded DOWN to whole pence.

    Why down: a person is never asked for a fraction of a penny they could not see on a statement;
    over a full week the amount is exact, so rounding only touches the part weeks at the start and
    end of a rate (at most 1p short each).
    """
    assert week_start.isoweekday() == 1
    week_end = week_start + dt.timedelta(days=6)
    total = 0
    for r in rates:
        first = max(week_start, r.effective_from, opened or week_start)
        last = min(week_end, r.effective_to or week_end, closed or week_end)
        days = (last - first).days + 1
        if days <= 0:
            continue
        total += r.weekly_amount_pence * days // DAYS_PER_WEEK
    assert total >= 0
    return total


def normalise_reference(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance <= limit (bounded DP: references are short)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def reference_matches(seen: str | None, expected: str | None) -> bool:
    """Does a payment reference name this client's contribution reference, allowing for typing?

    People mistype references (FEEDS.md): we accept the same letters and digits ignoring spaces and
    punctuation, either containing the other, or at most two characters different. Short
    references (under 6 characters) must match exactly, or almost anything would match them.
    """
    a, b = normalise_reference(seen), normalise_reference(expected)
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) < 6:
        return False
    return a in b or b in a or _edit_distance_at_most(a, b, 2)


@dataclass(frozen=True)
class MoneyIn:
    """A settled money-in item on a client's card (kind contribution or other_money_in)."""

    txn_id: str  # "provider:provider_txn_id"
    day: dt.date  # booking day (posted date, else London date)
    amount_pence: int
    kind: str
    reference: str | None
    payer: str | None  # "sortcode:account" of the payer, when known


def match_contributions(items: Sequence[MoneyIn], references: Sequence[str]) -> list[tuple[MoneyIn, str]]:
    """The items that are this client's contributions, each with how it matched.

    A ``contribution`` (the reader matched it) counts as it is. Other money in counts when its
    reference names one of the client's contribution references (allowing typos), or when it comes
    from an account that has paid one of this client's recognised contributions.
    """
    matched: list[tuple[MoneyIn, str]] = []
    known_payers = {i.payer for i in items if i.kind == "contribution" and i.payer}
    for i in sorted(items, key=lambda x: (x.day, x.txn_id)):
        if i.amount_pence <= 0:
            continue
        if i.kind == "contribution":
            matched.append((i, "classified"))
        elif any(reference_matches(i.reference, ref) for ref in references):
            matched.append((i, "reference"))
            if i.payer:
                known_payers.add(i.payer)
        elif i.payer and i.payer in known_payers:
            matched.append((i, "payer_account"))
    return matched


@dataclass(frozen=True)
class ContributionWeek:
    week_start: dt.date
    expected_pence: int
    received_pence: int
    arrears_pence: int
    overpaid_pence: int
    missed: bool
    consecutive_missed_weeks: int
    first_missed_week_start: dt.date | None
    arrears_since: dt.date | None  # Monday of the first week of the current run in arrears
    short: bool = False  # less than due arrived (nothing, or part) and the person is in arrears
    consecutive_short_weeks: int = 0

    @property
    def week_difference_pence(self) -> int:
        return self.received_pence - self.expected_pence


def contribution_series(weeks: Sequence[tuple[dt.date, int, int]]) -> list[ContributionWeek]:
    """Running position week by week from (Monday, expected, received), oldest first.

    A week is *missed* when something was due, nothing arrived, and the person is not in credit at
    the end of it (someone who paid four weeks ahead has not missed the next three). It is *short*
    when less than was due arrived (nothing, or part) and the person is in arrears at its end.
    """
    out: list[ContributionWeek] = []
    position = 0  # cumulative received - expected
    streak, streak_start, arrears_since, short_streak = 0, None, None, 0
    for monday, expected, received in weeks:
        assert expected >= 0 and received >= 0
        position += received - expected
        missed = expected > 0 and received == 0 and position < 0
        short = expected > 0 and received < expected and position < 0
        short_streak = short_streak + 1 if short else 0
        if missed:
            streak += 1
            streak_start = streak_start or monday
        else:
            streak, streak_start = 0, None
        arrears_since = (arrears_since or monday) if position < 0 else None
        out.append(
            ContributionWeek(
                week_start=monday,
                expected_pence=expected,
                received_pence=received,
                arrears_pence=max(0, -position),
                overpaid_pence=max(0, position),
                missed=missed,
                consecutive_missed_weeks=streak,
                first_missed_week_start=streak_start,
                arrears_since=arrears_since,
                short=short,
                consecutive_short_weeks=short_streak,
            )
        )
    return out


def arrears_exception_due(week: ContributionWeek, *, missed_weeks_threshold: int, weekly_amount_pence: int) -> str | None:
    """Why a finance exception is due for this week's position, or None.

    After N consecutive missed weeks (``contribution_missed_weeks``); after N consecutive weeks
    paid short (a reassessed contribution the standing order was never changed for); or when the
    arrears reach N weeks' worth of the current contribution however they built up.
    """
    n = missed_weeks_threshold
    if week.consecutive_missed_weeks >= n:
        return (
            f"{week.consecutive_missed_weeks} consecutive weeks with no contribution received "
            f"(threshold {n}); arrears {pounds_text(week.arrears_pence)}"
        )
    if week.consecutive_short_weeks >= n:
        return (
            f"{week.consecutive_short_weeks} consecutive weeks paid less than due (threshold {n}); "
            f"arrears {pounds_text(week.arrears_pence)}"
        )
    if weekly_amount_pence > 0 and week.arrears_pence >= n * weekly_amount_pence:
        return (
            f"contribution arrears {pounds_text(week.arrears_pence)} reach {n} weeks' worth of the weekly "
            f"contribution {pounds_text(weekly_amount_pence)}"
        )
    return None
