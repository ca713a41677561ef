"""Creating a payment, declared as an operation of the driver (hub/operations/).

One short transaction before the provider call (the key's claim, the customer check and the
payment row, whose in-flight marker says a creation runs) and one after it (what the provider
answered and the key's stored answer). Each change to the row is a function of its own, used
both in that transaction and, should a database outage cut it off, in the key's later write
(``Attempt.keep_rows``, hub/idempotency/deferred.py): the row then gets exactly what it would
have got, and only while it still carries this attempt's marker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.payments import Customer, Payment
from hub.errors import Unsupported, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common, inflight, money, schemas
from hub.payments.apply import apply_snapshot, set_status
from hub.payments.service import BEFORE_AUTHORIZATION, tag
from hub.payments.transfers import owned_account, ready
from hub.services import Services
from providers.base import payments as neutral
from providers.base.errors import CardDeclined, ProviderError
from providers.base.provider import Provider

#: One change to the creation's row, made in the given transaction.
Change = Callable[[AsyncSession, Payment], Awaitable[None]]


Answer = TypeVar("Answer")


class PaymentCreation(Operation[Answer]):
    """An operation whose first write is a new payment row (a payment, a checkout session's)."""

    #: The row an earlier attempt under the key made, without the provider's answer yet.
    earlier: Payment | None = None

    async def write_row(self, tx: AsyncSession, attempt: Attempt, build: Callable[[], Payment]) -> Payment:
        """The earlier attempt's row, its in-flight marker claimed again, or a new row by ``build``."""
        payment = self.earlier
        if payment is not None:
            lease = store.lease_for(self.services.settings)
            if await inflight.claim(tx, payment, "create", lease=lease, require_no_provider_id=True) is None:
                raise store.in_progress(lease.total_seconds())
        else:
            payment = build()
            tx.add(payment)
        # A commit cut off may still have happened (its answer lost): then the marker is lifted with
        # the key's reopening, so a retry runs the creation at once instead of waiting for the lease.
        assert payment.pending_since is not None
        attempt.keep_rows(deferred_rows(payment.id, payment.tenant_id, payment.pending_since, release_marker))
        return payment


@declare("POST", "/v1/payments")
class CreatePayment(PaymentCreation[neutral.PaymentSnapshot]):
    """Create a payment under the request's Idempotency-Key, whose seed names the row, so a retry
    after an unknown outcome resumes the same row and provider idempotency key."""

    route = "payments.create"
    status_code = 201
    # The hot path: the key's claim shares the payment row's insert, its answer the row's update.
    joined = True

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.PaymentCreate) -> None:
        super().__init__(services, who)
        self.data = data

    def validate(self) -> None:
        data = self.data
        self.currency = money.normalize_currency(data.currency)
        # The minimum is the provider's (checked in ``load``, once the provider is known).
        money.check_amount(data.amount, self.currency, minimum=False)
        self.metadata = common.check_metadata(data.metadata)
        if data.confirm and not data.payment_method:
            raise ValidationFailed("confirm needs a payment_method", param="payment_method")
        self.method = method_data(data.payment_method)
        if data.off_session and not (data.confirm and data.customer_id):
            raise ValidationFailed(
                "off_session needs customer_id, payment_method and confirm: true", param="off_session"
            )
        fee = data.application_fee_amount
        if fee is not None:
            if data.transfer_to is None:
                raise ValidationFailed("application_fee_amount needs transfer_to", param="application_fee_amount")
            if fee < 0:
                raise ValidationFailed("application_fee_amount must not be negative", param="application_fee_amount")
            if fee > data.amount:
                raise ValidationFailed(
                    "application_fee_amount must be at most the amount",
                    code="amount_too_large",
                    param="application_fee_amount",
                )

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.provider, stored = common.stored_provider(self.services, self.who, self.data.provider)
        # From the process's cache, checked against the credentials row and version the authenticating read saw.
        self.ctx = await self.services.tenant_contexts.for_request(self.provider, self.who.tenant_id, stored)
        self.publishable_key = self.ctx.credentials.publishable_key
        self.extras = _extras(self.data, self.method)
        money.check_amount(self.data.amount, self.currency, minimums=self.provider.capabilities.minimum_amounts)
        supported(self.provider, self.data.capture_method, self.method, self.data.transfer_to)
        # The plugin's own checks of what it needs (an email, accepted terms, a method's fields):
        # 422 naming the field, before anything is written or sent.
        self.provider.validate_payment(
            _order_of(self._row_fields(), self.who.tenant_id, "pay_unsaved", None, self.extras)
        )

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Payment | None:
        """The earlier attempt made the row; its outcome at the provider is unknown (the provider
        was unavailable, or its worker died). Ask again under the same provider idempotency key,
        which answers with what the first attempt created, if anything."""
        earlier = await tx.get(Payment, attempt.object_id("pay"))
        if earlier is None:
            return None
        if earlier.provider_payment_id is not None or earlier.status == "failed":
            # The answer reached the row (a webhook, a sync) but not the key.
            return common.payment_view(earlier, self.publishable_key)
        self.earlier = earlier
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        customer_id = self.earlier.customer_id if self.earlier is not None else self.data.customer_id
        customer = (
            await common.owned_customer(tx, self.who.tenant_id, customer_id, self.provider.name)
            if customer_id
            else None
        )
        transfer_to = self.earlier.transfer_to if self.earlier is not None else self.data.transfer_to
        destination = await _destination(tx, self.who.tenant_id, transfer_to) if transfer_to else None
        payment = self.payment = await self.write_row(tx, attempt, lambda: self._row(attempt, customer))
        self.attempt = attempt
        # Read now: after a failed commit the row's attributes cannot be loaded again.
        assert payment.pending_since is not None
        self.payment_id, self.tenant_id, self.claimed_at = payment.id, payment.tenant_id, payment.pending_since
        self.order = _order(payment, customer.provider_customer_id if customer else None, self.extras, destination)
        return None

    def _row_fields(self) -> dict[str, Any]:
        data = self.data
        return {
            "amount": data.amount,
            "currency": self.currency,
            "capture_method": data.capture_method,
            "description": data.description,
            "metadata_": self.metadata,
            "payment_method": data.payment_method if isinstance(data.payment_method, str) else None,
            "payment_method_type": self.method.type if self.method else None,
            "confirm": data.confirm,
            "off_session": data.off_session,
            "transfer_to": data.transfer_to,
            "application_fee_amount": data.application_fee_amount,
        }

    def _row(self, attempt: Attempt, customer: Customer | None) -> Payment:
        return common.new_payment(
            attempt.object_id("pay"),
            self.who.tenant_id,
            self.provider.name,
            customer_id=customer.id if customer else None,
            **self._row_fields(),
        )

    async def call(self) -> neutral.PaymentSnapshot:
        return await self.provider.create_payment(
            self.ctx, self.order, idempotency_key=store.provider_key(self.payment_id, "pay")
        )

    async def _change(self, tx: AsyncSession, change: Change, answer: bool = False) -> None:
        """Make ``change`` now, and register it for the key's deferred write should the commit be cut off."""
        key = self.publishable_key if answer else None
        self.attempt.keep_rows(deferred_rows(self.payment_id, self.tenant_id, self.claimed_at, change, key))
        await change(tx, self.payment)

    async def record(self, tx: AsyncSession, answer: neutral.PaymentSnapshot) -> schemas.Payment:
        await self._change(tx, _answered(answer), answer=True)
        await tx.flush()  # updated_at is set by the flush: the answer shows what is stored
        return common.payment_view(self.payment, self.publishable_key)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is RowFate.KEEP_FAILED:
            # The attempt exists at the provider: keep it as failed; the customer may retry another
            # card (under another key: this one answers with the decline).
            assert isinstance(exc, CardDeclined)
            await self._change(tx, _declined(exc))
            tag(exc, self.payment)
        elif rule.row is RowFate.KEEP_FOR_RETRY:
            await self._change(tx, _unknown(exc.code))
            tag(exc, self.payment)
        else:
            # Refused outright: nothing exists at the provider, so nothing is kept here either.
            await self._change(tx, _refused)


