"""Hosted checkout sessions in the tenant's provider account, declared as an operation of the
driver (hub/operations/).

The payment row is written first (its in-flight marker saying the creation runs), then the
provider asked, then the session row written with the provider's answer. The Idempotency-Key's
seed names both rows, so a retry after an unknown outcome asks the provider for exactly the same
session under the same provider idempotency key. The payment exists at the provider once the
customer submits the page; sync finds it through the session, and its metadata names the row.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.payments import CheckoutSession, Customer, Payment
from hub.errors import Unsupported
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.operations.policy import RowFate, Rule
from hub.payments import common, inflight, money, schemas
from hub.payments.create import PaymentCreation, supported
from hub.services import Services
from providers.base import payments as neutral
from providers.base.errors import ProviderError


@declare("POST", "/v1/checkout/sessions")
class CreateCheckoutSession(PaymentCreation[neutral.CheckoutSnapshot]):
    route = "checkout.sessions"
    status_code = 201

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.CheckoutSessionCreate) -> None:
        super().__init__(services, who)
        self.data = data

    def validate(self) -> None:
        data = self.data
        self.currency = money.normalize_currency(data.currency)
        self.total = 0
        for n, item in enumerate(data.line_items):
            money.check_amount(item.unit_amount, self.currency, param=f"line_items.{n}.unit_amount", minimum=False)
            self.total += item.unit_amount * item.quantity
        money.check_amount(self.total, self.currency, param="line_items")
        self.metadata = common.check_metadata(data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        tenant_id = self.who.tenant_id
        self.provider = await common.choose_provider(tx, self.services, tenant_id, self.data.provider)
        if not self.provider.capabilities.checkout_sessions:
            raise Unsupported(f"{self.provider.name} has no hosted checkout pages", param="provider")
        supported(self.provider, self.data.capture_method, None)
        self.ctx = await common.provider_context(tx, self.services, self.provider, tenant_id)
        self.customer: Customer | None = (
            await common.owned_customer(tx, tenant_id, self.data.customer_id, self.provider.name)
            if self.data.customer_id
            else None
        )
        self.payment_id, self.session_id = attempt.object_id("pay"), attempt.object_id("cs")

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.CheckoutSession | None:
        earlier = await tx.get(CheckoutSession, self.session_id)
        if earlier is not None and earlier.tenant_id == self.who.tenant_id:
            return _checkout_view(earlier)
        payment = await tx.get(Payment, self.payment_id)
        if payment is not None and payment.tenant_id == self.who.tenant_id:
            self.earlier = payment
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.payment = await self.write_row(
            tx,
            attempt,
            lambda: common.new_payment(
                self.payment_id,
                self.who.tenant_id,
                self.provider.name,
                amount=self.total,
                currency=self.currency,
                capture_method=self.data.capture_method,
                customer_id=self.customer.id if self.customer else None,
                metadata_=self.metadata,
            ),
        )

    async def call(self) -> neutral.CheckoutSnapshot:
        data = self.data
        hub_metadata = {**self.metadata, "hub_tenant_id": self.who.tenant_id, "hub_payment_id": self.payment_id}
        return await self.provider.create_checkout_session(
            self.ctx,
            neutral.CheckoutCreate(
                currency=self.currency,
                success_url=data.success_url,
                cancel_url=data.cancel_url,
                capture_method=data.capture_method,
                metadata=hub_metadata,
                line_items=tuple(
                    neutral.CheckoutLineItem(name=i.name, unit_amount=i.unit_amount, quantity=i.quantity)
                    for i in data.line_items
                ),
                provider_customer_id=self.customer.provider_customer_id if self.customer else None,
            ),
            idempotency_key=store.provider_key(self.session_id, "checkout"),
        )

    async def record(self, tx: AsyncSession, answer: neutral.CheckoutSnapshot) -> schemas.CheckoutSession:
        if self.payment.provider_payment_id is None:
            self.payment.provider_payment_id = answer.provider_payment_id
        inflight.release(self.payment)
        row = CheckoutSession(
            id=self.session_id,
            tenant_id=self.who.tenant_id,
            provider=self.provider.name,
            provider_session_id=answer.provider_session_id,
            url=answer.url,
            payment_id=self.payment_id,
            created_at=utcnow(),
        )
        tx.add(row)
        return _checkout_view(row)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is RowFate.KEEP_FOR_RETRY:
            # The session may exist at the provider: the retry with the key asks for it again.
            self.payment.last_error_code = exc.code
            inflight.release(self.payment)
        else:
            await tx.delete(self.payment)  # the provider made no session


def _checkout_view(row: CheckoutSession) -> schemas.CheckoutSession:
    return schemas.CheckoutSession(
        id=row.id,
        provider=row.provider,
        url=row.url,
        provider_session_id=row.provider_session_id,
        payment_id=row.payment_id,
        created_at=row.created_at,
    )
