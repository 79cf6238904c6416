"""Provider A — the portal's CSV export (FEEDS.md), read with vectorised polars expressions.

Decoding: UTF-8 with or without BOM, else Windows-1252, else the file is refused. The header must
be exactly FEEDS.md's (quotes around header names are tolerated; extra named columns appended
after the known ones are read past, since FEEDS.md lets the project extend a format); any other
header refuses the whole file, because a renamed or moved column would put money in the wrong place.

Times (docs/feeds.md, "DST rule"): Transaction Date is London wall-clock time.
- The autumn fall-back hour (01:00–01:59 on the last Sunday of October) happens twice. The file
  lists each account's items in the order they happened (the running Balance depends on it), so
  within an account a wall time that goes BACKWARDS inside the repeated hour means the clock went
  back: that row and the account's later rows in the repeated hour are the second pass (GMT); rows
  before it, and repeated-hour rows with no such evidence, are the first pass (BST). Deterministic,
  and either way the London date is the same, so at worst an instant is an hour early, never on the
  wrong day. A file listed newest-first (the account's first row later than its last) is read in
  reverse for this purpose.
- The spring-forward hour (01:00–01:59 on the last Sunday of March) does not exist in London. A
  time in it can only come from a clock that did not move forward, i.e. GMT, so it is read as GMT
  (01:30 → 01:30 UTC = 02:30 BST). The item is kept (quarantining a real payment over a clock
  quirk would lose it from the ledger) and its London date is unchanged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from feeds.readers.common import (
    LONDON_TZ,
    ReadResult,
    check_header,
    concat_quarantine,
    decode_bytes,
    in_file_repeats,
    parse_csv_lines,
    pence_expr,
    quarantine_frame,
    reasons_expr,
    split_lines,
    utc_to_london_date,
)
from feeds.readers.pan import mask_frame
from schemas.canonical import BALANCE_SCHEMA, CANONICAL_SCHEMA, conform

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "Account Number",
    "Transaction ID",
    "Transaction Date",
    "Posted Date",
    "Type",
    "Description",
    "Merchant Name",
    "MCC",
    "Money In",
    "Money Out",
    "Balance",
    "Status",
    "Related Transaction ID",
    "Payee Name",
    "Payee Sort Code",
    "Payee Account Number",
    "Reference",
)
BALANCE_COLUMNS: tuple[str, ...] = ("Account Number", "Balance Date", "Closing Balance", "Available Balance")

# FEEDS.md Type -> canonical kind. FPS_IN / SO_IN are money in from someone other than the council:
# classify decides contribution vs other money in (it needs the council's reference data).
TYPE_KIND: dict[str, str] = {
    "LOAD": "council_load",
    "UNLOAD": "unload",
    "POS": "card_purchase",
    "ECOM": "card_purchase",
    "ATM": "cash",
    "DD": "payment_to_payee",
    "SO": "payment_to_payee",
    "BACS": "payment_to_payee",
    "FPS_OUT": "payment_to_payee",
    "FPS_IN": "other_money_in",
    "SO_IN": "other_money_in",
    "REFUND": "refund",
    "FEE": "fee",
    "REVERSAL": "reversal",
    "CHARGEBACK": "chargeback",
    "ADJUSTMENT": "adjustment",
}
MONEY_IN_TYPES = ("LOAD", "FPS_IN", "SO_IN", "REFUND", "CHARGEBACK")
MONEY_OUT_TYPES = ("UNLOAD", "POS", "ECOM", "ATM", "DD", "SO", "BACS", "FPS_OUT", "FEE")
STATUS_MAP: dict[str, str] = {"PENDING": "pending", "SETTLED": "settled", "DECLINED": "declined", "REVERSED": "released"}

DATETIME_FORMAT = "%d/%m/%Y %H:%M:%S"
DATE_FORMAT = "%d/%m/%Y"


def _read_lines(path: Path, columns: tuple[str, ...], what: str) -> tuple[list[str], tuple[str, ...]]:
    text, _encoding = decode_bytes(path.read_bytes(), path, allow_cp1252=True)
    lines = split_lines(text)
    return lines, check_header(path, lines[0], columns, what)


def _mask(good: pl.DataFrame, bad: pl.DataFrame, columns: tuple[str, ...], name: str):
    good, incidents = mask_frame(good, list(columns), name)
    good, _ = mask_frame(good, ["raw_text"], name, report=False)
    bad, bad_incidents = mask_frame(bad, ["raw_text"], name, {"raw_text": "(unparsed line)"})
    return good, bad, incidents + bad_incidents


def resolve_fold(rows: list[tuple[str, dt.datetime, int]], all_rows: dict[str, tuple[dt.datetime, dt.datetime]]) -> set[int]:
    """Which repeated-hour rows are the second pass (GMT). See the module docstring.

    ``rows``: (account, naive local time, file position) of the ambiguous rows; ``all_rows``:
    each account's (first row's time, last row's time) in file order, to tell the file's direction.
    Returns the file positions of second-pass rows.
    """
    second: set[int] = set()
    by_group: dict[tuple[str, dt.date], list[tuple[dt.datetime, int]]] = {}
    for account, naive, pos in rows:
        by_group.setdefault((account, naive.date()), []).append((naive, pos))
    for (account, _day), items in by_group.items():
        first, last = all_rows.get(account, (None, None))
        newest_first = first is not None and last is not None and first > last
        ordered = sorted(items, key=lambda t: t[1], reverse=newest_first)
        went_back, latest_seen = False, None
        for naive, pos in ordered:
            if latest_seen is not None and naive < latest_seen:
                went_back = True
            if went_back:
                second.add(pos)
            latest_seen = naive if latest_seen is None else max(latest_seen, naive)
    return second


def london_to_utc(df: pl.DataFrame, naive_col: str, account_col: str) -> pl.Series:
    """London wall time to UTC under the DST rule above (vectorised; Python only for fold rows)."""
    naive = df[naive_col]
    earliest = naive.dt.replace_time_zone(LONDON_TZ, ambiguous="earliest", non_existent="null")
    latest = naive.dt.replace_time_zone(LONDON_TZ, ambiguous="latest", non_existent="null")
    ambiguous = (earliest != latest).fill_null(False)
    gap = naive.is_not_null() & earliest.is_null()
    out = earliest.dt.convert_time_zone("UTC")
    out = pl.select(
        pl.when(gap).then(naive.dt.replace_time_zone("UTC")).otherwise(out).alias(naive_col)
    ).to_series()
    if ambiguous.any():
        idx = ambiguous.arg_true().to_list()
        accounts = df[account_col].to_list()
        naive_list = naive.to_list()
        spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        for acct, t in zip(accounts, naive_list, strict=True):
            if t is None:
                continue
            first, _ = spans.get(acct, (t, t))
            spans[acct] = (first, t)
        second = resolve_fold([(accounts[i], naive_list[i], i) for i in idx], spans)
        if second:
            pick = pl.Series([i in second for i in range(df.height)])
            out = pl.select(
                pl.when(pick).then(latest.dt.convert_time_zone("UTC")).otherwise(out).alias(naive_col)
            ).to_series()
    return out


def _parse_fields(good: pl.DataFrame) -> pl.DataFrame:
    """The text columns parsed beside themselves (``_naive``, ``_posted``, ``_in``, ...): null where malformed."""
    c = pl.col
    return good.with_columns(
        c("Transaction Date").str.strptime(pl.Datetime("us"), DATETIME_FORMAT, strict=False).alias("_naive"),
        c("Posted Date").str.strptime(pl.Date, DATE_FORMAT, strict=False).alias("_posted"),
        pence_expr("Money In").alias("_in"),
        pence_expr("Money Out").alias("_out"),
        pence_expr("Balance").alias("_balance"),
        c("Type").replace_strict(TYPE_KIND, default=None, return_dtype=pl.Utf8).alias("_kind"),
        c("Status").replace_strict(STATUS_MAP, default=None, return_dtype=pl.Utf8).alias("_status"),
        c("Payee Sort Code").str.replace_all(r"[- ]", "").alias("_sort"),
    )


def _amount() -> pl.Expr:
    """Signed pence from the card's point of view: Money In onto it, Money Out off it."""
    return pl.when(pl.col("_in").is_not_null()).then(pl.col("_in")).otherwise(-pl.col("_out"))


