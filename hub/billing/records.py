"""Reading Stripe subscription snapshots and keeping billing_subscriptions rows true to them.

Both the subscription route (with Stripe's create response) and the billing webhook (with
event snapshots) go through here, so the ordering rules of hub/billing/status.py apply to
every write, whichever arrives first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.billing.settings import BillingSettings
from hub.billing.status import should_apply
from hub.db.base import new_id
from hub.db.billing import BillingCustomer, BillingSubscription
from providers.base.errors import UnexpectedAnswer
from providers.stripe import wire
from providers.stripe.recurring_transformers import subscription_from_stripe


@dataclass
class SubscriptionFacts:
    """What one Stripe snapshot of a Subscription says, and the Stripe time it says it at."""

    subscription_id: str
    customer_id: str
    status: str
    as_of: int
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool


def _epoch(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None and value > 0 else None


def facts_from_subscription(obj: object, as_of: int | None = None) -> SubscriptionFacts | None:
    """The facts of a Subscription (an SDK object or an event's), read by the Stripe plugin's reader.

    ``as_of`` is the event's time; the subscription's own ``created`` otherwise. ``None`` when the
    object is not a subscription the hub can read (a field of another type, a status Stripe does
    not document, no customer): the billing event is then ignored, never applied on a guess.
    """
    try:
        sub = wire.decode(obj, wire.Subscription)
        snap = subscription_from_stripe(sub, as_of=as_of)
    except UnexpectedAnswer:
        return None
    customer_id = wire.ref_id(sub.customer)
    if not sub.id.startswith("sub_") or not customer_id:
        return None
    first = sub.items.data[0] if sub.items and sub.items.data else None
    # Recent API versions keep the price and the period on the item; older ones (and the emulator)
    # also on the subscription, with the legacy ``plan`` beside ``price``.
    price_id = (first and (wire.ref_id(first.price) or wire.ref_id(first.plan))) or wire.ref_id(sub.plan)
    return SubscriptionFacts(
        subscription_id=sub.id,
        customer_id=customer_id,
        status=snap.status,
        as_of=snap.as_of,
        price_id=price_id,
        current_period_end=_epoch(snap.current_period_end),
        cancel_at_period_end=snap.cancel_at_period_end,
    )


async def tenant_for_customer(session: AsyncSession, customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    return (
        await session.execute(
            select(BillingCustomer.tenant_id).where(BillingCustomer.stripe_customer_id == customer_id)
        )
    ).scalar_one_or_none()


async def _locked(session: AsyncSession, subscription_id: str) -> BillingSubscription | None:
    return (
        await session.execute(
            select(BillingSubscription)
            .where(BillingSubscription.stripe_subscription_id == subscription_id)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def lock_or_adopt(
    session: AsyncSession, tenant_id: str, subscription_id: str, customer_id: str
) -> BillingSubscription:
    """The subscription's row under a row lock, created (status unknown yet) if this is its first news.

    An event can arrive before the route that created the subscription has written its row;
    the unique Stripe id makes both writers end on the same row.
    """
    row = await _locked(session, subscription_id)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            row = BillingSubscription(
                id=new_id("bsub"),
                tenant_id=tenant_id,
                stripe_subscription_id=subscription_id,
                stripe_customer_id=customer_id,
                status="incomplete",
                status_as_of=0,
            )
            session.add(row)
            await session.flush()
        return row
    except IntegrityError:
        row = await _locked(session, subscription_id)
        assert row is not None  # the concurrent writer committed it
        return row


def _set_price(row: BillingSubscription, price_id: str, settings: BillingSettings) -> None:
    row.price_id = price_id
    plan = settings.plan_for_price(price_id)
    row.plan_id = plan.id if plan else None


def apply_facts(row: BillingSubscription, facts: SubscriptionFacts, settings: BillingSettings) -> bool:
    """Record a snapshot on its row; False when the snapshot is older than what the row knows."""
    if facts.price_id and not row.price_id:
        _set_price(row, facts.price_id, settings)
    if not should_apply(row.status, row.status_as_of, facts.status, facts.as_of):
        return False
    if facts.price_id:  # a newer snapshot also tells a plan change made at Stripe
        _set_price(row, facts.price_id, settings)
    row.status = facts.status
    row.status_as_of = max(row.status_as_of, facts.as_of)
    row.current_period_end = facts.current_period_end or row.current_period_end
    row.cancel_at_period_end = facts.cancel_at_period_end
    return True
