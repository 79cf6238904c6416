"""What every reader shares: the result shapes, refusals, decoding, CSV line splitting, exact money.

Why line-based CSV: a bad row must be reported with its physical line number and its raw text, and
the rest of the file must still load. Polars' CSV reader would either fail the whole file or pad a
short row silently, so each physical line is first checked (quotes balanced, right number of
fields) with vectorised string expressions, and only the well-formed lines go to ``pl.read_csv``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from feeds.readers.pan import Incident, mask_pans_in_text
from schemas.canonical import BALANCE_SCHEMA, CANONICAL_SCHEMA, QUARANTINE_SCHEMA

LONDON_TZ = "Europe/London"
MAX_REASONS_SHOWN = 3

# Pounds with up to two decimals, optional thousands separators and £, optional minus before or
# after the £. At most 15 integer digits so pence never overflow Int64.
AMOUNT_RE = r"^(?P<neg1>-)?£?(?P<neg2>-)?(?P<int>\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.(?P<frac>\d{1,2}))?$"
# A quoted CSV field, with "" as an escaped quote inside it.
QUOTED_FIELD_RE = r'"(?:[^"]|"")*"'


class FileRefused(Exception):  # noqa: N818 - the name other areas import
    """A whole file cannot be read; the message says which file, what was expected, what was found
    and what happens next. Nothing of the file is loaded."""


@dataclass
class ReadResult:
    transactions: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CANONICAL_SCHEMA))
    balances: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BALANCE_SCHEMA))
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    incidents: list[Incident] = field(default_factory=list)


NEXT_STEP = "Nothing from this file was loaded; the other files carry on, and this one loads when a corrected copy arrives"


def refuse(path: Path | str, expected: str, found: str) -> FileRefused:
    """A refusal in the house format: file, expected, found, what happens next. ``found`` may quote
    the file (a header line), so card numbers are masked here too: the message is stored."""
    return FileRefused(mask_pans_in_text(f"{Path(path).name}: expected {expected}; found {found}. {NEXT_STEP}."))


def decode_bytes(raw: bytes, path: Path, *, allow_cp1252: bool) -> tuple[str, str]:
    """Decode a text file: UTF-8 (BOM or not), else Windows-1252 where the format allows it.

    Returns (text, encoding). Refuses empty files, binary files and anything that is neither.
    """
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise refuse(path, "a header row and data", "an empty file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse(path, "UTF-8" + (" or Windows-1252" if allow_cp1252 else ""), "a UTF-16 byte-order mark")
    if b"\x00" in raw:
        raise refuse(path, "a text file", "binary content (NUL bytes)")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        if not allow_cp1252:
            raise refuse(path, "UTF-8 text", f"bytes that are not UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})") from exc
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise refuse(
            path,
            "UTF-8 or Windows-1252 text",
            f"bytes that are neither (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})",
        ) from exc


def split_lines(text: str) -> list[str]:
    """Physical lines without their line ends (CRLF or LF)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def normalise_header(line: str) -> tuple[str, ...]:
    """Header fields, unquoted and stripped (a header written with quotes is the same header)."""
    frame = pl.read_csv(io.StringIO(line + "\n"), has_header=False, infer_schema=False)
    return tuple((v or "").strip() for v in frame.row(0))


def header_problem(expected: tuple[str, ...], found: tuple[str, ...]) -> str:
    """Say exactly where a header differs."""
    for i, (e, f) in enumerate(zip(expected, found, strict=False), 1):
        if e != f:
            return f"column {i} is {f!r} where {e!r} was expected"
    return f"{len(found)} columns where {len(expected)} were expected"


def check_header(path: Path, first_line: str, expected: tuple[str, ...], what: str) -> tuple[str, ...]:
    """The file's columns: exactly ``expected`` in order, optionally followed by extra named columns.

    Why extras are allowed: FEEDS.md lets the project *extend* a format with optional columns,
    never change it — so a renamed, missing or moved column refuses the file, while a new column
    appended after the known ones is read past (its values are not used).
    """
    try:
        header = normalise_header(first_line)
    except Exception as exc:  # noqa: BLE001 - any parse failure of the header line is a refusal
        raise refuse(path, f"the {what} header row", f"an unreadable first line {first_line[:120]!r}") from exc
    known, extra = header[: len(expected)], header[len(expected) :]
    if known != expected:
        raise refuse(path, f"the {what} header '{','.join(expected)}'", f"'{first_line[:300]}' ({header_problem(expected, header)})")
    if any(not name for name in extra) or len(set(header)) != len(header):
        raise refuse(
            path,
            f"the {what} header '{','.join(expected)}', optionally followed by extra named columns",
            f"'{first_line[:300]}' (an extra column is unnamed or repeats a name)",
        )
    return header