def _row_checks() -> list[tuple[pl.Expr, pl.Expr | str]]:
    """(condition, reason) for each way a parsed transactions row can be bad (quarantined, not refused),
    in the order the reasons are listed: the row's ids, dates and codes, then its money."""
    return _field_checks() + _money_checks()


def _field_checks() -> list[tuple[pl.Expr, pl.Expr | str]]:
    c = pl.col
    return [
        (c("Account Number").is_null(), "Account Number is empty"),
        (
            c("Account Number").is_not_null() & ~c("Account Number").str.contains(r"^\d{8}$"),
            pl.format("Account Number '{}' is not 8 digits", c("Account Number")),
        ),
        (c("Transaction ID").is_null(), "Transaction ID is empty"),
        (c("Transaction Date").is_null(), "Transaction Date is empty"),
        (
            c("Transaction Date").is_not_null() & c("_naive").is_null(),
            pl.format("Transaction Date '{}' is not a dd/mm/yyyy HH:MM:SS date", c("Transaction Date")),
        ),
        (
            c("Posted Date").is_not_null() & c("_posted").is_null(),
            pl.format("Posted Date '{}' is not a dd/mm/yyyy date", c("Posted Date")),
        ),
        (c("Type").is_null(), "Type is empty"),
        (
            c("Type").is_not_null() & c("_kind").is_null(),
            pl.format(f"unknown Type '{{}}' (expected one of {', '.join(TYPE_KIND)})", c("Type")),
        ),
        (c("Status").is_null(), "Status is empty"),
        (
            c("Status").is_not_null() & c("_status").is_null(),
            pl.format(f"unknown Status '{{}}' (expected one of {', '.join(STATUS_MAP)})", c("Status")),
        ),
    ]


