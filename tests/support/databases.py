"""Test databases: a SQLite file, and a PostgreSQL database created and dropped by this run."""

from __future__ import annotations

import asyncio
import os
import secrets

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

PG_HOST = os.environ.get("HUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("HUB_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("HUB_TEST_PG_ADMIN_DB", "test")


def backends() -> list[str]:
    """Which databases integration tests run on; both unless HUB_TEST_DATABASES narrows it."""
    raw = os.environ.get("HUB_TEST_DATABASES", "sqlite,postgresql")
    chosen = [b.strip() for b in raw.split(",") if b.strip()]
    unknown = set(chosen) - {"sqlite", "postgresql"}
    if unknown or not chosen:
        raise ValueError(f"HUB_TEST_DATABASES: unknown backend(s) {sorted(unknown)}")
    return chosen


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    name = f"hub_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_pg_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def truncate_all(url: str) -> None:
    """Empty every table but alembic_version, between tests.

    ``DELETE``, children first, on both databases: a test leaves a few rows, and PostgreSQL's
    ``TRUNCATE`` of every table (a lock and new files per table) cost ten times as much.
    """
    from hub.db.migrate import target_metadata

    tables = [t.name for t in target_metadata().sorted_tables]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for t in reversed(tables):
                await conn.execute(text(f'DELETE FROM "{t}"'))
    finally:
        await engine.dispose()
