"""What the hub itself saw of a tenant's incoming webhooks: the last verified event, the last bad signature.

``last_event_at`` comes from the event store: the newest event received, whether or not it has
been applied yet (arriving verified is what proves the webhook works).

A badly signed delivery costs its sender nothing, so writing each one down would turn a flood of
forged requests into a flood of database writes. Each process therefore keeps the time of the
last failure per (tenant, provider) in memory and writes it to ``provider_credentials`` at most
once a minute per tenant (``WRITE_INTERVAL``). A reader takes the later of the process's memory
and the stored time, so the process that saw the failure reports it at once and any other
process at most a minute late.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import utcnow
from hub.db.events import WebhookEvent
from hub.db.vault import ProviderCredential

log = logging.getLogger("hub.webhooks")

#: Seconds between two writes of one tenant's last signature failure by one process.
WRITE_INTERVAL = 60.0
#: Tenants remembered per process; the least recently failing are forgotten first (and written
#: again on their next failure, which keeps the bound on writes per tenant).
MAX_TRACKED = 10_000


class _Seen:
    __slots__ = ("last", "written")

    def __init__(self, last: datetime, written: float) -> None:
        self.last = last  # the latest failure this process saw
        self.written = written  # when (monotonic seconds) this process last wrote one down


class SignatureFailures:
    """The last badly signed delivery per (tenant, provider): exact in memory, throttled to the database."""

    def __init__(
        self,
        *,
        interval: float = WRITE_INTERVAL,
        max_tracked: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._max = max_tracked
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    async def record(self, session: AsyncSession, tenant_id: str, provider: str) -> None:
        """Note a delivery that failed verification. Never raises: the caller answers 400 regardless."""
        now, tick, key = utcnow(), self._clock(), (tenant_id, provider)
        seen = self._seen.get(key)
        if seen is not None:
            seen.last = now
            self._seen.move_to_end(key)
            if tick - seen.written < self._interval:
                return
            seen.written = tick
        else:
            self._seen[key] = _Seen(now, tick)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        try:
            # A transaction of its own on the ingest's fresh session: the delivery is refused
            # (400) whatever happens here, and a failure here must not change that answer.
            async with session.begin():
                await session.execute(
                    update(ProviderCredential)
                    .where(ProviderCredential.tenant_id == tenant_id, ProviderCredential.provider == provider)
                    # updated_at says when the credentials changed; a failed delivery changes none.
                    .values(last_signature_failure_at=now, updated_at=ProviderCredential.updated_at)
                )
        except SQLAlchemyError:
            log.warning("could not store the last signature failure of tenant %s", tenant_id)

    def latest(self, row: ProviderCredential) -> datetime | None:
        """The last failure this process saw or any process stored, for the credentials in ``row``."""
        seen = self._seen.get((row.tenant_id, row.provider))
        # A failure remembered from before the credentials were deleted and registered again is not theirs.
        mine = seen.last if seen is not None and seen.last >= row.created_at else None
        times = [t for t in (mine, row.last_signature_failure_at) if t is not None]
        return max(times) if times else None


async def last_event_at(session: AsyncSession, tenant_id: str, provider: str) -> datetime | None:
    """When the tenant's newest verified event arrived (stored, applied or not); ``None`` before the first."""
    # Event ids are time-ordered (hub.db.base.new_id), so the newest is one probe of the
    # (tenant_id, id) index rather than a MAX over every event the tenant ever received.
    return await session.scalar(
        select(WebhookEvent.received_at)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.provider == provider)
        .order_by(WebhookEvent.id.desc())
        .limit(1)
    )
