"""How the workspace writes values for people: London times, pounds, and words instead of identifiers.

Why one module: every page shows times, money and statuses the same way; the templates call these as
filters, so no page prints ``drain_after_load`` or a UTC time by accident.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from schemas.mcc import mcc_descriptions
from schemas.money import pounds
from screening.rule_titles import rule_title

LONDON = ZoneInfo("Europe/London")

KIND_WORDS = {
    "council_load": "Council load", "contribution": "Contribution", "other_money_in": "Other money in",
    "card_purchase": "Card purchase", "cash": "Cash", "payment_to_payee": "Bank payment", "refund": "Refund",
    "fee": "Fee", "unload": "Returned to council", "reversal": "Reversal", "chargeback": "Chargeback",
    "adjustment": "Adjustment",
}
LIFE_EVENT_WORDS = {
    "hospital_admission": "Admitted to hospital", "hospital_discharge": "Discharged from hospital",
    "respite_start": "Respite stay began", "respite_end": "Respite stay ended", "deceased": "Died",
    "suspended": "Direct payment suspended", "resumed": "Direct payment resumed",
}
STATUS_WORDS = {"open": "New", "acknowledged": "Acknowledged", "referred": "Referred", "closed": "Closed"}
OUTCOME_WORDS = {"confirmed": "Confirmed concern", "false_positive": "False alarm", "no_action_needed": "No action needed"}
ACTION_WORDS = {
    "opened": "Case opened", "finding_added": "New finding added", "alert_raised": "Alert raised",
    "alert_sent": "Alert e-mailed", "acknowledged": "Acknowledged", "assigned": "Assigned", "noted": "Note added",
    "referred": "Referred", "suppressed": "Rule silenced for this client", "closed": "Closed",
}
SEVERITY_WORDS = {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}


def london_time(moment: dt.datetime | None) -> str:
    """'Mon 2 Mar 2026, 09:15' in London time (GMT or BST as it was then)."""
    if moment is None:
        return ""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def london_date(day: dt.date | None) -> str:
    """'2 Mar 2026'."""
    if day is None:
        return ""
    return f"{day.day} {day:%b %Y}"


def london_today() -> dt.date:
    return dt.datetime.now(LONDON).date()


def money(pence: int | None) -> str:
    return pounds(pence)


def mcc_text(mcc: str | None) -> str:
    """'5411 Grocery stores, supermarkets'; empty when there is no MCC (bank payments carry none)."""
    if not mcc:
        return ""
    return f"{mcc} {mcc_descriptions().get(mcc, '')}".strip()


def words(value: str | None, table: dict[str, str]) -> str:
    if value is None:
        return ""
    return table.get(value, value.replace("_", " ").capitalize())


FILTERS = {
    "london_time": london_time,
    "london_date": london_date,
    "money": money,
    "mcc_text": mcc_text,
    "rule_title": rule_title,
    "kind_words": lambda v: words(v, KIND_WORDS),
    "life_event_words": lambda v: words(v, LIFE_EVENT_WORDS),
    "status_words": lambda v: words(v, STATUS_WORDS),
    "outcome_words": lambda v: words(v, OUTCOME_WORDS),
    "action_words": lambda v: words(v, ACTION_WORDS),
    "severity_words": lambda v: words(v, SEVERITY_WORDS),
}
