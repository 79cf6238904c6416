"""The GX suite run over every canonical batch (one provider file, after its reader).

Levels: an ERROR check names rows that ingest quarantines with the reason; a WARNING is reported
only. Unknown accounts are a warning on purpose: the brief sends them to suspense (their money is
real and must be accounted for), so quarantining them would lose money from the ledger's view.

Repeated provider ids (decided here, see docs/validation.md): the key is (provider,
provider_txn_id, status). A's and C's files legitimately list an item twice (pending, then
settled or released, possibly for another amount) and ingest keeps the latest state after
validation; B's stream is at-least-once, so an identical event can arrive twice. So:
  * the same key with identical details is a WARNING (it collapses to one on load);
  * the same key with different details (account, kind, amount, currency, related item) is an
    ERROR on every copy: we cannot tell which is right, so all are held for review (the readers'
    own in-file repeat rule, feeds/readers/common.py ``in_file_repeats``, does the same; this check
    is the independent second line and the record in Data Docs).
"""

from __future__ import annotations

import datetime as dt
import time

import great_expectations.expectations as gxe
import polars as pl
from great_expectations.expectations.row_conditions import Column as GXColumn

from feeds.validation.report import ERROR, WARNING, Check, ValidationReport, interpret
from feeds.validation.runtime import runtime
from schemas.canonical import CANONICAL_SCHEMA, KINDS, STATUSES

SUITE_NAME = "canonical_batch"

REQUIRED_COLUMNS: tuple[str, ...] = (
    "provider",
    "provider_txn_id",
    "account_id",
    "kind",
    "status",
    "amount_pence",
    "currency",
    "occurred_at_utc",
    "london_date",
    "source_file",
    "source_line",
)
# The columns GX sees: the required ones, what the repeat check compares, and two derived ones.
PAYLOAD_COLUMNS: tuple[str, ...] = ("account_id", "kind", "amount_pence", "currency", "related_txn_id")
REPEAT_KEY: tuple[str, ...] = ("provider", "provider_txn_id", "status")
CONFLICT_COLUMN = "dq_conflicting_lines"  # "2, 8": the lines of a key seen with different details
UNREGISTERED_COLUMN = "dq_unregistered_account"  # "A:…2817" when the account is not in the register

AMOUNT_LIMIT_PENCE = 5_000_000  # £50,000: no single direct-payment card item is anywhere near this
# Batches above this many rows: GX runs with SUMMARY (counts and samples) and the polars twin names
# the rows; GX's COMPLETE lists cost memory and time per failing row (see docs/validation.md).
GX_COMPLETE_ROWS_MAX = 200_000

# GX checks dtypes on pandas; these are the names its pandas path understands for arrow columns.
_GX_TYPE_NAME = {pl.Utf8: "str", pl.Int64: "int"}


def _pounds(pence: int) -> str:
    return f"£{abs(pence) / 100:,.2f}"


def _mask(provider: str | None, account_id: str | None) -> str:
    """Last 4 characters only: reports never carry a whole account number."""
    return f"{provider}:…{(account_id or '')[-4:]}"


def _not_null(col: str) -> Check:
    return Check(
        name=f"{col}_present",
        rule=f"{col} is present",
        level=ERROR,
        why=f"{col} is needed to post, match or trace the item",
        expectation=lambda: gxe.ExpectColumnValuesToNotBeNull(column=col),
        failing=lambda p: pl.col(col).is_null(),
        reason=lambda row, p: f"{col} is missing",
    )


def _type_check(col: str, type_name: str) -> Check:
    # Batch-level: a wrong dtype makes every row suspect; _schema_errors names it for every row.
    return Check(
        name=f"{col}_type",
        rule=f"{col} is {CANONICAL_SCHEMA[col]}",
        level=ERROR,
        why="a reader that did not conform the batch to schemas/canonical.py: the whole batch is refused",
        expectation=lambda: gxe.ExpectColumnValuesToBeOfType(column=col, type_=type_name),
        failing=lambda p: pl.lit(False),
    )


def _warn_repeats(rows: pl.DataFrame, p: dict) -> str:
    keys = rows.select(REPEAT_KEY).unique().height
    return (
        f"{rows.height} row(s) share {keys} (provider, id, status) key(s) with another row of this batch; identical "
        "repeats are at-least-once deliveries and collapse to one on load (different details are quarantined)"
    )


def _warn_unregistered(rows: pl.DataFrame, p: dict) -> str:
    accounts = sorted(rows[UNREGISTERED_COLUMN].drop_nulls().unique().to_list())
    shown = ", ".join(accounts[:10]) + (f" and {len(accounts) - 10} more" if len(accounts) > 10 else "")
    return (
        f"{rows.height} row(s) on {len(accounts)} account(s) not in the cardholder register ({shown}): "
        "they load to suspense, not quarantine, until the council registers the card"
    )


