"""PostgreSQL: each posting's entry is checked at commit by one set-based query, not a per-row foreign key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Why: the deferred foreign key ``fk_postings_entry`` checked, at commit, the entry of every posting one
by one, each with an index lookup and a share lock on the entry's row (which writes the entry's page
again). A night of 1,000,000 items has 2.2 million postings: 9.8 s of its commit (docs/performance.md).
Now each INSERT into ``postings`` records the range of entry ids it names in ``posting_entry_checks``
(the statement trigger ``postings_entry_not_posted`` does it), and a constraint trigger on that row,
deferred to commit, refuses the transaction if any posting in the range has no entry: one merge
anti-join of two index ranges (ledger/guards.py). What is refused is unchanged; the message names the
entry.

SQLite keeps its deferred foreign key (in-process lookups); it gets the (unused) table so both
databases have the declared schema. Downgrade restores the foreign key and the previous trigger function.
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_table_if_missing

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "posting_entry_checks"
# Frozen: the SQL this revision needs, as it stood here (ledger/guards.py holds today's declaration).
# The postings' statement check now records each statement's range of entry ids; the check at commit.
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
      -- Their entries must exist by commit: checked then, over this statement's range of entry ids.
      INSERT INTO posting_entry_checks (min_entry_id, max_entry_id)
        SELECT min(np.entry_id), max(np.entry_id) FROM new_postings np HAVING count(*) > 0;
      RETURN NULL;
    END $$
    """

CHECK_POSTING_ENTRIES = """
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
    """

# As it was before this revision (0005), for the downgrade.
CHECK_NEW_POSTINGS_BEFORE = """
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

ENTRY_CHECK_TRIGGERS = (
    "DROP TRIGGER IF EXISTS posting_entries_exist ON posting_entry_checks",
    "CREATE CONSTRAINT TRIGGER posting_entries_exist AFTER INSERT ON posting_entry_checks"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION careledger_check_posting_entries()",
)
ENTRY_REFERENCE = ("postings", "fk_postings_entry")  # the deferred foreign key the check replaces


def upgrade() -> None:
    create_table_if_missing(
        op,
        TABLE,
        sa.Column("check_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("min_entry_id", sa.BigInteger, nullable=False, comment="lowest entry_id the statement's postings name"),
        sa.Column("max_entry_id", sa.BigInteger, nullable=False, comment="highest entry_id the statement's postings name"),
        comment=(
            "PostgreSQL's bookkeeping for the rule that every posting's journal entry exists by commit: each INSERT"
            " into `postings` adds one row here, and a constraint trigger deferred to commit checks that no posting"
            " with an entry_id in the row's range lacks its entry, then removes the row. Empty between transactions."
            " On SQLite the deferred foreign key `fk_postings_entry` does this and the table stays empty."
        ),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for ddl in (CHECK_NEW_POSTINGS, CHECK_POSTING_ENTRIES, *ENTRY_CHECK_TRIGGERS):
        op.execute(ddl)
    table, constraint = ENTRY_REFERENCE
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS posting_entries_exist ON {TABLE}")
        op.execute(CHECK_NEW_POSTINGS_BEFORE)
        op.execute("DROP FUNCTION IF EXISTS careledger_check_posting_entries()")
        table, constraint = ENTRY_REFERENCE
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY (entry_id)"
            " REFERENCES journal_entries (entry_id) DEFERRABLE INITIALLY DEFERRED"
        )
    op.drop_table(TABLE)
