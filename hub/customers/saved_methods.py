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
from hub.operations.driver import declare
from hub.operations.phases import Operation
from hub.payments import common
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
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


@declare("POST", "/v1/setup-intents")
class CreateSetupIntent(Operation[SetupIntentSnapshot]):
    """A SetupIntent for one of the tenant's customers. Its id comes from the Idempotency-Key's
    seed, so a retry asks under the same provider idempotency key. Its row is written with the
    provider's answer (``provider_setup_intent_id`` is required): the one creation whose row is
    not written first; a retry after an unknown outcome lands on the provider's same object."""

    route = ROUTE_CREATE
    status_code = 201

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.SetupIntentCreate) -> None:
        super().__init__(services, who)
        self.data = data

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        customer = await owned(tx, self.who.tenant_id, self.data.customer_id, param="customer_id")
        self.provider = provider_by_name(self.services, customer.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.customer_id, self.provider_customer_id = customer.id, common.remote_customer_id(customer)
        self.publishable_key = self.ctx.credentials.publishable_key
        self.hub_id = attempt.object_id("seti")

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.SetupIntent | None:
        earlier = await tx.get(SetupIntent, self.hub_id)
        return _view(earlier, self.publishable_key) if earlier is not None else None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        return None

    async def call(self) -> SetupIntentSnapshot:
        return await self.provider.create_setup_intent(
            self.ctx,
            SetupIntentCreate(
                provider_customer_id=self.provider_customer_id,
                metadata={"hub_tenant_id": self.who.tenant_id, "hub_setup_intent_id": self.hub_id},
            ),
            idempotency_key=store.provider_key(self.hub_id, "setup_intent"),
        )

    async def record(self, tx: AsyncSession, answer: SetupIntentSnapshot) -> schemas.SetupIntent:
        now = utcnow()
        row = SetupIntent(
            id=self.hub_id,
            tenant_id=self.who.tenant_id,
            provider=self.provider.name,
            provider_setup_intent_id=answer.provider_setup_intent_id,
            customer_id=self.customer_id,
            status=answer.status,
            client_secret=answer.client_secret,
            payment_method=answer.payment_method,
            created_at=now,
            updated_at=now,
        )
        tx.add(row)
        await tx.flush()  # an update time is set by the flush: the answer shows what is stored
        return _view(row, self.publishable_key)


async def list_payment_methods(
    session: AsyncSession, services: Services, who: TenantPrincipal, customer_id: str
) -> schemas.PaymentMethodList:
    customer = await owned(session, who.tenant_id, customer_id)
    provider = provider_by_name(services, customer.provider)
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
