"""What a test database holds at rest, as the canary scan reads it.

SQLite: the bytes of the database file and of its ``-wal`` and ``-journal`` files, so deleted rows,
free pages and not yet checkpointed frames are read too. Only the pages that changed since the
previous scan of the same file are handed back (the run's database keeps earlier tests' pages,
already scanned). PostgreSQL: every row of every table in the ``public`` schema as text
(``row::text``, which prints a bytea as hex), one round trip.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.canaries.needles import Canary, Needles

PAGE = 4096
#: Bytes read either side of a changed page, so a piece lying across the page boundary is whole.
OVERLAP = 64


@dataclass(frozen=True)
class Part:
    data: bytes
    where: str
    #: On a hit, names the table whose rows hold the canary (a SQLite page says nothing by itself).
    locate: Callable[[Canary, Needles], str] | None = None


def sqlite_file(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def changed_ranges(old: bytes, new: bytes) -> list[tuple[int, int]]:
    """The page ranges of ``new`` that differ from ``old``, merged, with ``OVERLAP`` bytes either side."""
    ranges: list[tuple[int, int]] = []
    for start in range(0, len(new), PAGE):
        if new[start : start + PAGE] != old[start : start + PAGE]:
            lo, hi = max(0, start - OVERLAP), min(len(new), start + PAGE + OVERLAP)
            if ranges and lo <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
    return ranges


def sqlite_locate(path: Path) -> Callable[[Canary, Needles], str]:
    def locate(canary: Canary, needles: Needles) -> str:
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error:
            return "a table that could not be read"
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    cells = b"\n".join(c if isinstance(c, bytes) else str(c).encode() for c in row)
                    if canary in needles.find(cells):
                        return f"table {table}"
        finally:
            db.close()
        return "no live row (a free page or an old WAL frame: deleted or overwritten data)"

    return locate


class DatabaseScanner:
    def __init__(self) -> None:
        self._seen: dict[Path, bytes] = {}

    async def contents(self, url: str, *, keep: bool = True) -> list[Part]:
        if url.startswith("sqlite"):
            return self._sqlite(sqlite_file(url), keep=keep)
        return await _postgresql(url)

    def _sqlite(self, path: Path, *, keep: bool) -> list[Part]:
        parts: list[Part] = []
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
            if not file.exists():
                self._seen.pop(file, None)
                continue
            new = file.read_bytes()
            old = self._seen.get(file, b"")
            if keep:
                self._seen[file] = new
            for lo, hi in changed_ranges(old, new):
                parts.append(Part(new[lo:hi], f"the database file {file.name} (bytes {lo}-{hi})", sqlite_locate(path)))
        return parts

    def forget(self, url: str) -> None:
        if url.startswith("sqlite"):
            path = sqlite_file(url)
            for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
                self._seen.pop(file, None)


async def _postgresql(url: str) -> list[Part]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        tables = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        if not tables:
            return []
        query = " UNION ALL ".join(f"SELECT '{t}' AS t, x::text AS row FROM \"{t}\" x" for t in tables)
        rows: dict[str, list[str]] = {}
        for r in await conn.fetch(query):
            rows.setdefault(r["t"], []).append(r["row"])
    finally:
        await conn.close()
    name = url.rsplit("/", 1)[-1]
    return [Part("\n".join(lines).encode(), f"table {t} of the database {name}") for t, lines in rows.items()]
