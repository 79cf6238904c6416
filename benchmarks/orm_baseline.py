"""The way a typical team writes a loader: one SQLAlchemy ORM object per row, added one by one.

Kept apart from the benchmark so its mapped class is declared at module level, as ORM code is.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

from ledger import tables
from records import tables as records_tables


class Base(DeclarativeBase):
    pass


class BenchRow(Base):
    __tablename__ = "bench_orm"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(1))
    txn_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    amount_pence: Mapped[int] = mapped_column(BigInteger)


# The same ledger rows the night writes, the way a typical team would write them: one mapped object per
# row of the ledger's own tables (ledger.tables, with their indexes and the database's guards), added one
# by one. Mapped imperatively onto the real tables so the rows are exactly the schema's.
ledger_registry = registry()


class _LedgerRow:
    def __init__(self, **columns) -> None:
        for name, value in columns.items():
            setattr(self, name, value)


class LedgerTransaction(_LedgerRow):
    pass


class LedgerEntry(_LedgerRow):
    pass


class LedgerPosting(_LedgerRow):
    pass


ledger_registry.map_imperatively(LedgerTransaction, records_tables.transactions)
ledger_registry.map_imperatively(LedgerEntry, tables.journal_entries)
ledger_registry.map_imperatively(LedgerPosting, tables.postings)
