"""Faults under load, shared by the e2e tests and ``bench/reliability``: the same code proves and shows.

Each scenario runs ``hub serve --workers 2`` as real processes on a PostgreSQL database of its
own, the tenant's Stripe client at the emulator, puts a ``MixedLoad`` on it, injects one fault
while the load runs, keeps loading after it, then retries what failed and collects the facts
(answers by kind, what the database holds, what the emulator holds, the processes' pids). The
facts are returned, not judged: the tests assert on them, the command prints them.

- ``database_outage``: PostgreSQL goes away (a TCP proxy in front of it is cut: listening socket
  closed, open connections reset) for some seconds and comes back.
- ``worker_killed``: one of the two workers gets SIGKILL while webhook deliveries are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hub.idempotency.store import derived_id
from tests.support.databases import PG_HOST, PG_PORT, PG_USER, create_pg_database, drop_pg_database, pg_url
from tests.support.emulator import Emulator
from tests.support.hub import PLATFORM
from tests.support.inbox import wait_applied
from tests.support.mixed_load import Answer, MixedLoad, Tenant, new_tenant, tally
from tests.support.payments import emulator_intents
from tests.support.process import HubProcess
from tests.support.rawdb import execute
from tests.support.tcpproxy import TcpProxy

#: What a client retrying after the fault may be told on the way to its 2xx.
RETRY_SECONDS = 30.0


@dataclass
class Stack:
    """The hub (2 workers) on a fresh PostgreSQL database reached through a proxy that can be cut."""

    emulator: Emulator
    proxy: TcpProxy
    hub: HubProcess
    database_url: str  # direct, for the checks: never through the proxy


@contextlib.contextmanager
def hub_stack(emulator: Emulator, workdir: Path, *, workers: int = 2) -> Iterator[Stack]:
    """Start everything on a new database; stop everything and drop it on the way out, whatever happened."""
    name = create_pg_database()
    proxy = TcpProxy(PG_HOST, PG_PORT)
    hub: HubProcess | None = None
    try:
        proxy.restore()
        hub = HubProcess(
            f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{proxy.port}/{name}",
            workdir / "home",
            workers=workers,
            HUB_STRIPE_API_BASE=emulator.url,
            # The load is one storefront key as fast as the machine goes: lift the per-key limit.
            HUB_RATE_LIMIT_PER_KEY="1000000",
            # Other workers' events are found at this poll: keep the wait after the load short.
            HUB_APPLIER_POLL_SECONDS="0.5",
        )
        yield Stack(emulator, proxy, hub, pg_url(name))
    finally:
        if hub is not None:
            hub.stop()
        proxy.close()
        drop_pg_database(name)


@dataclass
class Facts:
    """What one scenario saw; every set is empty and every count zero when nothing was lost."""

    name: str
    load: list[Answer]  # the answers while the load ran (fault included)
    retries: list[Answer]  # the answers of the retries after it
    fault_at: float
    fault_end: float
    pids_before: tuple[int, set[int]]  # (supervisor, workers)
    pids_after: tuple[int, set[int]]
    lost_payments: set[str] = field(default_factory=set)  # answered 2xx, no row
    lost_events: set[str] = field(default_factory=set)  # acknowledged, not stored
    not_applied_once: dict[str, tuple[str, int]] = field(default_factory=dict)  # event id -> (outcome, attempts)
    unpaid: set[str] = field(default_factory=set)  # payments an applied event should have made succeeded
    intents: Counter[str] = field(default_factory=Counter)  # hub payment id -> PaymentIntents at the emulator
    keys_without_payment: set[str] = field(default_factory=set)  # Idempotency-Keys with no payment row
    payment_rows: set[str] = field(default_factory=set)  # the tenant's payment ids in the database
    #: Idempotency-Key -> (id, key, status, pending_op, provider payment id) of each key still without a 2xx.
    unanswered: dict[str, tuple] = field(default_factory=dict)
    killed: int | None = None  # the worker a kill scenario killed

    def during(self) -> Counter[str]:
        return tally(a for a in self.load if self.fault_at <= a.ended <= self.fault_end)

    def after(self) -> Counter[str]:
        return tally(a for a in self.load if a.ended > self.fault_end)

    def recovered_in(self) -> float | None:
        """Seconds from the fault's end to the first 2xx answer after it."""
        ends = [a.ended for a in self.load if a.ok and a.ended > self.fault_end]
        return min(ends) - self.fault_end if ends else None

    def lost(self) -> int:
        return len(self.lost_payments) + len(self.lost_events)

    def server_errors(self) -> int:
        """5xx answers other than the documented 503 ``database_unavailable``."""
        return sum(1 for a in self.load + self.retries if (a.status or 0) >= 500 and a.code != "database_unavailable")

    def second_intents(self) -> int:
        return sum(n - 1 for n in self.intents.values() if n > 1)

    def unanswered_retries(self) -> set[str]:
        return {a.key for a in self.retries} - {a.key for a in self.retries if a.ok}

    def same_processes(self) -> bool:
        return self.pids_after == self.pids_before

    def acknowledged(self, kind: str) -> int:
        """Distinct payments (or events) answered 2xx, during the load or its retries."""
        return len({a.key for a in self.load + self.retries if a.kind == kind and a.ok})

    def processes(self) -> str:
        if self.same_processes():
            return "same supervisor and workers throughout"
        supervisor = "same supervisor" if self.pids_after[0] == self.pids_before[0] else "NEW supervisor"
        gone = sorted(self.pids_before[1] - self.pids_after[1])
        new = sorted(self.pids_after[1] - self.pids_before[1])
        return f"{supervisor}, worker {gone} replaced by {new}"

    def clean(self) -> bool:
        """Nothing lost, no undocumented 5xx, every retry answered, no second PaymentIntent, every
        stored event applied exactly once."""
        return not (
            self.lost()
            or self.server_errors()
            or self.second_intents()
            or self.unanswered_retries()
            or self.not_applied_once
            or self.unpaid
        )

    def summary(self) -> str:
        counts = tally(self.load)
        parts = [f"{len(self.load)} requests"] + [f"{label} {n}" for label, n in sorted(counts.items())]
        parts += [f"5xx {self.server_errors()}", f"acknowledged and lost {self.lost()}"]
        return f"{self.name}: " + ", ".join(parts)

    def retry_summary(self) -> str:
        counts = tally(self.retries)
        parts = [f"{len(self.retries)} requests"] + [f"{label} {n}" for label, n in sorted(counts.items())]
        parts.append(f"second PaymentIntents {self.second_intents()}")
        applied = "all applied once" if not self.not_applied_once else f"{len(self.not_applied_once)} not applied once"
        return "  retried with the same keys / events after it: " + ", ".join(parts) + f"; events {applied}"


