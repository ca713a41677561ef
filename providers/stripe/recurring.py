"""Stripe catalogue and subscriptions (Products, Prices, Subscriptions).

Against the localstripe emulator (``options.emulator == "localstripe"``, ``HUB_STRIPE_EMULATOR``),
which has no Prices, a recurring price is made as a Plan and subscriptions name it as ``plan``:
the older form of the same thing. An API base alone (Stripe's own mock, a proxy, a recorder) is
Stripe, and gets what Stripe expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.base.errors import NotSupported
from providers.base.recurring import (
    PriceCreate,
    PriceSnapshot,
    ProductCreate,
    ProductSnapshot,
    SubscriptionCreate,
    SubscriptionSnapshot,
)
from providers.stripe import recurring_transformers as rtx
from providers.stripe.errors import stripe_errors
from providers.stripe.host import is_localstripe

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost


class StripeRecurring:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""

    async def create_product(
        self: StripeHost, ctx: TenantContext, data: ProductCreate, *, idempotency_key: str
    ) -> ProductSnapshot:
        params: Any = {"name": data.name, "metadata": dict(data.metadata)}
        if data.description:
            params["description"] = data.description
        with stripe_errors():
            product = await self.client(ctx).v1.products.create_async(params, {"idempotency_key": idempotency_key})
        return rtx.product_from_stripe(product)

    async def create_price(
        self: StripeHost, ctx: TenantContext, data: PriceCreate, *, idempotency_key: str
    ) -> PriceSnapshot:
        emulator = is_localstripe(self)
        if emulator and data.recurring is None:
            raise NotSupported("The Stripe emulator has no one-off prices (it knows only recurring plans)")
        params: Any = rtx.price_params(data, emulator=emulator)
        options: Any = {"idempotency_key": idempotency_key}
        client = self.client(ctx)
        price: Any
        with stripe_errors():
            if emulator:
                price = await client.v1.plans.create_async(params, options)
            else:
                price = await client.v1.prices.create_async(params, options)
        return rtx.price_from_stripe(price)

    async def create_subscription(
        self: StripeHost, ctx: TenantContext, data: SubscriptionCreate, *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        client = self.client(ctx)
        with stripe_errors():
            if data.payment_method:
                # The card pays this and every later invoice: saved on the customer as its default.
                # Both calls are idempotent in effect (attaching to the same customer again is a no-op).
                await client.v1.payment_methods.attach_async(
                    data.payment_method,
                    {"customer": data.provider_customer_id},
                    {"idempotency_key": f"{idempotency_key}-attach"},
                )
                invoice_settings: Any = {"invoice_settings": {"default_payment_method": data.payment_method}}
                await client.v1.customers.update_async(
                    data.provider_customer_id, invoice_settings, {"idempotency_key": f"{idempotency_key}-default"}
                )
            params: Any = rtx.subscription_params(data, emulator=is_localstripe(self))
            sub = await client.v1.subscriptions.create_async(params, {"idempotency_key": idempotency_key})
        return rtx.subscription_from_stripe(sub)

    async def get_subscription(
        self: StripeHost, ctx: TenantContext, provider_subscription_id: str
    ) -> SubscriptionSnapshot:
        with stripe_errors():
            sub = await self.client(ctx).v1.subscriptions.retrieve_async(provider_subscription_id)
        return rtx.subscription_from_stripe(sub)

    async def cancel_subscription(
        self: StripeHost,
        ctx: TenantContext,
        provider_subscription_id: str,
        *,
        at_period_end: bool,
        idempotency_key: str,
    ) -> SubscriptionSnapshot:
        subs = self.client(ctx).v1.subscriptions
        options: Any = {"idempotency_key": idempotency_key}
        with stripe_errors():
            if at_period_end:
                params: Any = {"cancel_at_period_end": True}
                sub = await subs.update_async(provider_subscription_id, params, options)
            else:
                sub = await subs.cancel_async(provider_subscription_id, {}, options)
        return rtx.subscription_from_stripe(sub)
