"""Classify canonical transactions with the council's reference data, before they are posted.

Pure: (transactions, ReferenceData) in, transactions out; no database, no clock.

1. Owner: ``client_id`` and ``council`` come from cardholders.csv on (provider, account_id). If a
   card was held by more than one client over time, the holder whose opened..closed window covers
   the item's London date wins, else the most recently opened. An unknown card keeps
   ``client_id`` null (ingest posts it to suspense until the register places it).
2. Money in that the provider did not type as a council load (A ``FPS_IN``/``SO_IN``, B
   ``transfer.in``, C credits) becomes:
   - ``council_load`` when the payer is the council's funding account (FEEDS.md: that is what a C
     council load looks like; an A/B transfer from the funding account is a load too);
   - ``contribution`` when its reference matches one of the client's contributions.csv references
     tolerantly (case, spaces, punctuation, leading zeros, and one typo — see
     ``reference_matches``), or its payer account paid a contribution for the same client before
     (in this batch, or earlier: ``known_contributors``) — a standing order keeps its account when
     its reference is mistyped;
   - otherwise ``other_money_in`` — money from someone else, a question for audit.
3. Provider C has no unload type: a C payment out to the council's funding account is an
   ``unload`` (money returned to the council).

Typed kinds are never overridden: a provider's own LOAD/gpa.credit stays a council load.
"""

from __future__ import annotations

import re

import polars as pl

from schemas.canonical import conform
from schemas.reference import ReferenceData

MIN_FUZZY_REFERENCE_CHARS = 6  # shorter references must match exactly (after normalising)
_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def normalise_reference(text: str | None) -> str:
    """Upper case, letters and digits only, leading zeros of each number dropped."""
    if not text:
        return ""
    return _LEADING_ZEROS.sub("", _NON_ALNUM.sub("", text.upper()))


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance <= 1: one substitution, insertion, deletion or swap of
    neighbours."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def reference_matches(expected: str | None, actual: str | None) -> bool:
    """Does a payment reference match the client's contribution reference, as people type them?

    Both are normalised (``normalise_reference``). Then: equal; or, for a reference of at least
    MIN_FUZZY_REFERENCE_CHARS, the expected one appears inside the actual one (extra words such as
    a month), or some part of the actual one is within one typo of it.
    """
    e, a = normalise_reference(expected), normalise_reference(actual)
    if not e or not a:
        return False
    if e == a:
        return True
    if len(e) < MIN_FUZZY_REFERENCE_CHARS:
        return False
    if e in a:
        return True
    for width in (len(e) - 1, len(e), len(e) + 1):
        for start in range(0, max(len(a) - width, 0) + 1):
            if _within_one_edit(e, a[start : start + width]):
                return True
    return False


def _owners(txns: pl.DataFrame, ref: ReferenceData) -> pl.DataFrame:
    """Each item's client and council: the holder of its card on its day (a card reissued to another
    client has two holders; the one whose opened..closed covers the day wins, else the latest opened).

    Why on a narrow frame: the choice needs four columns, and sorting every column of a million-item
    file to make it took 2.8 s of the night; and most extracts have one holder per card, when there is
    nothing to choose and a join decides it."""
    keys = ["provider", "account_id"]
    holders = ref.cardholders.select(*keys, "client_id", "council", "opened", "closed")
    narrow = txns.select("_row", *keys, "london_date")
    if holders.select(keys).is_duplicated().any():
        covers = (
            (pl.col("opened") <= pl.col("london_date")) & (pl.col("closed").is_null() | (pl.col("closed") >= pl.col("london_date")))
        ).fill_null(False)
        chosen = (
            narrow.join(holders, on=keys, how="left")
            .with_columns(covers.alias("_covers"))
            .sort(["_row", "_covers", "opened"], descending=[False, True, True], nulls_last=True)
            .unique("_row", keep="first", maintain_order=True)
        )
    else:
        chosen = narrow.join(holders, on=keys, how="left", maintain_order="left")
    assert chosen["_row"].equals(txns["_row"]), "one holder per item, in the items' order"
    return txns.drop("client_id", "council").with_columns(chosen["client_id"], chosen["council"])


def _funding(ref: ReferenceData) -> pl.DataFrame:
    rows = [(name, p.funding_sort_code, p.funding_account_number) for name, p in ref.councils.items()]
    return pl.DataFrame(rows, schema={"council": pl.Utf8, "_fund_sort": pl.Utf8, "_fund_acct": pl.Utf8}, orient="row")


def classify(
    txns: pl.DataFrame, ref: ReferenceData, known_contributors: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Fill owner and decide money-in kinds (module docstring); returns CANONICAL_SCHEMA rows in
    the order given. ``known_contributors`` (client_id, payee_sort_code, payee_account_number):
    payer accounts that paid contributions for a client before (``records.transactions.known_contributors``)."""
    if txns.height == 0:
        return conform(txns)
    df = _owners(txns.with_row_index("_row"), ref)
    df = df.join(_funding(ref), on="council", how="left", maintain_order="left")
    from_funding = (
        (pl.col("payee_sort_code") == pl.col("_fund_sort")) & (pl.col("payee_account_number") == pl.col("_fund_acct"))
    ).fill_null(False)
    undecided = (pl.col("kind") == "other_money_in") & pl.col("client_id").is_not_null()
    df = df.with_columns(
        pl.when(undecided & from_funding)
        .then(pl.lit("council_load"))
        .when((pl.col("provider") == "C") & (pl.col("kind") == "payment_to_payee") & from_funding)
        .then(pl.lit("unload"))
        .otherwise(pl.col("kind"))
        .alias("kind")
    )

    # Contributions: tolerant reference match, only over the (few) undecided money-in rows.
    candidates = df.filter(undecided & (pl.col("kind") == "other_money_in"))
    if candidates.height:
        refs: dict[str, list[str]] = {}
        for client, reference in ref.contributions.select("client_id", "reference").iter_rows():
            if reference:
                refs.setdefault(client, []).append(reference)
        matched: set[int] = set()
        payers: set[tuple[str, str, str]] = set()
        if known_contributors is not None:
            payers.update(known_contributors.select("client_id", "payee_sort_code", "payee_account_number").rows())
        rows = candidates.select("_row", "client_id", "reference", "payee_sort_code", "payee_account_number").rows()
        for row_id, client, reference, sort, acct in rows:
            if any(reference_matches(expected, reference) for expected in refs.get(client, ())):
                matched.add(row_id)
                if sort and acct:
                    payers.add((client, sort, acct))
        for row_id, client, _reference, sort, acct in rows:
            if row_id not in matched and (client, sort, acct) in payers:
                matched.add(row_id)
        if matched:
            df = df.with_columns(
                pl.when(pl.col("_row").is_in(sorted(matched))).then(pl.lit("contribution")).otherwise(pl.col("kind")).alias("kind")
            )
    assert df["_row"].is_sorted(), "classify keeps the items' order"
    out = conform(df)
    assert out.height == txns.height, "classify must not add or drop rows"
    return out
