"""Request and response Structs of the notification-endpoint routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    enabled_events: Annotated[list[EventName], msgspec.Meta(min_length=1, max_length=32)] = msgspec.field(
        default_factory=lambda: ["*"]
    )
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class Endpoint(msgspec.Struct):
    id: str
    url: str
    enabled_events: list[str]
    status: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(Endpoint):
    #: Shown here only (and to an Idempotency-Key replay of this very request).
    secret: str


class EndpointList(msgspec.Struct):
    data: list[Endpoint]
    has_more: bool


class SecretRotated(msgspec.Struct):
    secret: str
    previous_secret_expires_at: datetime


class Delivery(msgspec.Struct):
    id: str
    endpoint_id: str
    message_id: str
    type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(msgspec.Struct):
    data: list[Delivery]
    has_more: bool


class PingSent(msgspec.Struct):
    message_id: str
    delivery_id: str