class Extras(msgspec.Struct, frozen=True):
    """What a creation sends its provider beyond the row: the buyer's details, never stored (a retry
    under the same Idempotency-Key carries the same body, so it sends them again identically)."""

    payment_method_data: neutral.PaymentMethodData | None = None
    customer_email: str | None = None
    acceptance_token: str | None = None
    redirect_url: str | None = None

    def __repr__(self) -> str:
        return "Extras(***)"


def method_data(raw: str | dict[str, str | int] | None) -> neutral.PaymentMethodData | None:
    """A payment method given as an object: its ``type`` (lower case) and the other fields."""
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValidationFailed("payment_method.type must name the method's type", param="payment_method.type")
    return neutral.PaymentMethodData(type=kind.strip().lower(), details={k: v for k, v in raw.items() if k != "type"})


def supported(
    provider: Provider, capture_method: str, method: neutral.PaymentMethodData | None, transfer_to: str | None = None
) -> None:
    """422 ``not_supported`` for what the provider declares it cannot do, before anything is written."""
    can = provider.capabilities
    if transfer_to is not None and not can.destination_charges:
        raise Unsupported(f"{provider.name} cannot send a payment to a connected account", param="transfer_to")
    if capture_method == "manual" and not can.manual_capture:
        raise Unsupported(f"{provider.name} cannot hold a payment to capture it later", param="capture_method")
    if method is not None and method.type not in can.payment_method_types:
        offered = ", ".join(can.payment_method_types) or "none: name a payment method by its id"
        raise Unsupported(
            f"{provider.name} takes no payment method of type {method.type!r} (types: {offered})",
            param="payment_method.type",
        )


