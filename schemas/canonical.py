"""The canonical card transaction: the one shape every provider's feed is turned into.

Why one shape: screening, reconciliation, clawback and the ledger's posting rules must not know
which provider a transaction came from. Each reader (``feeds/``) maps its provider's format onto
these columns; everything downstream reads only these columns.

Sign convention: ``amount_pence`` is signed from the card's point of view — money onto the card is
positive, money leaving the card is negative. Amounts are always integer pence.
"""

from __future__ import annotations

import polars as pl

PROVIDERS: tuple[str, ...] = ("A", "B", "C")

# What a transaction *is*, independent of the provider's own type names.
KINDS: tuple[str, ...] = (
    "council_load",  # money from the council's funding account onto the card
    "contribution",  # the client's own assessed contribution paid onto the card
    "other_money_in",  # money in from anyone else: a question for audit
    "card_purchase",  # POS / e-commerce purchase with a merchant and MCC
    "cash",  # ATM or over-the-counter cash
    "payment_to_payee",  # DD, SO, BACS, Faster Payment to a named payee (no MCC)
    "refund",  # merchant refund back onto the card
    "fee",  # provider fee
    "unload",  # money returned from the card to the council (clawback)
    "reversal",  # undoes a settled item (names it in related_txn_id)
    "chargeback",  # disputed item credited back (names it in related_txn_id)
    "adjustment",  # provider adjustment, either direction
)

# Lifecycle state of the provider item.
#  pending  — authorised, funds held; affects available balance, never the ledger
#  settled  — posted; the ledger carries it
#  declined — nothing happened
#  released — a hold removed (expired / cancelled authorisation); nothing posts
STATUSES: tuple[str, ...] = ("pending", "settled", "declined", "released")

MONEY_IN_KINDS: frozenset[str] = frozenset(
    {"council_load", "contribution", "other_money_in", "refund", "chargeback"}
)
SPEND_KINDS: frozenset[str] = frozenset({"card_purchase", "cash", "payment_to_payee"})
# The items that are contributions, as SQL: the predicate of the partial index
# ix_transactions_contribution_payers and of the read it serves (records.transactions.known_contributors).
CONTRIBUTION_SQL = "kind = 'contribution'"

UTC_DATETIME = pl.Datetime("us", "UTC")

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.Utf8,  # A, B or C
    "provider_txn_id": pl.Utf8,  # the provider's id of this item (A: Transaction ID, B: event token, C: TransactionId)
    "account_id": pl.Utf8,  # provider account number / card token / AccountId (never a PAN)
    "client_id": pl.Utf8,  # from the cardholder register; null when the account is unknown
    "council": pl.Utf8,  # from the cardholder register; null when the account is unknown
    "kind": pl.Utf8,  # one of KINDS
    "status": pl.Utf8,  # one of STATUSES
    "amount_pence": pl.Int64,  # signed: + onto the card, - off the card
    "currency": pl.Utf8,  # GBP only; anything else is quarantined
    "occurred_at_utc": UTC_DATETIME,  # when it happened, UTC
    "london_date": pl.Date,  # the council's day (Europe/London) of occurred_at_utc
    "posted_date": pl.Date,  # provider's settlement / posting date; null while pending
    "merchant_name": pl.Utf8,
    "mcc": pl.Utf8,  # 4-digit ISO 18245 code as text ("5411"); null for bank payments
    "merchant_country": pl.Utf8,  # ISO 3166 alpha-3 where the provider gives it
    "payee_name": pl.Utf8,  # counterparty name for bank payments in or out
    "payee_sort_code": pl.Utf8,  # 6 digits
    "payee_account_number": pl.Utf8,  # 8 digits
    "reference": pl.Utf8,
    "related_txn_id": pl.Utf8,  # the authorisation a settlement completes, or the item undone
    "balance_after_pence": pl.Int64,  # provider's running balance after the item, when given
    "source_file": pl.Utf8,  # file name the row came from
    "source_line": pl.Int64,  # 1-based line (CSV/JSONL) or item index + 1 (JSON) in that file
}

CANONICAL_COLUMNS: tuple[str, ...] = tuple(CANONICAL_SCHEMA)


def empty_canonical() -> pl.DataFrame:
    """An empty frame with the canonical schema, for readers that found nothing."""
    return pl.DataFrame(schema=CANONICAL_SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Select and cast ``df`` to the canonical columns in canonical order.

    Missing optional columns are added as nulls so readers only build what their format has.
    """
    missing = [c for c in CANONICAL_COLUMNS if c not in df.columns]
    if missing:
        df = df.with_columns([pl.lit(None, dtype=CANONICAL_SCHEMA[c]).alias(c) for c in missing])
    return df.select([pl.col(c).cast(CANONICAL_SCHEMA[c]) for c in CANONICAL_COLUMNS])


# Provider balances: one row per account per London day.
BALANCE_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.Utf8,
    "account_id": pl.Utf8,
    "balance_date": pl.Date,
    "closing_balance_pence": pl.Int64,
    "available_balance_pence": pl.Int64,  # null where the provider does not give it
    "source_file": pl.Utf8,
    "source_line": pl.Int64,
}

# A row the reader could not accept: kept with everything needed to find and fix it.
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.Utf8,
    "source_line": pl.Int64,
    "provider": pl.Utf8,
    "provider_txn_id": pl.Utf8,
    "reason": pl.Utf8,
    "raw_text": pl.Utf8,  # the row as it arrived, with any PAN already masked
}
