"""Stripe payment operations (PaymentIntents, refunds, customers, Checkout Sessions).

Every call goes through the tenant's own ``StripeClient`` (``self.client(ctx)``) and carries
the idempotency key the hub derived. SDK exceptions become the neutral typed errors here.

``self.options.emulator == "localstripe"`` (``HUB_STRIPE_EMULATOR``) says the plugin talks to the
localstripe emulator, which refuses parameters it does not know: against it the payment's
description and the refund's reason travel in metadata instead of their own fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import stripe

from providers.base.errors import CardDeclined, InvalidRequest
from providers.base.payments import (
    CheckoutCreate,
    CheckoutSnapshot,
    CustomerCreate,
    CustomerSnapshot,
    PaymentCreate,
    PaymentDeclined,
    PaymentSnapshot,
    RefundSnapshot,
)
from providers.stripe import transformers as tx
from providers.stripe import wire
from providers.stripe.errors import stripe_errors, translate
from providers.stripe.host import is_localstripe

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost


#: The SDK's parameter TypedDicts use Literal types the neutral ``str`` fields cannot carry; the
#: hub validates those values before they reach the plugin, so plain dicts go to the SDK.
SdkParams = Any


class StripePayments:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""

    async def create_payment(
        self: StripeHost, ctx: TenantContext, data: PaymentCreate, *, idempotency_key: str
    ) -> PaymentSnapshot:
        client = self.client(ctx)
        params: SdkParams = tx.payment_intent_params(data, emulator=is_localstripe(self))
        with stripe_errors():
            try:
                pi = await client.v1.payment_intents.create_async(params, {"idempotency_key": idempotency_key})
            except stripe.CardError as exc:
                raise await _declined(client, exc) from None
        return tx.payment_from_stripe(pi)

    async def get_payment(self: StripeHost, ctx: TenantContext, provider_payment_id: str) -> PaymentSnapshot:
        # The latest charge says until when a held authorization may be captured.
        params: SdkParams = {} if is_localstripe(self) else {"expand": ["latest_charge"]}
        with stripe_errors():
            pi = await self.client(ctx).v1.payment_intents.retrieve_async(provider_payment_id, params)
        return tx.payment_from_stripe(pi)

    async def find_payment(self: StripeHost, ctx: TenantContext, hub_payment_id: str) -> PaymentSnapshot | None:
        # Search is eventually consistent at Stripe (about a minute); callers only use it for
        # payments whose creation was interrupted well before.
        query = f"metadata['hub_payment_id']:'{hub_payment_id}'"
        with stripe_errors():
            found = await self.client(ctx).v1.payment_intents.search_async({"query": query, "limit": 1})
        data = wire.decode(found, wire.Page).data
        return tx.payment_from_stripe(data[0]) if data else None

    async def capture_payment(
        self: StripeHost, ctx: TenantContext, provider_payment_id: str, amount: int | None, *, idempotency_key: str
    ) -> PaymentSnapshot:
        params: SdkParams = {} if amount is None else {"amount_to_capture": amount}
        with stripe_errors():
            pi = await self.client(ctx).v1.payment_intents.capture_async(
                provider_payment_id, params, {"idempotency_key": idempotency_key}
            )
        return tx.payment_from_stripe(pi)

    async def cancel_payment(
        self: StripeHost, ctx: TenantContext, provider_payment_id: str, *, idempotency_key: str
    ) -> PaymentSnapshot:
        with stripe_errors():
            pi = await self.client(ctx).v1.payment_intents.cancel_async(
                provider_payment_id, {}, {"idempotency_key": idempotency_key}
            )
        return tx.payment_from_stripe(pi)

    async def create_refund(
        self: StripeHost,
        ctx: TenantContext,
        provider_payment_id: str,
        amount: int,
        *,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
        refund_application_fee: bool = False,
    ) -> RefundSnapshot:
        if reason is not None and reason not in tx.REFUND_REASONS:
            raise InvalidRequest(f"reason must be one of {', '.join(tx.REFUND_REASONS)}", param="reason")
        params: SdkParams = {"payment_intent": provider_payment_id, "amount": amount, "metadata": dict(metadata)}
        if reason:
            if is_localstripe(self):
                params["metadata"]["hub_refund_reason"] = reason
            else:
                params["reason"] = reason
        # A destination charge's automatic transfer is not reversed by a plain refund: Stripe
        # reverses it (and refunds the fee) in proportion to the amount only when asked.
        if reverse_transfer:
            params["reverse_transfer"] = True
        if refund_application_fee:
            params["refund_application_fee"] = True
        with stripe_errors():
            refund = await self.client(ctx).v1.refunds.create_async(params, {"idempotency_key": idempotency_key})
        return tx.refund_from_stripe(refund)

    async def list_refunds(self: StripeHost, ctx: TenantContext, provider_payment_id: str) -> list[RefundSnapshot]:
        with stripe_errors():
            page = await self.client(ctx).v1.refunds.list_async({"payment_intent": provider_payment_id, "limit": 100})
        return [tx.refund_from_stripe(r) for r in wire.decode(page, wire.Page).data]

    async def create_customer(
        self: StripeHost, ctx: TenantContext, data: CustomerCreate, *, idempotency_key: str
    ) -> CustomerSnapshot:
        params: SdkParams = {"metadata": dict(data.metadata)}
        if data.email is not None:
            params["email"] = data.email
        if data.name is not None:
            params["name"] = data.name
        with stripe_errors():
            customer = await self.client(ctx).v1.customers.create_async(params, {"idempotency_key": idempotency_key})
        return tx.customer_from_stripe(customer)

    async def create_checkout_session(
        self: StripeHost, ctx: TenantContext, data: CheckoutCreate, *, idempotency_key: str
    ) -> CheckoutSnapshot:
        with stripe_errors():
            session = await self.client(ctx).v1.checkout.sessions.create_async(
                cast("SdkParams", tx.checkout_session_params(data)), {"idempotency_key": idempotency_key}
            )
        return tx.checkout_from_stripe(session)

    async def get_checkout_session(self: StripeHost, ctx: TenantContext, provider_session_id: str) -> CheckoutSnapshot:
        with stripe_errors():
            session = await self.client(ctx).v1.checkout.sessions.retrieve_async(provider_session_id)
        return tx.checkout_from_stripe(session)


async def _declined(client: stripe.StripeClient, exc: stripe.CardError) -> CardDeclined:
    """The decline, with the PaymentIntent it left behind.

    Real Stripe names the PaymentIntent in the error; the emulator names only the charge,
    whose ``payment_intent`` leads to it.
    """
    base = translate(exc)
    assert isinstance(base, CardDeclined)
    # The SDK's ErrorObject raises AttributeError for a field Stripe left out: read with defaults.
    err = exc.error
    pi: object = getattr(err, "payment_intent", None)
    charge_id: str | None = getattr(err, "charge", None)
    try:
        if pi is None and charge_id:
            charge = await client.v1.charges.retrieve_async(charge_id)
            pi = wire.ref_id(wire.decode(charge, wire.Charge).payment_intent)
        if isinstance(pi, str):
            pi = await client.v1.payment_intents.retrieve_async(pi)
    except stripe.StripeError:
        pi = None  # the decline is the news; the payment can still be repaired by sync
    snapshot = tx.payment_from_stripe(pi) if pi is not None else None
    return PaymentDeclined(base.message, decline_code=base.decline_code, snapshot=snapshot, param=base.param)
