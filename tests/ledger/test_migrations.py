"""Migrations: a new database gets exactly the declared schema, an older one is brought up to it, and
each revision carries the SQL it runs.

The baseline (0001) is frozen SQL (the schema as of revision 0014), so these tests compare what the
migrations build with what the declarations give today (``create_all`` over every tables module, then
``ledger.guards``): columns with their types, defaults and comments, keys, checks, every index (the
expression index too), triggers and, on PostgreSQL, the guard functions' source. "Older database" is
made here by downgrading, or by removing after 0001 what later revisions introduced; ``upgrade`` to
head must put it back, with the data kept, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from db.append_only import append_only_ddl
from db.engine import get_engine
from ledger.guards import POSTGRES_SET_BASED_ENTRY_REFERENCE, POSTGRES_SET_BASED_REFERENCES, guard_ddl
from ledger.journal import post_entries
from migrations.migrate import MIGRATIONS_DIR, alembic_config, current_revision, upgrade
from migrations.registry import append_only_tables, load_all_tables
from tests.conftest import drop_pg_database, make_pg_database
from tests.ledger import factories as f


def _norm(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


def _catalogue(conn: Connection) -> tuple[dict, dict, dict]:
    """(index -> definition, trigger -> definition, function -> source) from the database's catalogue
    (the inspector skips expression indexes and knows nothing of triggers)."""
    if conn.dialect.name == "sqlite":
        def rows(kind: str) -> dict:
            sql = "SELECT name, sql FROM sqlite_master WHERE type = :k AND tbl_name <> 'alembic_version'"
            return {n: _norm(d) for n, d in conn.execute(text(sql), {"k": kind})}

        return rows("index"), rows("trigger"), {}
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()

    def local(rows) -> dict:  # definitions name the schema; the test's databases are schemas of their own
        return {n: _norm(d).replace(f" {schema}.", " ") for n, d in rows}

    indexes = local(conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
    )))
    triggers = local(conn.execute(text(
        "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
    )))
    functions = dict(conn.execute(text("SELECT proname, prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace")).all())
    return indexes, triggers, functions


def schema_of(conn: Connection) -> dict:
    """Everything about the schema a migration could get wrong, in a form two databases can be compared by."""
    insp = inspect(conn)
    pg = conn.dialect.name == "postgresql"
    tables = {}
    with warnings.catch_warnings():  # SQLite's inspector warns that it skips the expression index
        warnings.simplefilter("ignore")
        for name in sorted(set(insp.get_table_names()) - {"alembic_version"}):
            tables[name] = {
                "columns": {c["name"]: {**c, "type": str(c["type"])} for c in insp.get_columns(name)},
                "primary_key": insp.get_pk_constraint(name),
                "foreign_keys": sorted(
                    (k["name"] or "", tuple(k["constrained_columns"]), k["referred_table"], tuple(k["referred_columns"]),
                     sorted(k.get("options", {}).items()))
                    for k in insp.get_foreign_keys(name)
                ),
                "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(name)),
                "checks": sorted((c["name"] or "", _norm(c["sqltext"])) for c in insp.get_check_constraints(name)),
                "comment": insp.get_table_comment(name).get("text") if pg else None,
            }
    indexes, triggers, functions = _catalogue(conn)
    return {"tables": tables, "indexes": indexes, "triggers": triggers, "functions": functions}


def differences(a: dict, b: dict, path: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(a) | set(b), key=str):
        where = f"{path}/{key}"
        if key not in b or key not in a:
            out.append(f"{where}: only in the {'migrated' if key in a else 'declared'} schema")
        elif isinstance(a[key], dict) and isinstance(b[key], dict):
            out += differences(a[key], b[key], where)
        elif a[key] != b[key]:
            out.append(f"{where}: migrated {a[key]!r}, declared {b[key]!r}")
    return out


@pytest.fixture
def declared_schema(db_url, tmp_path) -> dict:
    """The schema the declarations give today, built on a fresh database of the same kind as ``db_url``:
    every table, ledger/guards.py's guards, the append-only tables' triggers (db/append_only.py), and on PostgreSQL without the foreign keys the guards replace
    (ledger.guards says which; revisions 0005 and 0012 drop them)."""
    if db_url.startswith("sqlite"):
        url, schema = f"sqlite:///{tmp_path / 'declared.db'}", None
    else:
        url, schema = make_pg_database()
    try:
        with get_engine(url).begin() as conn:
            load_all_tables().create_all(conn)
            for ddl in guard_ddl(conn.dialect.name):
                conn.execute(text(ddl))
            for table, why in append_only_tables().items():
                for ddl in append_only_ddl(conn.dialect.name, table, why):
                    conn.execute(text(ddl))
            if conn.dialect.name == "postgresql":
                for table, constraint in (*POSTGRES_SET_BASED_REFERENCES, POSTGRES_SET_BASED_ENTRY_REFERENCE):
                    conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}"))
        with get_engine(url).connect() as conn:
            return schema_of(conn)
    finally:
        if schema:
            drop_pg_database(url, schema)
        else:
            get_engine(url).dispose()


def test_a_new_database_migrated_to_head_has_exactly_the_declared_schema(db_url, declared_schema):
    # Goal: the frozen baseline plus every later revision gives what the declarations say, no more, no
    # less: a declaration changed without a revision (or a revision without its declaration) fails here.
    with get_engine(db_url).connect() as conn:
        migrated = schema_of(conn)
    assert migrated["tables"] and migrated["indexes"] and migrated["triggers"]
    assert "ix_transactions_utc_hour" in migrated["indexes"], "the expression index is compared too"
    assert not differences(migrated, declared_schema), "\n".join(differences(migrated, declared_schema))


def test_an_older_database_upgrades_to_exactly_the_declared_schema(db_url, declared_schema):
    # Goal: a database at the baseline (every later revision undone, as a database made before them
    # would be) is brought by upgrade to exactly the declared schema.
    engine = get_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
        older = schema_of(conn)
    assert "take_on_pending" not in older["tables"] and "client_days" not in older["tables"]
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        migrated = schema_of(conn)
    assert not differences(migrated, declared_schema), "\n".join(differences(migrated, declared_schema))


def test_revisions_carry_their_own_sql():
    # Goal: a revision means the same whatever the code becomes: no revision imports project code
    # (tables, guards, reads, SQL fragments), only Alembic, SQLAlchemy, the standard library and the
    # migrations package's own "if missing" helpers; the baseline runs its frozen SQL files.
    allowed = {"alembic", "sqlalchemy", "migrations", "pathlib", "__future__"}
    versions = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert len(versions) >= 14
    for path in versions:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
    for dialect in ("sqlite", "postgresql"):
        sql = Path(MIGRATIONS_DIR / "versions" / f"0001_baseline.{dialect}.sql").read_text(encoding="utf-8")
        assert "CREATE TABLE transactions" in sql and "CREATE TRIGGER journal_entries_balanced" in sql


LATER_COLUMNS = {  # added by revisions 0002-0014, which add what is missing
    "transactions": ("held_amount_pence", "hold_closed_on"),
    "suppressions": ("withdrawn_by", "withdrawn_at", "withdrawn_reason"),
}


def test_upgrade_adds_later_columns_to_an_older_database(db_url):
    # Goal: a database made by an older baseline (before 0002-0014's columns and 0015's workspace) comes to
    # head. Revisions after the frozen baseline use plain operations, so 0015 onwards is first taken off
    # by their own downgrades; 0002-0014 add what is missing.
    engine = get_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS card_balance_checkpoints"))
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert not {"held_amount_pence"} & {c["name"] for c in inspect(conn).get_columns("transactions")}
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        insp = inspect(conn)
        for table, columns in LATER_COLUMNS.items():
            assert set(columns) <= {c["name"] for c in insp.get_columns(table)}, table
        assert insp.has_table("card_balance_checkpoints") and insp.has_table("access_log")
        assert "assigned_to" in {c["name"] for c in insp.get_columns("safeguarding_cases")}
        head = current_revision(conn)
    with engine.begin() as conn:  # and again: nothing left to do
        upgrade(conn)
        assert current_revision(conn) == head


def _entry_indexes(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal_entries'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'journal_entries' AND schemaname = current_schema()"
    return {r[0] for r in conn.execute(text(sql))}


DROPPED_BY_0011 = {"ix_journal_entries_client_date", "ix_journal_entries_provider_txn"}


def test_upgrade_drops_the_entry_indexes_nothing_reads_and_downgrade_restores_them(db_url):
    """Migration 0011: a database made before it (downgraded to 0010, which re-creates the two) loses
    ix_journal_entries_client_date and ix_journal_entries_provider_txn on upgrade (nothing reads
    entries that way; docs/performance.md); the indexes that are read stay."""
    engine = get_engine(db_url)
    with engine.connect() as conn:
        kept = _entry_indexes(conn)
        head = current_revision(conn)
    assert not kept & DROPPED_BY_0011, "a new database must not have them"
    assert {"ix_journal_entries_date", "ix_journal_entries_reverses"} <= kept
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    with engine.connect() as conn:
        assert current_revision(conn) == "0010"
        assert _entry_indexes(conn) == kept | DROPPED_BY_0011
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert current_revision(conn) == head
        assert _entry_indexes(conn) == kept


def _entry_reference(conn) -> tuple[bool, bool]:
    """(postings has the deferred foreign key to its entry, the set-based commit check is installed)."""
    fk = "fk_postings_entry" in {f["name"] for f in inspect(conn).get_foreign_keys("postings")}
    if conn.dialect.name != "postgresql":
        return fk, False
    trigger = conn.execute(  # in this schema only: other schemas of the database may hold a ledger too
        text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'posting_entries_exist' AND NOT t.tgisinternal"
            " AND c.relnamespace = current_schema()::regnamespace"
        )
    ).scalar_one()
    return fk, bool(trigger)


def _post_without_entry(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO postings (posting_id, entry_id, account_code, amount_pence, london_date, effective_at)"
                " VALUES (100, 77, :code, 5, '2026-03-02', '2026-03-02 10:00:00')"
            ),
            {"code": f.CARD.code},
        )


def test_0012_replaces_the_entry_foreign_key_on_postgres_and_downgrade_restores_it(db_url):
    """Migration 0012: on PostgreSQL the per-row deferred foreign key from postings to entries gives way
    to the set-based check at commit (ledger/guards.py); SQLite keeps the foreign key. Either way, before
    and after, a posting whose entry never arrives is refused at commit."""
    engine = get_engine(db_url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        head = current_revision(conn)
        assert _entry_reference(conn) == ((False, True) if pg else (True, False))
        assert inspect(conn).has_table("posting_entry_checks")
        post_entries(conn, *f.batch([f.load("L1", 10_000)]), f.accounts(), source="test")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with engine.connect() as conn:
        assert _entry_reference(conn) == (True, False)
        assert not inspect(conn).has_table("posting_entry_checks")
    with pytest.raises(DBAPIError):  # the restored foreign key refuses it
        _post_without_entry(engine)
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert current_revision(conn) == head
        assert _entry_reference(conn) == ((False, True) if pg else (True, False))
    with pytest.raises(DBAPIError, match="does not exist" if pg else "FOREIGN KEY"):
        _post_without_entry(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postings")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM posting_entry_checks")).scalar_one() == 0


def test_0014_fills_the_take_on_queue_of_an_older_database(db_url):
    """Migration 0014: a database made before it (downgraded to 0013: no take_on_pending) gets the queue,
    filled with the balances that could still need a take-on: a card with none yet, or a day before its
    take-on. A day at or after a card's take-on is not queued."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0013")
    with engine.begin() as conn:
        assert not inspect(conn).has_table("take_on_pending")
        for provider, account, day in (("A", "1", "2026-03-02"), ("A", "1", "2026-03-05"), ("A", "2", "2026-03-04"),
                                       ("B", "9", "2026-03-01"), ("B", "9", "2026-03-03")):
            conn.execute(
                text(
                    "INSERT INTO provider_balances (provider, account_id, balance_date, closing_balance_pence, source_file,"
                    " loaded_at) VALUES (:p, :a, :d, 100, 'balances.csv', '2026-03-06 06:00:00+00:00')"
                ),
                {"p": provider, "a": account, "d": day},
            )
        conn.execute(text(
            "INSERT INTO card_take_ons (provider, account_id, balance_date, amount_pence) VALUES"
            " ('A', '1', '2026-03-02', 100), ('B', '9', '2026-03-03', 100)"
        ))
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        queued = conn.execute(text("SELECT provider, account_id, balance_date FROM take_on_pending ORDER BY 1, 2, 3")).all()
    assert [(p, a, str(d)[:10]) for p, a, d in queued] == [("A", "2", "2026-03-04"), ("B", "9", "2026-03-01")]
