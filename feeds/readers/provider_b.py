"""Provider B — the processor's JSON-lines event stream (FEEDS.md), read with ``pl.read_ndjson``.

Fast path: the whole file goes through polars' NDJSON reader with an explicit schema (scalars as
text, checked afterwards with vectorised expressions). Only when that fails does a per-line path
run, to find the bad lines:
- the LAST line not being JSON while the file does not end with a newline is truncation (the
  transfer was cut off): the whole file is refused;
- any other line that is not a JSON object is quarantined with its line number, and the rest loads
  (one corrupt event must not hold back a day's spending, and the event can be re-sent).

At-least-once delivery: the same token with the same details twice in one file is dropped quietly;
the same token with different details is a conflict and every line carrying it is quarantined.
An empty file (no lines at all) is a day with no events: valid JSON lines, zero of them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from feeds.readers.common import (
    ReadResult,
    concat_quarantine,
    decode_bytes,
    in_file_repeats,
    quarantine_frame,
    reasons_expr,
    refuse,
    utc_to_london_date,
)
from feeds.readers.pan import CANDIDATE_RE, Incident, describe, mask_with_hits
from feeds.readers.provider_a import balance_repeats, conflict_reasons
from schemas.canonical import BALANCE_SCHEMA, CANONICAL_SCHEMA, conform

CARD_ACCEPTOR = pl.Struct({"mcc": pl.Utf8, "name": pl.Utf8, "city": pl.Utf8, "country_code": pl.Utf8})
COUNTERPARTY = pl.Struct({"name": pl.Utf8, "sort_code": pl.Utf8, "account_number": pl.Utf8})
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "token": pl.Utf8,
    "card_token": pl.Utf8,
    "type": pl.Utf8,
    "state": pl.Utf8,
    "amount_minor": pl.Utf8,
    "currency": pl.Utf8,
    "created_time": pl.Utf8,
    "settlement_date": pl.Utf8,
    "preceding_related_token": pl.Utf8,
    "card_acceptor": CARD_ACCEPTOR,
    "counterparty": COUNTERPARTY,
    "memo": pl.Utf8,
    "balance_after_minor": pl.Utf8,
}
BALANCE_LINE_SCHEMA: dict[str, pl.DataType] = {
    "card_token": pl.Utf8,
    "as_of_date": pl.Utf8,
    "ledger_balance_minor": pl.Utf8,
    "available_balance_minor": pl.Utf8,
}
OBJECT_FIELDS = {"card_acceptor", "counterparty"}

# type -> (kind, sign). The sign gives the direction; amount_minor is always positive.
TYPE_KIND: dict[str, tuple[str, int]] = {
    "authorization": ("card_purchase", -1),
    "authorization.clearing": ("card_purchase", -1),
    "authorization.reversal": ("card_purchase", -1),  # CLEARED: the hold is removed (COMPLETION: see below)
    "authorization.release": ("card_purchase", -1),
    "pindebit.atm": ("cash", -1),
    "gpa.credit": ("council_load", 1),
    "gpa.debit": ("unload", -1),
    "transfer.in": ("other_money_in", 1),  # classify decides contribution vs other
    "transfer.out": ("payment_to_payee", -1),
    "refund": ("refund", 1),
    "fee.charge": ("fee", -1),
    "chargeback.credit": ("chargeback", 1),
    "adjustment.credit": ("adjustment", 1),
    "adjustment.debit": ("adjustment", -1),
}
STATE_STATUS: dict[str, str] = {"PENDING": "pending", "COMPLETION": "settled", "DECLINED": "declined", "CLEARED": "released"}
# States a type can be in; anything else is a malformed event.
HOLD_REMOVERS = ("authorization.release", "authorization.reversal")
CASH_MCCS = ("6010", "6011")
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
OFFSET_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"  # tolerated: "+00:00" instead of "Z" is the same instant


def _mask_obj(obj, path: str, hits: list[tuple[str, str]]):
    """Mask PANs in every string (and integer) value of a decoded JSON value; record (field, text)."""
    if isinstance(obj, dict):
        return {k: _mask_obj(v, f"{path}.{k}" if path else k, hits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_mask_obj(v, f"{path}[{i}]", hits) for i, v in enumerate(obj)]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int | str):
        text = str(obj)
        masked, found = mask_with_hits(text)
        if found:
            hits.append((path, describe(found, path)))
            return masked
    return obj


def _lines_frame(path: Path) -> tuple[list[str], bool]:
    text, _ = decode_bytes_allow_empty(path)
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines], ends_with_newline


def decode_bytes_allow_empty(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    if raw.strip() == b"":
        return "", "utf-8"
    return decode_bytes(raw, path, allow_cp1252=False)


def parse_jsonl(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame, list[Incident]]:
    """Lines of a JSONL file into a frame (``schema`` + source_line + raw_text), the lines that are
    not usable JSON objects (source_line, raw_text, reason), and PAN incidents."""
    name = path.name
    lines, ends_with_newline = _lines_frame(path)
    frame = pl.DataFrame(
        {"raw_text": lines, "source_line": pl.int_range(1, len(lines) + 1, eager=True)},
        schema={"raw_text": pl.Utf8, "source_line": pl.Int64},
    ).filter(pl.col("raw_text").str.strip_chars() != "")
    incidents: list[Incident] = []

    # Card numbers: vectorised pre-filter on the raw line, then field by field for the few candidates.
    cand = frame["raw_text"].str.contains(CANDIDATE_RE)
    if cand.any():
        idx = cand.arg_true()
        new_lines = []
        for line_no, raw in zip(frame["source_line"].gather(idx).to_list(), frame["raw_text"].gather(idx).to_list(), strict=True):
            try:
                obj = json.loads(raw)
            except ValueError:
                masked, found = mask_with_hits(raw)
                if found:
                    incidents.append(Incident(name, line_no, "(unparsed line)", describe(found, "(unparsed line)")))
                new_lines.append(masked)
                continue
            hits: list[tuple[str, str]] = []
            masked_obj = _mask_obj(obj, "", hits)
            incidents.extend(Incident(name, line_no, f, d) for f, d in hits)
            new_lines.append(json.dumps(masked_obj, ensure_ascii=False) if hits else raw)
        frame = frame.with_columns(frame["raw_text"].clone().scatter(idx, pl.Series(new_lines, dtype=pl.Utf8)))

    bad_rows: list[dict] = []
    parsed = _try_ndjson(frame["raw_text"].to_list(), schema)
    if parsed is None:
        # Slow path: find the bad lines.
        keep = []
        last_line = frame["source_line"].max() if frame.height else None
        for line_no, raw in frame.select("source_line", "raw_text").iter_rows():
            reason = _line_problem(raw)
            if reason is None:
                keep.append(True)
                continue
            if line_no == last_line and not ends_with_newline:
                raise refuse(
                    path,
                    "one complete JSON object per line",
                    f"line {line_no}, the last, cut off part-way ({reason}) with no final newline: the file is truncated",
                )
            keep.append(False)
            bad_rows.append({"source_line": line_no, "raw_text": raw, "reason": f"not a usable JSON event: {reason}"})
        frame = frame.filter(pl.Series(keep, dtype=pl.Boolean))
        parsed = _try_ndjson(frame["raw_text"].to_list(), schema)
        if parsed is None:  # a value of a type polars cannot coerce: one line at a time
            parts, keep = [], []
            for line_no, raw in frame.select("source_line", "raw_text").iter_rows():
                one = _try_ndjson([raw], schema)
                keep.append(one is not None)
                if one is None:
                    bad_rows.append({"source_line": line_no, "raw_text": raw, "reason": "a field has a value of the wrong type"})
                else:
                    parts.append(one)
            frame = frame.filter(pl.Series(keep, dtype=pl.Boolean))
            parsed = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    assert parsed.height == frame.height, "JSONL line count changed while parsing"
    out = parsed.hstack(frame.select("source_line", "raw_text"))
    bad = pl.DataFrame(bad_rows, schema={"source_line": pl.Int64, "raw_text": pl.Utf8, "reason": pl.Utf8})
    return out, bad, incidents


def _try_ndjson(lines: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    if not lines:
        return pl.DataFrame(schema=schema)
    try:
        df = pl.read_ndjson(io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), schema=schema)
    except Exception:  # noqa: BLE001 - any failure sends us to the per-line path
        return None
    return df if df.height == len(lines) else None


def _line_problem(raw: str) -> str | None:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        return f"invalid JSON: {exc.msg}, column {exc.colno}"
    if not isinstance(obj, dict):
        return f"a JSON {type(obj).__name__}, not an object"
    for key in OBJECT_FIELDS:
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            return f"{key} must be an object or null"
    return None


def _parse_fields(ev: pl.DataFrame) -> pl.DataFrame:
    """The event's fields parsed beside themselves (``_at``, ``_pence``, ``_kind``, ...): null where malformed."""
    c = pl.col
    acc, cp = c("card_acceptor"), c("counterparty")
    return ev.with_columns(
        pl.coalesce(
            c("created_time").str.strptime(pl.Datetime("us", "UTC"), CREATED_FORMAT, strict=False),
            c("created_time").str.strptime(pl.Datetime("us", "UTC"), OFFSET_FORMAT, strict=False),
        ).alias("_at"),
        c("settlement_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("_settled"),
        c("amount_minor").str.strip_chars().cast(pl.Int64, strict=False).alias("_pence"),
        c("balance_after_minor").cast(pl.Int64, strict=False).alias("_balance"),
        c("type").replace_strict({k: v[0] for k, v in TYPE_KIND.items()}, default=None, return_dtype=pl.Utf8).alias("_kind"),
        c("type").replace_strict({k: v[1] for k, v in TYPE_KIND.items()}, default=None, return_dtype=pl.Int64).alias("_sign"),
        c("state").replace_strict(STATE_STATUS, default=None, return_dtype=pl.Utf8).alias("_status"),
        acc.struct.field("mcc").alias("_mcc"),
        cp.struct.field("sort_code").str.replace_all(r"[- ]", "").alias("_sort"),
        cp.struct.field("account_number").alias("_acct"),
    )


def _event_checks() -> list[tuple[pl.Expr, pl.Expr | str]]:
    """(condition, reason) for each way a parsed event can be bad (quarantined, not refused), in order."""
    c = pl.col
    empty = [(c(f).is_null() | (c(f).str.strip_chars() == ""), f"{f} is missing") for f in ("token", "card_token")]
    return [
        *empty,
        (c("type").is_null(), "type is missing"),
        (
            c("type").is_not_null() & c("_kind").is_null(),
            pl.format(f"unknown type '{{}}' (expected one of {', '.join(TYPE_KIND)})", c("type")),
        ),
        (c("state").is_null(), "state is missing"),
        (
            c("state").is_not_null() & c("_status").is_null(),
            pl.format(f"unknown state '{{}}' (expected one of {', '.join(STATE_STATUS)})", c("state")),
        ),
        (
            c("type").is_in(HOLD_REMOVERS) & (c("state") == "PENDING"),
            pl.format("{} cannot be PENDING (it removes a hold)", c("type")),
        ),
        (
            (c("type") == "authorization.release") & (c("state") == "COMPLETION"),
            "authorization.release cannot be COMPLETION (a release posts nothing)",
        ),
        (
            c("amount_minor").is_null() | ~c("amount_minor").str.contains(r"^\d+$").fill_null(False),
            pl.format("amount_minor '{}' is not a whole positive number of pence", c("amount_minor").fill_null("")),
        ),
        (
            c("currency").is_null() | (c("currency") != "GBP").fill_null(True),
            pl.format("currency '{}' is not GBP (only sterling items are accepted)", c("currency").fill_null("")),
        ),
        (
            c("_at").is_null(),
            pl.format("created_time '{}' is not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)", c("created_time").fill_null("")),
        ),
        (
            c("settlement_date").is_not_null() & c("_settled").is_null(),
            pl.format("settlement_date '{}' is not YYYY-MM-DD", c("settlement_date")),
        ),
        (
            c("balance_after_minor").is_not_null() & c("_balance").is_null(),
            pl.format("balance_after_minor '{}' is not a whole number of pence", c("balance_after_minor")),
        ),
        (
            c("_mcc").is_not_null() & ~c("_mcc").str.contains(r"^\d{4}$"),
            pl.format("card_acceptor.mcc '{}' is not 4 digits", c("_mcc")),
        ),
        (
            c("_sort").is_not_null() & ~c("_sort").str.contains(r"^\d{6}$"),
            pl.format("counterparty.sort_code '{}' is not 6 digits", c("_sort")),
        ),
        (
            c("_acct").is_not_null() & ~c("_acct").str.contains(r"^\d{8}$"),
            pl.format("counterparty.account_number '{}' is not 8 digits", c("_acct")),
        ),
        (
            (c("_status") == "settled").fill_null(False) & (c("_pence") == 0).fill_null(False),
            "a completed event of 0 pence cannot be posted",
        ),
    ]


def _canonical_rows(ok: pl.DataFrame, name: str) -> pl.DataFrame:
    """The good events as canonical transactions (plus ``raw_text``): a completed reversal moves money back
    onto the card; a card purchase at a cash MCC is cash."""
    c = pl.col
    acc, cp = c("card_acceptor"), c("counterparty")
    reversal_posts = (c("type") == "authorization.reversal") & (c("state") == "COMPLETION")
    kind = (
        pl.when(reversal_posts)
        .then(pl.lit("reversal"))
        .when((c("_kind") == "card_purchase") & c("_mcc").is_in(CASH_MCCS).fill_null(False))
        .then(pl.lit("cash"))
        .otherwise(c("_kind"))
    )
    sign = pl.when(reversal_posts).then(1).otherwise(c("_sign"))
    return ok.select(
        pl.lit("B").alias("provider"),
        c("token").alias("provider_txn_id"),
        c("card_token").alias("account_id"),
        kind.alias("kind"),
        c("_status").alias("status"),
        (c("_pence") * sign).alias("amount_pence"),
        c("currency"),
        c("_at").alias("occurred_at_utc"),
        utc_to_london_date("_at").alias("london_date"),
        c("_settled").alias("posted_date"),
        acc.struct.field("name").alias("merchant_name"),
        c("_mcc").alias("mcc"),
        acc.struct.field("country_code").alias("merchant_country"),
        cp.struct.field("name").alias("payee_name"),
        c("_sort").alias("payee_sort_code"),
        c("_acct").alias("payee_account_number"),
        pl.when(c("memo").str.strip_chars() == "").then(None).otherwise(c("memo")).alias("reference"),
        c("preceding_related_token").alias("related_txn_id"),
        c("_balance").alias("balance_after_pence"),
        pl.lit(name).alias("source_file"),
        c("source_line"),
        c("raw_text"),
    )


def read_events(path: Path) -> ReadResult:
    name = path.name
    ev, bad, incidents = parse_jsonl(path, EVENT_SCHEMA)
    ev = _parse_fields(ev).with_columns(reasons_expr(_event_checks()).alias("reason"))
    rejected = ev.filter(pl.col("reason").is_not_null())
    txns = _canonical_rows(ev.filter(pl.col("reason").is_null()), name)
    compare = [k for k in CANONICAL_SCHEMA if k != "source_line"]
    kept, conflicts = in_file_repeats(txns, ["provider_txn_id"], compare)
    conflicts = conflict_reasons(conflicts, "token")
    quarantine = concat_quarantine(
        [
            quarantine_frame(bad, name, "B"),
            quarantine_frame(rejected, name, "B", "token"),
            quarantine_frame(conflicts, name, "B", "provider_txn_id"),
        ]
    )
    return ReadResult(transactions=conform(kept), quarantine=quarantine, incidents=incidents)


def read_balances(path: Path) -> ReadResult:
    name = path.name
    df, bad, incidents = parse_jsonl(path, BALANCE_LINE_SCHEMA)
    c = pl.col
    df = df.with_columns(
        c("as_of_date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("_date"),
        c("ledger_balance_minor").cast(pl.Int64, strict=False).alias("_closing"),
        c("available_balance_minor").cast(pl.Int64, strict=False).alias("_available"),
    )
    df = df.with_columns(
        reasons_expr(
            [
                (c("card_token").is_null() | (c("card_token").str.strip_chars() == ""), "card_token is missing"),
                (c("_date").is_null(), pl.format("as_of_date '{}' is not YYYY-MM-DD", c("as_of_date").fill_null(""))),
                (
                    c("_closing").is_null() | ~c("ledger_balance_minor").str.contains(r"^-?\d+$").fill_null(False),
                    pl.format("ledger_balance_minor '{}' is not a whole number of pence", c("ledger_balance_minor").fill_null("")),
                ),
                (
                    c("available_balance_minor").is_not_null()
                    & (c("_available").is_null() | ~c("available_balance_minor").str.contains(r"^-?\d+$")),
                    pl.format("available_balance_minor '{}' is not a whole number of pence", c("available_balance_minor")),
                ),
            ]
        ).alias("reason")
    )
    rejected = df.filter(c("reason").is_not_null())
    balances = df.filter(c("reason").is_null()).select(
        pl.lit("B").alias("provider"),
        c("card_token").alias("account_id"),
        c("_date").alias("balance_date"),
        c("_closing").alias("closing_balance_pence"),
        c("_available").alias("available_balance_pence"),
        pl.lit(name).alias("source_file"),
        c("source_line"),
        c("raw_text"),
    )
    balances, conflicts = balance_repeats(balances)
    quarantine = concat_quarantine(
        [quarantine_frame(bad, name, "B"), quarantine_frame(rejected, name, "B"), quarantine_frame(conflicts, name, "B")]
    )
    return ReadResult(
        balances=balances.select(list(BALANCE_SCHEMA)).cast(BALANCE_SCHEMA),  # type: ignore[arg-type]
        quarantine=quarantine,
        incidents=incidents,
    )
