"""The rules' input, assembled from canonical transactions and the council's reference data (pure):
``prepare_items`` (the card items rules read), ``client_params`` (each client's effective parameters)
and ``build_input``. Reading them from the database is ``screening.run.load_input``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from schemas.council_policy import THRESHOLD_DEFAULTS, CouncilPolicy
from schemas.mcc import GROUPS
from screening.rules.base import ITEM_SCHEMA, LONDON, SPEND_KINDS, ScreenInput
from screening.rules.registry import FLOAT_PARAMS, NUMERIC_PARAMS


def _live_items(transactions: pl.DataFrame) -> pl.DataFrame:
    """Settled items (at their authorisation's time when one was seen) and pending items no later
    settlement, release or decline names."""
    t = transactions.filter(pl.col("client_id").is_not_null())
    closers = (
        t.filter(pl.col("status").is_in(["settled", "released", "declined"]) & pl.col("related_txn_id").is_not_null())
        .select("provider", pl.col("related_txn_id").alias("provider_txn_id"))
        .unique()
    )
    pending = t.filter(pl.col("status") == "pending")
    auth_at = pending.select("provider", pl.col("provider_txn_id").alias("related_txn_id"), pl.col("occurred_at_utc").alias("_auth_at"))
    settled = (
        t.filter(pl.col("status") == "settled")
        .join(auth_at.unique(["provider", "related_txn_id"]), on=["provider", "related_txn_id"], how="left")
        .with_columns(pl.coalesce("_auth_at", "occurred_at_utc").alias("occurred_at_utc"))
        .drop("_auth_at")
    )
    return pl.concat([settled, pending.join(closers, on=["provider", "provider_txn_id"], how="anti")], how="diagonal_relaxed")


def prepare_items(transactions: pl.DataFrame) -> pl.DataFrame:
    """Canonical transactions (``records.transactions.load_transactions``) -> the card items rules read.

    Keeps settled items and pending items still waiting to settle; drops declined and released items and
    any pending authorisation that a later settlement, release or decline names (provider B sends the
    authorisation and its clearing as two events; counting both would double the spend). A settlement
    that completes a seen authorisation takes the authorisation's time: the moment the card was used.
    """
    live = _live_items(transactions)
    at_london = pl.col("occurred_at_utc").dt.convert_time_zone(LONDON).dt.replace_time_zone(None)
    spend = pl.col("kind").is_in(SPEND_KINDS) & (pl.col("amount_pence") < 0)
    out = live.select(
        (pl.col("provider") + ":" + pl.col("provider_txn_id")).alias("txn"),
        "provider",
        "account_id",
        "client_id",
        "council",
        "kind",
        "status",
        pl.col("amount_pence").cast(pl.Int64),
        pl.when(spend).then(-pl.col("amount_pence")).otherwise(0).cast(pl.Int64).alias("out_pence"),
        pl.col("occurred_at_utc").cast(pl.Datetime("us", "UTC")).alias("at_utc"),
        at_london.cast(pl.Datetime("us")).alias("at_london"),
        at_london.dt.date().alias("london_date"),
        pl.when(pl.col("status") == "settled").then(pl.coalesce("posted_date", at_london.dt.date())).otherwise(None).alias("posted_date"),
        "mcc",
        "merchant_country",
        "merchant_name",
        "payee_name",
        "payee_sort_code",
        "payee_account_number",
    )
    assert list(out.columns) == list(ITEM_SCHEMA), "prepared items have the columns ITEM_SCHEMA names"
    return out.sort("at_utc", "txn")


def empty_items() -> pl.DataFrame:
    return pl.DataFrame(schema=ITEM_SCHEMA)


def _policy_value(policy: CouncilPolicy | None, name: str) -> Any:
    return policy.threshold(name) if policy is not None else THRESHOLD_DEFAULTS[name]


def client_overrides(councils: Mapping[str, CouncilPolicy]) -> dict[str, dict[str, Any]]:
    """Per-client parameter overrides from every council's ``thresholds.client_thresholds``."""
    out: dict[str, dict[str, Any]] = {}
    for policy in councils.values():
        for client, params in dict(policy.threshold("client_thresholds") or {}).items():
            unknown = sorted(set(params) - set(NUMERIC_PARAMS))
            if unknown:
                raise ValueError(
                    f"councils.yaml: council {policy.name!r}: client_thresholds for {client}: unknown parameter(s) "
                    f"{', '.join(unknown)}; known: {', '.join(NUMERIC_PARAMS)}"
                )
            out[str(client)] = dict(params)
    return out


def allowed_mccs(councils: Mapping[str, CouncilPolicy]) -> dict[str, list[str]]:
    """Per-client MCC exceptions (``thresholds.allowed_mcc_by_client``), group names expanded to codes."""
    out: dict[str, list[str]] = {}
    for policy in councils.values():
        for client, entries in dict(policy.threshold("allowed_mcc_by_client") or {}).items():
            codes: list[str] = []
            for entry in entries or []:
                entry = str(entry).strip()
                if entry in GROUPS:
                    codes.extend(sorted(GROUPS[entry]))
                elif entry.isdigit() and len(entry) == 4:
                    codes.append(entry)
                else:
                    raise ValueError(
                        f"councils.yaml: council {policy.name!r}: allowed_mcc_by_client for {client}: {entry!r} "
                        "is neither a 4-digit MCC nor a group name"
                    )
            out[str(client)] = sorted(set(codes))
    return out


def _council_frame(councils: Mapping[str, CouncilPolicy]) -> pl.DataFrame:
    """One row per council: its restricted MCCs (cash excepted: cash has its own rules) and parameters."""
    rows = []
    for name, policy in councils.items():
        restricted = sorted({m for g in policy.restricted_mcc_groups if g != "cash" for m in GROUPS[g]})
        rows.append({"council": name, "_restricted": restricted, **{p: float(_policy_value(policy, p)) for p in NUMERIC_PARAMS}})
    schema = {"council": pl.Utf8, "_restricted": pl.List(pl.Utf8), **{p: pl.Float64 for p in NUMERIC_PARAMS}}
    return pl.DataFrame(rows, schema=schema)


def _override_frames(councils: Mapping[str, CouncilPolicy]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per-client parameter overrides as ``_ov_<param>`` columns, per-client allowed MCCs)."""
    ov_rows = [
        {"client_id": c, **{f"_ov_{p}": (float(v[p]) if p in v else None) for p in NUMERIC_PARAMS}}
        for c, v in client_overrides(councils).items()
    ]
    ov = pl.DataFrame(ov_rows, schema={"client_id": pl.Utf8, **{f"_ov_{p}": pl.Float64 for p in NUMERIC_PARAMS}})
    allowed = pl.DataFrame(
        [{"client_id": c, "allowed_mcc": v} for c, v in allowed_mccs(councils).items()],
        schema={"client_id": pl.Utf8, "allowed_mcc": pl.List(pl.Utf8)},
    )
    return ov, allowed


def client_params(cardholders: pl.DataFrame, councils: Mapping[str, CouncilPolicy]) -> pl.DataFrame:
    """One row per client: card, cash terms and every rule parameter, the client's override winning.

    Why a frame: rules join it to the items so each client's own thresholds apply in one vectorised pass.
    """
    ov_frame, al_frame = _override_frames(councils)
    ch = cardholders.select(
        "client_id", "council", "provider", "account_id", "opened", "closed", "cash_allowed", "cash_weekly_limit_pence",
        "safeguarding_email",
    )
    out = ch.join(_council_frame(councils), on="council", how="left").join(ov_frame, on="client_id", how="left")
    out = out.join(al_frame, on="client_id", how="left")
    fills = []
    for p in NUMERIC_PARAMS:
        value = pl.coalesce(f"_ov_{p}", p, pl.lit(float(THRESHOLD_DEFAULTS[p])))
        fills.append(value.cast(pl.Float64 if p in FLOAT_PARAMS else pl.Int64).alias(p))
    out = out.with_columns(
        *fills,
        pl.col("allowed_mcc").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
    ).with_columns(
        pl.col("_restricted").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))).list.set_difference("allowed_mcc").alias("restricted_mccs")
    )
    return out.drop([c for c in out.columns if c.startswith("_")]).unique("client_id", keep="last", maintain_order=True)


def build_input(
    transactions: pl.DataFrame,
    ref: Any,
    date_from: dt.date,
    date_to: dt.date,
    *,
    complete_from: dt.date | None = None,
) -> ScreenInput:
    """A ``ScreenInput`` from canonical transactions and ``ReferenceData`` (pure)."""
    return ScreenInput(
        items=prepare_items(transactions),
        clients=client_params(ref.cardholders, ref.councils),
        payees=ref.payees,
        events=ref.client_events,
        councils=ref.councils,
        date_from=date_from,
        date_to=date_to,
        complete_from=complete_from if complete_from is not None else date_from,
        overrides=client_overrides(ref.councils),
    )
