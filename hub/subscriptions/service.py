"""Subscriptions: create (charging a payment method, or with a trial), read, list, cancel.

Status is then kept true by the provider's events (hub.subscriptions.apply), under the same
order rules as the answers of these calls (hub.subscriptions.status).
"""

from __future__ import annotations

import time

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.catalog.service import owned_price
from hub.customers.service import owned as owned_customer
from hub.db.base import utcnow
from hub.db.recurring import Subscription
from hub.errors import Conflict, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.payments import common
from hub.recurring import objects
from hub.recurring.pages import page
from hub.services import Services
from hub.subscriptions import schemas
from hub.subscriptions.status import ENDED, apply_snapshot
from providers.base import recurring as neutral

ROUTE_CREATE, ROUTE_CANCEL = "subscriptions.create", "subscriptions.cancel"


def view(row: Subscription) -> schemas.Subscription:
    return schemas.Subscription(
        id=row.id,
        provider=row.provider,
        provider_subscription_id=row.provider_subscription_id,
        customer_id=row.customer_id,
        status=row.status,
        items=[schemas.Item(price_id=i["price_id"], quantity=i["quantity"]) for i in row.items or []],
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        latest_invoice_id=row.latest_invoice_id,
        metadata=dict(row.metadata_ or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def owned(session: AsyncSession, tenant_id: str, subscription_id: str) -> Subscription:
    return await objects.owned(session, Subscription, tenant_id, subscription_id)


def _answered_now(snap: neutral.SubscriptionSnapshot) -> neutral.SubscriptionSnapshot:
    """An API answer is the truth as of now: events older than it must not undo it."""
    return msgspec.structs.replace(snap, as_of=max(snap.as_of, int(time.time())))


async def create_subscription(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    data: schemas.SubscriptionCreate,
    attempt: Attempt,
) -> schemas.Subscription:
    metadata = common.check_metadata(data.metadata)
    customer = await owned_customer(session, who.tenant_id, data.customer_id, param="customer_id")
    items: list[neutral.SubscriptionItem] = []
    for n, item in enumerate(data.items):
        price = await owned_price(session, who.tenant_id, item.price_id, f"items.{n}.price_id")
        if price.interval is None:
            raise ValidationFailed("A subscription needs recurring prices", param=f"items.{n}.price_id")
        if price.provider != customer.provider:
            raise ValidationFailed("The price and the customer belong to different providers", param=f"items.{n}")
        items.append(neutral.SubscriptionItem(provider_price_id=price.provider_price_id, quantity=item.quantity))
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    hub_items = [{"price_id": i.price_id, "quantity": i.quantity} for i in data.items]
    customer_id, provider_customer_id = customer.id, common.remote_customer_id(customer)

    def build(hub_id: str, snap: neutral.SubscriptionSnapshot) -> Subscription:
        now = utcnow()
        row = Subscription(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_subscription_id=snap.provider_subscription_id,
            customer_id=customer_id,
            status=snap.status,
            status_as_of=0,
            items=hub_items,
            cancel_at_period_end=False,
            metadata_=metadata,
            created_at=now,
            updated_at=now,
        )
        apply_snapshot(row, _answered_now(snap))
        return row

    row = await objects.created(
        session,
        Subscription,
        attempt,
        prefix="sub",
        call=lambda hub_id: provider.create_subscription(
            ctx,
            neutral.SubscriptionCreate(
                provider_customer_id=provider_customer_id,
                items=tuple(items),
                metadata={**metadata, "hub_tenant_id": who.tenant_id, "hub_subscription_id": hub_id},
                payment_method=data.payment_method,
                trial_days=data.trial_days,
            ),
            idempotency_key=store.provider_key(hub_id, "subscription"),
        ),
        build=build,
    )
    return await objects.answer(session, attempt, row, view)


async def get_subscription(session: AsyncSession, who: TenantPrincipal, subscription_id: str) -> schemas.Subscription:
    row = await owned(session, who.tenant_id, subscription_id)
    await session.commit()
    return view(row)


async def list_subscriptions(
    session: AsyncSession,
    who: TenantPrincipal,
    *,
    limit: int,
    starting_after: str | None,
    customer_id: str | None,
    status: str | None,
) -> schemas.SubscriptionList:
    rows, more = await page(
        session,
        Subscription,
        who.tenant_id,
        limit=limit,
        starting_after=starting_after,
        customer_id=customer_id,
        status=status,
    )
    return schemas.SubscriptionList(data=[view(r) for r in rows], has_more=more)


async def cancel_subscription(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    subscription_id: str,
    data: schemas.CancelRequest,
    attempt: Attempt,
) -> schemas.Subscription:
    row = await owned(session, who.tenant_id, subscription_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)

    def check(sub: Subscription) -> None:
        if sub.status in ENDED:
            raise Conflict(f"A subscription in status {sub.status} cannot be canceled", code="invalid_state")

    def apply(sub: Subscription, snap: neutral.SubscriptionSnapshot) -> None:
        apply_snapshot(sub, _answered_now(snap))
        sub.updated_at = utcnow()

    row = await objects.acted(
        session,
        Subscription,
        who.tenant_id,
        subscription_id,
        check=check,
        call=lambda sub: provider.cancel_subscription(
            ctx,
            sub.provider_subscription_id,
            at_period_end=data.at_period_end,
            idempotency_key=store.provider_key(sub.id, "cancel", str(data.at_period_end)),
        ),
        apply=apply,
    )
    return await objects.answer(session, attempt, row, view, status=200)


async def sync_subscription(
    session: AsyncSession, services: Services, who: TenantPrincipal, subscription_id: str
) -> schemas.Subscription:
    """Re-read the subscription from the provider and apply it (the repair for news the hub missed,
    e.g. an event that arrived before the create call had written the subscription)."""
    row = await owned(session, who.tenant_id, subscription_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    snap = await provider.get_subscription(ctx, row.provider_subscription_id)
    row = await owned(session, who.tenant_id, subscription_id)
    if apply_snapshot(row, _answered_now(snap)):
        row.updated_at = utcnow()
    await session.commit()
    return view(row)
