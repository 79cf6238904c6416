"""Goal: the column-wise hash chain in post_entries is exactly ``entry_hash`` chained entry by entry
(what ``careledger verify`` recomputes), whatever the codes, amounts and posting order."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

from ledger.journal import GENESIS_HASH, _chain, _entry_hash_tails, entry_hash


def test_column_wise_chain_equals_entry_hash():
    rng = random.Random(7)
    codes = ["card:A:1:council", "card:A:1:client", "spend:Testshire:groceries", "spend:Testshire:gro", "Zed", "zed",
             "café:é", "spend:Testshire:groceries2", "a=b", "a;b"]
    entries, postings = [], []
    for i in range(300):
        entry_id = 1_000 + i
        entries.append((entry_id, f"A:T{i}", rng.choice(["card_purchase", "refund", "take_on"]),
                        dt.date(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 40))))
        for _ in range(rng.randint(2, 5)):
            postings.append((entry_id, rng.choice(codes), rng.choice([-1, 1]) * rng.randint(1, 10**9)))
    rng.shuffle(postings)  # the chain must not depend on the order postings arrive in
    ef = pl.DataFrame(entries, schema={"entry_id": pl.Int64, "idempotency_key": pl.Utf8, "entry_type": pl.Utf8,
                                       "london_date": pl.Date}, orient="row")
    pf = pl.DataFrame(postings, schema={"entry_id": pl.Int64, "account_code": pl.Utf8, "amount_pence": pl.Int64},
                      orient="row")
    prev_hashes, hashes = _chain("ab" * 32, _entry_hash_tails(ef, pf))

    prev, want_prev, want = "ab" * 32, [], []
    for entry_id, key, etype, day in entries:
        lines = [(c, p) for e, c, p in postings if e == entry_id]
        want_prev.append(prev)
        prev = entry_hash(prev, entry_id, key, etype, day.isoformat(), lines)
        want.append(prev)
    assert prev_hashes == want_prev
    assert hashes == want
    assert _chain(GENESIS_HASH, _entry_hash_tails(ef.head(0), pf)) == ([], [])
