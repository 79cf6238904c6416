"""The chart of accounts for a council's card scheme (docs/ledger.md explains each with examples).

Signs: a posting's ``amount_pence`` is positive for a debit and negative for a credit, so every
entry sums to zero. Asset and expense accounts therefore carry positive balances; the sources of
money (the council's funding account, clients' own money) carry negative ones.

Why a card has two accounts: clawback may recover only the council's money, so the ledger must
always know how much of a card's balance the council funded and how much the client did. The card's
balance is the sum of its two parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CARD_PARTS = ("council", "client")


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    account_type: str  # asset, equity, expense, suspense
    role: str
    council: str | None = None
    client_id: str | None = None
    provider: str | None = None
    provider_account_id: str | None = None


def card(provider: str, account_id: str, part: str, council: str | None, client_id: str | None) -> Account:
    assert part in CARD_PARTS, part
    return Account(
        f"card:{provider}:{account_id}:{part}",
        f"Card {provider}/{account_id}: {part}-funded balance",
        "asset",
        f"card_{part}",
        council,
        client_id,
        provider,
        account_id,
    )


def funding(council: str) -> Account:
    return Account(f"council:{council}:funding", f"{council}: funding account (loads out)", "equity", "funding", council)


def recovered(council: str) -> Account:
    return Account(
        f"council:{council}:recovered", f"{council}: money returned from cards (unloads, clawback)", "equity", "recovered", council
    )


def take_on(council: str) -> Account:
    return Account(
        f"council:{council}:take_on", f"{council}: card balances taken on when the scheme began", "equity", "take_on", council
    )


def contributions(council: str | None, client_id: str) -> Account:
    return Account(
        f"client:{client_id}:contributions", f"Client {client_id}: own contributions paid in", "equity", "contributions", council, client_id
    )


def other_money_in(council: str | None, client_id: str) -> Account:
    return Account(
        f"client:{client_id}:other_in", f"Client {client_id}: other money paid in (for audit)", "equity", "other_money_in", council, client_id
    )


def spending(council: str, category: str) -> Account:
    return Account(f"spend:{council}:{category}", f"{council}: spending on {category}", "expense", "spending", council)


def cash(council: str) -> Account:
    return Account(f"cash:{council}", f"{council}: cash withdrawn", "expense", "cash", council)


def fees(council: str) -> Account:
    return Account(f"fees:{council}", f"{council}: provider fees", "expense", "fees", council)


def adjustments(council: str) -> Account:
    return Account(f"adjustments:{council}", f"{council}: provider adjustments", "expense", "adjustments", council)


def suspense_card(provider: str, account_id: str) -> Account:
    """A card the cardholder register does not know: its money is held here until it is placed."""
    return Account(
        f"suspense:{provider}:{account_id}",
        f"Suspense: unknown card {provider}/{account_id}",
        "suspense",
        "suspense_card",
        None,
        None,
        provider,
        account_id,
    )


def suspense_counterparty(provider: str) -> Account:
    return Account(
        f"suspense:{provider}:counterparty", f"Suspense: other side of unknown cards' items ({provider})", "suspense", "suspense"
    )


ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.Utf8,
    "name": pl.Utf8,
    "account_type": pl.Utf8,
    "role": pl.Utf8,
    "council": pl.Utf8,
    "client_id": pl.Utf8,
    "provider": pl.Utf8,
    "provider_account_id": pl.Utf8,
}


def accounts_frame(accounts: list[Account] | set[Account]) -> pl.DataFrame:
    rows = sorted({a.code: a for a in accounts}.values(), key=lambda a: a.code)
    return pl.DataFrame([a.__dict__ for a in rows], schema=ACCOUNT_SCHEMA)
