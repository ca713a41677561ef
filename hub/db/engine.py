"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import weakref

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


#: Connections a pool keeps when no size is given (``HUB_DATABASE_POOL_SIZE``).
DEFAULT_POOL_SIZE = 10
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    if is_sqlite(url):
        # Sized like PostgreSQL's: an overflow connection closed on return is a file opened again,
        # its pragmas run again and a new aiosqlite thread, every few requests under load.
        # (An in-memory database is one connection, kept by SQLAlchemy's StaticPool: not sized.)
        in_memory = make_url(url).database in (None, "", ":memory:")
        sized = {} if in_memory else {"pool_size": pool_size, "max_overflow": max(1, pool_size // 2)}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **sized)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:  # pragma: no cover
            # WAL lets readers run beside the single writer; foreign keys are off by default.
            # Let SQLAlchemy's "begin" hook below issue BEGIN itself (pysqlite's own is DEFERRED).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # aiosqlite's default "deferred" BEGIN lets two writers deadlock on upgrade; IMMEDIATE
        # takes the write lock up front so SQLite serialises them instead. A transaction of the
        # read view (``reads``) writes nothing: its DEFERRED BEGIN takes no lock, and WAL lets it
        # read beside the writer.
        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:  # pragma: no cover - trivial
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it is a round trip on every checkout, i.e. on every transaction. Instead a
    # connection the server closed (restart, pg_terminate_backend) is noticed without a round trip
    # at checkout (asyncpg saw the socket close), and one that dies unnoticed fails its statement,
    # which makes SQLAlchemy invalidate every connection of the pool made before it: one request
    # fails, the next ones reconnect.
    # Pool sized to the worker's concurrency: an overflow connection is closed when returned, so a
    # pool smaller than the load opens a new connection every few requests.
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=max(1, pool_size // 2), connect_args=_connect_args(url)
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _connect_args(url: str) -> dict[str, object]:
    """No TLS to a loopback server unless the URL asks (``ssl=``/``sslmode=``): asyncpg's default,
    ``prefer``, tries a TLS handshake first on every new connection, for nothing on loopback."""
    parsed = make_url(url)
    if "ssl" in parsed.query or "sslmode" in parsed.query:
        return {}
    host = parsed.host or ""
    if host in _LOOPBACK or host.startswith("/") or not host:
        return {"ssl": False}
    return {}


def _refuse_closed_connection(
    dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    driver = getattr(dbapi_conn, "driver_connection", None)
    if driver is not None and driver.is_closed():
        # The pool discards it and checks out (or makes) another one.
        raise exc.DisconnectionError("connection closed by the server")


#: The execution option of the engine view whose SQLite transactions only read (``reads``).
READ_ONLY = "hub_read_only"

_reads: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that only reads (a GET's unit of work): on SQLite its transactions begin
    DEFERRED, so they take no write lock and never wait for a writer; ``engine`` itself on
    PostgreSQL, where a read takes no lock anyway. Same pool either way."""
    found = _reads.get(engine)
    if found is None:
        found = engine.execution_options(**{READ_ONLY: True}) if is_sqlite(str(engine.url)) else engine
        _reads[engine] = found
    return found


_autocommit: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that is one statement (or reads that need no snapshot): autocommit on
    PostgreSQL, so no BEGIN and COMMIT round trips; ``engine`` itself on SQLite, whose short
    ``BEGIN IMMEDIATE`` transaction takes the write lock up front. Same pool either way."""
    found = _autocommit.get(engine)
    if found is None:
        found = engine if is_sqlite(str(engine.url)) else engine.execution_options(isolation_level="AUTOCOMMIT")
        _autocommit[engine] = found
    return found


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
