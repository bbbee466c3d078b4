"""The search outbox: one row per change to a searchable object, written in the
same transaction as the change, so no committed update can be missed by the index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class SearchOutbox(Base):
    __tablename__ = "search_outbox"

    # BigInteger on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    doc_type: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
