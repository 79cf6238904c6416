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
import hashlib
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


TAKE_ON_ENTRY_TYPE = "take_on"  # the entry that brings a card's money from before its first feed


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


def _payload_texts(items: pl.DataFrame) -> pl.Series:
    """What ``item_payload_hash`` hashes, for every row: ``payload_hash``'s text (None as "", ints as str)."""
    related = pl.col("related_txn_id") if "related_txn_id" in items.columns else pl.lit(None, dtype=pl.Utf8)
    parts = [
        pl.col("provider"),
        pl.col("provider_txn_id"),
        pl.col("account_id"),
        pl.col("kind").replace(MONEY_IN_FAMILY),
        pl.col("amount_pence").cast(pl.Utf8),
        related,
    ]
    return items.select(pl.concat_str([e.cast(pl.Utf8).fill_null("") for e in parts], separator="\x1f").alias("t"))["t"]


def item_payload_hashes(items: pl.DataFrame, *, earlier: tuple[pl.DataFrame, pl.Series] | None = None) -> pl.Series:
    """``item_payload_hash`` of every row, vectorised: the same text joined in polars, hashed in one loop.

    Equal, row for row, to ``item_payload_hash``. ``earlier``: the same rows in the same order before a
    step that may have changed some of them (``feeds.classify`` decides kinds), with their hashes as
    computed then (the read-ahead worker, off the night's critical path): only rows whose text changed
    are hashed again. The loop is about 2 µs a row, 2 s of a million-item night.
    """
    sha = hashlib.sha256
    texts = _payload_texts(items)
    if earlier is None:
        return pl.Series("payload_hash", [sha(t.encode()).hexdigest() for t in texts], dtype=pl.Utf8)
    before_items, before_hashes = earlier
    assert before_items.height == items.height == before_hashes.len(), "earlier hashes must be of the same rows"
    changed = (texts != _payload_texts(before_items)).fill_null(True)
    rows = changed.arg_true()
    out = before_hashes.alias("payload_hash")
    if rows.len():
        out = out.scatter(rows, [sha(t.encode()).hexdigest() for t in texts.gather(rows)])
    return out


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

    Two paths, one result. The split between a card's council and client parts depends on what was
    posted before, so in general items are walked in order (``_walk``). But most cards need no walk:
    a card whose client part is not above zero and that gets no client money in this batch
    (no contribution or other money in, no refund or reversal of an item we hold) takes every penny
    from its council part, whatever the order. Those cards' items (and unknown cards', which go to
    suspense) are built as whole-frame polars expressions (``_simple_entries``); only the rest are
    walked. tests/ledger/test_posting_rules_vectorised.py checks the two paths against the
    original item-by-item rules.
    """
    states = {k: CardState(v.council_pence, v.client_pence) for k, v in states.items()}
    items = with_booking(items)
    hashes = items["payload_hash"] if "payload_hash" in items.columns else item_payload_hashes(items)
    items = items.with_columns(
        pl.int_range(0, items.height, dtype=pl.Int64).alias("_pos"),
        describe(items).alias("_description"),
        hashes.alias("_hash"),
        (pl.col("provider") + ":" + pl.col("provider_txn_id")).alias("_key"),  # = entry_key
        pl.when(pl.col("related_txn_id").is_not_null())
        .then(pl.col("provider") + ":" + pl.col("related_txn_id"))
        .alias("_related_key"),
    )
    simple = _simple_mask(items, states, originals, split_policy_by_council)
    if simple is None:  # a batch the fast path does not take on (a key twice): walk it all
        simple = pl.Series("_simple", [False] * items.height, dtype=pl.Boolean)
    fast_items, slow_items = items.filter(simple), items.filter(~simple)

    fast_entries, fast_postings, fast_accounts = _simple_entries(fast_items)
    # Fast cards' council parts move by the sum of what was posted to them; client parts do not move.
    if fast_postings.height:
        moved = (
            fast_items.filter(pl.col("client_id").is_not_null() & pl.col("council").is_not_null())
            .group_by("provider", "account_id", maintain_order=True)
            .agg(pl.col("amount_pence").sum())
        )
        for provider, acct, pence in moved.iter_rows():
            states.setdefault((provider, acct), CardState()).council_pence += pence

    entry_parts, posting_parts = [fast_entries], [fast_postings]
    account_writes, first_defaults = list(fast_accounts), {}
    if slow_items.height:
        # What a walked item may name from the fast path: only those entries, with their position.
        wanted = set(slow_items["_related_key"].drop_nulls().to_list())
        fast_lines: dict[str, tuple[int, list[tuple[str, int]]]] = {}
        if wanted:
            named = fast_postings.filter(pl.col("idempotency_key").is_in(list(wanted)))
            for key, pos, code, pence in named.select("idempotency_key", "_pos", "account_code", "amount_pence").iter_rows():
                fast_lines.setdefault(key, (pos, []))[1].append((code, pence))
        slow_entries, slow_postings, slow_writes, first_defaults = _walk(
            slow_items, states, originals, fast_lines, split_policy_by_council
        )
        entry_parts.append(slow_entries)
        posting_parts.append(slow_postings)
        account_writes += slow_writes
    entries = pl.concat(entry_parts).sort("_pos").drop("_pos")
    postings = pl.concat(posting_parts).sort("_pos", "_slot").select(list(POSTING_SCHEMA))
    # An account as the item-by-item rules leave it: the last item that posted to it says what it is;
    # one only named by a full reversal's lines (never posted to otherwise) is as that reversal saw it.
    used: dict[str, Account] = {}
    for _, account in sorted(account_writes, key=lambda w: w[0]):
        used[account.code] = account
    for code, (_, account) in first_defaults.items():
        used.setdefault(code, account)
    return BuiltEntries(entries, postings, accounts_frame(list(used.values())), states)


def _simple_mask(
    items: pl.DataFrame,
    states: Mapping[tuple[str, str], CardState],
    originals: Mapping[str, list[tuple[str, int]]],
    split_policy_by_council: Mapping[str, str],
) -> pl.Series | None:
    """Which items the whole-frame path builds: unknown cards' items, and every item of a card
    whose split cannot reach its client part in this batch. None when the batch repeats a key."""
    if items["_key"].n_unique() != items.height:
        return None
    unknown = pl.col("client_id").is_null() | pl.col("council").is_null()
    batch_keys = items["_key"]
    named_original = pl.col("_related_key").is_in(batch_keys) | pl.col("_related_key").is_in(list(originals))
    client_in = pl.col("kind").is_in(["contribution", "other_money_in"]) & (pl.col("amount_pence") > 0)
    policies = {c: split_policy_by_council.get(c, "client_first") for c in items["council"].drop_nulls().unique().to_list()}
    bad_policy = pl.col("council").is_in([c for c, p in policies.items() if p not in SPLIT_POLICIES])
    positive_client = [(p, a) for (p, a), s in states.items() if s.client_pence > 0]
    # Anything odd (a zero or missing amount, an unknown split policy) is walked, where it is refused.
    needs_walk = (named_original.fill_null(False) | client_in | (pl.col("amount_pence") == 0) | bad_policy).fill_null(True)
    flagged = items.with_columns((~unknown & needs_walk).alias("_walk"))
    walk_cards = flagged.filter(pl.col("_walk")).select("provider", "account_id")
    if positive_client:
        walk_cards = pl.concat(
            [walk_cards, pl.DataFrame(positive_client, schema={"provider": pl.Utf8, "account_id": pl.Utf8}, orient="row")]
        )
    walk_cards = walk_cards.unique().with_columns(pl.lit(True).alias("_card_walks"))
    marked = flagged.join(walk_cards, on=["provider", "account_id"], how="left", maintain_order="left")
    # An unknown card's item goes to suspense whatever came before it: never walked.
    return marked.select(
        unknown | (pl.col("_card_walks").is_null() & ~pl.col("_walk"))
    ).to_series().alias("_simple")


_ENTRY_COLUMNS = {
    "idempotency_key": pl.col("_key"),
    "entry_type": pl.col("kind"),
    "effective_at": pl.col("_book_at"),
    "london_date": pl.col("_book_day"),
    "occurred_at": pl.col("occurred_at_utc"),
    "description": pl.col("_description"),
    "council": pl.col("council"),
    "client_id": pl.col("client_id"),
    "provider": pl.col("provider"),
    "provider_account_id": pl.col("account_id"),
    "provider_txn_id": pl.col("provider_txn_id"),
    "source_file": pl.col("source_file"),
    "source_line": pl.col("source_line"),
    "reverses_key": pl.lit(None, dtype=pl.Utf8),
    "payload_hash": pl.col("_hash"),
}


def _simple_entries(items: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[int, Account]]]:
    """Entries, postings (with ``_pos``/``_slot``) and accounts (with the last position that posted to
    each) for items no earlier item can change.

    The same rules as ``_walk`` for these items: an unknown card's money goes to suspense; money onto
    a card is a debit of its council part against the counter account (funding for a council load,
    else spending by MCC, adjustments for an adjustment); money off it is a debit of the counter
    account (recovered for an unload; cash, fees, payments to payees, adjustments, else spending by
    MCC) and a credit of the council part.
    """
    entries = items.select(
        "_pos", *[e.cast(ENTRY_SCHEMA[name]).alias(name) for name, e in _ENTRY_COLUMNS.items()]
    )
    mccs = items["mcc"].drop_nulls().unique().to_list()
    category = pl.col("mcc").replace_strict({m: spend_category(m) for m in mccs}, default=None, return_dtype=pl.Utf8)
    category = category.fill_null(spend_category(None))
    council, amount, kind = pl.col("council"), pl.col("amount_pence"), pl.col("kind")
    unknown = pl.col("client_id").is_null() | council.is_null()
    spend = pl.lit("spend:") + council + ":" + category
    adjustments = pl.lit("adjustments:") + council
    counter = (
        pl.when((kind == "council_load") & (amount > 0)).then(pl.lit("council:") + council + ":funding")
        .when((kind == "unload") & (amount < 0)).then(pl.lit("council:") + council + ":recovered")
        .when(amount > 0).then(pl.when(kind == "adjustment").then(adjustments).otherwise(spend))
        .when(kind == "cash").then(pl.lit("cash:") + council)
        .when(kind == "fee").then(pl.lit("fees:") + council)
        .when(kind == "payment_to_payee").then(pl.lit("spend:") + council + ":payments_to_payees")
        .when(kind.is_in(["adjustment", "council_load", "contribution", "other_money_in"])).then(adjustments)
        .otherwise(spend)
    )
    card = pl.lit("card:") + pl.col("provider") + ":" + pl.col("account_id") + ":council"
    lines = items.select(
        "_pos",
        "_key",
        amount,
        pl.when(unknown).then(pl.lit("suspense:") + pl.col("provider") + ":" + pl.col("account_id")).otherwise(card).alias("_card"),
        pl.when(unknown).then(pl.lit("suspense:") + pl.col("provider") + ":counterparty").otherwise(counter).alias("_counter"),
        # Money onto the card (and any unknown card's item) posts the card side first; money off it,
        # the counter account first — the order the item-by-item rules write them in.
        (unknown | (amount > 0)).alias("_card_first"),
        unknown.alias("_unknown"),
        counter.alias("_known_counter"),
        category.alias("_category"),
        "council", "client_id", "provider", "account_id",
    )
    card_first = pl.col("_card_first").cast(pl.Int8)
    postings = pl.concat(
        [
            lines.select("_pos", (1 - card_first).alias("_slot"), pl.col("_key").alias("idempotency_key"),
                         pl.col("_card").alias("account_code"), pl.col("amount_pence")),
            lines.select("_pos", card_first.alias("_slot"), pl.col("_key").alias("idempotency_key"),
                         pl.col("_counter").alias("account_code"), (-pl.col("amount_pence")).alias("amount_pence")),
        ]
    ).filter(pl.col("amount_pence") != 0)
    postings = postings.with_columns(pl.col("_slot").cast(pl.Int64))

    accounts: list[tuple[int, Account]] = []
    used = lines.filter(pl.col("amount_pence") != 0)
    known, unknown_used = used.filter(~pl.col("_unknown")), used.filter(pl.col("_unknown"))
    last = pl.col("_pos").max()
    for provider, acct, council_name, client, pos in (
        known.group_by("provider", "account_id", "council", "client_id").agg(last).iter_rows()
    ):
        accounts.append((pos, chart.card(provider, acct, "council", council_name, client)))
    for provider, acct, pos in unknown_used.group_by("provider", "account_id").agg(last).iter_rows():
        accounts.append((pos, chart.suspense_card(provider, acct)))
    for provider, pos in unknown_used.group_by("provider").agg(last).iter_rows():
        accounts.append((pos, chart.suspense_counterparty(provider)))
    for code, council_name, category_name, pos in (
        known.group_by("_known_counter", "council", "_category").agg(last).iter_rows()
    ):
        accounts.append((pos, _counter_account(code, council_name, category_name)))
    return entries, postings, accounts


def _counter_account(code: str, council: str, category: str) -> Account:
    """The counter account a whole-frame item posted to, from its code (see ``_simple_entries``)."""
    for make in (chart.funding, chart.recovered, chart.cash, chart.fees, chart.adjustments):
        account = make(council)
        if account.code == code:
            return account
    if code == f"spend:{council}:payments_to_payees":
        return chart.spending(council, "payments_to_payees")
    account = chart.spending(council, category)
    assert account.code == code, code
    return account


def _walk(
    items: pl.DataFrame,
    states: dict[tuple[str, str], CardState],
    originals: Mapping[str, list[tuple[str, int]]],
    fast_lines: Mapping[str, tuple[int, list[tuple[str, int]]]],
    split_policy_by_council: Mapping[str, str],
) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[int, Account]], dict[str, tuple[int, Account]]]:
    """The item-by-item posting rules, in order, for items whose split depends on earlier ones.

    ``states`` is updated in place. An item may name (by ``related_txn_id``) an entry posted before,
    one walked earlier in this batch, or one the whole-frame path built for an earlier position
    (``fast_lines``: key -> (position, postings)). Returns entries, postings, the accounts posted to
    (with the position of the item) and those a full reversal named first (code -> position, account).
    """
    walked: dict[str, list[tuple[str, int]]] = {}

    def original_of(key: str, pos: int) -> list[tuple[str, int]] | None:
        if key in walked:
            return walked[key]
        fast = fast_lines.get(key)
        if fast is not None and fast[0] < pos:
            return fast[1]
        return originals.get(key)

    card_account = functools.lru_cache(maxsize=None)(chart.card)
    entry_rows: list[tuple] = []
    posting_rows: list[tuple[int, int, str, str, int]] = []
    account_writes: list[tuple[int, Account]] = []
    first_defaults: dict[str, tuple[int, Account]] = {}
    pos = 0

    def post(key: str, account: Account, pence: int) -> None:
        if pence:
            posting_rows.append((pos, len(posting_rows), key, account.code, pence))
            account_writes.append((pos, account))

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

    for row in items.iter_rows(named=True):
        pos = row["_pos"]
        provider, acct = row["provider"], row["account_id"]
        key = row["_key"]
        amount = int(row["amount_pence"])
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
            original = original_of(row["_related_key"], pos) if row["related_txn_id"] else None
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
                reverses_key = row["_related_key"]
                for code, pence in original:
                    posting_rows.append((pos, len(posting_rows), key, code, -pence))
                    if code == card_council.code:
                        state.council_pence -= pence
                    elif code == card_client.code:
                        state.client_pence -= pence
                    if code not in first_defaults:
                        first_defaults[code] = (pos, _account_for_code(code, council, client, provider, acct))
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

        lines = [(code, pence) for _, _, _, code, pence in posting_rows[start:]]
        total = sum(p for _, p in lines)
        assert total == 0, f"{key}: posting rule produced an unbalanced entry ({total} pence)"
        walked[key] = lines
        entry_rows.append(
            (
                pos, key, kind, row["_book_at"], row["_book_day"], row["occurred_at_utc"], row["_description"], council,
                client, provider, acct, row["provider_txn_id"], row["source_file"], row["source_line"], reverses_key,
                row["_hash"],
            )
        )
    entries = pl.DataFrame(entry_rows, schema={"_pos": pl.Int64, **ENTRY_SCHEMA}, orient="row")
    postings = pl.DataFrame(
        posting_rows, schema={"_pos": pl.Int64, "_slot": pl.Int64, **POSTING_SCHEMA}, orient="row"
    )
    return entries, postings, account_writes, first_defaults


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
    cards: list[tuple[str, str, str | None, str | None, dt.date, int]] | pl.DataFrame, source_file: str
) -> BuiltEntries:
    """The balance each card already had when it joined the scheme (no feed showed it arriving).

    ``cards`` holds (provider, account_id, council, client_id, first balance day, amount_pence), as
    tuples or as a frame with those columns in that order.
    Booked at the start of its first balance day, to the council-funded part: a take-on balance is
    money the council loaded before the system existed. An unknown card's goes to suspense. Built
    for all cards at once, column-wise: a scheme joining 100,000 cards is one batch, not 100,000
    frames (tests/ledger/test_posting_rules_vectorised.py checks it against the card-by-card rules).
    """
    schema = {
        "provider": pl.Utf8, "account_id": pl.Utf8, "council": pl.Utf8, "client_id": pl.Utf8, "day": pl.Date,
        "amount_pence": pl.Int64,
    }
    if isinstance(cards, pl.DataFrame):
        frame = cards.select([pl.col(c).cast(t).alias(n) for c, (n, t) in zip(cards.columns, schema.items(), strict=True)])
    else:
        frame = pl.DataFrame(cards, schema=schema, orient="row")
    unknown = pl.col("client_id").is_null() | pl.col("council").is_null()
    day_text = pl.col("day").dt.strftime("%Y-%m-%d")
    at = pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone(LONDON.key).dt.convert_time_zone("UTC")
    frame = frame.with_columns(
        pl.concat_str([pl.lit("takeon"), "provider", "account_id", day_text], separator=":").alias("_key"),
        at.alias("_at"),
        pl.when(unknown).then(pl.lit("suspense:") + pl.col("provider") + ":" + pl.col("account_id"))
        .otherwise(pl.lit("card:") + pl.col("provider") + ":" + pl.col("account_id") + ":council").alias("_card"),
        pl.when(unknown).then(pl.lit("suspense:") + pl.col("provider") + ":counterparty")
        .otherwise(pl.lit("council:") + pl.col("council") + ":take_on").alias("_counter"),
        unknown.alias("_unknown"),
    )
    hash_text = frame.select(
        pl.concat_str(
            [pl.lit("take_on"), *[pl.col(c).cast(pl.Utf8).fill_null("") for c in ("provider", "account_id", "amount_pence")],
             day_text.fill_null("")],
            separator="\x1f",
        )
    ).to_series()
    sha = hashlib.sha256
    hashes = pl.Series("_hash", [sha(t.encode()).hexdigest() for t in hash_text], dtype=pl.Utf8)
    null_text = pl.lit(None, dtype=pl.Utf8)
    entries = frame.with_columns(hashes).select(
        pl.col("_key").alias("idempotency_key"),
        pl.lit(TAKE_ON_ENTRY_TYPE).alias("entry_type"),
        pl.col("_at").alias("effective_at"),
        pl.col("day").alias("london_date"),
        pl.col("_at").alias("occurred_at"),
        pl.lit("Take-on balance: money on the card before its first feed").alias("description"),
        "council",
        "client_id",
        "provider",
        pl.col("account_id").alias("provider_account_id"),
        null_text.alias("provider_txn_id"),
        pl.lit(source_file, dtype=pl.Utf8).alias("source_file"),
        pl.lit(None, dtype=pl.Int64).alias("source_line"),
        null_text.alias("reverses_key"),
        pl.col("_hash").alias("payload_hash"),
    ).cast(ENTRY_SCHEMA)  # type: ignore[arg-type]
    postings = (
        pl.concat(
            [
                frame.select(pl.int_range(pl.len()).alias("_i"), pl.lit(0).alias("_slot"), pl.col("_key"),
                             pl.col("_card").alias("code"), pl.col("amount_pence")),
                frame.select(pl.int_range(pl.len()).alias("_i"), pl.lit(1).alias("_slot"), pl.col("_key"),
                             pl.col("_counter").alias("code"), -pl.col("amount_pence")),
            ]
        )
        .sort("_i", "_slot")
        .select(pl.col("_key").alias("idempotency_key"), pl.col("code").alias("account_code"), "amount_pence")
        .cast(POSTING_SCHEMA)  # type: ignore[arg-type]
    )
    # The accounts: the last card naming a code says what it is (as the card-by-card rules left it).
    accounts: dict[str, Account] = {}
    for provider, acct, council, client, is_unknown in (
        frame.select("provider", "account_id", "council", "client_id", "_unknown").iter_rows()
    ):
        if is_unknown:
            card, counter = chart.suspense_card(provider, acct), chart.suspense_counterparty(provider)
        else:
            card, counter = chart.card(provider, acct, "council", council, client), chart.take_on(council)
        accounts[card.code], accounts[counter.code] = card, counter
    return BuiltEntries(entries, postings, accounts_frame(list(accounts.values())))
