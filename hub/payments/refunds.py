"""Refunds: full, partial, several partials up to the captured amount; repaired by sync.

The refund row is written (pending, no provider id) in the same transaction that claims the
payment, before the provider is called: money the hub may have asked back is never offered
for refund twice, and a refund whose answer was lost is found again by its metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Refund
from hub.errors import Conflict, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.payments import common, inflight, schemas
from hub.payments.apply import advance_refund, apply_refunds, apply_snapshot, clock, refund_totals
from hub.services import Services
from providers.base.errors import ProviderError, ProviderUnavailable, RateLimited
from providers.base.payments import RefundSnapshot
from providers.base.provider import Provider, TenantContext
from providers.base.statuses import OPEN_REFUND

REFUNDABLE = frozenset({"succeeded", "partially_refunded"})
#: Statuses after which a payment may have become refundable without the hub seeing it.
MAY_LAG = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture"}
)


async def refundable(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> int:
    """What may still be refunded of the payment: what was received, less what its refunds hold."""
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    return payment.amount_received - (await refund_totals(session, payment)).held


async def create_refund(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    payment_id: str,
    data: schemas.RefundCreate,
    attempt: Attempt | None = None,
) -> schemas.Refund:
    """``attempt`` (the Idempotency-Key) fixes the refund's id, so a retry resumes the same refund."""
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    provider = common.provider_by_name(services, payment.provider)
    ctx = await common.tenant_context(session, services, provider, who.tenant_id)
    lease = store.lease_for(services.settings)
    refund_id = attempt.object_id("ref") if attempt is not None else new_id("ref")
    earlier = await session.get(Refund, refund_id) if attempt is not None and attempt.resumed else None
    if earlier is not None and earlier.payment_id == payment.id:
        if earlier.provider_refund_id is not None or earlier.status != "pending":
            await session.commit()
            return common.refund_view(earlier)
        # An earlier attempt with this key asked the provider and never heard back: ask again,
        # identically, under the same provider idempotency key.
        if await inflight.claim(session, payment, "refund", lease=lease, statuses=REFUNDABLE) is None:
            raise inflight.busy(payment, lease)
        await session.commit()
        return await _ask_provider(session, provider, ctx, payment, earlier)
    if payment.status in MAY_LAG and payment.provider_payment_id is not None:
        await apply_snapshot(session, payment, await provider.get_payment(ctx, payment.provider_payment_id))
        await session.commit()
    if payment.status not in REFUNDABLE:
        raise Conflict(f"A payment in status {payment.status} cannot be refunded", code="invalid_state")
    refundable = payment.amount_received - (await refund_totals(session, payment)).held
    if data.amount is not None and data.amount <= 0:
        raise ValidationFailed("amount must be a positive integer", code="amount_too_small", param="amount")
    if refundable <= 0:
        raise Conflict("Everything captured has already been refunded", code="invalid_state")
    amount = data.amount if data.amount is not None else refundable
    if amount > refundable:
        raise ValidationFailed(
            f"amount must be at most the refundable {refundable}", code="amount_too_large", param="amount"
        )
    if await inflight.claim(session, payment, "refund", lease=lease, statuses=REFUNDABLE) is None:
        raise inflight.busy(payment, lease)
    now = utcnow()
    refund = Refund(
        id=refund_id,
        tenant_id=payment.tenant_id,
        payment_id=payment.id,
        amount=amount,
        status="pending",
        reason=data.reason,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.commit()
    return await _ask_provider(session, provider, ctx, payment, refund)


async def _ask_provider(
    session: AsyncSession, provider: Provider, ctx: TenantContext, payment: Payment, refund: Refund
) -> schemas.Refund:
    """Create ``refund`` (a pending row, committed) at the provider under the payment's in-flight claim."""
    try:
        snap = await provider.create_refund(
            ctx,
            common.remote_id(payment),
            refund.amount,
            reason=refund.reason,
            metadata={"hub_tenant_id": payment.tenant_id, "hub_payment_id": payment.id, "hub_refund_id": refund.id},
            idempotency_key=store.provider_key(payment.id, "refund", refund.id),
        )
    except (ProviderUnavailable, RateLimited) as exc:
        # It may have happened: the pending row keeps the money held until sync finds out.
        payment.last_error_code = exc.code
        inflight.release(payment)
        await session.commit()
        exc.payment_id = payment.id
        raise
    except ProviderError:
        await session.delete(refund)
        inflight.release(payment)
        await session.commit()
        raise
    for attempt in range(2):
        try:
            # The payment row first, as the webhook applier takes it before it records a refund:
            # the same lock order on both paths, so a refund webhook racing this answer waits
            # (or is waited for) instead of deadlocking.
            await session.refresh(payment, with_for_update=True)
            kept = await _attach(session, refund, snap)
            await apply_refunds(session, payment)
            inflight.release(payment)
            await session.commit()
            return common.refund_view(kept)
        except IntegrityError:
            # The provider's refund webhook recorded this refund between our lookup and commit.
            await session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _attach(session: AsyncSession, refund: Refund, snap: RefundSnapshot) -> Refund:
    """Give the hub's pending row its provider id; if a webhook already recorded that refund,
    keep the webhook's row (one row per provider refund) and drop the pending one."""
    recorded = (
        await session.execute(
            select(Refund).where(
                Refund.tenant_id == refund.tenant_id,
                Refund.provider_refund_id == snap.provider_refund_id,
                Refund.id != refund.id,
            )
        )
    ).scalar_one_or_none()
    if recorded is None:
        refund.provider_refund_id = snap.provider_refund_id
        advance_refund(refund, snap.status, clock())
        return refund
    recorded.reason = recorded.reason or refund.reason
    await session.delete(refund)
    return recorded


async def list_refunds(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> schemas.RefundList:
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    rows = (
        (await session.execute(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id.desc())))
        .scalars()
        .all()
    )
    await session.commit()
    return schemas.RefundList(data=[common.refund_view(r) for r in rows])


async def sync_refunds(
    session: AsyncSession, provider: Provider, ctx: TenantContext, payment: Payment, lease: timedelta
) -> None:
    """Bring the refund rows up to the provider's (forward only, as any news), then recount (sync).

    The provider is asked when a row may still change: a pending one (its answer may have been
    lost), or a succeeded one (a bank may still refuse it). A refund it lists that the hub has no
    row for is left to the provider's cumulative figure: the emulator lists the remainder a
    partial capture released as a refund, and that is no refund. ``lease``: how long the request
    that asked for a refund may still be running.
    """
    statuses = (await session.execute(select(Refund.status).where(Refund.payment_id == payment.id))).scalars().all()
    remote = None
    if any(s in OPEN_REFUND for s in statuses):
        await session.commit()
        remote = await provider.list_refunds(ctx, common.remote_id(payment))
    # The payment row first, as the webhook applier takes it before its refunds (one lock order).
    await session.refresh(payment, with_for_update=True)
    if remote is not None:
        rows = (
            (
                await session.execute(
                    select(Refund).where(Refund.payment_id == payment.id).execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
        _advance(rows, remote, clock(), lease)
    await apply_refunds(session, payment)


def _advance(rows: Sequence[Refund], remote: list[RefundSnapshot], now: int, lease: timedelta) -> None:
    by_provider_id = {r.provider_refund_id: r for r in remote}
    by_hub_id = {r.metadata.get("hub_refund_id"): r for r in remote if r.metadata.get("hub_refund_id")}
    for row in rows:
        if row.status not in OPEN_REFUND:
            continue
        snap = by_provider_id.get(row.provider_refund_id) if row.provider_refund_id else by_hub_id.get(row.id)
        if snap is not None:
            row.provider_refund_id = snap.provider_refund_id
            advance_refund(row, snap.status, now)
        elif row.provider_refund_id is None and inflight.is_stale(row.created_at, lease):
            # Asked long ago and unknown to the provider: that refund never happened.
            advance_refund(row, "failed", now)
