"""Counting the SQL statements a code path sends, to pin the round trips of the hot paths in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Statements:
    """The statements seen, in order; ``count`` is what a test pins."""

    seen: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.seen)

    def __str__(self) -> str:  # printed by a failing assertion: which statements, in order
        return "\n".join(f"{n + 1:3}. {s[:160]}" for n, s in enumerate(self.seen))


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[Statements]:
    """Every statement the engine sends to the database inside the block, BEGIN/COMMIT included.

    SQLAlchemy emits BEGIN/COMMIT/ROLLBACK through the DBAPI connection, not a cursor, so they
    are caught by their own events; each is a round trip on PostgreSQL like any statement.
    """
    stats = Statements()
    sync = engine.sync_engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        stats.seen.append(" ".join(statement.split()))

    def on_begin(conn: Any) -> None:
        stats.seen.append("BEGIN")

    def on_commit(conn: Any) -> None:
        stats.seen.append("COMMIT")

    def on_rollback(conn: Any) -> None:
        stats.seen.append("ROLLBACK")

    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", on_execute),
        ("begin", on_begin),
        ("commit", on_commit),
        ("rollback", on_rollback),
    ]
    for name, fn in hooks:
        event.listen(sync, name, fn)
    try:
        yield stats
    finally:
        for name, fn in hooks:
            event.remove(sync, name, fn)
