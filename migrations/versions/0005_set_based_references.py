"""PostgreSQL: postings' accounts and entries' batches are checked set-based, not by per-row foreign keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

A foreign key checks each inserted row with its own lookup (and row lock) in the referenced table: for a
night of 400,000 postings and 200,000 entries that was 600,000 lookups, more time than the COPY of the rows
(measured 13.8 s -> 9.6 s for 200,000 entries; docs/performance.md). The statement-level triggers that
already check each batch (``ledger/guards.py``) now also refuse a posting to an account not in the chart
and an entry naming a batch that does not exist, with one anti-join per statement, and a trigger on
``accounts`` refuses deleting or renaming an account that has postings. The deferred foreign key from
postings to their entry stays: it is what makes a posting without its entry fail at commit.

SQLite is unchanged (its foreign keys are cheap in-process lookups, and its guards are per-row anyway).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen: the SQL this revision needs, as it stood here (ledger/guards.py holds today's declaration; the
# baseline and later revisions carry their own copies). The entries' check gains the batch check, the
# postings' check the account check (not yet 0012's record of entry ids), and accounts get their guard.
CHECK_NEW_ENTRIES = """
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
    """

CHECK_NEW_POSTINGS = """
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
      END IF;
      RETURN NULL;
    END $$
    """

KEEP_USED_ACCOUNTS = """
    CREATE OR REPLACE FUNCTION careledger_keep_used_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.code = OLD.code THEN
        RETURN NEW;
      END IF;
      PERFORM pg_advisory_xact_lock(212001261);
      IF EXISTS (SELECT 1 FROM postings p WHERE p.account_code = OLD.code) THEN
        RAISE EXCEPTION 'careledger: account % has postings; it cannot be %', OLD.code,
          CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'renamed' END USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END $$
    """

REFERENCE_TRIGGERS = (
    "DROP TRIGGER IF EXISTS accounts_keep_used ON accounts",
    "CREATE TRIGGER accounts_keep_used BEFORE DELETE OR UPDATE OF code ON accounts"
    " FOR EACH ROW EXECUTE FUNCTION careledger_keep_used_accounts()",
)
# The per-row foreign keys the statement triggers replace.
DROPPED_REFERENCES = (
    ("postings", "postings_account_code_fkey"),
    ("journal_entries", "journal_entries_batch_id_fkey"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for ddl in (CHECK_NEW_ENTRIES, CHECK_NEW_POSTINGS, KEEP_USED_ACCOUNTS, *REFERENCE_TRIGGERS):
        op.execute(ddl)
    for table, constraint in DROPPED_REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS accounts_keep_used ON accounts")
    op.create_foreign_key("postings_account_code_fkey", "postings", "accounts", ["account_code"], ["code"])
    op.create_foreign_key("journal_entries_batch_id_fkey", "journal_entries", "posting_batches", ["batch_id"], ["batch_id"])
