"""The dispatcher: an asyncio task in every worker that sends due deliveries to tenants' endpoints.

Claiming is a short transaction: due pending deliveries are locked (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so workers and machines share the work and never take the same row) and leased by
pushing ``next_attempt_at`` past the send's deadline under a fresh claim token; the send happens
outside any transaction; its outcome is written only if the lease is still ours. A worker that
dies mid-send leaves the lease to expire and another worker sends again (at least once, the
same ``webhook-id``). Each worker bounds its sends in all, per endpoint and per tenant, so a slow
or dead endpoint occupies a few slots and a tenant whose endpoints all hang its share of them,
never the dispatcher. The claim takes tenants round-robin (every tenant's first due delivery
before any tenant's second), so one tenant's backlog never pushes another's messages out of it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import ColumnElement, ColumnExpressionArgument, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import new_id, utcnow
from hub.db.engine import is_sqlite
from hub.db.notifications import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationMessage,
)
from hub.notifications import outbox, signing
from hub.notifications.keys import endpoint_keys
from hub.notifications.network import BlockedAddress, guarded_client
from hub.observability.metrics import count_notification_delivery
from hub.services import Services
from hub.settings import NotifySettings
from hub.vault.keyring import Secret, Vault, VaultError

T = TypeVar("T")

log = logging.getLogger("hub.notifications")

#: What is kept of an endpoint's answer: enough to debug, never a stored copy of its body.
EXCERPT_BYTES = 256
#: A lease outlives the send's own deadline by this much.
LEASE_MARGIN = timedelta(seconds=10)
#: When a delivery cannot be signed (the vault cannot open its secret), look again after this.
VAULT_BACKOFF = timedelta(minutes=1)

D = NotificationDelivery


@dataclass(frozen=True)
class Job:
    delivery_id: str
    token: str
    tenant_id: str
    endpoint_id: str
    url: str
    message_id: str
    body: str
    attempts: int
    keys: tuple[Secret, ...] = field(repr=False)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        settings: NotifySettings,
        *,
        https_only: bool,
        skip_locked: bool,
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._settings = settings
        self._https_only = https_only
        self._skip_locked = skip_locked
        self._wake = asyncio.Event()
        self._inflight: Counter[str] = Counter()  # sends in flight by endpoint
        self._inflight_tenants: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Claims and records under way: a stop lets them end (see ``_to_the_end``).
        self._writes: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def for_services(cls, services: Services) -> Dispatcher | None:
        """This worker's dispatcher, or None when it is configured to record only."""
        settings = services.settings
        if not settings.notify.dispatch:
            return None
        return cls(
            services.sessions,
            services.vault,
            settings.notify,
            https_only=settings.server.env == "prod",
            skip_locked=not is_sqlite(settings.database.url),
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = guarded_client(
            timeout=self._settings.timeout_seconds,
            allow_private=self._settings.allow_private_urls,
            max_connections=self._settings.concurrency,
        )
        outbox.add_waker(self.wake)
        self._runner = asyncio.create_task(self._run(), name="hub-notification-dispatcher")

    async def stop(self) -> None:
        outbox.remove_waker(self.wake)
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        # A send cut short here keeps its lease: another worker sends it once the lease ends.
        await asyncio.gather(*tasks, return_exceptions=True)
        # A claim or record under way ends first: its connection goes back to the pool.
        await asyncio.gather(*self._writes, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        """Look for due deliveries now (callable from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            free = self._settings.concurrency - len(self._tasks)
            claimed = 0
            if free > 0:
                try:
                    jobs = await self._to_the_end(self._claim(free))
                except Exception as exc:  # the database is away: keep the task alive and poll again
                    log.warning("notification dispatcher could not claim deliveries (%s)", type(exc).__name__)
                    jobs = []
                claimed = len(jobs)
                for job in jobs:
                    self._inflight[job.endpoint_id] += 1
                    self._inflight_tenants[job.tenant_id] += 1
                    task = asyncio.create_task(self._deliver(job))
                    self._tasks.add(task)
                    task.add_done_callback(functools.partial(self._done, job=job))
            if free > 0 and claimed == free:
                continue  # a full batch: more may be due
            try:
                async with asyncio.timeout(self._settings.poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _done(self, task: asyncio.Task[None], job: Job) -> None:
        self._tasks.discard(task)
        for counts, key in ((self._inflight, job.endpoint_id), (self._inflight_tenants, job.tenant_id)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
        self._wake.set()

    def _to_the_end(self, write: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """``write`` (a claim or a record), not cancelled with the task awaiting it.

        Cancelled mid-statement, a write could leave its connection checked out and in a
        transaction past the engine's disposal: on SQLite, the database's write lock with it.
        """
        future = asyncio.ensure_future(write)
        self._writes.add(future)
        future.add_done_callback(self._writes.discard)
        return asyncio.shield(future)

    async def _claim(self, free: int) -> list[Job]:
        """Lock and lease up to ``free`` due deliveries, within what each endpoint and tenant has left.

        Within a tenant its endpoints take turns; across tenants, ranks take turns: ordered by the
        rank in its tenant first, every tenant with something due is in the batch before any
        tenant's second delivery, so however old one tenant's backlog, another's message is next.
        """
        per_endpoint, per_tenant = self._settings.per_endpoint, self._settings.per_tenant
        full_endpoints = [ep for ep, n in self._inflight.items() if n >= per_endpoint]
        full_tenants = [t for t, n in self._inflight_tenants.items() if n >= per_tenant]
        async with self._sessions() as session:
            now = utcnow()
            due = (D.status == "pending", D.next_attempt_at <= now)
            by_endpoint = (
                select(
                    D.id,
                    D.tenant_id,
                    D.next_attempt_at,
                    func.row_number().over(partition_by=D.endpoint_id, order_by=(D.next_attempt_at, D.id)).label("rn"),
                    _left(D.endpoint_id, self._inflight, per_endpoint).label("room"),
                )
                .where(*due, D.endpoint_id.not_in(full_endpoints), D.tenant_id.not_in(full_tenants))
                .subquery()
            )
            by_tenant = (
                select(
                    by_endpoint.c.id,
                    func.row_number()
                    .over(
                        partition_by=by_endpoint.c.tenant_id,
                        order_by=(by_endpoint.c.rn, by_endpoint.c.next_attempt_at, by_endpoint.c.id),
                    )
                    .label("rank"),
                    _left(by_endpoint.c.tenant_id, self._inflight_tenants, per_tenant).label("room"),
                )
                .where(by_endpoint.c.rn <= by_endpoint.c.room)
                .subquery()
            )
            query = (
                select(D)
                .join(by_tenant, by_tenant.c.id == D.id)
                .where(by_tenant.c.rank <= by_tenant.c.room, *due)
                .order_by(by_tenant.c.rank, D.next_attempt_at, D.id)
                .limit(free)
            )
            if self._skip_locked:
                query = query.with_for_update(of=D, skip_locked=True)
            rows = list((await session.execute(query)).scalars())
            if not rows:
                await session.commit()
                return []
            jobs = await self._jobs(session, rows, now)
            await session.commit()
            return jobs

    async def _jobs(self, session: AsyncSession, rows: list[NotificationDelivery], now: datetime) -> list[Job]:
        endpoints = {
            e.id: e
            for e in (
                await session.execute(
                    select(NotificationEndpoint).where(NotificationEndpoint.id.in_({r.endpoint_id for r in rows}))
                )
            ).scalars()
        }
        bodies = dict(
            (
                await session.execute(
                    select(NotificationMessage.id, NotificationMessage.body).where(
                        NotificationMessage.id.in_({r.message_id for r in rows})
                    )
                )
            ).all()
        )
        lease_end = now + timedelta(seconds=self._settings.timeout_seconds) + LEASE_MARGIN
        jobs = []
        for row in rows:
            endpoint = endpoints[row.endpoint_id]
            try:
                keys = await endpoint_keys(session, self._vault, endpoint, now)
            except (VaultError, LookupError) as exc:
                # One tenant's unreadable secret must not stop everyone's deliveries: set it aside.
                log.warning(
                    "notification %s not sent: its signing secret cannot be opened (%s)", row.id, type(exc).__name__
                )
                row.next_attempt_at = now + VAULT_BACKOFF
                continue
            row.claim_token = token = secrets.token_hex(16)
            row.next_attempt_at = lease_end
            jobs.append(
                Job(
                    delivery_id=row.id,
                    token=token,
                    tenant_id=row.tenant_id,
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    message_id=row.message_id,
                    body=bodies[row.message_id],
                    keys=keys,
                    attempts=row.attempts,
                )
            )
        return jobs

    # -- one attempt ----------------------------------------------------------------------

    async def _deliver(self, job: Job) -> None:
        outcome = await self._send(job)
        try:
            await self._to_the_end(self._record(job, outcome))
        except Exception as exc:  # the lease expires and the delivery is sent again
            log.warning("notification outcome for %s not recorded (%s)", job.delivery_id, type(exc).__name__)

    async def _send(self, job: Job) -> Outcome:
        assert self._client is not None
        started = time.perf_counter()
        status_code: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            headers = signing.headers(job.message_id, utcnow(), job.body, (k.reveal() for k in job.keys))
            async with asyncio.timeout(self._settings.timeout_seconds):
                if self._https_only and not job.url.startswith("https://"):
                    raise BlockedAddress("not https")
                async with self._client.stream("POST", job.url, content=job.body.encode(), headers=headers) as r:
                    status_code = r.status_code
                    excerpt = await _excerpt(r)
            if not 200 <= status_code < 300:
                error = "redirect" if 300 <= status_code < 400 else "http_status"
        except BlockedAddress:
            error = "blocked_address"
        except (TimeoutError, httpx.TimeoutException):
            error = "timeout"
        except httpx.ConnectError:
            error = "connect_error"
        except httpx.HTTPError:
            error = "transport_error"
        duration_ms = int((time.perf_counter() - started) * 1000)
        return Outcome(status_code=status_code, error=error, duration_ms=duration_ms, excerpt=excerpt)

    async def _record(self, job: Job, outcome: Outcome) -> None:
        now = utcnow()
        attempt = job.attempts + 1
        values: dict = {
            "attempts": D.attempts + 1,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "claim_token": None,
            "updated_at": now,
        }
        schedule = self._settings.retry_schedule
        if outcome.ok:
            counted = "delivered"
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif attempt <= len(schedule):
            counted = "retrying"
            values.update(next_attempt_at=now + timedelta(seconds=schedule[attempt - 1]))
        else:
            counted = "failed"
            values.update(status="failed", next_attempt_at=None)
        async with self._sessions() as session:
            session.add(
                NotificationAttempt(
                    id=new_id("nat"),
                    tenant_id=job.tenant_id,
                    delivery_id=job.delivery_id,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    response_excerpt=outcome.excerpt,
                )
            )
            # A lease taken over (ours expired, or an admin asked for a retry) is no longer ours to settle.
            await session.execute(update(D).where(D.id == job.delivery_id, D.claim_token == job.token).values(**values))
            await session.commit()
        count_notification_delivery(counted)


def _left(key: ColumnExpressionArgument[str], inflight: Counter[str], limit: int) -> ColumnElement[int]:
    """How many more sends ``key`` (an endpoint's or a tenant's id) may have: ``limit`` less its sends in flight."""
    started = {k: limit - n for k, n in inflight.items() if n < limit}
    return case(started, value=key, else_=limit) if started else literal(limit)


async def _excerpt(response: httpx.Response) -> str | None:
    """The first bytes of the answer, read no further: an endpoint cannot make the hub read a big body."""
    kept = b""
    async for chunk in response.aiter_raw():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    if not kept:
        return None
    text = kept[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else " " for c in text)