def canonical_checks() -> list[Check]:
    """Every check of the canonical suite, in the order docs/validation.md lists them."""
    checks = [_not_null(c) for c in REQUIRED_COLUMNS]
    checks += [_type_check(c, _GX_TYPE_NAME[CANONICAL_SCHEMA[c]]) for c in REQUIRED_COLUMNS if CANONICAL_SCHEMA[c] in _GX_TYPE_NAME]
    checks += [
        Check(
            name="kind_known",
            rule="kind is one of " + ", ".join(KINDS),
            level=ERROR,
            why="posting rules exist only for the canonical kinds",
            expectation=lambda: gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=list(KINDS)),
            failing=lambda p: pl.col("kind").is_not_null() & ~pl.col("kind").is_in(list(KINDS)),
            reason=lambda row, p: f"kind {row['kind']!r} is not a canonical kind",
        ),
        Check(
            name="status_known",
            rule="status is one of " + ", ".join(STATUSES),
            level=ERROR,
            why="the lifecycle (pending, settled, declined, released) decides what posts and what holds funds",
            expectation=lambda: gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(STATUSES)),
            failing=lambda p: pl.col("status").is_not_null() & ~pl.col("status").is_in(list(STATUSES)),
            reason=lambda row, p: f"status {row['status']!r} is not one of {', '.join(STATUSES)}",
        ),
        Check(
            name="currency_gbp",
            rule="currency is GBP",
            level=ERROR,
            why="the ledger is in pence sterling; a foreign amount cannot be posted as if it were pounds",
            expectation=lambda: gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=["GBP"]),
            failing=lambda p: pl.col("currency").is_not_null() & (pl.col("currency") != "GBP"),
            reason=lambda row, p: f"currency {row['currency']} is not GBP",
        ),
        Check(
            name="amount_within_limit",
            rule=f"|amount| ≤ {_pounds(AMOUNT_LIMIT_PENCE)}",
            level=ERROR,
            why="no card item is near £50,000; one that is, is a parsing error (pence read as pounds) or fraud",
            expectation=lambda: gxe.ExpectColumnValuesToBeBetween(
                column="amount_pence", min_value=-AMOUNT_LIMIT_PENCE, max_value=AMOUNT_LIMIT_PENCE
            ),
            failing=lambda p: pl.col("amount_pence").abs() > AMOUNT_LIMIT_PENCE,
            reason=lambda row, p: f"amount {_pounds(row['amount_pence'])} is over the {_pounds(AMOUNT_LIMIT_PENCE)} "
            "sanity limit",
        ),
        Check(
            name="amount_not_zero",
            rule="amount is not zero unless declined",
            level=ERROR,
            why="an item that moves no money is only meaningful when it was declined",
            expectation=lambda: gxe.ExpectColumnValuesToNotBeInSet(
                column="amount_pence", value_set=[0], row_condition=GXColumn("status") != "declined"
            ),
            # GX's row condition keeps rows whose status is null (null != "declined"): so does the twin
            failing=lambda p: (pl.col("amount_pence") == 0) & pl.col("status").ne_missing("declined"),
            reason=lambda row, p: f"amount is zero on a {row['status'] or 'status-less'} item "
            "(only a declined item may be zero)",
        ),
        Check(
            name="london_date_in_window",
            rule="london_date within feed_date − window_days … feed_date + 1",
            level=ERROR,
            why="a day's file carries that day and items still pending from the days before; a date far "
            "outside means a misread date or a file in the wrong drop",
            expectation=lambda: gxe.ExpectColumnValuesToBeBetween(
                column="london_date", min_value={"$PARAMETER": "window_start"}, max_value={"$PARAMETER": "window_end"}
            ),
            failing=lambda p: (pl.col("london_date") < p["window_start"]) | (pl.col("london_date") > p["window_end"]),
            reason=lambda row, p: f"london_date {row['london_date']} outside the feed window "
            f"{p['window_start']}..{p['window_end']}",
        ),
        Check(
            name="no_conflicting_repeat",
            rule="no (provider, id, status) seen with different details",
            level=ERROR,
            why="the same provider item in the same state twice with different details cannot both be true; "
            "all copies are held for review",
            expectation=lambda: gxe.ExpectColumnValuesToBeNull(column=CONFLICT_COLUMN),
            failing=lambda p: pl.col(CONFLICT_COLUMN).is_not_null(),
            reason=lambda row, p: f"duplicate id: {row['provider']} item {row['provider_txn_id']} ({row['status']}) "
            f"appears with different details on lines {row[CONFLICT_COLUMN]} of this batch; all copies are held",
        ),
        Check(
            name="id_status_unique",
            rule="(provider, provider_txn_id, status) unique in the batch",
            level=WARNING,
            why="repeats are expected (at-least-once delivery, re-listed items) and collapse on load",
            expectation=lambda: gxe.ExpectCompoundColumnsToBeUnique(column_list=list(REPEAT_KEY)),
            failing=lambda p: pl.len().over(list(REPEAT_KEY)) > 1,
            warn=_warn_repeats,
        ),
        Check(
            name="account_registered",
            rule="(provider, account_id) is in the cardholder register",
            level=WARNING,
            why="an account missing from the cardholder register goes to suspense, never nowhere: report, do "
            "not quarantine",
            expectation=lambda: gxe.ExpectColumnValuesToBeNull(column=UNREGISTERED_COLUMN),
            failing=lambda p: pl.col(UNREGISTERED_COLUMN).is_not_null(),
            warn=_warn_unregistered,
        ),
    ]
    assert len({c.name for c in checks}) == len(checks)
    return checks


