"""The request's session is its unit of work (hub/auth/dependencies.py ``provide_session``).

A handler that returns has its writes committed before the first byte of its answer is sent; a
handler that raises leaves nothing written; a read request takes no SQLite write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from litestar import Litestar, post
from litestar.di import Provide
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import provide_session
from hub.db.base import new_id
from hub.db.engine import make_engine, make_sessionmaker
from hub.db.tenants import Tenant
from hub.errors import Conflict
from hub.idempotency.attempt import Attempt
from hub.operations import driver
from hub.operations.phases import Phases
from tests.support.hub import PLATFORM, HubClient


class Refused(Exception):
    pass


@post("/write")
async def write(session: AsyncSession, name: str) -> dict[str, str]:
    session.add(Tenant(id=new_id("ten"), name=name))
    await session.flush()
    return {"written": name}


@post("/write-then-fail")
async def write_then_fail(session: AsyncSession, name: str) -> dict[str, str]:
    session.add(Tenant(id=new_id("ten"), name=name))
    await session.flush()
    raise Refused("after the write")


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[tuple[Litestar, Any]]:
    engine = make_engine(database_url)
    services = SimpleNamespace(engine=engine, sessions=make_sessionmaker(engine))
    litestar = Litestar(
        [write, write_then_fail],
        dependencies={"session": Provide(provide_session), "services": Provide(lambda: services, sync_to_thread=False)},
    )
    try:
        yield litestar, services
    finally:
        await engine.dispose()


async def _named(services: Any, name: str) -> int:
    async with services.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.name == name))
        await session.rollback()
    return int(found or 0)


async def _call(app: Litestar, path: str, on_start: Any = None) -> list[dict[str, Any]]:
    """One POST through the ASGI app; ``on_start`` runs when the answer's first message is sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and on_start is not None:
            await on_start()
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_a_write_is_committed_before_the_client_gets_its_answer(app: tuple[Litestar, Any]) -> None:
    litestar, services = app
    seen_at_start: list[int] = []

    async def look() -> None:  # another session, while the answer is about to leave
        seen_at_start.append(await _named(services, "committed-first"))

    sent = await _call(litestar, "/write?name=committed-first", on_start=look)
    assert sent[0]["status"] == 201
    assert seen_at_start == [1]


async def test_a_handler_error_leaves_nothing_written(app: tuple[Litestar, Any]) -> None:
    litestar, services = app
    sent = await _call(litestar, "/write-then-fail?name=rolled-back")
    assert sent[0]["status"] == 500
    assert await _named(services, "rolled-back") == 0
    # The connection went back to the pool clean: the next request's write commits.
    sent = await _call(litestar, "/write?name=after-the-error")
    assert sent[0]["status"] == 201
    assert await _named(services, "after-the-error") == 1


async def test_a_read_request_is_answered_while_another_connection_holds_the_write_lock(
    hub: HubClient, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL readers never wait for writers")
    tenant = await hub.create_tenant()
    holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
        started = time.monotonic()
        platform = await asyncio.wait_for(hub.http.get(f"/v1/tenants/{tenant.id}", headers=PLATFORM), 5)
        storefront = await asyncio.wait_for(hub.http.get("/v1/payments", headers=tenant.storefront), 5)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert platform.status_code == 200, platform.text
    assert storefront.status_code == 200, storefront.text
    assert waited < 2, f"the reads waited {waited:.1f}s for the write lock"


class _RefusedAfterAWrite(Phases[None]):
    route = "test.refused"
    keyed = False

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        tx.add(Tenant(id=new_id("ten"), name="voided by the driver"))
        await tx.flush()
        raise Conflict("refused after a write")


async def test_a_phase_that_raises_leaves_its_caller_a_clean_session(app: tuple[Litestar, Any]) -> None:
    """A console form catches the refusal and answers normally: the unit of work then commits."""
    _, services = app
    async with services.sessions() as session:
        with pytest.raises(Conflict):
            op = _RefusedAfterAWrite(cast(Any, services), "ten_unused")
            await driver.run(op, request=cast(Any, None), session=session, body=None)
        assert not session.in_transaction()
        await session.commit()  # what the request's unit of work does after a form's error page
    assert await _named(services, "voided by the driver") == 0
