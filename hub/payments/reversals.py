"""Reversals: money a release sent to a seller taken back, by the API, by a refund, or by Stripe's
own ``transfer.*`` events.

Like every release (``hub.payments.transfers``), a reversal is decided under the payment's row lock
and its row is written before the provider is called, so what a transfer still holds is never
reversed twice and a reversal whose answer was lost is resumed under the same provider key.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Transfer, TransferReversal
from hub.errors import Conflict, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.operations.driver import declare
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common, schemas

#: Payments whose money may be released.
from hub.payments.transfers import lock, owned_transfer, recount_reversals, transfer_view
from hub.services import Services
from providers.base.errors import ProviderError
from providers.base.provider import TenantContext
from providers.base.transfers import ReversalSnapshot
from providers.base.webhooks import ProviderEvent, ReversalUpdate


async def reversible(tx: AsyncSession, transfer: Transfer) -> int:
    """What is left to reverse: less the reversals confirmed and those still being asked for."""
    asked = await tx.scalar(
        select(func.coalesce(func.sum(TransferReversal.amount), 0)).where(
            TransferReversal.transfer_id == transfer.id, TransferReversal.provider_reversal_id.is_(None)
        )
    )
    return transfer.amount - transfer.amount_reversed - int(asked or 0)


def new_reversal(reversal_id: str, transfer: Transfer, amount: int, refund_id: str | None = None) -> TransferReversal:
    return TransferReversal(
        id=reversal_id,
        tenant_id=transfer.tenant_id,
        transfer_id=transfer.id,
        refund_id=refund_id,
        amount=amount,
        created_at=utcnow(),
    )


async def reverse(
    services: Services, payment: Payment, transfer: Transfer, reversal: TransferReversal, ctx: TenantContext
) -> ReversalSnapshot:
    """Ask the provider for ``reversal`` (no transaction open), under a key derived from its row."""
    assert transfer.provider_transfer_id is not None
    provider = common.provider_by_name(services, payment.provider)
    return await provider.reverse_transfer(
        ctx,
        transfer.provider_transfer_id,
        reversal.amount,
        metadata={
            "hub_tenant_id": payment.tenant_id,
            "hub_payment_id": payment.id,
            "hub_transfer_id": transfer.id,
            "hub_reversal_id": reversal.id,
        },
        idempotency_key=store.provider_key(transfer.id, "reversal", reversal.id),
    )


async def plan_reversals(tx: AsyncSession, payment: Payment, need: int, refund_id: str) -> list[TransferReversal]:
    """Reversal rows (for a refund) taking back ``need`` from the payment's transfers, newest first
    (call under the payment's lock). A transfer still being created cannot be reversed yet."""
    transfers = (
        (
            await tx.execute(
                select(Transfer)
                .where(Transfer.payment_id == payment.id, Transfer.provider_transfer_id.is_not(None))
                .order_by(Transfer.created_at.desc(), Transfer.id.desc())
            )
        )
        .scalars()
        .all()
    )
    planned: list[TransferReversal] = []
    for transfer in transfers:
        if need <= 0:
            break
        take = min(need, await reversible(tx, transfer))
        if take > 0:
            reversal = new_reversal(new_id("trr"), transfer, take, refund_id)
            tx.add(reversal)
            planned.append(reversal)
            need -= take
    if need > 0:
        raise Conflict(
            "The payment's transfers cannot be reversed by that much now (one is still being created); retry later",
            code="invalid_state",
        )
    return planned


async def reversed_(tx: AsyncSession, payment: Payment, reversal: TransferReversal, answer: ReversalSnapshot) -> None:
    """The provider's answer to a reversal (under the payment's lock): the transfer and the payment follow.

    One row per provider reversal: if the transfer's event recorded this reversal first, that row is
    kept and the pending one dropped."""
    transfer = await tx.get(Transfer, reversal.transfer_id, populate_existing=True)
    assert transfer is not None
    if reversal.provider_reversal_id is None:
        recorded = (
            await tx.execute(
                select(TransferReversal).where(
                    TransferReversal.tenant_id == reversal.tenant_id,
                    TransferReversal.provider_reversal_id == answer.provider_reversal_id,
                    TransferReversal.id != reversal.id,
                )
            )
        ).scalar_one_or_none()
        if recorded is None:
            reversal.provider_reversal_id = answer.provider_reversal_id
        else:
            await tx.delete(reversal)
        await recount_reversals(tx, payment, transfer)


async def apply_transfer_event(session: AsyncSession, tenant_id: str, event: ProviderEvent) -> tuple[str, str | None]:
    """A provider's news of a transfer (the webhook applier): its id, if the hub's answer was lost, and
    its reversals, made by the hub or elsewhere (the Stripe Dashboard), one row each.
    Returns (outcome, hub transfer id)."""
    update = event.transfer
    assert update is not None
    if event.hub_tenant_id is not None and event.hub_tenant_id != tenant_id:
        return "ignored", None  # stamped by the hub for another tenant
    found = select(Transfer).where(Transfer.tenant_id == tenant_id)
    row = (
        await session.execute(found.where(Transfer.provider_transfer_id == update.provider_transfer_id))
    ).scalar_one_or_none()
    if row is None and event.hub_object_id:
        row = (
            await session.execute(
                found.where(Transfer.id == event.hub_object_id, Transfer.provider_transfer_id.is_(None))
            )
        ).scalar_one_or_none()
    if row is None or row.amount != update.amount:
        return "ignored", None
    payment = await session.get(Payment, row.payment_id)
    assert payment is not None
    await lock(session, payment)  # the payment first, as every writer of its money
    await session.refresh(row)
    if row.provider_transfer_id is None:
        row.provider_transfer_id = update.provider_transfer_id
    for listed in update.reversals:
        await _record_reversal(session, row, listed)
    await recount_reversals(session, payment, row, update.amount_reversed)
    return "applied", row.id


async def _record_reversal(tx: AsyncSession, transfer: Transfer, listed: ReversalUpdate) -> None:
    """One reversal the provider lists: its row found (by provider id, or the hub's pending row it
    names), or made."""
    known = select(TransferReversal).where(TransferReversal.tenant_id == transfer.tenant_id)
    if (
        await tx.execute(known.where(TransferReversal.provider_reversal_id == listed.provider_reversal_id))
    ).scalar_one_or_none() is not None:
        return
    pending = None
    if listed.hub_reversal_id:
        pending = (
            await tx.execute(
                known.where(
                    TransferReversal.id == listed.hub_reversal_id,
                    TransferReversal.transfer_id == transfer.id,
                    TransferReversal.provider_reversal_id.is_(None),
                )
            )
        ).scalar_one_or_none()
    if pending is not None:
        pending.provider_reversal_id = listed.provider_reversal_id
        return
    row = new_reversal(new_id("trr"), transfer, listed.amount)
    row.provider_reversal_id = listed.provider_reversal_id
    tx.add(row)


@declare("POST", "/v1/transfers/{transfer_id:str}/reversals")
class ReverseTransfer(Operation[ReversalSnapshot]):
    """A reversal of (part of) a transfer; its row is written before the provider is asked."""

    route = "transfers.reversals"
    status_code = 201

    def __init__(
        self, services: Services, who: TenantPrincipal, transfer_id: str, data: schemas.ReversalCreate
    ) -> None:
        super().__init__(services, who)
        self.transfer_id, self.data = transfer_id, data
        self.reversal: TransferReversal | None = None

    def validate(self) -> None:
        if self.data.amount is not None and self.data.amount <= 0:
            raise ValidationFailed("amount must be a positive integer", code="amount_too_small", param="amount")

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.transfer = await owned_transfer(tx, self.who.tenant_id, self.transfer_id)
        self.payment = await common.owned_payment(tx, self.who.tenant_id, self.transfer.payment_id)
        self.provider = common.provider_by_name(self.services, self.payment.provider)
        self.ctx = await common.provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.reversal_id = attempt.object_id("trr")

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Transfer | None:
        earlier = await tx.get(TransferReversal, self.reversal_id)
        if earlier is None or earlier.transfer_id != self.transfer.id:
            return None
        if earlier.provider_reversal_id is not None:
            return transfer_view(self.transfer)
        self.reversal = earlier
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        await lock(tx, self.payment)
        await tx.refresh(self.transfer)
        if self.reversal is not None:
            return None
        if self.transfer.provider_transfer_id is None:
            raise Conflict("The transfer's creation has not completed: retry it first", code="invalid_state")
        left = await reversible(tx, self.transfer)
        if left <= 0:
            raise Conflict("The transfer is reversed already", code="invalid_state")
        amount = self.data.amount if self.data.amount is not None else left
        if amount > left:
            raise ValidationFailed(
                f"amount must be at most the {left} left to reverse", code="amount_too_large", param="amount"
            )
        self.reversal = new_reversal(self.reversal_id, self.transfer, amount)
        tx.add(self.reversal)
        return None

    async def call(self) -> ReversalSnapshot:
        assert self.reversal is not None
        return await reverse(self.services, self.payment, self.transfer, self.reversal, self.ctx)

    async def record(self, tx: AsyncSession, answer: ReversalSnapshot) -> schemas.Transfer:
        assert self.reversal is not None
        await lock(tx, self.payment)
        await reversed_(tx, self.payment, self.reversal, answer)
        return transfer_view(self.transfer)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is not RowFate.KEEP_FOR_RETRY:
            await tx.delete(self.reversal)
