"""Creating a payment: money checks, the Idempotency-Key's claim in the row's insert, the provider call.

One short transaction before the provider call (the customer check, the key's claim and the
payment row, whose in-flight marker says a creation runs) and one after it (what the provider
answered and the key's stored answer). Each change to the row is a function of its own, used
both in that transaction and, should a database outage cut it off, in the key's later write
(``Attempt.keep_rows``, hub/idempotency/deferred.py): the row then gets exactly what it would
have got, and only while it still carries this attempt's marker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.payments import Payment
from hub.errors import ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import OUTCOME_UNKNOWN, Attempt
from hub.payments import common, inflight, money, schemas
from hub.payments.apply import apply_snapshot, set_status
from hub.payments.service import BEFORE_AUTHORIZATION, tag
from hub.services import Services
from providers.base import payments as neutral
from providers.base.errors import CardDeclined, ProviderError
from providers.base.provider import Provider, TenantContext

#: One change to the creation's row, made in the given transaction.
Change = Callable[[AsyncSession, Payment], Awaitable[None]]


async def create_payment(
    session: AsyncSession, services: Services, who: TenantPrincipal, data: schemas.PaymentCreate, attempt: Attempt
) -> schemas.Payment:
    """Create the payment under ``attempt`` (its Idempotency-Key), whose seed names the row, so a
    retry after an unknown outcome resumes the same row and provider idempotency key."""
    currency = money.normalize_currency(data.currency)
    money.check_amount(data.amount, currency)
    metadata = common.check_metadata(data.metadata)
    if data.confirm and not data.payment_method:
        raise ValidationFailed("confirm needs a payment_method", param="payment_method")
    if data.off_session and not (data.confirm and data.customer_id):
        raise ValidationFailed("off_session needs customer_id, payment_method and confirm: true", param="off_session")
    provider, stored = common.stored_provider(services, who, data.provider)
    # From the process's cache, checked against the credentials row and version the authenticating read saw.
    ctx = await services.tenant_contexts.for_request(provider, who.tenant_id, stored)
    if attempt.resumed:
        earlier = await session.get(Payment, attempt.object_id("pay"))
        if earlier is not None:
            return await _resume(session, services, provider, ctx, earlier, attempt)
    # One short transaction: the customer check, the Idempotency-Key's claim and the payment row.
    customer = (
        await common.owned_customer(session, who.tenant_id, data.customer_id, provider.name)
        if data.customer_id
        else None
    )
    now = utcnow()
    payment = Payment(
        id=attempt.object_id("pay"),
        tenant_id=who.tenant_id,
        provider=provider.name,
        status="requires_payment_method",
        amount=data.amount,
        currency=currency,
        capture_method=data.capture_method,
        customer_id=customer.id if customer else None,
        description=data.description,
        metadata_=metadata,
        payment_method=data.payment_method,
        confirm=data.confirm,
        off_session=data.off_session,
        pending_op="create",
        pending_since=now,
        amount_capturable=0,
        amount_received=0,
        amount_refunded=0,
        created_at=now,
        updated_at=now,
    )
    await attempt.join(session)
    session.add(payment)
    # A commit cut off may still have happened (its answer lost): then the marker is lifted with
    # the key's reopening, so a retry runs the creation at once instead of waiting for the lease.
    attempt.keep_rows(deferred_rows(payment.id, payment.tenant_id, now, _release))
    await session.commit()
    order = _order(payment, customer.provider_customer_id if customer else None)
    # The one transaction after the call: the row and the key's stored answer.
    return await _run_create(session, provider, ctx, payment, order, attempt)


async def _resume(
    session: AsyncSession,
    services: Services,
    provider: Provider,
    ctx: TenantContext,
    payment: Payment,
    attempt: Attempt,
) -> schemas.Payment:
    """An earlier attempt with this key made the row; its outcome at the provider is unknown (the
    provider was unavailable, or its worker died). Ask again under the same provider idempotency key,
    which answers with what the first attempt created, if anything."""
    publishable_key = ctx.credentials.publishable_key
    if payment.provider_payment_id is not None or payment.status == "failed":
        # The answer reached the row (a webhook, a sync) but not the key.
        view = common.payment_view(payment, publishable_key)
        await attempt.settle(session, 201, view)
        await session.commit()
        return view
    lease = store.lease_for(services.settings)
    claimed_at = await inflight.claim(session, payment, "create", lease=lease, require_no_provider_id=True)
    if claimed_at is None:
        raise store.in_progress(lease.total_seconds())
    attempt.keep_rows(deferred_rows(payment.id, payment.tenant_id, claimed_at, _release))
    await session.commit()
    customer = (
        await common.owned_customer(session, payment.tenant_id, payment.customer_id, provider.name)
        if payment.customer_id
        else None
    )
    await session.commit()
    order = _order(payment, customer.provider_customer_id if customer else None)
    return await _run_create(session, provider, ctx, payment, order, attempt)


def _order(payment: Payment, provider_customer_id: str | None) -> neutral.PaymentCreate:
    """The provider request, built from the row alone so a retried creation repeats it exactly."""
    return neutral.PaymentCreate(
        amount=payment.amount,
        currency=payment.currency,
        capture_method=payment.capture_method,
        metadata={**(payment.metadata_ or {}), "hub_tenant_id": payment.tenant_id, "hub_payment_id": payment.id},
        provider_customer_id=provider_customer_id,
        payment_method=payment.payment_method,
        confirm=payment.confirm,
        description=payment.description,
        off_session=payment.off_session,
    )


async def _run_create(
    session: AsyncSession,
    provider: Provider,
    ctx: TenantContext,
    payment: Payment,
    order: neutral.PaymentCreate,
    attempt: Attempt,
) -> schemas.Payment:
    # Read now: after a failed commit the row's attributes cannot be loaded again.
    payment_id, tenant_id, claimed_at = payment.id, payment.tenant_id, payment.pending_since
    assert claimed_at is not None

    async def record(change: Change, answer: bool = False) -> None:
        key = ctx.credentials.publishable_key if answer else None
        attempt.keep_rows(deferred_rows(payment_id, tenant_id, claimed_at, change, key))
        await change(session, payment)

    try:
        snap = await provider.create_payment(ctx, order, idempotency_key=store.provider_key(payment.id, "pay"))
    except CardDeclined as exc:
        # The attempt exists at the provider: keep it as failed; the customer may retry another card
        # (under another key: this one answers with the decline).
        await record(_declined(exc))
        await attempt.settle_error(session, tag(exc, payment))
        await session.commit()
        raise exc from None
    except OUTCOME_UNKNOWN as exc:
        await record(_unknown(exc.code))
        await session.commit()
        raise tag(exc, payment) from None
    except ProviderError:
        # Refused outright: nothing exists at the provider, so nothing is kept here either.
        await record(_refused)
        await session.commit()
        raise
    await record(_answered(snap), answer=True)
    await session.flush()  # updated_at is set by the flush: the answer shows what is stored
    view = common.payment_view(payment, ctx.credentials.publishable_key)
    await attempt.settle(session, 201, view)
    await session.commit()
    return view


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


async def _release(session: AsyncSession, payment: Payment) -> None:
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
