"""Neutral catalogue and subscription types, and that part of the provider contract.

Every method has a default that raises ``NotSupported`` (the hub answers 501), so a plugin
that offers only payments keeps working unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers.base.errors import NotSupported
from providers.base.statuses import IntervalName, SubscriptionStatus
from providers.base.types import Amount

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.provider import TenantContext


class ProductCreate(msgspec.Struct, frozen=True):
    name: str
    metadata: dict[str, str]
    description: str | None = None


class ProductSnapshot(msgspec.Struct, frozen=True):
    provider_product_id: str
    name: str
    active: bool = True


class Recurrence(msgspec.Struct, frozen=True):
    interval: IntervalName
    interval_count: int = 1


class PriceCreate(msgspec.Struct, frozen=True):
    provider_product_id: str
    currency: str
    unit_amount: int
    metadata: dict[str, str]
    recurring: Recurrence | None = None


class PriceSnapshot(msgspec.Struct, frozen=True):
    provider_price_id: str
    active: bool = True


class SubscriptionItem(msgspec.Struct, frozen=True):
    provider_price_id: str
    quantity: int = 1


class SubscriptionCreate(msgspec.Struct, frozen=True):
    provider_customer_id: str
    items: tuple[SubscriptionItem, ...]
    #: Carries ``hub_tenant_id`` and ``hub_subscription_id``.
    metadata: dict[str, str]
    payment_method: str | None = None
    trial_days: int | None = None


class SubscriptionSnapshot(msgspec.Struct, frozen=True):
    """A subscription at one moment; ``as_of`` (epoch seconds) orders facts about it."""

    provider_subscription_id: str
    status: SubscriptionStatus
    as_of: Amount
    current_period_end: Amount | None = None
    cancel_at_period_end: bool = False
    latest_invoice: str | None = None
    metadata: dict[str, str] = {}


class RecurringAPI:
    """Catalogue and subscriptions a provider offers."""

    async def create_product(self, ctx: TenantContext, data: ProductCreate, *, idempotency_key: str) -> ProductSnapshot:
        """Create a product (what is sold) in the tenant's account."""
        raise NotSupported(f"{type(self).__name__} has no product catalogue")

    async def create_price(self, ctx: TenantContext, data: PriceCreate, *, idempotency_key: str) -> PriceSnapshot:
        """Create a one-off or recurring price of a product. Amounts are validated minor units."""
        raise NotSupported(f"{type(self).__name__} has no prices")

    async def create_subscription(
        self, ctx: TenantContext, data: SubscriptionCreate, *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        """Subscribe a customer to recurring prices, charging ``payment_method`` or starting a trial."""
        raise NotSupported(f"{type(self).__name__} has no subscriptions")

    async def get_subscription(self, ctx: TenantContext, provider_subscription_id: str) -> SubscriptionSnapshot:
        """Read a subscription's current state."""
        raise NotSupported(f"{type(self).__name__} has no subscriptions")

    async def cancel_subscription(
        self, ctx: TenantContext, provider_subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> SubscriptionSnapshot:
        """Cancel now, or let the subscription run to the end of the paid period."""
        raise NotSupported(f"{type(self).__name__} has no subscriptions")
