"""Goal: the whole-frame posting path gives exactly what the item-by-item rules gave.

``build_entries`` builds most items as polars expressions and walks only the cards whose split
depends on order (ledger/posting_rules.py). ``reference_build_entries`` below is the item-by-item
function as it stood before that change, kept verbatim as the reference: same entries (keys, types,
times, descriptions, hashes, links), same postings in the same order, same accounts, same card
states, on varied batches (every kind, both signs, unknown cards, client parts above and below
zero, pro-rata councils, refunds and reversals of items in the batch, of posted items and of other
cards' items).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Mapping

import polars as pl
import pytest

from ledger import accounts as chart
from ledger.accounts import Account, accounts_frame
from ledger.journal import ENTRY_SCHEMA, POSTING_SCHEMA, payload_hash
from ledger.posting_rules import (
    LONDON,
    BuiltEntries,
    CardState,
    _account_for_code,
    build_entries,
    describe,
    entry_key,
    item_payload_hash,
    item_payload_hashes,
    take_from_parts,
    take_on_entries,
    with_booking,
)
from schemas.canonical import CANONICAL_SCHEMA, conform
from schemas.mcc import spend_category


# The item-by-item rules before the whole-frame path (reference only).
def reference_build_entries(
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


def reference_take_on_entries(
    cards: list[tuple[str, str, str | None, str | None, dt.date, int]], source_file: str
) -> BuiltEntries:
    """(Reference: the card-by-card version.) The balance each card already had when it joined the scheme (no feed showed it arriving).

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


KINDS = ["council_load", "contribution", "other_money_in", "card_purchase", "cash", "payment_to_payee", "refund",
         "fee", "unload", "reversal", "chargeback", "adjustment"]
MCCS = [None, "5411", "5912", "4111", "5812", "6011", "5921", "7995", "4900", "7230", "5311", "9999", "abcd"]
COUNCILS = {"Testshire": "client_first", "Prorata": "pro_rata"}


def varied_batch(seed: int, n: int = 400) -> tuple[pl.DataFrame, dict, dict]:
    """A batch of ``n`` settled items on a few dozen cards, plus card states and posted originals."""
    rng = random.Random(seed)
    cards = []
    for i in range(30):
        provider = rng.choice("AB")
        if i % 7 == 6:
            cards.append((provider, f"U{i}", None, None))  # unknown card
        else:
            cards.append((provider, f"{i:08d}", rng.choice(list(COUNCILS)), f"C{i:03d}"))
    states = {}
    for provider, acct, council, _ in cards:
        if council is not None and rng.random() < 0.7:
            states[(provider, acct)] = CardState(rng.randint(-5_000, 90_000), rng.choice([0, 0, -300, 2_500, 40_000]))
    # Already-posted entries that this batch's refunds and reversals may name.
    originals = {}
    for i, (provider, acct, council, _) in enumerate(cards):
        if council is None:
            continue
        card = f"card:{provider}:{acct}:council"
        client = f"card:{provider}:{acct}:client"
        originals[f"{provider}:OLD{i}"] = [(f"spend:{council}:groceries", 1_000), (client, -400), (card, -600)]
        originals[f"{provider}:OLDC{i}"] = [(f"cash:{council}", 2_000), (card, -2_000)]
    rows = []
    for j in range(n):
        provider, acct, council, client = rng.choice(cards)
        kind = rng.choice(KINDS)
        amount = rng.randint(1, 60_000) * (1 if rng.random() < 0.45 else -1)
        related = None
        if kind in ("refund", "reversal", "chargeback", "adjustment") and rng.random() < 0.8:
            earlier = [r for r in rows if r["provider"] == provider]
            pick = rng.random()
            if earlier and pick < 0.5:
                target = rng.choice(earlier)  # often the same card, sometimes another card's item
                related = target["provider_txn_id"]
                if kind == "reversal" and rng.random() < 0.7:
                    amount = -target["amount_pence"]  # a full reversal
            elif pick < 0.8:
                i = rng.randrange(len(cards))
                related = rng.choice([f"OLD{i}", f"OLDC{i}"])
                if kind == "reversal" and rng.random() < 0.5:
                    amount = 2_000 if related.startswith("OLDC") else 1_000
            else:
                related = f"NOWHERE{j}"
        if rng.random() < 0.05:
            related = f"T{seed}-{j + 3}"  # names a later item in the batch
        at = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        posted = (at + dt.timedelta(days=rng.choice([0, 0, 1]))).date()
        rows.append(
            {
                "provider": provider, "provider_txn_id": f"T{seed}-{j}", "account_id": acct, "client_id": client,
                "council": council, "kind": kind, "status": "settled", "amount_pence": amount, "currency": "GBP",
                "occurred_at_utc": at, "london_date": at.date(), "posted_date": posted if rng.random() < 0.9 else None,
                "mcc": rng.choice(MCCS), "related_txn_id": related,
                "merchant_name": rng.choice([None, "", "TESCO", "BOOTS"]), "payee_name": rng.choice([None, "", "A Carer"]),
                "reference": rng.choice([None, "", "REF1"]), "source_file": f"{provider}_transactions_20260302.csv",
                "source_line": j + 2,
            }
        )
    frame = conform(pl.DataFrame(rows, schema={k: CANONICAL_SCHEMA[k] for k in rows[0]}))
    return frame, states, originals


