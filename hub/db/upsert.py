"""``INSERT ... ON CONFLICT DO NOTHING`` for both databases: the constraint decides, not a lock in memory."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring_conflict(
    session: AsyncSession, model: Any, conflict_columns: list[str], **values: Any
) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
