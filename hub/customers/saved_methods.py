"""Saving a customer's payment method for later (SetupIntents) and listing what is saved.

A saved card is then charged with ``POST /v1/payments`` and ``off_session: true``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers import schemas
from hub.customers.service import owned
from hub.db.base import utcnow
from hub.db.recurring import SetupIntent
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.payments import common
from hub.recurring.objects import answer, created
from hub.services import Services
from providers.base.customers import SetupIntentCreate, SetupIntentSnapshot

ROUTE_CREATE = "setup_intents.create"


def _view(row: SetupIntent, publishable_key: str | None) -> schemas.SetupIntent:
    return schemas.SetupIntent(
        id=row.id,
        provider=row.provider,
        provider_setup_intent_id=row.provider_setup_intent_id,
        customer_id=row.customer_id,
        status=row.status,
        client_secret=row.client_secret,
        publishable_key=publishable_key,
        created_at=row.created_at,
    )


async def create_setup_intent(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.SetupIntentCreate, attempt: Attempt
) -> schemas.SetupIntent:
    customer = await owned(session, who.tenant_id, data.customer_id, param="customer_id")
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    customer_id, provider_customer_id = customer.id, common.remote_customer_id(customer)
    publishable_key = (await common.publishable_keys(session, who.tenant_id)).get(provider.name)
    await session.commit()

    def build(hub_id: str, snap: SetupIntentSnapshot) -> SetupIntent:
        now = utcnow()
        return SetupIntent(
            id=hub_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_setup_intent_id=snap.provider_setup_intent_id,
            customer_id=customer_id,
            status=snap.status,
            client_secret=snap.client_secret,
            payment_method=snap.payment_method,
            created_at=now,
            updated_at=now,
        )

    row = await created(
        session,
        SetupIntent,
        attempt,
        prefix="seti",
        call=lambda hub_id: provider.create_setup_intent(
            ctx,
            SetupIntentCreate(
                provider_customer_id=provider_customer_id,
                metadata={"hub_tenant_id": who.tenant_id, "hub_setup_intent_id": hub_id},
            ),
            idempotency_key=store.provider_key(hub_id, "setup_intent"),
        ),
        build=build,
    )
    return await answer(session, attempt, row, lambda r: _view(r, publishable_key))


async def list_payment_methods(
    session: AsyncSession, services: Services, who: TenantPrincipal, customer_id: str
) -> schemas.PaymentMethodList:
    customer = await owned(session, who.tenant_id, customer_id)
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    methods = await provider.list_payment_methods(ctx, common.remote_customer_id(customer))
    return schemas.PaymentMethodList(
        data=[
            schemas.PaymentMethod(
                id=m.id,
                type=m.type,
                card=schemas.Card(
                    brand=m.card.brand, last4=m.card.last4, exp_month=m.card.exp_month, exp_year=m.card.exp_year
                )
                if m.card
                else None,
            )
            for m in methods
        ]
    )
