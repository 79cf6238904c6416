"""The way a typical team writes a loader: one SQLAlchemy ORM object per row, added one by one.

Kept apart from the benchmark so its mapped class is declared at module level, as ORM code is.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class BenchRow(Base):
    __tablename__ = "bench_orm"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(1))
    txn_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
