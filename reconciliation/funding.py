"""Funding: per council and London day, money loaded onto cards, loads returned, and money unloaded.

Why: finance ties each run to the council's bank statement. The council's funding account pays
loads out and receives loads that bounced or were reversed; unloads (clawback and other money sent
back from cards) arrive in the "recovered" account. These totals are sums of the ledger's own
postings, so they agree with the ledger by construction.

- ``loaded_pence``: money that left the funding account onto cards (credits to ``council:<c>:funding``);
- ``returned_pence``: loads that came back to the funding account (reversals of loads);
- ``unloaded_pence``: money returned from cards (net debits to ``council:<c>:recovered``);
- ``net_from_council_pence`` = loaded − returned − unloaded: the council's net outlay for the day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection

from ledger.queries import funding_postings

FUNDING_SCHEMA: dict[str, pl.DataType] = {
    "council": pl.Utf8,
    "london_date": pl.Date,
    "loads": pl.Int64,
    "loaded_pence": pl.Int64,
    "returned_pence": pl.Int64,
    "unloads": pl.Int64,
    "unloaded_pence": pl.Int64,
    "net_from_council_pence": pl.Int64,
}

def summarise_funding(raw: pl.DataFrame, councils: list[str], days: list[dt.date]) -> pl.DataFrame:
    """One row per council and day (zeros where nothing moved), from ``ledger.queries.funding_postings`` rows."""
    grid = pl.DataFrame(
        [(c, d) for c in councils for d in days], schema={"council": pl.Utf8, "london_date": pl.Date}, orient="row"
    )
    agg = raw.group_by("council", "london_date").agg(
        (-pl.col("amount_pence").filter((pl.col("role") == "funding") & (pl.col("amount_pence") < 0)).sum()).alias("loaded_pence"),
        pl.col("postings").filter((pl.col("role") == "funding") & (pl.col("amount_pence") < 0)).sum().alias("loads"),
        pl.col("amount_pence").filter((pl.col("role") == "funding") & (pl.col("amount_pence") > 0)).sum().alias("returned_pence"),
        # An unload debits the recovered account (posting_rules: the card's money moves to it), so unloads are
        # its positive postings net of any reversal.
        pl.col("amount_pence").filter(pl.col("role") == "recovered").sum().alias("unloaded_pence"),
        pl.col("postings").filter((pl.col("role") == "recovered") & (pl.col("amount_pence") > 0)).sum().alias("unloads"),
    )
    out = grid.join(agg, on=["council", "london_date"], how="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int64) for c in ("loaded_pence", "loads", "returned_pence", "unloaded_pence", "unloads")
    )
    out = out.with_columns(
        (pl.col("loaded_pence") - pl.col("returned_pence") - pl.col("unloaded_pence")).alias("net_from_council_pence")
    )
    assert (out["loaded_pence"] >= 0).all() and (out["returned_pence"] >= 0).all(), "funding totals have the wrong sign"
    return out.select(list(FUNDING_SCHEMA)).sort("council", "london_date")


def funding_totals(conn: Connection, date_from: dt.date, date_to: dt.date, councils: list[str]) -> pl.DataFrame:
    """Per council and day in [date_from, date_to]: loaded, returned, unloaded, net (pence)."""
    assert date_from <= date_to and (date_to - date_from).days <= 400, "funding period must be bounded"
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    raw = funding_postings(conn, date_from, date_to)
    names = sorted(set(councils) | set(raw["council"].drop_nulls().to_list()))
    return summarise_funding(raw, names, days)
