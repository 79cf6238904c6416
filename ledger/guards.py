"""The database's own guards on posted history, for PostgreSQL and SQLite.

Why in the database and not only in Python: auditors, scripts and future code write to this
database too. Whatever path a row takes, the database itself refuses

* a journal entry whose postings do not sum to zero, or that has fewer than two postings;
* a posting added to an entry that is already posted;
* any UPDATE or DELETE (and on PostgreSQL, TRUNCATE) of ``journal_entries`` or ``postings``.

How the balance check works (both databases): postings are written *before* their entry (the
foreign key from postings to entries is deferred to commit), and inserting the entry fires a
check over its postings. On PostgreSQL that check is a statement-level trigger with a transition
table, so a bulk COPY of a million entries is checked by one set-based query rather than a million
per-row trigger calls; on SQLite (in-process, no statement triggers) it is a per-row trigger. A
posting inserted after its entry is refused, and a posting whose entry never arrives fails the
deferred foreign key at commit, so there is no order of statements that commits an unbalanced
entry.
"""

from __future__ import annotations

IMMUTABLE_TABLES = ("journal_entries", "postings", "posting_batches")

POSTGRES_DDL: tuple[str, ...] = (
    """
    CREATE OR REPLACE FUNCTION careledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'careledger: % on % is refused: posted history is immutable; post a reversing entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION careledger_check_new_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
      SELECT n.entry_id, n.idempotency_key,
             coalesce(sum(p.amount_pence), 0) AS total_pence, count(p.posting_id) AS n_postings
        INTO bad
        FROM new_entries n LEFT JOIN postings p ON p.entry_id = n.entry_id
       GROUP BY n.entry_id, n.idempotency_key
      HAVING coalesce(sum(p.amount_pence), 0) <> 0 OR count(p.posting_id) < 2
       LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % (%) does not balance: % posting(s) summing to % pence',
          bad.entry_id, bad.idempotency_key, bad.n_postings, bad.total_pence USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION careledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint;
    BEGIN
      SELECT np.entry_id INTO bad FROM new_postings np
       WHERE EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = np.entry_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % is already posted; its postings cannot change', bad
          USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_entries()
    """,
    """
    CREATE TRIGGER postings_entry_not_posted AFTER INSERT ON postings
      REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_postings()
    """,
    *(
        f"CREATE TRIGGER {t}_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_change()"
        for t in IMMUTABLE_TABLES
    ),
)

SQLITE_DDL: tuple[str, ...] = (
    """
    CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    WHEN (SELECT count(*) FROM postings WHERE entry_id = NEW.entry_id) < 2
      OR (SELECT coalesce(sum(amount_pence), 0) FROM postings WHERE entry_id = NEW.entry_id) <> 0
    BEGIN
      SELECT RAISE(ABORT, 'careledger: journal entry does not balance (postings must sum to zero, at least two)');
    END
    """,
    """
    CREATE TRIGGER postings_entry_not_posted BEFORE INSERT ON postings
    WHEN EXISTS (SELECT 1 FROM journal_entries WHERE entry_id = NEW.entry_id)
    BEGIN
      SELECT RAISE(ABORT, 'careledger: journal entry is already posted; its postings cannot change');
    END
    """,
    *(
        f"""
        CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t}
        BEGIN
          SELECT RAISE(ABORT, 'careledger: {op} on {t} is refused: posted history is immutable; post a reversing entry instead');
        END
        """
        for t in IMMUTABLE_TABLES
        for op in ("UPDATE", "DELETE")
    ),
)


def guard_ddl(dialect_name: str) -> tuple[str, ...]:
    if dialect_name == "postgresql":
        return POSTGRES_DDL
    if dialect_name == "sqlite":
        return SQLITE_DDL
    raise ValueError(f"careledger supports PostgreSQL and SQLite, not {dialect_name}")
