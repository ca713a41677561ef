"""Hosted checkout sessions in the tenant's provider account."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.payments import CheckoutSession, Payment
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.payments import common, money, schemas
from hub.services import Services
from providers.base import payments as neutral


async def create_checkout_session(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    data: schemas.CheckoutSessionCreate,
    attempt: Attempt,
) -> schemas.CheckoutSession:
    """``attempt`` (the Idempotency-Key) fixes the session's and payment's ids, so a retry asks the
    provider for exactly the same session under the same provider idempotency key."""
    currency = money.normalize_currency(data.currency)
    total = 0
    for n, item in enumerate(data.line_items):
        money.check_amount(item.unit_amount, currency, param=f"line_items.{n}.unit_amount", minimum=False)
        total += item.unit_amount * item.quantity
    money.check_amount(total, currency, param="line_items")
    metadata = common.check_metadata(data.metadata)
    provider = await common.choose_provider(session, services, who.tenant_id, data.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    customer = (
        await common.owned_customer(session, who.tenant_id, data.customer_id, provider.name)
        if data.customer_id
        else None
    )
    payment_id, session_id = attempt.object_id("pay"), attempt.object_id("cs")
    if attempt.resumed:
        earlier = await session.get(CheckoutSession, session_id)
        if earlier is not None and earlier.tenant_id == who.tenant_id:
            await session.commit()
            return _checkout_view(earlier)
    await session.commit()
    hub_metadata = {**metadata, "hub_tenant_id": who.tenant_id, "hub_payment_id": payment_id}
    snap = await provider.create_checkout_session(
        ctx,
        neutral.CheckoutCreate(
            currency=currency,
            success_url=data.success_url,
            cancel_url=data.cancel_url,
            capture_method=data.capture_method,
            metadata=hub_metadata,
            line_items=tuple(
                neutral.CheckoutLineItem(name=i.name, unit_amount=i.unit_amount, quantity=i.quantity)
                for i in data.line_items
            ),
            provider_customer_id=customer.provider_customer_id if customer else None,
        ),
        idempotency_key=store.provider_key(session_id, "checkout"),
    )
    now = utcnow()
    # The payment exists at the provider once the customer submits the page; sync finds it
    # through the session, and its metadata names this row.
    session.add(
        Payment(
            id=payment_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_payment_id=snap.provider_payment_id,
            status="requires_payment_method",
            amount=total,
            currency=currency,
            capture_method=data.capture_method,
            customer_id=customer.id if customer else None,
            metadata_=metadata,
            amount_capturable=0,
            amount_received=0,
            amount_refunded=0,
            created_at=now,
            updated_at=now,
        )
    )
    row = CheckoutSession(
        id=session_id,
        tenant_id=who.tenant_id,
        provider=provider.name,
        provider_session_id=snap.provider_session_id,
        url=snap.url,
        payment_id=payment_id,
        created_at=now,
    )
    session.add(row)
    await session.commit()
    return _checkout_view(row)


def _checkout_view(row: CheckoutSession) -> schemas.CheckoutSession:
    return schemas.CheckoutSession(
        id=row.id,
        provider=row.provider,
        url=row.url,
        provider_session_id=row.provider_session_id,
        payment_id=row.payment_id,
        created_at=row.created_at,
    )
