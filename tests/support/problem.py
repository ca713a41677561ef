"""Assertions on the problem+json error shape every 4xx/5xx answer has (docs/api.md, Errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.engine import make_engine, make_sessionmaker

PROBLEM_JSON = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, code: str, *, param: str | None = None) -> dict[str, Any]:
    """Assert ``r`` is a problem+json answer with this status and code (and ``param`` when given)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers.get("content-type")
    body = r.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert all(isinstance(body[k], str) and body[k] for k in ("type", "title", "detail", "code")), body
    assert body["status"] == status and body["code"] == code, body
    if param is not None:
        assert body.get("param") == param, body
    return body


@asynccontextmanager
async def db_session(hub: Any) -> AsyncIterator[AsyncSession]:
    """A session on the hub's database, from the test's own engine.

    The app's engine belongs to the test client's event loop (another thread); an asyncpg
    connection cannot be shared across loops, so the test opens its own.
    """
    engine = make_engine(hub.settings.database.url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def db_rows(hub: Any, stmt: Select) -> list[Any]:
    """Rows straight from the hub's database (the test's view of what was really stored)."""
    async with db_session(hub) as session:
        return list((await session.execute(stmt)).scalars().all())