def parse_csv_lines(
    lines: list[str], first_line_no: int, columns: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse data lines into an all-text frame plus ``source_line`` and ``raw_text``.

    Returns (good, bad): ``bad`` has source_line, raw_text and reason for lines with unbalanced
    quotes or the wrong number of fields. Blank lines are skipped (they are not records).
    """
    raw = pl.DataFrame(
        {"raw_text": lines, "source_line": pl.int_range(first_line_no, first_line_no + len(lines), eager=True)},
        schema={"raw_text": pl.Utf8, "source_line": pl.Int64},
    ).filter(pl.col("raw_text").str.strip_chars() != "")
    quotes_odd = (pl.col("raw_text").str.count_matches('"') % 2) == 1
    n_fields = pl.col("raw_text").str.replace_all(QUOTED_FIELD_RE, '""').str.count_matches(",") + 1
    raw = raw.with_columns(
        pl.when(quotes_odd)
        .then(pl.lit("unbalanced double quotes (a quoted field is not closed on this line)"))
        .when(n_fields != len(columns))
        .then(pl.format(f"expected {len(columns)} comma-separated fields, found {{}}", n_fields))
        .alias("reason")
    )
    bad = raw.filter(pl.col("reason").is_not_null())
    good_raw = raw.filter(pl.col("reason").is_null())
    if good_raw.height == 0:
        empty = pl.DataFrame(schema={c: pl.Utf8 for c in columns} | {"source_line": pl.Int64, "raw_text": pl.Utf8})
        return empty, bad
    body = "\n".join(good_raw["raw_text"].to_list()) + "\n"
    parsed = pl.read_csv(
        io.StringIO(body),
        has_header=False,
        new_columns=list(columns),
        schema={c: pl.Utf8 for c in columns},
        quote_char='"',
        truncate_ragged_lines=False,
    )
    assert parsed.height == good_raw.height, "CSV line count changed while parsing"
    parsed = parsed.with_columns(pl.col(c).str.strip_chars() for c in columns).with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )
    return parsed.hstack(good_raw.select("source_line", "raw_text")), bad


def pence_expr(col: str | pl.Expr) -> pl.Expr:
    """Pounds text (``1,234.56``, ``£45.00``, ``-£5``) to exact integer pence; null when malformed.

    Exact: the integer and fraction digits are read as text, never through a float.
    """
    c = pl.col(col) if isinstance(col, str) else col
    g = c.str.strip_chars().str.extract_groups(AMOUNT_RE)
    whole = g.struct.field("int").str.replace_all(",", "").cast(pl.Int64, strict=False)
    frac = g.struct.field("frac").fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    negative = g.struct.field("neg1").is_not_null() | g.struct.field("neg2").is_not_null()
    pence = whole * 100 + frac
    return pl.when(g.struct.field("neg1").is_not_null() & g.struct.field("neg2").is_not_null()).then(None).otherwise(
        pl.when(negative).then(-pence).otherwise(pence)
    )


def reasons_expr(checks: list[tuple[pl.Expr, pl.Expr | str]]) -> pl.Expr:
    """Join the reasons whose condition holds with "; " (null when none holds)."""
    parts = [pl.when(cond).then(msg if isinstance(msg, pl.Expr) else pl.lit(msg)) for cond, msg in checks]
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def quarantine_frame(
    bad: pl.DataFrame, source_file: str, provider: str, txn_id_col: str | None = None
) -> pl.DataFrame:
    """Rows of ``bad`` (source_line, raw_text, reason[, id column]) in QUARANTINE_SCHEMA."""
    if bad.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    txn = pl.col(txn_id_col) if txn_id_col and txn_id_col in bad.columns else pl.lit(None, dtype=pl.Utf8)
    return bad.select(
        pl.lit(source_file).alias("source_file"),
        pl.col("source_line").cast(pl.Int64),
        pl.lit(provider).alias("provider"),
        txn.cast(pl.Utf8).alias("provider_txn_id"),
        pl.col("reason").cast(pl.Utf8),
        pl.col("raw_text").cast(pl.Utf8),
    )


def concat_quarantine(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f.select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA) for f in frames if f.height]  # type: ignore[arg-type]
    if not frames:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return pl.concat(frames).sort("source_line", nulls_last=True)


def utc_to_london_date(col: str | pl.Expr) -> pl.Expr:
    c = pl.col(col) if isinstance(col, str) else col
    return c.dt.convert_time_zone(LONDON_TZ).dt.date()


def in_file_repeats(df: pl.DataFrame, key: list[str], compare: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """At-least-once delivery inside one file: exact repeats of a key are dropped quietly (first
    kept); a key seen with different details is a conflict and ALL its lines are returned for
    quarantine (we cannot tell which is right).

    Returns (kept, conflicting rows).
    """
    if df.height == 0:
        return df, df.clear()
    repeated = df.select(pl.struct(key).is_duplicated()).to_series()
    if not repeated.any():  # the usual case: nothing to compare, stay vectorised and cheap
        return df, df.clear()
    payload = pl.struct([pl.col(c) for c in compare if c in df.columns])
    marked = df.with_columns(
        pl.when(repeated).then(payload.n_unique().over(key)).otherwise(1).alias("_versions")
    )
    conflicts = marked.filter(pl.col("_versions") > 1).drop("_versions")
    kept = marked.filter(pl.col("_versions") == 1).drop("_versions").unique(key, keep="first", maintain_order=True)
    return kept, conflicts
