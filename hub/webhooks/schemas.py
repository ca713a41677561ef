"""Response Structs of the webhook routes."""

from __future__ import annotations

from datetime import datetime

import msgspec


class WebhookAck(msgspec.Struct):
    received: bool = True


class Event(msgspec.Struct):
    id: str
    provider: str
    provider_event_id: str
    type: str
    received_at: datetime
    last_delivery_at: datetime
    deliveries: int
    payment_id: str | None
    #: pending (stored, not yet applied), applied, ignored or failed.
    outcome: str
    #: Why the event is failed; null otherwise.
    reason: str | None = None


class EventList(msgspec.Struct):
    data: list[Event]
    has_more: bool