def _money_checks() -> list[tuple[pl.Expr, pl.Expr | str]]:
    c = pl.col
    amount = _amount()
    return [
        (
            c("Money In").is_null() & c("Money Out").is_null(),
            "neither Money In nor Money Out is set (exactly one must be)",
        ),
        (
            c("Money In").is_not_null() & c("Money Out").is_not_null(),
            "both Money In and Money Out are set (exactly one must be)",
        ),
        (
            c("Money In").is_not_null() & c("_in").is_null(),
            pl.format("Money In '{}' is not an amount in pounds and pence (e.g. 1,234.56 or £45.00)", c("Money In")),
        ),
        (
            c("Money Out").is_not_null() & c("_out").is_null(),
            pl.format("Money Out '{}' is not an amount in pounds and pence (e.g. 1,234.56 or £45.00)", c("Money Out")),
        ),
        (
            (c("_in") < 0).fill_null(False) | (c("_out") < 0).fill_null(False),
            "Money In / Money Out must not be negative (the column gives the direction)",
        ),
        (
            c("Balance").is_not_null() & c("_balance").is_null(),
            pl.format("Balance '{}' is not an amount in pounds and pence", c("Balance")),
        ),
        (
            c("MCC").is_not_null() & ~c("MCC").str.contains(r"^\d{4}$"),
            pl.format("MCC '{}' is not 4 digits", c("MCC")),
        ),
        (
            c("_sort").is_not_null() & ~c("_sort").str.contains(r"^\d{6}$"),
            pl.format("Payee Sort Code '{}' is not 6 digits", c("Payee Sort Code")),
        ),
        (
            c("Payee Account Number").is_not_null() & ~c("Payee Account Number").str.contains(r"^\d{8}$"),
            pl.format("Payee Account Number '{}' is not 8 digits", c("Payee Account Number")),
        ),
        (
            c("Type").is_in(MONEY_IN_TYPES) & c("Money Out").is_not_null() & c("Money In").is_null(),
            pl.format("Type {} is money in but the amount is under Money Out", c("Type")),
        ),
        (
            c("Type").is_in(MONEY_OUT_TYPES) & c("Money In").is_not_null() & c("Money Out").is_null(),
            pl.format("Type {} is money out but the amount is under Money In", c("Type")),
        ),
        (
            (c("_status") == "settled").fill_null(False) & (amount == 0).fill_null(False),
            "a settled item of 0.00 cannot be posted",
        ),
    ]


def _canonical_rows(ok: pl.DataFrame, name: str) -> pl.DataFrame:
    """The good rows as canonical transactions (plus ``_naive`` and ``raw_text``), London times to UTC."""
    c = pl.col
    txns = ok.select(
        pl.lit("A").alias("provider"),
        c("Transaction ID").alias("provider_txn_id"),
        c("Account Number").alias("account_id"),
        c("_kind").alias("kind"),
        c("_status").alias("status"),
        _amount().alias("amount_pence"),
        pl.lit("GBP").alias("currency"),
        c("_naive"),
        c("_posted").alias("posted_date"),
        c("Merchant Name").alias("merchant_name"),
        c("MCC").alias("mcc"),
        c("Payee Name").alias("payee_name"),
        c("_sort").alias("payee_sort_code"),
        c("Payee Account Number").alias("payee_account_number"),
        c("Reference").alias("reference"),
        c("Related Transaction ID").alias("related_txn_id"),
        c("_balance").alias("balance_after_pence"),
        pl.lit(name).alias("source_file"),
        c("source_line"),
        c("raw_text"),
    )
    if txns.height:
        txns = txns.with_columns(london_to_utc(txns, "_naive", "account_id").alias("occurred_at_utc"))
    else:
        txns = txns.with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("occurred_at_utc"))
    return txns.with_columns(utc_to_london_date("occurred_at_utc").alias("london_date"))


