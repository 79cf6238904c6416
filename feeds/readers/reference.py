"""The council's extract: the six CSVs and councils.yaml, read from the declarations in schemas/.

Every column rule (type, required, choices, pattern) comes from ``schemas.reference``; nothing
about a column is written here. The extract is the council's full current state and replaces the
stored one, so it is one unit:
- refused whole (FileRefused) when councils.yaml or any of the six CSVs is missing, unreadable, has
  the wrong header, or the policy is invalid — loading the rest would silently erase, say, every
  approved payee;
- a bad ROW (malformed date or amount, a choice not in the list, an empty required field, a
  duplicate key, a client not in cardholders.csv, a cardholder of a council not in councils.yaml)
  is quarantined with file, line, raw text and reason, and the rest loads.

Duplicate keys: a row repeated word for word is one row (an export that wrote it twice says
nothing new, and holding both would make a known card unknown). Rows that share a key but differ
are all quarantined — the extract does not say which one is right, so none is guessed at (a
cardholder so held makes the card unknown: its money goes to suspense until the council corrects
the file, which is the visible, safe outcome).
Card numbers found in council files are masked and reported like anywhere else.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from feeds.readers.common import (
    check_header,
    concat_quarantine,
    decode_bytes,
    parse_csv_lines,
    pence_expr,
    quarantine_frame,
    reasons_expr,
    refuse,
    split_lines,
)
from feeds.readers.pan import Incident, mask_frame
from schemas.council_policy import PolicyError, parse_councils
from schemas.reference import CARDHOLDERS, COUNCILS_YAML, REFERENCE_FILES, ReferenceData, ReferenceFile

PROVIDER = "council"


def _read_policy(drop_dir: Path) -> tuple[dict, str]:
    path = drop_dir / COUNCILS_YAML
    if not path.is_file():
        raise refuse(path, "the council policy file councils.yaml in the drop folder", "no such file")
    text, _ = decode_bytes(path.read_bytes(), path, allow_cp1252=False)
    try:
        return parse_councils(text), text
    except PolicyError as exc:
        raise refuse(path, "a valid council policy", str(exc)) from exc


def _column_checks(spec: ReferenceFile) -> tuple[list[tuple[pl.Expr, pl.Expr | str]], list[pl.Expr]]:
    """Per-column reasons and parsed values, from the declaration."""
    checks: list[tuple[pl.Expr, pl.Expr | str]] = []
    parsed: list[pl.Expr] = []
    for col in spec.columns:
        c = pl.col(col.name)
        if col.required:
            checks.append((c.is_null(), f"{col.name} is empty (required)"))
        if col.kind in ("text", "choice"):
            value = c
            if col.choices:
                checks.append(
                    (
                        c.is_not_null() & ~c.is_in(col.choices),
                        pl.format(f"{col.name} '{{}}' is not one of {', '.join(col.choices)}", c),
                    )
                )
            if col.pattern:
                checks.append(
                    (
                        c.is_not_null() & ~c.str.contains(f"^(?:{col.pattern})$"),
                        pl.concat_str([pl.lit(f"{col.name} '"), c, pl.lit(f"' does not have the expected form {col.pattern}")]),
                    )
                )
        elif col.kind == "date":
            value = c.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            checks.append((c.is_not_null() & value.is_null(), pl.format(f"{col.name} '{{}}' is not a YYYY-MM-DD date", c)))
        elif col.kind == "money":
            value = pence_expr(c)
            checks.append(
                (c.is_not_null() & value.is_null(), pl.format(f"{col.name} '{{}}' is not an amount in pounds and pence", c))
            )
            checks.append(((value < 0).fill_null(False), pl.format(f"{col.name} '{{}}' must not be negative", c)))
        elif col.kind == "int":
            value = c.cast(pl.Int64, strict=False)
            checks.append(
                (c.is_not_null() & ~c.str.contains(r"^\d{1,9}$"), pl.format(f"{col.name} '{{}}' is not a whole number", c))
            )
        elif col.kind == "flag":
            upper = c.str.to_uppercase()
            value = pl.when(upper == "Y").then(True).when(upper == "N").then(False).otherwise(None)
            checks.append((c.is_not_null() & ~upper.is_in(["Y", "N"]), pl.format(f"{col.name} '{{}}' is not Y or N", c)))
        else:  # pragma: no cover - a new kind in schemas/reference.py must be handled here
            raise AssertionError(f"unknown column kind {col.kind!r} for {spec.file_name}:{col.name}")
        parsed.append(value.cast(col.dtype).alias(col.stored_name))
    return checks, parsed


def read_reference_file(
    path: Path, spec: ReferenceFile, known_clients: set[str] | None, councils: set[str]
) -> tuple[pl.DataFrame, pl.DataFrame, list[Incident]]:
    """One council CSV: (frame in ``spec.schema``, quarantine, card numbers found and masked).

    A council extract should never hold a card number either; if one does (a PAN typed into a
    reference or a payee name), it is masked before anything is stored and reported as a security
    incident with file and line, as for the providers' files."""
    if not path.is_file():
        raise refuse(path, f"{spec.file_name} in the council extract (the extract is full state; a missing file would erase it)", "no such file")
    text, _ = decode_bytes(path.read_bytes(), path, allow_cp1252=False)
    lines = split_lines(text)
    header = check_header(path, lines[0], spec.header, spec.file_name)
    good, bad = parse_csv_lines(lines[1:], 2, header)
    good, incidents = mask_frame(good, header, path.name)
    good, _ = mask_frame(good, ["raw_text"], path.name, report=False)  # the same hits, already reported by field
    bad, bad_incidents = mask_frame(bad, ["raw_text"], path.name, field_names={"raw_text": "line"})
    incidents += bad_incidents
    checks, parsed = _column_checks(spec)
    if known_clients is not None and "client_id" in spec.header:
        checks.append(
            (
                pl.col("client_id").is_not_null() & ~pl.col("client_id").is_in(sorted(known_clients)),
                pl.format("unknown client_id '{}' (not among the loaded rows of cardholders.csv)", pl.col("client_id")),
            )
        )
    if spec is CARDHOLDERS:
        checks.append(
            (
                pl.col("council").is_not_null() & ~pl.col("council").is_in(sorted(councils)),
                pl.format("council '{}' is not in councils.yaml", pl.col("council")),
            )
        )
    df = good.with_columns(reasons_expr(checks).alias("reason"))
    rejected = df.filter(pl.col("reason").is_not_null())
    ok = df.filter(pl.col("reason").is_null())
    # Duplicate keys among the rows that are otherwise fine: an exact repeat is one row; rows that
    # differ under one key are all held (module docstring).
    key = list(spec.key)
    ok = ok.unique(subset=list(header), keep="first", maintain_order=True)
    ok = ok.with_columns(pl.len().over(key).alias("_n"))
    dupes = ok.filter(pl.col("_n") > 1).with_columns(
        pl.format(
            f"duplicate key ({', '.join(key)}) = ({', '.join('{}' for _ in key)}) on {{}} lines; "
            "none of them is loaded until the council corrects the file",
            *[pl.col(k) for k in key],
            pl.col("_n"),
        ).alias("reason")
    )
    ok = ok.filter(pl.col("_n") == 1)
    frame = ok.select(*parsed, pl.col("source_line")).cast(spec.schema)  # type: ignore[arg-type]
    quarantine = concat_quarantine(
        [
            quarantine_frame(bad, path.name, PROVIDER),
            quarantine_frame(rejected, path.name, PROVIDER),
            quarantine_frame(dupes, path.name, PROVIDER),
        ]
    )
    return frame.select(list(spec.schema)), quarantine, incidents


def read_reference(drop_dir: Path | str) -> tuple[ReferenceData, pl.DataFrame, list[Incident]]:
    """The council extract in ``drop_dir``: (ReferenceData, quarantined rows, card numbers found
    and masked). Raises FileRefused when the extract as a whole cannot be used (see the module
    docstring)."""
    drop_dir = Path(drop_dir)
    councils, _ = _read_policy(drop_dir)
    frames: dict[str, pl.DataFrame] = {}
    quarantined: list[pl.DataFrame] = []
    cardholders, q, incidents = read_reference_file(drop_dir / CARDHOLDERS.file_name, CARDHOLDERS, None, set(councils))
    frames["cardholders"] = cardholders
    quarantined.append(q)
    clients = set(cardholders["client_id"].to_list())
    for spec in REFERENCE_FILES:
        if spec is CARDHOLDERS:
            continue
        frame, q, found = read_reference_file(drop_dir / spec.file_name, spec, clients, set(councils))
        frames[spec.file_name.removesuffix(".csv")] = frame
        quarantined.append(q)
        incidents += found
    return ReferenceData(councils=councils, **frames), concat_quarantine(quarantined), incidents
