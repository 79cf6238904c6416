"""Posting rules: how each settled card item becomes a balanced journal entry (docs/ledger.md).

Pure: given the items to post, each card's current council/client split and the entries that
reversals point at, return entry, posting and account frames. No database, no clock.

The split of a card's balance between council-funded and client-funded money is decided here and
nowhere else: money out is taken from the client's part first by default (``client_first``: the
person's own contribution is spent on their care before the council's money), or in proportion
to the two parts (``pro_rata``), per council policy. Money in goes to the part whose money it is.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import polars as pl

from ledger import accounts as chart
from ledger.accounts import Account, accounts_frame
from ledger.journal import ENTRY_SCHEMA, POSTING_SCHEMA, payload_hash
from schemas.mcc import spend_category

LONDON = ZoneInfo("Europe/London")
SPLIT_POLICIES = ("client_first", "pro_rata")
MONEY_IN_FAMILY = {"council_load": "money_in", "contribution": "money_in", "other_money_in": "money_in"}


def entry_key(provider: str, provider_txn_id: str) -> str:
    return f"{provider}:{provider_txn_id}"


def item_payload_hash(row: Mapping) -> str:
    """The facts that identify a provider item. Money in is one family here because which kind of
    money in it is depends on council reference data that may change; a change of amount,
    account or provider type is a conflict."""
    return payload_hash(
        row["provider"],
        row["provider_txn_id"],
        row["account_id"],
        MONEY_IN_FAMILY.get(row["kind"], row["kind"]),
        row["amount_pence"],
        row.get("related_txn_id"),
    )


def with_booking(items: pl.DataFrame) -> pl.DataFrame:
    """Adds ``_book_day`` and ``_book_at``: the London day each item is booked (its posting date once
    settled) and its booking instant.

    A card payment authorised on Monday and settled on Tuesday is in Tuesday's closing balance, so
    the ledger books it on Tuesday; the instant is the event time, clamped into the booking day
    (Tuesday 00:00 London if earlier, the day's last microsecond if later). Vectorised over the frame.
    """
    day = pl.coalesce("posted_date", "london_date")
    start = day.cast(pl.Datetime("us")).dt.replace_time_zone("Europe/London", ambiguous="earliest", non_existent="null")
    end = (day + pl.duration(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone(
        "Europe/London", ambiguous="earliest", non_existent="null"
    )
    start_utc = start.dt.convert_time_zone("UTC")
    end_utc = end.dt.convert_time_zone("UTC") - pl.duration(microseconds=1)
    occurred = pl.col("occurred_at_utc").dt.convert_time_zone("UTC")
    return items.with_columns(
        day.alias("_book_day"),
        pl.when(occurred < start_utc).then(start_utc).when(occurred > end_utc).then(end_utc).otherwise(occurred).alias("_book_at"),
    )


DESCRIPTIONS: dict[str, str] = {
    "council_load": "Council load",
    "contribution": "Client contribution",
    "other_money_in": "Money in (not council, not contribution)",
    "card_purchase": "Card purchase",
    "cash": "Cash withdrawal",
    "payment_to_payee": "Payment to payee",
    "refund": "Merchant refund",
    "fee": "Provider fee",
    "unload": "Unload to council",
    "reversal": "Reversal",
    "chargeback": "Chargeback",
    "adjustment": "Provider adjustment",
}


def describe(items: pl.DataFrame) -> pl.Series:
    """Each entry's description: what it is, who (merchant or payee), and the reference, joined by " — "."""
    text = pl.col("kind").replace_strict(DESCRIPTIONS, default=pl.col("kind"), return_dtype=pl.Utf8)
    who = pl.coalesce(
        pl.when(pl.col("merchant_name") != "").then(pl.col("merchant_name")),
        pl.when(pl.col("payee_name") != "").then(pl.col("payee_name")),
    )
    ref = pl.when(pl.col("reference") != "").then(pl.col("reference"))
    return items.select(pl.concat_str([text, who, ref], separator=" — ", ignore_nulls=True).alias("d"))["d"]


def take_from_parts(amount_pence: int, council_pence: int, client_pence: int, policy: str) -> tuple[int, int]:
    """Split money leaving a card between its parts: returns (from_council, from_client), summing to amount.

    The client part never goes below zero through spending; any shortfall (a fee taking the card
    negative) falls on the council part.
    """
    assert amount_pence >= 0
    if policy not in SPLIT_POLICIES:
        raise ValueError(f"unknown balance split policy {policy!r}; expected one of {SPLIT_POLICIES}")
    available_client = max(client_pence, 0)
    if policy == "client_first":
        from_client = min(amount_pence, available_client)
    else:
        total = max(council_pence, 0) + available_client
        from_client = 0 if total <= 0 else min(available_client, amount_pence * available_client // total)
    from_council = amount_pence - from_client
    assert 0 <= from_client <= amount_pence and from_council + from_client == amount_pence
    return from_council, from_client


@dataclass
class CardState:
    council_pence: int = 0
    client_pence: int = 0


@dataclass
class BuiltEntries:
    entries: pl.DataFrame
    postings: pl.DataFrame
    accounts: pl.DataFrame
    states: dict[tuple[str, str], CardState] = field(default_factory=dict)


def build_entries(
    items: pl.DataFrame,
    states: Mapping[tuple[str, str], CardState],
    originals: Mapping[str, list[tuple[str, int]]],
    split_policy_by_council: Mapping[str, str],
) -> BuiltEntries:
    """Entries for settled canonical items, in the order given (the caller sorts by booking time).

    ``states``: each card's (provider, account_id) current parts. ``originals``: for entry keys that
    reversals, refunds and chargebacks may name, that entry's postings (already posted or earlier
    in this batch is handled here).
    """
    states = {k: CardState(v.council_pence, v.client_pence) for k, v in states.items()}
    originals = dict(originals)
    items = with_booking(items)
    descriptions = describe(items).to_list()
    hashes = (
        items["payload_hash"].to_list()
        if "payload_hash" in items.columns
        else [item_payload_hash(r) for r in items.iter_rows(named=True)]
    )
    card_account = functools.lru_cache(maxsize=None)(chart.card)
    entry_rows: list[tuple] = []
    posting_rows: list[tuple[str, str, int]] = []
    used_accounts: dict[str, Account] = {}

    def post(key: str, account: Account, pence: int) -> None:
        if pence:
            posting_rows.append((key, account.code, pence))
            used_accounts[account.code] = account

    def take(key: str, card_parts: tuple, pence: int, counter: Account, *, council_first: bool = False) -> None:
        """Money leaves the card (pence > 0) to ``counter``."""
        card_council, card_client, state, policy = card_parts
        if council_first:
            from_client = max(0, min(pence - max(state.council_pence, 0), max(state.client_pence, 0)))
            from_council = pence - from_client
        else:
            from_council, from_client = take_from_parts(pence, state.council_pence, state.client_pence, policy)
        post(key, counter, pence)
        post(key, card_council, -from_council)
        post(key, card_client, -from_client)
        state.council_pence -= from_council
        state.client_pence -= from_client

    def give(key: str, card_parts: tuple, pence: int, counter: Account, *, to_client_pence: int = 0) -> None:
        """Money arrives on the card (pence > 0) from ``counter``."""
        card_council, card_client, state, _ = card_parts
        post(key, card_council, pence - to_client_pence)
        post(key, card_client, to_client_pence)
        post(key, counter, -pence)
        state.council_pence += pence - to_client_pence
        state.client_pence += to_client_pence

    for i, row in enumerate(items.iter_rows(named=True)):
        provider, acct = row["provider"], row["account_id"]
        key = entry_key(provider, row["provider_txn_id"])
        amount = int(row["amount_pence"])
        day, at = row["_book_day"], row["_book_at"]
        council, client = row["council"], row["client_id"]
        kind = row["kind"]
        reverses_key = None
        start = len(posting_rows)

        if client is None or council is None:
            # Unknown card: hold its money in suspense until the register places it.
            post(key, chart.suspense_card(provider, acct), amount)
            post(key, chart.suspense_counterparty(provider), -amount)
        else:
            state = states.setdefault((provider, acct), CardState())
            policy = split_policy_by_council.get(council, "client_first")
            card_council = card_account(provider, acct, "council", council, client)
            card_client = card_account(provider, acct, "client", council, client)

            card_parts = (card_council, card_client, state, policy)
            original = originals.get(entry_key(provider, row["related_txn_id"])) if row["related_txn_id"] else None
            if kind == "council_load" and amount > 0:
                give(key, card_parts, amount, chart.funding(council))
            elif kind == "contribution" and amount > 0:
                give(key, card_parts, amount, chart.contributions(council, client), to_client_pence=amount)
            elif kind == "other_money_in" and amount > 0:
                give(key, card_parts, amount, chart.other_money_in(council, client), to_client_pence=amount)
            elif kind == "unload" and amount < 0:
                take(key, card_parts, -amount, chart.recovered(council), council_first=True)
            elif (
                kind == "reversal"
                and original is not None
                and amount == -sum(p for code, p in original if code.startswith("card:"))
            ):
                # A full reversal of a posted item: exactly negate it, linked to it.
                reverses_key = entry_key(provider, row["related_txn_id"])
                for code, pence in original:
                    posting_rows.append((key, code, -pence))
                    if code == card_council.code:
                        state.council_pence -= pence
                    elif code == card_client.code:
                        state.client_pence -= pence
                    used_accounts.setdefault(code, _account_for_code(code, council, client, provider, acct))
            elif amount > 0:
                # Refund, chargeback, partial reversal or credit adjustment: money back onto the card.
                # It returns to the parts in the proportion the original took them, else to the council.
                if original is not None:
                    took_client = -sum(p for code, p in original if code == card_client.code)
                    took_total = -sum(p for code, p in original if code.startswith("card:"))
                    to_client = 0 if took_total <= 0 else min(amount, amount * max(took_client, 0) // took_total)
                    counter_code = next((c for c, p in original if not c.startswith("card:") and p > 0), None)
                    counter = (
                        _account_for_code(counter_code, council, client, provider, acct)
                        if counter_code
                        else chart.spending(council, "uncategorised")
                    )
                else:
                    to_client = 0
                    counter = chart.adjustments(council) if kind == "adjustment" else chart.spending(
                        council, spend_category(row["mcc"])
                    )
                give(key, card_parts, amount, counter, to_client_pence=to_client)
            elif amount < 0:
                pence = -amount
                if kind == "cash":
                    counter = chart.cash(council)
                elif kind == "fee":
                    counter = chart.fees(council)
                elif kind == "payment_to_payee":
                    counter = chart.spending(council, "payments_to_payees")
                elif kind == "adjustment":
                    counter = chart.adjustments(council)
                elif kind in ("council_load", "contribution", "other_money_in"):
                    counter = chart.adjustments(council)  # money-in kind with a debit: provider correction
                else:
                    counter = chart.spending(council, spend_category(row["mcc"]))
                take(key, card_parts, pence, counter)
            else:
                raise ValueError(f"{key}: a settled item of zero pence cannot be posted")

        lines = [(code, pence) for _, code, pence in posting_rows[start:]]
        total = sum(p for _, p in lines)
        assert total == 0, f"{key}: posting rule produced an unbalanced entry ({total} pence)"
        originals[key] = lines
        entry_rows.append(
            (
                key, kind, at, day, row["occurred_at_utc"], descriptions[i], council, client, provider, acct,
                row["provider_txn_id"], row["source_file"], row["source_line"], reverses_key, hashes[i],
            )
        )
    return BuiltEntries(
        pl.DataFrame(entry_rows, schema=ENTRY_SCHEMA, orient="row"),
        pl.DataFrame(posting_rows, schema=POSTING_SCHEMA, orient="row"),
        accounts_frame(list(used_accounts.values())),
        states,
    )


def _account_for_code(code: str, council: str, client: str, provider: str, acct: str) -> Account:
    """Rebuild an Account from a code seen in an original entry (for reversals and refunds)."""
    parts = code.split(":")
    if parts[0] == "card":
        return chart.card(parts[1], parts[2], parts[3], council, client)
    if parts[0] == "spend":
        return chart.spending(parts[1], ":".join(parts[2:]))
    if parts[0] == "cash":
        return chart.cash(parts[1])
    if parts[0] == "fees":
        return chart.fees(parts[1])
    if parts[0] == "adjustments":
        return chart.adjustments(parts[1])
    if code.endswith(":funding"):
        return chart.funding(parts[1])
    if code.endswith(":recovered"):
        return chart.recovered(parts[1])
    if code.endswith(":contributions"):
        return chart.contributions(council, parts[1])
    if code.endswith(":other_in"):
        return chart.other_money_in(council, parts[1])
    return Account(code, code, "suspense", "suspense")


def take_on_entry(
    provider: str, account_id: str, council: str | None, client_id: str | None, day: dt.date, amount_pence: int, source_file: str
) -> BuiltEntries:
    """One card's take-on entry (see ``take_on_entries``)."""
    return take_on_entries([(provider, account_id, council, client_id, day, amount_pence)], source_file)


def take_on_entries(
    cards: list[tuple[str, str, str | None, str | None, dt.date, int]], source_file: str
) -> BuiltEntries:
    """The balance each card already had when it joined the scheme (no feed showed it arriving).

    ``cards`` holds (provider, account_id, council, client_id, first balance day, amount_pence).
    Booked at the start of its first balance day, to the council-funded part: a take-on balance is
    money the council loaded before the system existed. An unknown card's goes to suspense. Built
    for all cards at once: a scheme joining 100,000 cards is one batch, not 100,000 frames.
    """
    entry_rows, posting_rows, accounts = [], [], {}
    for provider, account_id, council, client_id, day, amount_pence in cards:
        key = f"takeon:{provider}:{account_id}:{day.isoformat()}"
        at = dt.datetime.combine(day, dt.time(0, 0), LONDON).astimezone(dt.UTC)
        if client_id is None or council is None:
            card, counter = chart.suspense_card(provider, account_id), chart.suspense_counterparty(provider)
        else:
            card, counter = chart.card(provider, account_id, "council", council, client_id), chart.take_on(council)
        accounts[card.code], accounts[counter.code] = card, counter
        entry_rows.append(
            (
                key, "take_on", at, day, at, "Take-on balance: money on the card before its first feed", council,
                client_id, provider, account_id, None, source_file, None, None,
                payload_hash("take_on", provider, account_id, amount_pence, day),
            )
        )
        posting_rows += [(key, card.code, amount_pence), (key, counter.code, -amount_pence)]
    entries = pl.DataFrame(entry_rows, schema=ENTRY_SCHEMA, orient="row")
    postings = pl.DataFrame(posting_rows, schema=POSTING_SCHEMA, orient="row")
    return BuiltEntries(entries, postings, accounts_frame(list(accounts.values())))
