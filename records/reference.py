"""The council's reference extract as stored: each nightly extract replaces the last (full state, not deltas)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
import yaml
from sqlalchemy import Connection, Select, and_, false, or_, select

from db.bulk import bulk_insert, to_date
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


# --- one client, one team: what the workspace shows per page (indexes from migration 0015) ------------
_HOLDERS = REFERENCE_TABLES["cardholders.csv"]
_EVENTS = REFERENCE_TABLES["client_events.csv"]


def team_clients(teams: Iterable[tuple[str, str]]) -> Select:
    """A subquery of the client ids in these (council, team) pairs of the current extract: a safeguarding
    lead's clients. No pairs, no clients."""
    pairs = sorted(set(teams))
    match = or_(*[and_(_HOLDERS.c.council == c, _HOLDERS.c.team == t) for c, t in pairs]) if pairs else false()
    return select(_HOLDERS.c.client_id).where(match)


def council_teams(conn: Connection, councils: Iterable[str]) -> list[tuple[str, str]]:
    """The (council, team) pairs the current extract names for these councils, sorted."""
    rows = conn.execute(
        select(_HOLDERS.c.council, _HOLDERS.c.team).distinct()
        .where(_HOLDERS.c.council.in_(sorted(set(councils))), _HOLDERS.c.team.is_not(None))
    ).all()
    return sorted((str(c), str(t)) for c, t in rows)


def cardholder(conn: Connection, client_id: str) -> dict[str, Any] | None:
    """The client's row of the current extract (card, budget, cash rules, team), or None."""
    cols = [c for c in _HOLDERS.c if c.name not in ("row_id", "source_line", "extract_file")]
    row = conn.execute(select(*cols).where(_HOLDERS.c.client_id == client_id)).mappings().first()
    return dict(row) if row else None


def client_life_events(conn: Connection, client_id: str) -> list[dict[str, Any]]:
    """The life events the council recorded for the client (hospital, respite, deceased, ...), oldest first."""
    rows = conn.execute(
        select(_EVENTS.c.event, _EVENTS.c.date).where(_EVENTS.c.client_id == client_id).order_by(_EVENTS.c.date, _EVENTS.c.event)
    ).mappings()
    return [{"event": r["event"], "date": to_date(r["date"])} for r in rows]
