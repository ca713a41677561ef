"""``/health`` touches nothing; ``/health/ready`` checks the database, the migrations and the vault."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Response, get
from sqlalchemy import text

from hub.db.engine import reads
from hub.db.migrate import database_heads, script_heads
from hub.services import Injected, Services
from hub.vault.rotate import check as vault_check

log = logging.getLogger("hub.health")


class Alive(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    checks: dict[str, str]


@get("/health", tags=["health"], sync_to_thread=False)
def alive() -> Alive:
    return Alive(status="ok")


async def _checks(services: Injected[Services]) -> dict[str, str]:
    checks = {"database": "failing", "migrations": "failing", "vault": "failing"}
    try:
        # A read: no write lock on SQLite (a probe never waits for a writer); closing ends it.
        async with reads(services.engine).connect() as conn:
            await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            heads = await database_heads(conn)
            checks["migrations"] = "ok" if heads == script_heads() else "failing"
    except Exception as exc:
        log.warning("readiness: database check failed (%s)", type(exc).__name__)
        return checks
    try:
        async with services.sessions() as session:
            problem = await vault_check(session, services.vault)
        checks["vault"] = "ok" if problem is None else "failing"
        if problem:
            log.warning("readiness: vault check failed: %s", problem)
    except Exception as exc:
        log.warning("readiness: vault check failed (%s)", type(exc).__name__)
    return checks


@get("/health/ready", tags=["health"])
async def ready(services: Injected[Services]) -> Response[Ready]:
    try:
        checks = await asyncio.wait_for(_checks(services), timeout=5)
    except TimeoutError:
        checks = {"database": "failing", "migrations": "failing", "vault": "failing"}
    ok = all(v == "ok" for v in checks.values())
    return Response(Ready(status="ready" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)