def _schema_errors(txns: pl.DataFrame) -> list[str]:
    """Columns whose dtype is not the canonical one (a reader that skipped ``conform``)."""
    return [
        f"column {c} is {txns.schema[c]}, expected {CANONICAL_SCHEMA[c]} (the batch does not follow schemas/canonical.py)"
        for c in (*REQUIRED_COLUMNS, "related_txn_id")
        if c in txns.columns and txns.schema[c] != CANONICAL_SCHEMA[c] and txns.schema[c] != pl.Null
    ]


def prepare(txns: pl.DataFrame, known_accounts: set[tuple[str, str]]) -> pl.DataFrame:
    """The frame GX sees: canonical columns (missing ones as nulls, so they fail as missing) plus the
    two derived columns the repeat and register checks read. Row order is kept (positions matter)."""
    cols = [*REQUIRED_COLUMNS, "related_txn_id"]
    frame = txns.select(
        [
            pl.col(c).cast(CANONICAL_SCHEMA[c], strict=False) if c in txns.columns else pl.lit(None, dtype=CANONICAL_SCHEMA[c]).alias(c)
            for c in cols
        ]
    )
    key = list(REPEAT_KEY)
    versions = pl.struct(list(PAYLOAD_COLUMNS)).n_unique().over(key)
    lines = pl.col("source_line").cast(pl.Utf8).fill_null("?").implode().over(key).list.join(", ")
    registered = pl.concat_str(["provider", "account_id"], separator="\x1f").is_in(
        [f"{p}\x1f{a}" for p, a in known_accounts]
    )
    frame = frame.with_columns(
        pl.when(pl.col("provider_txn_id").is_not_null() & (versions > 1)).then(lines).otherwise(None)
        .alias(CONFLICT_COLUMN),
        pl.when(pl.col("account_id").is_not_null() & ~registered)
        .then(pl.lit("") + pl.col("provider").fill_null("?") + ":…" + pl.col("account_id").str.slice(-4))
        .otherwise(None)
        .alias(UNREGISTERED_COLUMN),
    )
    assert frame.height == txns.height
    return frame


def _source_name(txns: pl.DataFrame) -> str:
    if "source_file" not in txns.columns:
        return "canonical batch"
    names = sorted(n for n in txns["source_file"].unique().to_list() if n)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") if names else "canonical batch"


def validate_canonical_batch(
    txns: pl.DataFrame,
    *,
    feed_date: dt.date,
    known_accounts: set[tuple[str, str]],
    window_days: int = 10,
) -> ValidationReport:
    """Run the canonical GX suite over one batch; the report names the rows ingest must quarantine.

    The window is feed_date − window_days … feed_date + 1: a day's file repeats items still
    pending from earlier days, and a late-evening item can carry the next London day.
    """
    assert window_days >= 0
    started = time.perf_counter()
    params = {
        "feed_date": feed_date,
        "window_start": feed_date - dt.timedelta(days=window_days),
        "window_end": feed_date + dt.timedelta(days=1),
    }
    checks = canonical_checks()
    frame = prepare(txns, known_accounts)
    gx_names_rows = frame.height <= GX_COMPLETE_ROWS_MAX
    result = runtime().run(
        SUITE_NAME,
        lambda: [c.build() for c in checks],
        frame,
        parameters={"window_start": params["window_start"], "window_end": params["window_end"]},
        result_format="COMPLETE" if gx_names_rows else "SUMMARY",
    )
    bad, reasons, warnings, results = interpret(
        result, checks, frame, params, gx_names_rows=gx_names_rows, batch_errors=_schema_errors(txns)
    )
    results["careledger"]["feed_window"] = [str(params["window_start"]), str(params["window_end"])]
    report = ValidationReport(
        success=not bad,
        bad_row_indices=bad,
        reasons_by_row=reasons,
        results=results,
        warnings=warnings,
        source_name=_source_name(txns),
        suite_name=SUITE_NAME,
        rows=txns.height,
        engine="gx" if gx_names_rows else "polars",
        gx_result=result,
    )
    report.seconds = time.perf_counter() - started
    assert all(0 <= i < txns.height for i in bad) and set(reasons) == bad
    return report
