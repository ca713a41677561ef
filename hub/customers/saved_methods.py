"""Saving a customer's payment method for later (SetupIntents) and listing what is saved.

A saved card is then charged with ``POST /v1/payments`` and ``off_session: true``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.customers import schemas
from hub.customers.service import owned
from hub.db.recurring import SetupIntent
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.payments import common
from hub.recurring.objects import Creation, provider_id
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base.customers import SetupIntentCreate, SetupIntentSnapshot

ROUTE_CREATE = "setup_intents.create"


def _view(row: SetupIntent, publishable_key: str | None) -> schemas.SetupIntent:
    return schemas.SetupIntent(
        id=row.id,
        provider=row.provider,
        provider_setup_intent_id=provider_id(row),
        customer_id=row.customer_id,
        status=row.status,
        client_secret=row.client_secret,
        publishable_key=publishable_key,
        created_at=row.created_at,
    )


@declare("POST", "/v1/setup-intents")
class CreateSetupIntent(Creation[SetupIntentSnapshot]):
    """A SetupIntent for one of the tenant's customers, row first (hub/recurring/objects.py)."""

    route = ROUTE_CREATE
    model, prefix = SetupIntent, "seti"

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.SetupIntentCreate) -> None:
        super().__init__(services, who)
        self.data = data

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        customer = await owned(tx, self.who.tenant_id, self.data.customer_id, param="customer_id")
        self.provider = provider_by_name(self.services, customer.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.customer_id, self.provider_customer_id = customer.id, common.remote_customer_id(customer)
        self.publishable_key = self.ctx.credentials.publishable_key

    def pending(self) -> SetupIntent:
        return self.new_row(
            customer_id=self.customer_id,
            status="requires_payment_method",  # until the provider's answer
        )

    async def call(self) -> SetupIntentSnapshot:
        return await self.provider.create_setup_intent(
            self.ctx,
            SetupIntentCreate(
                provider_customer_id=self.provider_customer_id,
                metadata={"hub_tenant_id": self.who.tenant_id, "hub_setup_intent_id": self.hub_id},
            ),
            idempotency_key=store.provider_key(self.hub_id, "setup_intent"),
        )

    def fill(self, row: SetupIntent, answer: SetupIntentSnapshot) -> None:
        row.provider_setup_intent_id, row.client_secret = answer.provider_setup_intent_id, answer.client_secret
        if row.status != "succeeded":  # the setup's last word, perhaps from its event already
            row.status = answer.status
        row.payment_method = answer.payment_method or row.payment_method

    def view(self, row: SetupIntent) -> schemas.SetupIntent:
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
