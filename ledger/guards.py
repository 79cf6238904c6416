"""The database's own guards on posted history, for PostgreSQL and SQLite.

Why in the database and not only in Python: auditors, scripts and future code write to this
database too. Whatever path a row takes, the database itself refuses

* a journal entry whose postings do not sum to zero, or that has fewer than two postings;
* a posting added to an entry that is already posted;
* any UPDATE or DELETE (and on PostgreSQL, TRUNCATE) of ``journal_entries`` or ``postings``;
* a posting to an account not in the chart, an entry naming a batch that does not exist, and the
  deletion or renaming of an account that has postings (SQLite: foreign keys; PostgreSQL: the
  statement triggers, set-based, and a trigger on ``accounts``).

How the balance check works (both databases): postings are written *before* their entry, and
inserting the entry fires a check over its postings. On PostgreSQL that check is a statement-level
trigger with a transition table, so a bulk COPY of a million entries is checked by one set-based
query rather than a million per-row trigger calls; on SQLite (in-process, no statement triggers) it
is a per-row trigger. A posting inserted after its entry is refused. A posting whose entry never
arrives fails at commit: on SQLite by the deferred foreign key ``fk_postings_entry``; on PostgreSQL
by a check deferred to commit, set-based too (migration 0012): each INSERT into ``postings`` records
the range of entry ids it names in ``posting_entry_checks``, and a constraint trigger on that row,
deferred to commit, refuses the transaction if any posting in the range has no entry (one merge
anti-join of two index ranges). The per-row foreign key it replaces checked, and share-locked, the
entry of each of a night's 2.2 million postings one by one: 9.8 s of a 1M-item night's commit
(docs/performance.md). So there is no order of statements that commits an unbalanced entry.
"""

from __future__ import annotations

from db.engine import LEDGER_WRITE_LOCK_ID

IMMUTABLE_TABLES = ("journal_entries", "postings", "posting_batches")
# PostgreSQL: these references are checked set-based by the statement triggers below instead of by
# per-row foreign keys (the per-row checks of a night's postings' accounts and entries' batches cost
# more than the COPY itself: docs/performance.md). Migration 0005 drops the constraints; SQLite keeps
# them (its foreign-key checks are in-process index lookups).
POSTGRES_SET_BASED_REFERENCES = (
    ("postings", "postings_account_code_fkey"),
    ("journal_entries", "journal_entries_batch_id_fkey"),
)
# PostgreSQL: postings' entries are checked set-based at commit instead of by this deferred foreign key
# (dropped by migration 0012; SQLite keeps it).
POSTGRES_SET_BASED_ENTRY_REFERENCE = ("postings", "fk_postings_entry")
POSTGRES_REFERENCE_TRIGGERS: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS accounts_keep_used ON accounts",
    "CREATE TRIGGER accounts_keep_used BEFORE DELETE OR UPDATE OF code ON accounts"
    " FOR EACH ROW EXECUTE FUNCTION careledger_keep_used_accounts()",
)

POSTGRES_ENTRY_CHECK_TRIGGERS: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS posting_entries_exist ON posting_entry_checks",
    "CREATE CONSTRAINT TRIGGER posting_entries_exist AFTER INSERT ON posting_entry_checks"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION careledger_check_posting_entries()",
)

def check_new_postings_ddl(*, entry_checks: bool) -> str:
    """PostgreSQL's statement check of new postings: not added to a posted entry, to accounts in the chart,
    and (``entry_checks``, migration 0012 on) their entry ids' range recorded for the check at commit.
    Migration 0012's downgrade installs it without the last part."""
    record = (
        """
      -- Their entries must exist by commit: checked then, over this statement's range of entry ids.
      INSERT INTO posting_entry_checks (min_entry_id, max_entry_id)
        SELECT min(np.entry_id), max(np.entry_id) FROM new_postings np HAVING count(*) > 0;"""
        if entry_checks
        else ""
    )
    return f"""
    CREATE OR REPLACE FUNCTION careledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint; bad_code text;
    BEGIN
      SELECT np.entry_id INTO bad FROM new_postings np
       WHERE EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = np.entry_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % is already posted; its postings cannot change', bad
          USING ERRCODE = 'restrict_violation';
      END IF;
      SELECT np.account_code INTO bad_code FROM new_postings np
       WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.code = np.account_code) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: posting to account %, which is not in the chart of accounts', bad_code
          USING ERRCODE = 'foreign_key_violation';
      END IF;{record}
      RETURN NULL;
    END $$
    """


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
    DECLARE bad record; bad_batch record;
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
      SELECT n.entry_id, n.batch_id INTO bad_batch FROM new_entries n
       WHERE NOT EXISTS (SELECT 1 FROM posting_batches b WHERE b.batch_id = n.batch_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % names posting batch %, which does not exist',
          bad_batch.entry_id, bad_batch.batch_id USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$
    """,
    check_new_postings_ddl(entry_checks=True),
    # Deferred to commit, once per INSERT into postings: no posting in the statement's range of entry ids
    # may lack its entry. Dynamic SQL, so each check is planned with its own range (a merge anti-join of
    # the two index ranges) rather than a generic plan. Every committed entry has postings, so the check
    # is the same as the foreign key's "each posting's entry exists", with one query instead of a lookup
    # and row lock per posting.
    """
    CREATE OR REPLACE FUNCTION careledger_check_posting_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint;
    BEGIN
      EXECUTE 'SELECT p.entry_id FROM postings p WHERE p.entry_id BETWEEN $1 AND $2'
              ' AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = p.entry_id'
              ' AND e.entry_id BETWEEN $1 AND $2) LIMIT 1'
        INTO bad USING NEW.min_entry_id, NEW.max_entry_id;
      IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'careledger: posting to journal entry %, which does not exist (a posting''s entry must be written in the same transaction)', bad
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      DELETE FROM posting_entry_checks WHERE check_id = NEW.check_id;
      RETURN NULL;
    END $$
    """,
    # An account that has postings keeps its code and is never deleted (what a foreign key from
    # postings would refuse). Takes the ledger write lock first, so it waits for a writer posting to
    # the account and then sees its postings.
    """
    CREATE OR REPLACE FUNCTION careledger_keep_used_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.code = OLD.code THEN
        RETURN NEW;
      END IF;
      PERFORM pg_advisory_xact_lock(LEDGER_LOCK_ID);
      IF EXISTS (SELECT 1 FROM postings p WHERE p.account_code = OLD.code) THEN
        RAISE EXCEPTION 'careledger: account % has postings; it cannot be %', OLD.code,
          CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'renamed' END USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END $$
    """.replace("LEDGER_LOCK_ID", str(LEDGER_WRITE_LOCK_ID)),
    """
    CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_entries()
    """,
    """
    CREATE TRIGGER postings_entry_not_posted AFTER INSERT ON postings
      REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_postings()
    """,
    *POSTGRES_ENTRY_CHECK_TRIGGERS,
    *POSTGRES_REFERENCE_TRIGGERS,
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
