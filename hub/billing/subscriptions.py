"""Plans and tenant subscriptions on the PLATFORM's own Stripe account.

A subscription is created by the operation driver (hub/operations/driver.py), which holds no
database transaction open across a Stripe call. Stripe calls carry idempotency keys derived from the tenant, so a retry
or a concurrent duplicate request reaches the same Customer/Subscription at Stripe, and the
unique columns of billing_* make the two writers end on the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import PlatformPrincipal
from hub.billing import schemas
from hub.billing.client import Billing
from hub.billing.records import SubscriptionFacts, apply_facts, facts_from_subscription, lock_or_adopt
from hub.billing.settings import BillingPlan
from hub.billing.status import ENDED
from hub.billing.stripe_errors import billing_calls
from hub.db.billing import BillingCustomer, BillingSubscription
from hub.db.tenants import Tenant
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.idempotency.attempt import Attempt
from hub.operations import driver
from hub.operations.phases import PlatformOperation
from hub.operations.policy import Rule
from hub.services import Services
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


@driver.declare("POST", "/v1/tenants/{tenant_id:str}/subscription")
class CreateSubscription(PlatformOperation[SubscriptionFacts]):
    """Subscribe the tenant to a plan (answered 201), through the operation driver.

    The same plan again answers the live subscription (200, nothing new at Stripe); another plan
    while one is live is a 409, since changing plans is a proration decision for the platform.
    The call makes the tenant's Stripe Customer first when it has none; its row is written with
    the subscription's, or by ``failed`` when Stripe then refused, so it is never made twice.
    """

    route = "billing.subscription.create"
    status_code = 201
    keyed = False  # Stripe's keys, derived from the tenant, make a retry land on the same objects

    def __init__(
        self,
        services: Services,
        who: PlatformPrincipal,
        tenant_id: str,
        data: schemas.PlatformSubscriptionCreate,
        billing: Billing,
    ) -> None:
        super().__init__(services, who, tenant_id)
        self.data, self.billing = data, billing
        #: The tenant's Stripe Customer: read in ``load``, or made by ``call``.
        self.customer_id: str | None = None
        self.made_customer = False

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.tenant = await _tenant(tx, self.tenant_id)
        plan = self.billing.settings.plan(self.data.plan)
        if plan is None:
            raise ValidationFailed("Unknown plan; GET /v1/platform/billing/plans lists them", param="plan")
        self.plan = plan
        self.current = await _current(tx, self.tenant_id)
        #: How many subscriptions the tenant had: a new one is asked for under a new Stripe key.
        self.count = (
            await tx.execute(
                select(func.count())
                .select_from(BillingSubscription)
                .where(BillingSubscription.tenant_id == self.tenant_id)
            )
        ).scalar_one()
        customer_row = await tx.get(BillingCustomer, self.tenant_id)
        self.customer_id = customer_row.stripe_customer_id if customer_row else None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> schemas.PlatformSubscription | None:
        current = self.current
        if current is None or current.status in ENDED:
            return None
        if current.plan_id == self.plan.id:
            self.answered_status = 200
            return view(current)
        raise Conflict(
            f"This tenant already has a {current.status} subscription on another plan",
            code="subscription_exists",
            param="plan",
        )

    async def call(self) -> SubscriptionFacts:
        tenant, plan = self.tenant, self.plan
        with billing_calls():
            if self.customer_id is None:
                customer = await self.billing.client.v1.customers.create_async(
                    params={"name": tenant.name, "metadata": {"hub_tenant_id": tenant.id}},
                    options={"idempotency_key": f"hub-billing-customer-{tenant.id}"},
                )
                self.customer_id, self.made_customer = customer.id, True
            if self.data.payment_method:
                await _set_default_payment_method(self.billing, self.customer_id, self.data.payment_method)
            sub = await self.billing.client.v1.subscriptions.create_async(
                params=_subscription_params(tenant.id, self.customer_id, plan),
                options={"idempotency_key": f"hub-billing-subscription-{tenant.id}-{self.count}-{plan.id}"},
            )
        facts = facts_from_subscription(sub)
        if facts is None:
            raise perr.ProviderUnavailable("Stripe answered the subscription request with an unexpected object")
        return facts

    async def record(self, tx: AsyncSession, answer: SubscriptionFacts) -> schemas.PlatformSubscription:
        customer_id = await self._keep_customer(tx)
        row = await lock_or_adopt(tx, self.tenant_id, answer.subscription_id, customer_id)
        if not row.price_id:
            row.price_id, row.plan_id = self.plan.price, self.plan.id
        apply_facts(row, answer, self.billing.settings)
        await tx.flush()
        return view(row)

    async def failed(self, tx: AsyncSession, exc: perr.ProviderError, rule: Rule) -> None:
        if self.made_customer:
            await self._keep_customer(tx)  # the Customer Stripe made stays the tenant's

    async def _keep_customer(self, tx: AsyncSession) -> str:
        """The tenant's Customer row, written if ``call`` made the Customer (a concurrent request
        may have written it first: Stripe's key made both requests' the same)."""
        assert self.customer_id is not None
        if not self.made_customer:
            return self.customer_id
        try:
            async with tx.begin_nested():
                tx.add(BillingCustomer(tenant_id=self.tenant_id, stripe_customer_id=self.customer_id))
        except IntegrityError:
            row = await tx.get(BillingCustomer, self.tenant_id)
            if row is None:
                raise
            return row.stripe_customer_id
        return self.customer_id


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


async def _set_default_payment_method(billing: Billing, customer_id: str, payment_method: str) -> None:
    # Attaching a test id such as pm_card_visa creates a new PaymentMethod: use the returned id.
    attached = await billing.client.v1.payment_methods.attach_async(payment_method, params={"customer": customer_id})
    await billing.client.v1.customers.update_async(
        customer_id, params={"invoice_settings": {"default_payment_method": attached.id}}
    )
