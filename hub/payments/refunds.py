"""Refunds: full, partial, several partials up to the captured amount; repaired by sync.

The refund row is written (pending, no provider id) in the same transaction that claims the
payment, before the provider is called: money the hub may have asked back is never offered
for refund twice, and a refund whose answer was lost is found again by its metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.payments import Payment, Refund, Transfer, TransferReversal
from hub.errors import Conflict, Unsupported, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common, inflight, reversals, schemas, transfers
from hub.payments.apply import advance_refund, apply_refunds, apply_snapshot, clock, note_reversal, refund_totals
from hub.services import Services
from providers.base.errors import ProviderError
from providers.base.payments import PaymentSnapshot, RefundSnapshot
from providers.base.provider import Provider, TenantContext
from providers.base.statuses import OPEN_REFUND
from providers.base.transfers import ReversalSnapshot

REFUNDABLE = frozenset({"succeeded", "partially_refunded"})
#: Statuses after which a payment may have become refundable without the hub seeing it.
MAY_LAG = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture"}
)


async def refundable(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> int:
    """What may still be refunded of the payment: what was received, less what its refunds hold."""
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    return payment.amount_received - (await refund_totals(session, payment)).held


@declare("POST", "/v1/payments/{payment_id:str}/refunds")
class CreateRefund(Operation[RefundSnapshot]):
    """A refund of a payment: its row is written (pending, no provider id) with the payment's
    in-flight marker before the provider is called; the Idempotency-Key's seed names it, so a
    retry resumes the same refund under the same provider idempotency key."""

    route = "payments.refunds"
    status_code = 201
    looks = True
    #: The provider's refund webhook may record this refund between the call and the record.
    record_retries = 1

    def __init__(self, services: Services, who: TenantPrincipal, payment_id: str, data: schemas.RefundCreate) -> None:
        super().__init__(services, who)
        self.payment_id, self.data = payment_id, data
        self.snap: PaymentSnapshot | None = None
        self.refund: Refund | None = None
        #: Reversals of the payment's transfers asked for before the refund, and their answers.
        self.reversals: list[TransferReversal] = []
        self.reversed: list[tuple[TransferReversal, ReversalSnapshot]] = []

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.payment = await common.owned_payment(tx, self.who.tenant_id, self.payment_id)
        self.provider = common.provider_by_name(self.services, self.payment.provider)
        refund_supported(self.provider, self.payment, self.data.amount)
        self.ctx = await common.provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.refund_id = attempt.object_id("ref")
        self.lease = store.lease_for(self.services.settings)

    async def look(self) -> None:
        """A payment whose status may lag may have become refundable without the hub seeing it."""
        payment = self.payment
        if payment.status in MAY_LAG and payment.provider_payment_id is not None:
            self.snap = await self.provider.get_payment(self.ctx, payment.provider_payment_id)

    async def seen(self, tx: AsyncSession) -> None:
        if self.snap is not None:
            await apply_snapshot(tx, self.payment, self.snap)

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Refund | None:
        earlier = await tx.get(Refund, self.refund_id)
        if earlier is None or earlier.payment_id != self.payment.id:
            return None
        if earlier.provider_refund_id is not None or earlier.status != "pending":
            return common.refund_view(earlier)
        # The earlier attempt asked the provider and never heard back: ask again, identically,
        # under the same provider idempotency key (and the reversals it asked for first).
        self.refund = earlier
        self.reversals = list(
            (
                await tx.execute(
                    select(TransferReversal)
                    .where(TransferReversal.refund_id == earlier.id, TransferReversal.provider_reversal_id.is_(None))
                    .order_by(TransferReversal.created_at)
                )
            )
            .scalars()
            .all()
        )
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        payment = self.payment
        # Under the payment's lock, as a release decides: a transfer and a refund cannot both
        # count the same money.
        await transfers.lock(tx, payment)
        amount = await self._amount(tx) if self.refund is None else 0
        if await inflight.claim(tx, payment, "refund", lease=self.lease, statuses=REFUNDABLE) is None:
            raise inflight.busy(payment, self.lease)
        if self.refund is None:
            now = utcnow()
            self.refund = Refund(
                id=self.refund_id,
                tenant_id=payment.tenant_id,
                payment_id=payment.id,
                amount=amount,
                status="pending",
                reason=self.data.reason,
                created_at=now,
                updated_at=now,
            )
            tx.add(self.refund)
            await self._plan_reversals(tx, amount)
        # The transfers the reversals take from, read now: the call runs with no transaction open.
        ids = {r.transfer_id for r in self.reversals}
        rows = (await tx.execute(select(Transfer).where(Transfer.id.in_(ids)))).scalars().all() if ids else []
        self._transfers = {t.id: t for t in rows}

    async def _plan_reversals(self, tx: AsyncSession, amount: int) -> None:
        """With transfers outstanding, only a refund that says ``reverse_transfers`` goes on; it takes
        back from them, newest first, what the money not transferred cannot cover. A destination
        charge's refund has the provider take the seller's share back in proportion instead."""
        payment, refund = self.payment, self.refund
        assert refund is not None
        outstanding = await _seller_holds(tx, payment) if payment.transfer_to else payment.amount_transferred
        if outstanding <= 0:
            return
        if not self.data.reverse_transfers:
            raise Conflict(
                f"The payment has {outstanding} transferred to connected accounts: "
                'refund with "reverse_transfers": true to take it back from them',
                code="transfers_outstanding",
                param="reverse_transfers",
            )
        if payment.transfer_to:
            refund.reversed_transfer = True
            return
        await tx.flush()
        free = await transfers.releasable(tx, payment)  # the refund's own row already holds its amount
        if free < 0:
            self.reversals = await reversals.plan_reversals(tx, payment, -free, refund.id)

    async def _amount(self, tx: AsyncSession) -> int:
        """The amount to refund, checked against what is left to refund."""
        payment, wanted = self.payment, self.data.amount
        if payment.status not in REFUNDABLE:
            raise Conflict(f"A payment in status {payment.status} cannot be refunded", code="invalid_state")
        refundable = payment.amount_received - (await refund_totals(tx, payment)).held
        if wanted is not None and wanted <= 0:
            raise ValidationFailed("amount must be a positive integer", code="amount_too_small", param="amount")
        if refundable <= 0:
            raise Conflict("Everything captured has already been refunded", code="invalid_state")
        amount = wanted if wanted is not None else refundable
        if amount > refundable:
            raise ValidationFailed(
                f"amount must be at most the refundable {refundable}", code="amount_too_large", param="amount"
            )
        return amount

    async def call(self) -> RefundSnapshot:
        payment, refund = self.payment, self.refund
        assert refund is not None
        for reversal in self.reversals:
            transfer = self._transfer_of(reversal)
            answer = await reversals.reverse(self.services, payment, transfer, reversal, self.ctx)
            self.reversed.append((reversal, answer))
        return await self.provider.create_refund(
            self.ctx,
            common.remote_id(payment),
            refund.amount,
            reason=refund.reason,
            metadata={"hub_tenant_id": payment.tenant_id, "hub_payment_id": payment.id, "hub_refund_id": refund.id},
            idempotency_key=store.provider_key(payment.id, "refund", refund.id),
            reverse_transfer=bool(refund.reversed_transfer),
            refund_application_fee=bool(refund.reversed_transfer and payment.application_fee_amount),
        )

    async def record(self, tx: AsyncSession, answer: RefundSnapshot) -> schemas.Refund:
        assert self.refund is not None
        # The payment row first, as the webhook applier takes it before it records a refund:
        # the same lock order on both paths, so a refund webhook racing this answer waits
        # (or is waited for) instead of deadlocking.
        await tx.refresh(self.payment, with_for_update=True)
        await self._record_reversals(tx)
        kept = await _attach(tx, self.refund, answer)
        await apply_refunds(tx, self.payment)
        inflight.release(self.payment)
        return common.refund_view(kept)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if self.reversals:
            await transfers.lock(tx, self.payment)
            await self._record_reversals(tx)  # the ones the provider made are known, whatever came after
        if rule.row is RowFate.KEEP_FOR_RETRY:
            # It may have happened: the pending row keeps the money held until sync finds out.
            self.payment.last_error_code = exc.code
            exc.payment_id = self.payment.id
        else:
            # The provider made no refund (declined or refused): the row goes, with the reversals
            # that were not made.
            done = {r.id for r, _ in self.reversed}
            for reversal in self.reversals:
                if reversal.id not in done:
                    await tx.delete(reversal)
            await tx.delete(self.refund)
        inflight.release(self.payment)

    def _transfer_of(self, reversal: TransferReversal) -> Transfer:
        transfer = self._transfers.get(reversal.transfer_id)
        assert transfer is not None
        return transfer

    async def _record_reversals(self, tx: AsyncSession) -> None:
        for reversal, answer in self.reversed:
            await reversals.reversed_(tx, self.payment, reversal, answer)


async def _seller_holds(tx: AsyncSession, payment: Payment) -> int:
    """What a destination charge's seller holds, counting the reversing refunds not known to have
    failed (a pending one has taken its share back already)."""
    rows = await tx.execute(
        select(Refund.amount, Refund.status).where(Refund.payment_id == payment.id, Refund.reversed_transfer.is_(True))
    )
    return common.seller_holds(payment, sum(a for a, s in rows if s in OPEN_REFUND))


def refund_supported(provider: Provider, payment: Payment, amount: int | None) -> None:
    """422 ``not_supported`` for a refund the provider declares it cannot make, before anything is sent."""
    can = provider.capabilities
    methods = can.refundable_method_types
    if methods is not None and payment.payment_method_type not in methods:
        kind = payment.payment_method_type or "unknown"
        raise Unsupported(
            f"{provider.name} cannot refund a payment made by {kind} (only: {', '.join(methods) or 'none'})",
            param="payment_method.type",
        )
    if not can.partial_refunds and amount is not None and amount != payment.amount:
        raise Unsupported(f"{provider.name} refunds only the whole payment: leave amount out", param="amount")


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
        note_reversal(refund, snap.transfer_reversal)
        return refund
    recorded.reason = recorded.reason or refund.reason
    recorded.reversed_transfer = bool(recorded.reversed_transfer or refund.reversed_transfer)
    note_reversal(recorded, snap.transfer_reversal)
    await session.delete(refund)
    return recorded


async def list_refunds(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> schemas.RefundList:
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    rows = (
        (await session.execute(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id.desc())))
        .scalars()
        .all()
    )
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
        await end(session)
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
            note_reversal(row, snap.transfer_reversal)
        elif row.provider_refund_id is None and inflight.is_stale(row.created_at, lease):
            # Asked long ago and unknown to the provider: that refund never happened.
            advance_refund(row, "failed", now)
