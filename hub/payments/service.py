"""Payment rules: read, list, capture, cancel, sync (creation is hub/payments/create.py).

Every provider call happens outside any database transaction; the row is claimed first
(on create, the Idempotency-Key's claim shares the row's insert; afterwards, the in-flight
marker) and written after.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta
from typing import ClassVar

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.pages import newest_first
from hub.db.payments import CheckoutSession, Payment
from hub.errors import Conflict, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.operations.policy import Rule
from hub.payments import common, inflight, schemas
from hub.payments.apply import PAID, apply_snapshot, record_capture, set_status
from hub.payments.refunds import sync_refunds
from hub.payments.transfers import sync_transfers
from hub.services import Services
from providers.base import payments as neutral
from providers.base.errors import ProviderError
from providers.base.provider import Provider, TenantContext

#: Statuses in which the hub's view may lag the provider's (the customer acts through Stripe.js);
#: an operation that needs a later status re-reads the payment before refusing.
BEFORE_AUTHORIZATION = frozenset({"requires_payment_method", "requires_confirmation", "requires_action", "processing"})
#: How long after a creation the provider's search surely finds its object (Stripe's search lags
#: about a minute): a payment it cannot find this long after its last attempt never existed there.
SEARCHABLE_AFTER = timedelta(minutes=5)
log = logging.getLogger("hub.payments")
CANCELABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture", "failed"}
)


def not_in_state(payment: Payment, operation: str) -> Conflict:
    return Conflict(f"A payment in status {payment.status} cannot be {operation}", code="invalid_state")


def tag(exc: ProviderError, payment: Payment) -> ProviderError:
    """Name the hub payment in the problem body (the decline kept it as failed, say)."""
    exc.payment_id = payment.id
    return exc


async def _view(session: AsyncSession, payment: Payment) -> schemas.Payment:
    keys = await common.publishable_keys(session, payment.tenant_id)
    return common.payment_view(payment, keys.get(payment.provider))


# -- read ---------------------------------------------------------------------------------


async def get_payment(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> schemas.Payment:
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    # The publishable key came with the authenticating read: no second query.
    stored = who.stored(payment.provider)
    return common.payment_view(payment, stored.publishable_key if stored else None)


async def list_payments(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, status: str | None
) -> schemas.PaymentList:
    q = select(Payment).where(Payment.tenant_id == who.tenant_id)
    if status is not None:
        q = q.where(Payment.status == status)
    rows, more = await newest_first(session, q, Payment.id, limit=limit, starting_after=starting_after)
    keys = {c.provider: c.publishable_key for c in who.credentials}
    return schemas.PaymentList(data=[common.payment_view(p, keys.get(p.provider)) for p in rows], has_more=more)


# -- capture / cancel ---------------------------------------------------------------------


class _Move(Operation[neutral.PaymentSnapshot]):
    """An operation that moves an existing payment at its provider, under the payment's in-flight
    marker (no row is created: the payment is the row). Capture and cancel are its declarations."""

    looks = True
    #: The in-flight marker's name, and the verb of the refusal.
    operation: ClassVar[str]
    verb: ClassVar[str]
    #: The statuses the operation moves the payment to: found there on a retry with the key, it happened.
    outcome: ClassVar[Collection[str]]
    #: The statuses the marker may be set from.
    movable: ClassVar[Collection[str]]

    def __init__(self, services: Services, who: TenantPrincipal, payment_id: str) -> None:
        super().__init__(services, who)
        self.payment_id = payment_id
        self.snap: neutral.PaymentSnapshot | None = None

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.payment = await common.owned_payment(tx, self.who.tenant_id, self.payment_id)
        self.provider = common.provider_by_name(self.services, self.payment.provider)
        self.ctx = await common.provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def look(self) -> None:
        """Re-read a payment whose hub status may lag (the customer acted at the provider directly)."""
        payment = self.payment
        if payment.provider_payment_id is not None and payment.status in BEFORE_AUTHORIZATION:
            self.snap = await self.provider.get_payment(self.ctx, payment.provider_payment_id)

    async def seen(self, tx: AsyncSession) -> None:
        if self.snap is not None:
            await apply_snapshot(tx, self.payment, self.snap)

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Payment | None:
        """The retry of an attempt whose answer was lost, finding the payment already where that
        attempt was taking it (the attempt acted, and a sync or a webhook recorded it): the
        operation happened once, so the answer is the payment, as Stripe replays its own answer,
        not a refusal of a second capture or cancel that nobody asked for."""
        return self._view() if self.payment.status in self.outcome else None

    def check(self) -> None:
        """Refuse a payment the operation cannot move."""

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.check()
        lease = store.lease_for(self.services.settings)
        if await inflight.claim(tx, self.payment, self.operation, lease=lease, statuses=self.movable) is None:
            raise inflight.busy(self.payment, lease)

    async def record(self, tx: AsyncSession, answer: neutral.PaymentSnapshot) -> schemas.Payment:
        await apply_snapshot(tx, self.payment, answer)
        inflight.release(self.payment)
        await tx.flush()  # updated_at is set by the flush: the answer shows what is stored
        return self._view()

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        # Whatever the outcome, the payment stays as it was: the error is noted and the marker lifted.
        self.payment.last_error_code = exc.code
        inflight.release(self.payment)
        tag(exc, self.payment)

    def _view(self) -> schemas.Payment:
        return common.payment_view(self.payment, self.ctx.credentials.publishable_key)


@declare("POST", "/v1/payments/{payment_id:str}/capture")
class CapturePayment(_Move):
    route = "payments.capture"
    operation, verb = "capture", "captured"
    outcome, movable = PAID, frozenset({"requires_capture"})

    def __init__(self, services: Services, who: TenantPrincipal, payment_id: str, amount: int | None) -> None:
        super().__init__(services, who, payment_id)
        self.amount = amount

    def check(self) -> None:
        payment, amount = self.payment, self.amount
        if payment.status != "requires_capture":
            raise not_in_state(payment, self.verb)
        if amount is not None:
            if amount <= 0:
                raise ValidationFailed("amount must be a positive integer", code="amount_too_small", param="amount")
            if amount > payment.amount_capturable:
                raise ValidationFailed(
                    f"amount must be at most the capturable {payment.amount_capturable}",
                    code="amount_too_large",
                    param="amount",
                )
        self.captured = amount if amount is not None else payment.amount_capturable

    async def call(self) -> neutral.PaymentSnapshot:
        return await self.provider.capture_payment(
            self.ctx,
            common.remote_id(self.payment),
            self.amount,
            idempotency_key=store.provider_key(self.payment.id, "capture", str(self.captured)),
        )

    async def record(self, tx: AsyncSession, answer: neutral.PaymentSnapshot) -> schemas.Payment:
        record_capture(self.payment, self.captured, answer)
        return await super().record(tx, answer)


@declare("POST", "/v1/payments/{payment_id:str}/cancel")
class CancelPayment(_Move):
    route = "payments.cancel"
    operation, verb = "cancel", "canceled"
    outcome, movable = frozenset({"canceled"}), CANCELABLE

    def check(self) -> None:
        if self.payment.status not in CANCELABLE or self.payment.provider_payment_id is None:
            raise not_in_state(self.payment, self.verb)

    async def call(self) -> neutral.PaymentSnapshot:
        return await self.provider.cancel_payment(
            self.ctx, common.remote_id(self.payment), idempotency_key=store.provider_key(self.payment.id, "cancel")
        )


# -- sync ---------------------------------------------------------------------------------


#: What a sync reports it changed, from the payment's own fields.
SYNCED_FIELDS = ("status", "amount_received", "amount_refunded", "amount_capturable", "provider_payment_id")


async def sync_payment(
    session: AsyncSession, services: Services, who: TenantPrincipal, payment_id: str
) -> schemas.SyncedPayment:
    """Re-read the payment (and its refunds) from the provider and converge to it; say what changed.

    The provider's object is the truth, terminal statuses included (``apply.converge``), unless
    the payment changed between the read and the write (a webhook event, another request): then
    only forward moves are applied, and the next sync converges.
    """
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    provider = common.provider_by_name(services, payment.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    lease = store.lease_for(services.settings)
    if payment.pending_op is not None and not inflight.is_stale(payment.pending_since, lease):
        raise inflight.busy(payment, lease)
    before = {name: getattr(payment, name) for name in SYNCED_FIELDS}
    seen = payment.updated_at
    snap, conclusive = await _current(session, provider, ctx, payment)
    await end(session)
    if snap is not None:
        # The row locked (the webhook applier's lock order: payment first) and read again: what
        # the sync changes is counted from here (an event applied meanwhile is not its change).
        await session.refresh(payment, with_for_update=True)
        before = {name: getattr(payment, name) for name in SYNCED_FIELDS}
        await apply_snapshot(session, payment, snap, current=payment.updated_at == seen)
        if inflight.is_stale(payment.pending_since, lease):
            inflight.release(payment)
    elif (
        conclusive
        and inflight.is_stale(payment.pending_since, lease)
        and inflight.is_stale(payment.updated_at, SEARCHABLE_AFTER)
        and _never_created(payment)
    ):
        # Nothing exists at the provider long after the creation attempt: it never happened.
        await set_status(session, payment, "failed")
        payment.last_error_code = payment.last_error_code or "not_created"
        inflight.release(payment)
    await end(session)
    if payment.provider_payment_id is not None:
        await sync_refunds(session, provider, ctx, payment, lease)
        await end(session)
        await sync_transfers(session, provider, ctx, payment, lease)
        await end(session)
    changes = [
        schemas.FieldChange(field=name, from_=was, to=getattr(payment, name))
        for name, was in before.items()
        if getattr(payment, name) != was
    ]
    for change in changes:
        log.info("sync of payment %s: %s %s -> %s", payment.id, change.field, change.from_, change.to)
    view = await _view(session, payment)
    return schemas.SyncedPayment(**msgspec.structs.asdict(view), changes=changes)


def _never_created(payment: Payment) -> bool:
    return payment.provider_payment_id is None and payment.status in BEFORE_AUTHORIZATION


async def _current(
    session: AsyncSession, provider: Provider, ctx: TenantContext, payment: Payment
) -> tuple[neutral.PaymentSnapshot | None, bool]:
    """The provider's view, and whether "none" means the payment was never created."""
    if payment.provider_payment_id is not None:
        return await provider.get_payment(ctx, payment.provider_payment_id), True
    checkout = (
        await session.execute(
            select(CheckoutSession.provider_session_id).where(
                CheckoutSession.tenant_id == payment.tenant_id, CheckoutSession.payment_id == payment.id
            )
        )
    ).scalar_one_or_none()
    await end(session)
    if checkout is not None:
        # A checkout payment exists at the provider only once the customer has submitted the page.
        session_snap = await provider.get_checkout_session(ctx, checkout)
        if session_snap.provider_payment_id is None:
            return None, False
        return await provider.get_payment(ctx, session_snap.provider_payment_id), False
    return await provider.find_payment(ctx, payment.id), True