async def database_outage(stack: Stack, *, clients: int, before: float, cut: float, after: float) -> Facts:
    """Payments and deliveries for ``before`` s, PostgreSQL unreachable for ``cut`` s, back for ``after`` s."""

    async def outage() -> None:
        await asyncio.to_thread(stack.proxy.cut)
        try:
            await asyncio.sleep(cut)
        finally:
            await asyncio.to_thread(stack.proxy.restore)

    name = f"database outage {cut:.1f} s under load"
    return await _under_load(stack, name, clients, 0, outage, before, after)


async def worker_killed(stack: Stack, *, clients: int, payments: int, before: float, after: float) -> Facts:
    """Deliveries of events about ``payments`` payments; one worker SIGKILLed after ``before`` s."""
    killed: list[int] = []

    async def kill() -> None:
        killed.append(min(stack.hub.pids()[1]))
        os.kill(killed[0], signal.SIGKILL)

    facts = await _under_load(stack, "worker SIGKILLed under webhook load", clients, payments, kill, before, after)
    facts.killed = killed[0]
    return facts


async def _under_load(
    stack: Stack,
    name: str,
    clients: int,
    seeded: int,
    fault: Callable[[], Awaitable[None]],
    before: float,
    after: float,
) -> Facts:
    """A new tenant, the load (webhooks only when ``seeded`` payments are made first), the fault
    after ``before`` s, ``after`` s more of load, the retries; then the facts."""
    async with httpx.AsyncClient(base_url=stack.hub.url, timeout=30) as http:
        tenant = await new_tenant(http, PLATFORM)
        load = MixedLoad(http, tenant, clients, payments=not seeded)
        for n in range(seeded):
            assert (await load.create_payment(f"seed-{n}")).ok, load.answers[-1]
        load.answers.clear()
        pids_before = stack.hub.pids()
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(stop))
        try:
            await asyncio.sleep(before)
            fault_at = time.monotonic()
            await fault()
            fault_end = time.monotonic()
            await asyncio.sleep(after)
        finally:
            stop.set()
            await running
        loaded = list(load.answers)
        retries = await load.retry_failed(RETRY_SECONDS)
    await _workers(stack, len(pids_before[1]))
    facts = Facts(name, loaded, retries, fault_at, fault_end, pids_before, stack.hub.pids())
    await _check(stack, tenant, load, facts)
    return facts


async def _workers(stack: Stack, count: int, within: float = 30.0) -> None:
    """Wait until the supervisor has ``count`` workers again (it replaces a dead one)."""
    deadline = time.monotonic() + within
    while len(stack.hub.pids()[1]) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _check(stack: Stack, tenant: Tenant, load: MixedLoad, facts: Facts) -> None:
    """Fill in what the database and the emulator hold against what the load was told."""
    await wait_applied(stack.database_url, tenant.id)
    # A payment's Idempotency-Key is the key record whose seed names it (hub/idempotency/store.py).
    records = await execute(
        stack.database_url,
        "SELECT key, seed FROM idempotency_records WHERE tenant_id = :t AND route = 'payments.create'",
        t=tenant.id,
    )
    key_of = {derived_id(seed, "pay"): key for key, seed in records}
    rows = [
        (pid, key_of.get(pid), status, pending_op, provider_payment_id)
        for pid, status, pending_op, provider_payment_id in await execute(
            stack.database_url,
            "SELECT id, status, pending_op, provider_payment_id FROM payments WHERE tenant_id = :t",
            t=tenant.id,
        )
    ]
    by_id = {r[0]: r for r in rows}
    keys = {r[1] for r in rows}
    facts.payment_rows = set(by_id)
    unanswered = load.unanswered("payment")
    facts.unanswered = {r[1]: r for r in rows if r[1] in unanswered}
    facts.lost_payments = load.payment_ids() - set(by_id)
    facts.keys_without_payment = set(load.keys) - keys
    events = {
        r[0]: (r[1], r[2], r[3])
        for r in await execute(
            stack.database_url,
            "SELECT provider_event_id, outcome, attempts, payment_id FROM webhook_events WHERE tenant_id = :t",
            t=tenant.id,
        )
    }
    facts.lost_events = load.acknowledged("webhook") - set(events)
    facts.not_applied_once = {e: (o, n) for e, (o, n, _) in events.items() if (o, n) != ("applied", 1)}
    paid = {p for _, _, p in events.values() if p is not None}
    facts.unpaid = {p for p in paid if by_id.get(p, (None, None, None))[2] != "succeeded"}
    intents = emulator_intents(stack.emulator, tenant.secret_key, hub_tenant_id=tenant.id)
    facts.intents = Counter(pi["metadata"]["hub_payment_id"] for pi in intents)
