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
from hub.operations.driver import declare, end
from hub.payments import common
from hub.recurring import objects
from hub.recurring.objects import Action, Creation, provider_id
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
        provider_subscription_id=provider_id(row),
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


@declare("POST", "/v1/subscriptions")
class CreateSubscription(Creation[neutral.SubscriptionSnapshot]):
    route = ROUTE_CREATE
    model, prefix = Subscription, "sub"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.SubscriptionCreate) -> None:
        super().__init__(services, who)
        self.data = data

    def validate(self) -> None:
        self.metadata = common.check_metadata(self.data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        tenant_id = self.who.tenant_id
        customer = await owned_customer(tx, tenant_id, self.data.customer_id, param="customer_id")
        self.items: list[neutral.SubscriptionItem] = []
        for n, item in enumerate(self.data.items):
            price = await owned_price(tx, tenant_id, item.price_id, f"items.{n}.price_id")
            if price.interval is None:
                raise ValidationFailed("A subscription needs recurring prices", param=f"items.{n}.price_id")
            if price.provider != customer.provider:
                raise ValidationFailed("The price and the customer belong to different providers", param=f"items.{n}")
            self.items.append(neutral.SubscriptionItem(provider_price_id=provider_id(price), quantity=item.quantity))
        self.provider = common.provider_by_name(self.services, customer.provider)
        self.ctx = await common.provider_context(tx, self.services, self.provider, tenant_id)
        self.customer_id, self.provider_customer_id = customer.id, common.remote_customer_id(customer)

    async def call(self) -> neutral.SubscriptionSnapshot:
        data, hub_id = self.data, self.hub_id
        return await self.provider.create_subscription(
            self.ctx,
            neutral.SubscriptionCreate(
                provider_customer_id=self.provider_customer_id,
                items=tuple(self.items),
                metadata={**self.metadata, "hub_tenant_id": self.who.tenant_id, "hub_subscription_id": hub_id},
                payment_method=data.payment_method,
                trial_days=data.trial_days,
            ),
            idempotency_key=store.provider_key(hub_id, "subscription"),
        )

    def pending(self) -> Subscription:
        return self.new_row(
            customer_id=self.customer_id,
            status="incomplete",  # until the provider's answer, whose own status comes after any (as_of 0)
            status_as_of=0,
            items=[{"price_id": i.price_id, "quantity": i.quantity} for i in self.data.items],
            cancel_at_period_end=False,
            metadata_=self.metadata,
        )

    def fill(self, row: Subscription, answer: neutral.SubscriptionSnapshot) -> None:
        row.provider_subscription_id = answer.provider_subscription_id
        if apply_snapshot(row, _answered_now(answer)):
            row.updated_at = utcnow()

    def view(self, row: Subscription) -> schemas.Subscription:
        return view(row)


async def get_subscription(session: AsyncSession, who: TenantPrincipal, subscription_id: str) -> schemas.Subscription:
    row = await owned(session, who.tenant_id, subscription_id)
    await end(session)
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


@declare("POST", "/v1/subscriptions/{subscription_id:str}/cancel")
class CancelSubscription(Action[neutral.SubscriptionSnapshot]):
    route = ROUTE_CANCEL
    model = Subscription

    def __init__(
        self, services: Services, who: TenantPrincipal, subscription_id: str, data: schemas.CancelRequest
    ) -> None:
        super().__init__(services, who, subscription_id)
        self.data = data

    def check(self, row: Subscription) -> None:
        if row.status in ENDED:
            raise Conflict(f"A subscription in status {row.status} cannot be canceled", code="invalid_state")

    async def call(self) -> neutral.SubscriptionSnapshot:
        at_period_end = self.data.at_period_end
        return await self.provider.cancel_subscription(
            self.ctx,
            self.row.provider_subscription_id,
            at_period_end=at_period_end,
            idempotency_key=store.provider_key(self.row.id, "cancel", str(at_period_end)),
        )

    def apply(self, row: Subscription, answer: neutral.SubscriptionSnapshot) -> None:
        apply_snapshot(row, _answered_now(answer))
        row.updated_at = utcnow()

    def view(self, row: Subscription) -> schemas.Subscription:
        return view(row)


async def sync_subscription(
    session: AsyncSession, services: Services, who: TenantPrincipal, subscription_id: str
) -> schemas.Subscription:
    """Re-read the subscription from the provider and apply it (the repair for news the hub missed,
    e.g. an event that arrived before the create call had written the subscription)."""
    row = await owned(session, who.tenant_id, subscription_id)
    provider = common.provider_by_name(services, row.provider)
    ctx = await common.provider_context(session, services, provider, who.tenant_id)
    await end(session)  # no transaction (nor SQLite's lock) is held while the provider is read
    snap = await provider.get_subscription(ctx, provider_id(row))
    row = await owned(session, who.tenant_id, subscription_id)
    if apply_snapshot(row, _answered_now(snap)):
        row.updated_at = utcnow()
    await end(session)
    return view(row)
