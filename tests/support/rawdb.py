"""Reaching the test database below the hub: raw SQL, fresh databases, and what is on disk / in a dump."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import upgrade_to_head
from tests.support.canaries.ledger import LEDGER
from tests.support.databases import create_pg_database, drop_pg_database, pg_url


async def execute(url: str, sql: str, **params: Any) -> list[tuple]:
    """Run one statement in its own transaction; returns the rows (empty for writes)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, *, migrate: bool = True) -> Iterator[str]:
    """A database of its own (not the shared per-run one), migrated to head unless told not to.

    What it holds at the end is scanned for canary secrets before it goes.
    """
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hub-fresh-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'hub.db'}"
            if migrate:
                upgrade_to_head(url)
            try:
                yield url
            finally:
                if Path(tmp, "hub.db").exists():
                    LEDGER.scan_database_blocking(url, keep=False)
        return
    name = create_pg_database()
    try:
        url = pg_url(name)
        if migrate:
            upgrade_to_head(url)
        yield url
        LEDGER.scan_database_blocking(url, keep=False)
    finally:
        drop_pg_database(name)


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump understands it (no ``+asyncpg`` driver part)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def raw_contents(url: str) -> bytes:
    """Everything the database holds at rest: the SQLite file and its WAL, or a full pg_dump."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    done = subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", libpq_url(url)], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def plaintext_forms(secret: str) -> list[bytes]:
    """How a plaintext secret would look at rest: as text, and as pg_dump prints a bytea (hex)."""
    raw = secret.encode()
    return [raw, raw.hex().encode()]


def found(contents: bytes, secret: str) -> bool:
    return any(form in contents for form in plaintext_forms(secret))
