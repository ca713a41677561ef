"""Saving a customer's payment method for later (SetupIntents) and listing what is saved.

A saved card is then charged with ``POST /v1/payments`` and ``off_session: true``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers import schemas
from hub.customers.service import owned
from hub.db.base import new_id, utcnow
from hub.db.recurring import SetupIntent
from hub.errors import NotFound
from hub.payments import common
from hub.recurring import claims
from hub.services import Services
from providers.base.customers import SetupIntentCreate

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


async def _setup_view(session: AsyncSession, tenant_id: str, setup_id: str) -> schemas.SetupIntent:
    row = (
        await session.execute(select(SetupIntent).where(SetupIntent.id == setup_id, SetupIntent.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("No such setup intent")
    keys = await common.publishable_keys(session, tenant_id)
    await session.commit()
    return _view(row, keys.get(row.provider))


async def create_setup_intent(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.SetupIntentCreate, key: str | None
) -> tuple[schemas.SetupIntent, bool]:
    customer = await owned(session, who.tenant_id, data.customer_id)
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    claim = await claims.claim(session, who.tenant_id, ROUTE_CREATE, key, {"customer_id": customer.id}, new_id("seti"))
    if claim.replay:
        return await _setup_view(session, who.tenant_id, claim.object_id), True
    snap = await claims.call_provider(
        session,
        who.tenant_id,
        claim,
        provider.create_setup_intent(
            ctx,
            SetupIntentCreate(
                provider_customer_id=customer.provider_customer_id,
                metadata={"hub_tenant_id": who.tenant_id, "hub_setup_intent_id": claim.object_id},
            ),
            idempotency_key=claims.provider_key(claim.object_id, "setup_intent"),
        ),
    )
    now = utcnow()
    session.add(
        SetupIntent(
            id=claim.object_id,
            tenant_id=who.tenant_id,
            provider=provider.name,
            provider_setup_intent_id=snap.provider_setup_intent_id,
            customer_id=customer.id,
            status=snap.status,
            client_secret=snap.client_secret,
            payment_method=snap.payment_method,
            created_at=now,
            updated_at=now,
        )
    )
    await claims.settle(session, who.tenant_id, claim, 201)
    await session.commit()
    return await _setup_view(session, who.tenant_id, claim.object_id), False


async def list_payment_methods(
    session: AsyncSession, services: Services, who: TenantPrincipal, customer_id: str
) -> schemas.PaymentMethodList:
    customer = await owned(session, who.tenant_id, customer_id)
    provider = common.provider_by_name(services, customer.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    methods = await provider.list_payment_methods(ctx, customer.provider_customer_id)
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
