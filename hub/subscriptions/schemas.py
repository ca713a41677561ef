"""Request and response Structs of the subscription routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.payments.schemas import Metadata
from hub.recurring.fields import Ref
from providers.base.statuses import SubscriptionStatusName

Status = SubscriptionStatusName


class Item(msgspec.Struct, forbid_unknown_fields=True):
    price_id: Ref
    quantity: Annotated[int, msgspec.Meta(ge=1, le=9999)] = 1


class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: Ref
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=20)]
    payment_method: Ref | None = None
    trial_days: Annotated[int, msgspec.Meta(ge=1, le=730)] | None = None
    metadata: Metadata = {}


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True):
    at_period_end: bool = False


class Subscription(msgspec.Struct):
    id: str
    provider: str
    provider_subscription_id: str
    customer_id: str
    status: str
    items: list[Item]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    #: The provider's id of the latest invoice (the provider makes a subscription's invoices).
    latest_invoice_id: str | None
    metadata: Metadata
    created_at: datetime
    updated_at: datetime


class SubscriptionList(msgspec.Struct):
    data: list[Subscription]
    has_more: bool
