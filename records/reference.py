"""The council's reference extract as stored: each nightly extract replaces the last (full state, not deltas)."""

from __future__ import annotations

import polars as pl
import yaml
from sqlalchemy import Connection, select

from db.bulk import bulk_insert
from db.bulk_read import query_frame
from records.tables import REFERENCE_TABLES, ref_councils
from schemas.council_policy import parse_councils
from schemas.reference import REFERENCE_FILES, ReferenceData


def save_reference(conn: Connection, ref: ReferenceData, councils_yaml: str, extract_file: str) -> None:
    """Replace the stored reference data with this extract (the council sends full state, not deltas)."""
    for spec in REFERENCE_FILES:
        table = REFERENCE_TABLES[spec.file_name]
        conn.execute(table.delete())
        frame = ref.frame(spec)
        cols = [c.stored_name for c in spec.columns] + ["source_line"]
        bulk_insert(conn, table.name, frame.select(cols).with_columns(pl.lit(extract_file).alias("extract_file")))
    conn.execute(ref_councils.delete())
    doc = yaml.safe_load(councils_yaml)
    for raw in doc["councils"]:
        conn.execute(
            ref_councils.insert().values(
                name=str(raw["name"]),
                policy_yaml=yaml.safe_dump({"councils": [raw]}, sort_keys=True),
                extract_file=extract_file,
            )
        )


def load_reference(conn: Connection) -> ReferenceData:
    """The council reference data as last loaded (empty frames before the first extract)."""
    councils = {}
    for (policy_yaml,) in conn.execute(select(ref_councils.c.policy_yaml).order_by(ref_councils.c.name)):
        councils.update(parse_councils(policy_yaml))
    frames = {}
    for spec in REFERENCE_FILES:
        table = REFERENCE_TABLES[spec.file_name]
        cols = [c.stored_name for c in spec.columns] + ["source_line"]
        stmt = select(*[table.c[c] for c in cols]).order_by(table.c.row_id)
        frames[spec.file_name.removesuffix(".csv")] = query_frame(conn, stmt, None, spec.schema)
    return ReferenceData(councils=councils, **frames)


def council_names(conn: Connection) -> list[str]:
    """The councils in the stored extract, in order (none before the first extract)."""
    return [name for (name,) in conn.execute(select(ref_councils.c.name).order_by(ref_councils.c.name))]