def read_transactions(path: Path) -> ReadResult:
    name = path.name
    lines, header = _read_lines(path, TRANSACTION_COLUMNS, "Provider A transactions")
    good, bad = parse_csv_lines(lines[1:], 2, header)
    good, bad, incidents = _mask(good, bad, header, name)
    df = _parse_fields(good)
    df = df.with_columns(reasons_expr(_row_checks()).alias("reason"))
    rejected = df.filter(pl.col("reason").is_not_null())
    txns = _canonical_rows(df.filter(pl.col("reason").is_null()), name)
    compare = [k for k in CANONICAL_SCHEMA if k not in ("source_line", "occurred_at_utc", "london_date")] + ["_naive"]
    kept, conflicts = in_file_repeats(txns, ["provider_txn_id", "status"], compare)
    conflicts = conflict_reasons(conflicts, "Transaction ID")
    quarantine = concat_quarantine(
        [
            quarantine_frame(bad, name, "A"),
            quarantine_frame(rejected, name, "A", "Transaction ID"),
            quarantine_frame(conflicts, name, "A", "provider_txn_id"),
        ]
    )
    return ReadResult(transactions=conform(kept), quarantine=quarantine, incidents=incidents)


def conflict_reasons(conflicts: pl.DataFrame, what: str) -> pl.DataFrame:
    """Reason text for in-file conflicts: the same id with different details on several lines."""
    if conflicts.height == 0:
        return conflicts.with_columns(pl.lit(None, dtype=pl.Utf8).alias("reason"))
    lines = conflicts.group_by("provider_txn_id").agg(pl.col("source_line").sort().cast(pl.Utf8).str.join(", ").alias("_lines"))
    return conflicts.join(lines, on="provider_txn_id", how="left").with_columns(
        pl.format(
            f"conflict within the file: {what} {{}} appears on lines {{}} with different details; "
            "none of them is loaded until the provider says which is right",
            pl.col("provider_txn_id"),
            pl.col("_lines"),
        ).alias("reason")
    )


def read_balances(path: Path) -> ReadResult:
    name = path.name
    lines, header = _read_lines(path, BALANCE_COLUMNS, "Provider A balances")
    good, bad = parse_csv_lines(lines[1:], 2, header)
    good, bad, incidents = _mask(good, bad, header, name)
    c = pl.col
    df = good.with_columns(
        c("Balance Date").str.strptime(pl.Date, DATE_FORMAT, strict=False).alias("_date"),
        pence_expr("Closing Balance").alias("_closing"),
        pence_expr("Available Balance").alias("_available"),
    )
    df = df.with_columns(
        reasons_expr(
            [
                (
                    c("Account Number").is_null() | ~c("Account Number").str.contains(r"^\d{8}$").fill_null(False),
                    pl.format("Account Number '{}' is not 8 digits", c("Account Number").fill_null("")),
                ),
                (c("_date").is_null(), pl.format("Balance Date '{}' is not a dd/mm/yyyy date", c("Balance Date").fill_null(""))),
                (
                    c("_closing").is_null(),
                    pl.format("Closing Balance '{}' is not an amount in pounds and pence", c("Closing Balance").fill_null("")),
                ),
                (
                    c("Available Balance").is_not_null() & c("_available").is_null(),
                    pl.format("Available Balance '{}' is not an amount in pounds and pence", c("Available Balance")),
                ),
            ]
        ).alias("reason")
    )
    rejected = df.filter(c("reason").is_not_null())
    balances = df.filter(c("reason").is_null()).select(
        pl.lit("A").alias("provider"),
        c("Account Number").alias("account_id"),
        c("_date").alias("balance_date"),
        c("_closing").alias("closing_balance_pence"),
        c("_available").alias("available_balance_pence"),
        pl.lit(name).alias("source_file"),
        c("source_line"),
    )
    balances, conflicts = balance_repeats(balances)
    conflicts = conflicts.join(good.select("source_line", "raw_text"), on="source_line", how="left")
    quarantine = concat_quarantine(
        [quarantine_frame(bad, name, "A"), quarantine_frame(rejected, name, "A"), quarantine_frame(conflicts, name, "A")]
    )
    return ReadResult(balances=balances.select(list(BALANCE_SCHEMA)).cast(BALANCE_SCHEMA), quarantine=quarantine, incidents=incidents)  # type: ignore[arg-type]


def balance_repeats(balances: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One closing balance per account per day: repeats dropped, disagreeing rows all quarantined."""
    kept, conflicts = in_file_repeats(
        balances, ["account_id", "balance_date"], ["closing_balance_pence", "available_balance_pence"]
    )
    conflicts = conflicts.with_columns(
        pl.format(
            "conflict within the file: account {} has different closing balances for {} on several lines; none is loaded",
            pl.col("account_id"),
            pl.col("balance_date"),
        ).alias("reason")
    )
    return kept, conflicts
