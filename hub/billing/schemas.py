"""Request and response Structs of the platform billing routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


class Plan(msgspec.Struct):
    id: str
    name: str
    amount: int
    currency: str
    interval: str
    stripe_price_id: str
    trial_days: int | None = None


class PlanList(msgspec.Struct):
    data: list[Plan]


class PlatformSubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # A PaymentMethod the platform collected from the tenant (e.g. with Stripe.js); it becomes
    # the customer's default for invoices. Test mode accepts Stripe's test ids (pm_card_visa).
    payment_method: Annotated[str, msgspec.Meta(min_length=4, max_length=255, pattern=r"^pm_[A-Za-z0-9_]+$")] | None = (
        None
    )


class PlatformSubscription(msgspec.Struct):
    id: str
    tenant_id: str
    plan: str | None
    status: str
    stripe_customer_id: str
    stripe_subscription_id: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    created_at: datetime
    updated_at: datetime


class Received(msgspec.Struct):
    received: bool = True
