"""Plans and tenant subscriptions on the PLATFORM's own Stripe account.

No database transaction is held open across a Stripe call: on SQLite a transaction holds the
database's write lock. Stripe calls carry idempotency keys derived from the tenant, so a retry
or a concurrent duplicate request reaches the same Customer/Subscription at Stripe, and the
unique columns of billing_* make the two writers end on the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.billing import schemas
from hub.billing.client import Billing
from hub.billing.records import apply_facts, facts_from_subscription, lock_or_adopt
from hub.billing.settings import BillingPlan
from hub.billing.status import ENDED
from hub.billing.stripe_errors import billing_calls
from hub.db.billing import BillingCustomer, BillingSubscription
from hub.db.tenants import Tenant
from hub.errors import Conflict, NotFound, ValidationFailed
from providers.base import errors as perr


def list_plans(billing: Billing) -> schemas.PlanList:
    return schemas.PlanList(
        data=[
            schemas.Plan(
                id=p.id,
                name=p.name,
                amount=p.amount,
                currency=p.currency,
                interval=p.interval,
                stripe_price_id=p.price,
                trial_days=p.trial_days,
            )
            for p in billing.settings.plans
        ]
    )


def view(row: BillingSubscription) -> schemas.PlatformSubscription:
    return schemas.PlatformSubscription(
        id=row.id,
        tenant_id=row.tenant_id,
        plan=row.plan_id,
        status=row.status,
        stripe_customer_id=row.stripe_customer_id,
        stripe_subscription_id=row.stripe_subscription_id,
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant")
    return tenant


async def _current(session: AsyncSession, tenant_id: str) -> BillingSubscription | None:
    """The tenant's newest subscription: its billing status."""
    return (
        await session.execute(
            select(BillingSubscription)
            .where(BillingSubscription.tenant_id == tenant_id)
            .order_by(BillingSubscription.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def get_subscription(session: AsyncSession, tenant_id: str) -> schemas.PlatformSubscription:
    await _tenant(session, tenant_id)
    row = await _current(session, tenant_id)
    if row is None:
        raise NotFound("This tenant has no subscription", code="subscription_missing")
    return view(row)


async def create_subscription(
    session: AsyncSession, billing: Billing, tenant_id: str, data: schemas.PlatformSubscriptionCreate
) -> tuple[schemas.PlatformSubscription, bool]:
    """Subscribe the tenant to a plan; ``(subscription, created)``.

    The same plan again returns the live subscription (nothing new at Stripe); another plan
    while one is live is a 409, since changing plans is a proration decision for the platform.
    """
    tenant = await _tenant(session, tenant_id)
    plan = billing.settings.plan(data.plan)
    if plan is None:
        raise ValidationFailed("Unknown plan; GET /v1/platform/billing/plans lists them", param="plan")
    current = await _current(session, tenant_id)
    if current is not None and current.status not in ENDED:
        if current.plan_id == plan.id:
            await session.commit()
            return view(current), False
        raise Conflict(
            f"This tenant already has a {current.status} subscription on another plan",
            code="subscription_exists",
            param="plan",
        )
    attempt = (
        await session.execute(
            select(func.count()).select_from(BillingSubscription).where(BillingSubscription.tenant_id == tenant_id)
        )
    ).scalar_one()
    customer_row = await session.get(BillingCustomer, tenant_id)
    await session.commit()  # nothing held open while Stripe is called

    with billing_calls():
        customer_id = (
            customer_row.stripe_customer_id if customer_row else await _create_customer(session, billing, tenant)
        )
        if data.payment_method:
            await _set_default_payment_method(billing, customer_id, data.payment_method)
        sub = await billing.client.v1.subscriptions.create_async(
            params=_subscription_params(tenant.id, customer_id, plan),
            options={"idempotency_key": f"hub-billing-subscription-{tenant.id}-{attempt}-{plan.id}"},
        )

    facts = facts_from_subscription(sub)
    if facts is None:
        raise perr.ProviderUnavailable("Stripe answered the subscription request with an unexpected object")
    row = await lock_or_adopt(session, tenant.id, facts.subscription_id, customer_id)
    if not row.price_id:
        row.price_id, row.plan_id = plan.price, plan.id
    apply_facts(row, facts, billing.settings)
    await session.commit()
    return view(row), True


def _subscription_params(tenant_id: str, customer_id: str, plan: BillingPlan) -> Any:
    """Plain dict for the SDK (its TypedDicts want Literal values the settings cannot promise)."""
    params: dict[str, Any] = {
        "customer": customer_id,
        # ``plan`` rather than ``price``: Stripe accepts a recurring Price id there as well as a
        # legacy Plan id, and the emulator (which has no Prices) accepts only this form.
        "items": [{"plan": plan.price}],
        "metadata": {"hub_tenant_id": tenant_id, "hub_plan": plan.id},
    }
    if plan.trial_days:
        params["trial_period_days"] = plan.trial_days
    return params


async def _create_customer(session: AsyncSession, billing: Billing, tenant: Tenant) -> str:
    customer = await billing.client.v1.customers.create_async(
        params={"name": tenant.name, "metadata": {"hub_tenant_id": tenant.id}},
        options={"idempotency_key": f"hub-billing-customer-{tenant.id}"},
    )
    try:
        async with session.begin_nested():
            session.add(BillingCustomer(tenant_id=tenant.id, stripe_customer_id=customer.id))
        await session.commit()
        return customer.id
    except IntegrityError:
        # A concurrent request recorded the tenant's customer first: use that one.
        await session.rollback()
        row = await session.get(BillingCustomer, tenant.id)
        await session.commit()
        if row is None:
            raise
        return row.stripe_customer_id


async def _set_default_payment_method(billing: Billing, customer_id: str, payment_method: str) -> None:
    # Attaching a test id such as pm_card_visa creates a new PaymentMethod: use the returned id.
    attached = await billing.client.v1.payment_methods.attach_async(payment_method, params={"customer": customer_id})
    await billing.client.v1.customers.update_async(
        customer_id, params={"invoice_settings": {"default_payment_method": attached.id}}
    )
