"""Neutral customer, saved-payment-method and setup types, and that part of the provider contract.

Every method has a default that raises ``NotSupported``, so a plugin written before these
operations existed keeps serving payments; the hub reports 501 ``not_supported`` for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers.base.errors import NotSupported
from providers.base.statuses import SetupStatus

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.payments import CustomerSnapshot
    from providers.base.provider import TenantContext


class CustomerUpdate(msgspec.Struct, frozen=True):
    """Fields to change; ``None`` leaves a field as it is. ``metadata`` is the whole new set."""

    email: str | None = None
    name: str | None = None
    metadata: dict[str, str] | None = None


class Card(msgspec.Struct, frozen=True):
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class SavedPaymentMethod(msgspec.Struct, frozen=True):
    """A payment method saved on a customer, safe to show (no full number ever)."""

    id: str
    type: str
    card: Card | None = None


class SetupIntentCreate(msgspec.Struct, frozen=True):
    provider_customer_id: str
    #: Carries ``hub_tenant_id`` and ``hub_setup_intent_id``.
    metadata: dict[str, str]


class SetupIntentSnapshot(msgspec.Struct, frozen=True):
    provider_setup_intent_id: str
    status: SetupStatus
    client_secret: str | None = None
    payment_method: str | None = None


class CustomersAPI:
    """Customer management and saved payment methods a provider offers."""

    async def update_customer(
        self, ctx: TenantContext, provider_customer_id: str, data: CustomerUpdate, *, idempotency_key: str
    ) -> CustomerSnapshot:
        """Change a customer's email, name or metadata."""
        raise NotSupported(f"{type(self).__name__} cannot update customers")

    async def delete_customer(self, ctx: TenantContext, provider_customer_id: str) -> None:
        """Delete the customer at the provider (its saved payment methods go with it)."""
        raise NotSupported(f"{type(self).__name__} cannot delete customers")

    async def create_setup_intent(
        self, ctx: TenantContext, data: SetupIntentCreate, *, idempotency_key: str
    ) -> SetupIntentSnapshot:
        """Start saving a payment method for off-session use; the client finishes it with ``client_secret``."""
        raise NotSupported(f"{type(self).__name__} cannot save payment methods")

    async def list_payment_methods(self, ctx: TenantContext, provider_customer_id: str) -> list[SavedPaymentMethod]:
        """The customer's saved payment methods, newest first."""
        raise NotSupported(f"{type(self).__name__} cannot list saved payment methods")