def assert_same(items: pl.DataFrame, states: dict, originals: dict, split: Mapping[str, str]) -> BuiltEntries:
    want = reference_build_entries(items, states, originals, split)
    got = build_entries(items, states, originals, split)
    assert got.entries.schema == want.entries.schema
    assert got.entries.to_dicts() == want.entries.to_dicts()
    assert got.postings.rows() == want.postings.rows()  # same postings, same order
    assert got.accounts.to_dicts() == want.accounts.to_dicts()
    assert {k: (v.council_pence, v.client_pence) for k, v in got.states.items()} == {
        k: (v.council_pence, v.client_pence) for k, v in want.states.items()
    }
    return got


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_matches_item_by_item_in_ingest_order(seed):
    items, states, originals = varied_batch(seed)
    items = items.sort(["provider", "account_id", pl.coalesce("posted_date", "london_date"), "occurred_at_utc", "provider_txn_id"])
    got = assert_same(items, states, originals, COUNCILS)
    # The batch really exercises both paths and the links between them.
    assert got.entries["reverses_key"].drop_nulls().len() > 0
    assert got.postings["account_code"].str.ends_with(":client").any()
    assert got.postings["account_code"].str.starts_with("suspense:").any()


@pytest.mark.parametrize("seed", range(8, 12))
def test_vectorised_matches_item_by_item_in_any_order(seed):
    """Refunds and reversals naming another card's item, earlier or later in the batch."""
    items, states, originals = varied_batch(seed)
    assert_same(items.sample(fraction=1.0, shuffle=True, seed=seed), states, originals, COUNCILS)


def test_vectorised_matches_for_plain_spending_day():
    """The common night: loads and spending on cards with no client money, no state given."""
    items, _, _ = varied_batch(21, n=600)
    items = items.filter(pl.col("kind").is_in(["council_load", "card_purchase", "cash", "fee", "payment_to_payee"]))
    items = items.with_columns(pl.lit(None, dtype=pl.Utf8).alias("related_txn_id"))
    got = assert_same(items, {}, {}, COUNCILS)
    assert not got.postings["account_code"].str.ends_with(":client").any()


def test_vectorised_matches_with_precomputed_payload_hash():
    items, states, originals = varied_batch(31)
    assert item_payload_hashes(items).to_list() == [item_payload_hash(r) for r in items.iter_rows(named=True)]
    items = items.with_columns(item_payload_hashes(items))
    assert_same(items, states, originals, {"Testshire": "pro_rata"})


@pytest.mark.parametrize("seed", range(40, 44))
def test_hashes_from_before_classify_are_reused_only_where_the_text_is_unchanged(seed):
    # Ingest hashes items in the read-ahead worker, before classify decides their kinds; classify may move
    # money in within its family (same hash) or a payment to the council's unload (another hash). Reusing
    # the earlier hashes must give exactly the hashes of the classified rows.
    before, _, _ = varied_batch(seed)
    earlier = item_payload_hashes(before)
    rng = random.Random(seed)
    kinds = ["council_load", "contribution", "other_money_in", "unload", "payment_to_payee", "fee"]
    after = before.with_columns(pl.Series("kind", [rng.choice(kinds) if rng.random() < 0.3 else k for k in before["kind"]]))
    got = item_payload_hashes(after, earlier=(before, earlier))
    assert got.to_list() == [item_payload_hash(r) for r in after.iter_rows(named=True)]
    assert got.to_list() != earlier.to_list()  # some kinds did change family: the check above had work to do
    assert item_payload_hashes(before, earlier=(before, earlier)).to_list() == earlier.to_list()


def test_vectorised_matches_when_a_key_repeats():
    items, states, originals = varied_batch(41, n=60)
    items = pl.concat([items, items.head(3)])
    assert_same(items, states, originals, COUNCILS)


def test_empty_batch():
    items, _, _ = varied_batch(51, n=5)
    got = assert_same(items.head(0), {}, {}, COUNCILS)
    assert got.entries.height == 0 and got.postings.height == 0


@pytest.mark.parametrize(
    ("change", "split"),
    [
        ({"amount_pence": 0}, COUNCILS),  # a settled item of zero pence
        ({"kind": "card_purchase", "amount_pence": -500}, {"Testshire": "whatever", "Prorata": "whatever"}),
    ],
)
def test_both_refuse_the_same_items(change, split):
    items, states, _ = varied_batch(61, n=20)
    items = items.filter(pl.col("council").is_not_null()).head(5)
    bad = items.with_columns(*[pl.lit(v, dtype=items.schema[k]).alias(k) for k, v in change.items()])
    with pytest.raises(ValueError) as want:
        reference_build_entries(bad, states, {}, split)
    with pytest.raises(ValueError) as got:
        build_entries(bad, states, {}, split)
    assert str(got.value) == str(want.value)


def test_take_on_entries_match_card_by_card():
    rng = random.Random(5)
    cards = []
    for i in range(300):
        known = i % 5 != 0
        cards.append(
            (
                rng.choice("ABC"), f"acc-{i:05d}", "Testshire" if known else None, f"C{i:04d}" if known else None,
                dt.date(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 300)),  # across both clock changes
                rng.choice([-1, 1]) * rng.randint(1, 500_000),
            )
        )
    cards.append(("A", "half-known", "Testshire", None, dt.date(2026, 3, 29), 1_000))
    want = reference_take_on_entries(cards, "take-on")
    for given in (cards, pl.DataFrame(cards, orient="row")):
        got = take_on_entries(given, "take-on")
        assert got.entries.schema == want.entries.schema
        assert got.entries.to_dicts() == want.entries.to_dicts()
        assert got.postings.rows() == want.postings.rows()
        assert got.accounts.to_dicts() == want.accounts.to_dicts()
    assert take_on_entries([], "take-on").entries.height == 0