def _extras(data: schemas.PaymentCreate, method: neutral.PaymentMethodData | None) -> Extras:
    return Extras(
        payment_method_data=method,
        customer_email=data.customer_email,
        acceptance_token=data.acceptance_token,
        redirect_url=data.redirect_url,
    )


async def _destination(tx: AsyncSession, tenant_id: str, account_id: str) -> str:
    """The provider's id of the tenant's connected account a destination charge pays (404 for
    another tenant's or an unknown one, 422 ``account_not_ready`` before it can receive money)."""
    account = await owned_account(tx, tenant_id, account_id, "transfer_to")
    return ready(account, "transfer_to")


def _order(
    payment: Payment, provider_customer_id: str | None, extras: Extras, destination: str | None = None
) -> neutral.PaymentCreate:
    """The provider request, built from the row (and the request's buyer details, the same under
    the same key) so a retried creation repeats it exactly."""
    fields = {
        "amount": payment.amount,
        "currency": payment.currency,
        "capture_method": payment.capture_method,
        "metadata_": payment.metadata_,
        "payment_method": payment.payment_method,
        "confirm": payment.confirm,
        "description": payment.description,
        "off_session": payment.off_session,
        "application_fee_amount": payment.application_fee_amount,
    }
    return _order_of(fields, payment.tenant_id, payment.id, provider_customer_id, extras, destination)


def _order_of(
    fields: dict[str, Any],
    tenant_id: str,
    payment_id: str,
    provider_customer_id: str | None,
    extras: Extras,
    destination: str | None = None,
) -> neutral.PaymentCreate:
    return neutral.PaymentCreate(
        amount=fields["amount"],
        currency=fields["currency"],
        capture_method=fields["capture_method"],
        metadata={**(fields["metadata_"] or {}), "hub_tenant_id": tenant_id, "hub_payment_id": payment_id},
        provider_customer_id=provider_customer_id,
        payment_method=fields["payment_method"],
        confirm=fields["confirm"],
        description=fields["description"],
        off_session=fields["off_session"],
        payment_method_data=extras.payment_method_data,
        customer_email=extras.customer_email,
        acceptance_token=extras.acceptance_token,
        redirect_url=extras.redirect_url,
        transfer_destination=destination,
        application_fee_amount=fields["application_fee_amount"],
    )


# -- the changes, made in the request or again in the key's deferred write -------------------------


def deferred_rows(
    payment_id: str, tenant_id: str, claimed_at: datetime, change: Change, publishable_key: str | None = None
) -> Callable[[AsyncSession], Awaitable[bool | tuple[int, bytes]]]:
    """``change`` for the deferred write: only while the row still carries this attempt's marker.
    With ``publishable_key`` the change is the provider's answer: the payment is the key's answer."""

    async def rows(session: AsyncSession) -> bool | tuple[int, bytes]:
        payment = (
            await session.execute(
                select(Payment).where(Payment.id == payment_id, Payment.tenant_id == tenant_id).with_for_update()
            )
        ).scalar_one_or_none()
        if payment is None or payment.pending_op != "create" or payment.pending_since != claimed_at:
            return False
        await change(session, payment)
        await session.flush()
        if publishable_key is None:
            return True
        return 201, msgspec.json.encode(common.payment_view(payment, publishable_key))

    return rows


async def release_marker(session: AsyncSession, payment: Payment) -> None:
    inflight.release(payment)


def _answered(snap: neutral.PaymentSnapshot) -> Change:
    async def change(session: AsyncSession, payment: Payment) -> None:
        await apply_snapshot(session, payment, snap)
        inflight.release(payment)

    return change


def _declined(exc: CardDeclined) -> Change:
    async def change(session: AsyncSession, payment: Payment) -> None:
        snapshot = exc.snapshot if isinstance(exc, neutral.PaymentDeclined) else None
        if snapshot is not None:
            await apply_snapshot(session, payment, snapshot)
        elif payment.provider_payment_id is None:
            payment.provider_payment_id = exc.provider_object_id
        if payment.status in BEFORE_AUTHORIZATION:
            await set_status(session, payment, "failed")
        payment.last_error_code, payment.decline_code = exc.code, exc.decline_code
        inflight.release(payment)

    return change


def _unknown(code: str) -> Change:
    async def change(session: AsyncSession, payment: Payment) -> None:
        payment.last_error_code = code
        inflight.release(payment)

    return change


async def _refused(session: AsyncSession, payment: Payment) -> None:
    await session.delete(payment)
