"""dormant_card: loads keep arriving but nothing was spent (card, cash or bank payment) for
``dormant_days`` or more.

A neglect signal, not a saving: care may not be being delivered. A spend counts on the day money left the
card (its posting day once settled, as the statement shows). Silence explained by a recorded death,
suspension, hospital stay or respite, or a closed card, is not raised. Episode: one per silent run with at
least one load in it, about the run's first day, detected on its dormant_days-th day.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import DAY, Rule, ScreenInput, to_findings
from screening.rules.frames import first_seen, stays, with_params
from screening.rules.text import gbp, plural

PARAMS = ("dormant_days",)
QUIET_EVENTS = ("deceased", "suspended")  # client_events that explain a silence from their day on


def _spend_days(inp: ScreenInput, it: pl.DataFrame) -> pl.DataFrame:
    """(client_id, london_date) of every day money left the card: its posting day once settled (what the
    statement shows), else the day of use. An authorisation that expired unsettled is not spending. Of
    older history summarised in ``activity`` only the last spending day matters: a silent run ending
    before it cannot end inside the screened days."""
    return pl.concat(
        [
            it.filter(pl.col("out_pence") > 0).select("client_id", pl.coalesce("posted_date", "london_date").alias("london_date")),
            inp.activity.filter(pl.col("last_spend_day").is_not_null()).select("client_id", pl.col("last_spend_day").alias("london_date")),
        ]
    ).unique()


def _silent_runs(inp: ScreenInput, clients: pl.DataFrame, spend_days: pl.DataFrame) -> pl.DataFrame:
    """Runs of days without spending (client_id, start, next spend or null, detected_on) long enough to
    be dormant by the last screened day, on cards still open when they became so."""
    n = pl.col("dormant_days")
    # Each spending day, the next one (or none yet) -> the silent run between them.
    gaps = spend_days.sort("client_id", "london_date").with_columns(pl.col("london_date").shift(-1).over("client_id").alias("next"))
    inner = gaps.select("client_id", (pl.col("london_date") + DAY).alias("start"), "next")
    # The silent run before the first spend we can see (or with no spend at all).
    firsts = spend_days.group_by("client_id").agg(pl.col("london_date").min().alias("next"))
    lead = clients.join(firsts, on="client_id", how="left").select(
        "client_id", pl.max_horizontal("first_seen", pl.col("opened").fill_null(pl.col("first_seen"))).alias("start"), "next"
    )
    runs = pl.concat([inner, lead], how="vertical_relaxed").join(clients.select("client_id", "dormant_days", "closed"), on="client_id")
    return runs.with_columns((pl.col("start") + pl.duration(days=n - 1)).alias("detected_on")).filter(
        (pl.col("next").is_null() | (pl.col("next") > pl.col("detected_on")))
        & (pl.col("detected_on") <= inp.date_to)
        & (pl.col("closed").is_null() | (pl.col("closed") > pl.col("detected_on")))
    )


def _without_explained(df: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Runs less those a quiet event (by their detection day) or a stay overlapping them explains."""
    if df.height == 0:
        return df
    explained_by_event = events.filter(pl.col("event").is_in(list(QUIET_EVENTS))).select("client_id", pl.col("date").alias("ev_date"))
    stay = stays(events).select("client_id", pl.col("start").alias("s_start"), pl.col("end").alias("s_end"))
    bad1 = df.join(explained_by_event, on="client_id").filter(pl.col("ev_date") <= pl.col("detected_on")).select("client_id", "start").unique()
    bad2 = (
        df.join(stay, on="client_id")
        .filter((pl.col("s_start") <= pl.col("detected_on")) & (pl.col("s_end").is_null() | (pl.col("s_end") >= pl.col("start"))))
        .select("client_id", "start")
        .unique()
    )
    return df.join(pl.concat([bad1, bad2]), on=["client_id", "start"], how="anti")


def dormant_card(inp: ScreenInput) -> list[Finding]:
    """Loads keep arriving but nothing was spent (card, cash or bank payment) for dormant_days or more."""
    it = inp.items.filter(pl.col("london_date") >= inp.complete_from)
    clients = with_params(inp, first_seen(inp, it), [*PARAMS, "opened", "closed"])
    runs = _silent_runs(inp, clients, _spend_days(inp, it))
    loads = it.filter(pl.col("kind") == "council_load").select("client_id", pl.col("txn").alias("load_txn"), pl.col("london_date").alias("load_date"), pl.col("amount_pence").alias("load_pence"))
    runs = runs.join(loads, on="client_id").filter(pl.col("load_date").is_between(pl.col("start"), pl.col("detected_on")))
    df = runs.group_by("client_id", "start", "detected_on", "dormant_days").agg(
        pl.col("load_txn").alias("evidence"), pl.col("load_pence").sum().alias("amount_pence"), pl.len().alias("n_loads")
    )
    df = _without_explained(df, inp.events).with_columns(pl.col("start").alias("london_date"))

    def explain(r: dict) -> str:
        return (
            f"No card, cash or bank-payment spending for {r['dormant_days']} days from {r['start']} to {r['detected_on']} "
            f"while {plural(r['n_loads'], 'load')} totalling {gbp(r['amount_pence'])} arrived: care may not be being delivered."
        )

    return to_findings(inp, RULE, df, explain)


RULE = Rule("dormant_card", severity="medium", params=PARAMS, find=dormant_card)
