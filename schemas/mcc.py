"""ISO 18245 merchant category codes and the named groups councils restrict.

Source: ``mcc_codes.csv`` beside this module is derived from github.com/greggles/mcc-codes
(commit 16e8ab1, public domain under the Unlicense), as copied in shared/reference/. Two known
faults are mended here: 6011 is *automated* cash disbursement (the source's edited description says
"Manual"), and 6540 (stored-value card purchase/load) is added because the source lacks it.

Why groups: council policy speaks of "gambling" or "alcohol", not of code lists; a group is the
unit a council restricts and a client can be given an exception for.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

MCC_CSV = Path(__file__).with_name("mcc_codes.csv")

# Named groups from DOMAIN.md ("Restricted spending"). Supermarkets (5411) and convenience
# stores (5499) sell alcohol and tobacco too: an MCC alone cannot catch every restricted purchase.
GROUPS: dict[str, frozenset[str]] = {
    "alcohol": frozenset({"5813", "5921"}),
    "tobacco": frozenset({"5993"}),
    "gambling": frozenset({"7995", "7800", "7801", "7802"}),
    "adult": frozenset({"7273", "7297"}),
    "pawn": frozenset({"5933"}),
    "quasi_cash": frozenset({"6051", "6540"}),
    "money_transfer": frozenset({"4829"}),
    "cash": frozenset({"6010", "6011"}),
}
CASH_MCCS: frozenset[str] = GROUPS["cash"]
# Cash-like purchases (quasi-cash, money transfer): screening counts them with cash.
CASH_LIKE_GROUPS: tuple[str, ...] = ("quasi_cash", "money_transfer")
CASH_LIKE_MCCS: tuple[str, ...] = tuple(sorted({m for g in CASH_LIKE_GROUPS for m in GROUPS[g]}))
# The same as an SQL predicate with its values written out: a partial index on it
# (ix_transactions_cash_like_date) is used only by a query that repeats it literally.
CASH_LIKE_PURCHASE_SQL = "kind = 'card_purchase' AND mcc IN (" + ", ".join(f"'{m}'" for m in CASH_LIKE_MCCS) + ")"


@cache
def mcc_descriptions() -> dict[str, str]:
    """Every known MCC with its description."""
    with MCC_CSV.open(encoding="utf-8", newline="") as fh:
        return {row["mcc"]: row["description"] for row in csv.DictReader(fh)}


def group_of(mcc: str | None) -> str | None:
    """The named group an MCC belongs to, or None."""
    if mcc is None:
        return None
    for name, codes in GROUPS.items():
        if mcc in codes:
            return name
    return None


def spend_category(mcc: str | None) -> str:
    """A coarse spending category for the ledger's spending accounts (by MCC range)."""
    group = group_of(mcc)
    if group:
        return group
    if mcc is None or not mcc.isdigit():
        return "uncategorised"
    code = int(mcc)
    if code in (5411, 5422, 5441, 5451, 5462, 5499):
        return "groceries"
    if 4000 <= code <= 4799:
        return "transport"
    if code in (5912, 5122, 8011, 8021, 8031, 8041, 8042, 8043, 8049, 8050, 8062, 8071, 8099):
        return "health"
    if code in (5811, 5812, 5814):
        return "eating_out"
    if 4800 <= code <= 4999:
        return "utilities"
    if 7000 <= code <= 7999:
        return "leisure_services"
    if 5000 <= code <= 5999:
        return "retail"
    return "other_services"
