"""The backlog the database holds, read when ``/metrics`` is scraped.

Pending webhook events (per provider, and the age of the oldest) and pending notification
deliveries (and how overdue the most overdue one is) are figures of the whole hub, not of one
worker: every worker reads the same rows, so in multiprocess mode they are not summed either.
They are what an operator alerts on when the appliers or the dispatchers fall behind, or none
runs (``HUB_APPLIER=0`` and ``HUB_NOTIFY_DISPATCH=0`` everywhere). Both reads are served by the
indexes the applier's and the dispatcher's claims already use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db.base import utcnow
from hub.db.engine import reads, single_statements
from hub.db.events import WebhookEvent
from hub.db.notifications import NotificationDelivery

log = logging.getLogger("hub.observability")

_EVENTS = (
    select(WebhookEvent.provider, func.count(), func.min(WebhookEvent.received_at))
    .where(WebhookEvent.outcome == "pending")
    .group_by(WebhookEvent.provider)
)
_DELIVERIES = select(func.count(), func.min(NotificationDelivery.next_attempt_at)).where(
    NotificationDelivery.status == "pending"
)


def _age(since: datetime | None, now: datetime) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite gives naive UTC times through a bare aggregate
        since = since.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - since).total_seconds())


async def read(engine: AsyncEngine, providers: Iterable[str]) -> list[Metric]:
    """The backlog's gauges; none when the database cannot be read (the process's figures still answer)."""
    try:
        async with reads(single_statements(engine)).connect() as conn:
            events = (await conn.execute(_EVENTS)).all()
            deliveries, due = (await conn.execute(_DELIVERIES)).one()
    except Exception as exc:  # the scrape must not fail with the database: its absence is the alert
        log.warning("metrics: the backlog could not be read (%s)", type(exc).__name__)
        return []
    now = utcnow()
    pending = GaugeMetricFamily(
        "hub_webhook_events_pending", "Webhook events stored and not yet applied, by provider", labels=["provider"]
    )
    by_provider = {provider: count for provider, count, _ in events}
    for provider in sorted(set(providers) | set(by_provider)):
        pending.add_metric([provider], by_provider.get(provider, 0))
    oldest = GaugeMetricFamily(
        "hub_webhook_oldest_pending_event_seconds", "Age of the oldest webhook event not yet applied (0: none)"
    )
    oldest.add_metric([], max((_age(first, now) for *_, first in events), default=0.0))
    waiting = GaugeMetricFamily("hub_notification_deliveries_pending", "Notification deliveries not yet done")
    waiting.add_metric([], deliveries)
    overdue = GaugeMetricFamily(
        "hub_notification_oldest_due_delivery_seconds",
        "How long the most overdue pending notification delivery has been due (0: none is due)",
    )
    overdue.add_metric([], _age(due, now))
    return [pending, oldest, waiting, overdue]
