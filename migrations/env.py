"""Async Alembic environment. The URL comes from the Config (``sqlalchemy.url``), set by hub.db.migrate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import MIGRATION_LOCK_KEY, target_metadata

config = context.config


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends: concurrent upgrades queue here, then each reads the
        # current revision afresh (READ COMMITTED) and the later ones find nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    # A plain engine, not hub.db.engine's: SQLite batch migrations copy and drop tables, which
    # must not run with foreign keys ON (dropping a parent would cascade-delete its children).
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


run()
