"""Reading Stripe subscription snapshots and keeping billing_subscriptions rows true to them.

Both the subscription route (with Stripe's create response) and the billing webhook (with
event snapshots) go through here, so the ordering rules of hub/billing/status.py apply to
every write, whichever arrives first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.billing.settings import BillingSettings
from hub.billing.status import normalise, should_apply
from hub.db.base import new_id
from hub.db.billing import BillingCustomer, BillingSubscription


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


def object_id(value: Any) -> str | None:
    """An id given either bare or as an expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) and value > 0 else None


def _first_item(obj: dict[str, Any]) -> dict[str, Any]:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}


def facts_from_subscription(obj: dict[str, Any], as_of: int) -> SubscriptionFacts | None:
    sub_id, customer_id, status = object_id(obj.get("id")), object_id(obj.get("customer")), normalise(obj.get("status"))
    if not sub_id or not sub_id.startswith("sub_") or not customer_id or status is None:
        return None
    first = _first_item(obj)
    # Recent API versions keep the price and the period on the item; older ones (and the emulator)
    # also on the subscription, with the legacy ``plan`` beside ``price``.
    price_id = object_id(first.get("price")) or object_id(first.get("plan")) or object_id(obj.get("plan"))
    period_end = obj.get("current_period_end") or first.get("current_period_end")
    return SubscriptionFacts(
        subscription_id=sub_id,
        customer_id=customer_id,
        status=status,
        as_of=int(as_of),
        price_id=price_id,
        current_period_end=_epoch(period_end),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
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
