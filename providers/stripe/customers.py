"""Stripe customers beyond creation: update, delete, SetupIntents and saved payment methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import stripe

from providers.base.customers import CustomerUpdate, SavedPaymentMethod, SetupIntentCreate, SetupIntentSnapshot
from providers.base.payments import CustomerSnapshot
from providers.stripe import recurring_transformers as rtx
from providers.stripe import transformers as tx
from providers.stripe import wire
from providers.stripe.errors import stripe_errors

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost


class StripeCustomers:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""

    async def update_customer(
        self: StripeHost, ctx: TenantContext, provider_customer_id: str, data: CustomerUpdate, *, idempotency_key: str
    ) -> CustomerSnapshot:
        params: Any = {}
        if data.email is not None:
            params["email"] = data.email
        if data.name is not None:
            params["name"] = data.name
        if data.metadata is not None:
            params["metadata"] = dict(data.metadata)
        with stripe_errors():
            customer = await self.client(ctx).v1.customers.update_async(
                provider_customer_id, params, {"idempotency_key": idempotency_key}
            )
        return tx.customer_from_stripe(customer)

    async def delete_customer(self: StripeHost, ctx: TenantContext, provider_customer_id: str) -> None:
        with stripe_errors():
            try:
                await self.client(ctx).v1.customers.delete_async(provider_customer_id)
            except stripe.InvalidRequestError as exc:
                if getattr(getattr(exc, "error", None), "code", None) == "resource_missing":
                    return  # already gone at Stripe: deleting is done
                raise

    async def create_setup_intent(
        self: StripeHost, ctx: TenantContext, data: SetupIntentCreate, *, idempotency_key: str
    ) -> SetupIntentSnapshot:
        params: Any = {"customer": data.provider_customer_id, "usage": "off_session", "metadata": dict(data.metadata)}
        with stripe_errors():
            si = await self.client(ctx).v1.setup_intents.create_async(params, {"idempotency_key": idempotency_key})
        return rtx.setup_intent_from_stripe(si)

    async def list_payment_methods(
        self: StripeHost, ctx: TenantContext, provider_customer_id: str
    ) -> list[SavedPaymentMethod]:
        params: Any = {"customer": provider_customer_id, "type": "card", "limit": 100}
        with stripe_errors():
            page = await self.client(ctx).v1.payment_methods.list_async(params)
        return [rtx.payment_method_from_stripe(pm) for pm in wire.decode(page, wire.Page).data]
