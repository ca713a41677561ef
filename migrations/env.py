"""Async Alembic environment. The URL comes from the Config (``sqlalchemy.url``), set by hub.db.migrate.

Every upgrade is one transaction that first takes a lock, on both databases: several ``hub serve``
processes (or machines) starting together migrate one after the other, the later ones find the
schema at head, and a revision that fails half-way leaves nothing behind.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.db.migrate import MIGRATION_LOCK_KEY, target_metadata

config = context.config


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends: concurrent upgrades queue here, then each reads the
        # current revision afresh (READ COMMITTED) and the later ones find nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=sqlite,
        compare_type=True,
        # SQLite does roll DDL back; _engine() below makes sure it is inside the transaction.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _engine(url: str) -> AsyncEngine:
    # A plain engine, not hub.db.engine's: SQLite batch migrations copy and drop tables, which
    # must not run with foreign keys ON (dropping a parent would cascade-delete its children).
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _no_implicit_transactions(dbapi_conn, _record) -> None:
            # pysqlite would commit before every CREATE/ALTER; let SQLAlchemy's BEGIN cover them.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")  # a second upgrade waits for the first
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn) -> None:
            # Take the write lock before reading the current revision, like the advisory lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set (the hub sets it from HUB_DATABASE_URL)")
    engine = _engine(url)
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
