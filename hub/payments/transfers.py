"""Release by transfer: part of a payment's money sent to a seller's connected account.

Separate charges and transfers: the buyer's payment is captured into the tenant's account, and on
release the seller's share goes out as a transfer from that payment's charge (``source_transaction``,
so it waits for those funds) in the group named by the hub payment. What the tenant keeps (its
commission, and whatever is not released yet) is the payment's ``platform_amount``.

Every release, reversal and refund that touches transfers decides under the payment's row lock
(``FOR UPDATE`` on PostgreSQL; SQLite's write transaction serialises them), and writes its row
before the provider is called: concurrent releases count each other's rows, so they never send
more than the payment holds, and a release whose answer was lost is resumed under the same
provider idempotency key, never made twice.

The money a payment can still release: ``amount_received`` less what its refunds hold (pending
ones included) less ``amount_transferred`` (its transfers, in flight ones included, less the
reversals the provider confirmed).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.connect import ConnectedAccount
from hub.db.payments import Payment, Transfer, TransferReversal
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.notifications.outbox import TRANSFER_CREATED, TRANSFER_REVERSED, object_changed
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common, inflight, schemas
from hub.payments.apply import refund_totals
from hub.services import Services
from providers.base.errors import ProviderError
from providers.base.provider import Provider, TenantContext
from providers.base.transfers import TransferCreate, TransferSnapshot

#: Payments whose money may be released.
RELEASABLE = frozenset({"succeeded", "partially_refunded"})


def transfer_view(t: Transfer) -> schemas.Transfer:
    return schemas.Transfer(
        id=t.id,
        provider_transfer_id=t.provider_transfer_id,
        payment_id=t.payment_id,
        connected_account_id=t.connected_account_id,
        amount=t.amount,
        currency=t.currency,
        amount_reversed=t.amount_reversed,
        status=t.status,  # type: ignore[arg-type]  # the column's CHECK holds it to the Literal
        metadata=dict(t.metadata_ or {}),
        created_at=t.created_at,
    )


def _status(t: Transfer) -> str:
    if t.provider_transfer_id is None:
        return "pending"
    if t.amount_reversed <= 0:
        return "paid"
    return "reversed" if t.amount_reversed >= t.amount else "partially_reversed"


async def lock(tx: AsyncSession, payment: Payment) -> None:
    """The payment's row lock (the webhook applier's order: the payment first), its row read again."""
    await tx.refresh(payment, with_for_update=True)


async def recount(tx: AsyncSession, payment: Payment) -> None:
    """``amount_transferred`` from the rows: every transfer not dropped, less confirmed reversals."""
    await tx.flush()
    total = await tx.scalar(
        select(func.coalesce(func.sum(Transfer.amount - Transfer.amount_reversed), 0)).where(
            Transfer.payment_id == payment.id
        )
    )
    payment.amount_transferred = int(total or 0)


async def releasable(tx: AsyncSession, payment: Payment) -> int:
    """What the payment can still send (call under its lock)."""
    held = (await refund_totals(tx, payment)).held
    return payment.amount_received - held - payment.amount_transferred


async def owned_transfer(tx: AsyncSession, tenant_id: str, transfer_id: str) -> Transfer:
    transfer = (
        await tx.execute(select(Transfer).where(Transfer.id == transfer_id, Transfer.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if transfer is None:
        raise NotFound("No such transfer")
    return transfer


async def owned_account(tx: AsyncSession, tenant_id: str, account_id: str, param: str) -> ConnectedAccount:
    """The tenant's connected account; another tenant's is 'not found'."""
    account = (
        await tx.execute(
            select(ConnectedAccount).where(ConnectedAccount.id == account_id, ConnectedAccount.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("No such connected account", param=param)
    return account


def ready(account: ConnectedAccount, param: str) -> str:
    """The provider's id of an account that can receive transfers, else 422 ``account_not_ready``."""
    if account.provider_account_id is None or not account.transfers_enabled:
        raise ValidationFailed(
            "The connected account cannot receive transfers yet: its onboarding is not finished",
            code="account_not_ready",
            param=param,
        )
    return account.provider_account_id


async def _announce(tx: AsyncSession, transfer: Transfer, type_: str) -> None:
    await tx.flush()
    await object_changed(tx, transfer.tenant_id, type_, transfer_view(transfer))


@declare("POST", "/v1/payments/{payment_id:str}/transfers")
class CreateTransfer(Operation[TransferSnapshot]):
    """A release: the transfer's row (pending) is written under the payment's lock, then the provider
    is asked under an idempotency key derived from it; the Idempotency-Key's seed names the row."""

    route = "payments.transfers"
    status_code = 201

    def __init__(self, services: Services, who: TenantPrincipal, payment_id: str, data: schemas.TransferCreate) -> None:
        super().__init__(services, who)
        self.payment_id, self.data = payment_id, data
        self.transfer: Transfer | None = None

    def validate(self) -> None:
        if self.data.amount <= 0:
            raise ValidationFailed("amount must be a positive integer", code="amount_too_small", param="amount")
        self.metadata = common.check_metadata(self.data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.payment = await common.owned_payment(tx, self.who.tenant_id, self.payment_id)
        self.account = await owned_account(
            tx, self.who.tenant_id, self.data.connected_account_id, "connected_account_id"
        )
        self.provider = common.provider_by_name(self.services, self.payment.provider)
        self.ctx = await common.provider_context(tx, self.services, self.provider, self.who.tenant_id)
        self.transfer_id = attempt.object_id("trf")

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.Transfer | None:
        earlier = await tx.get(Transfer, self.transfer_id)
        if earlier is None or earlier.payment_id != self.payment.id:
            return None
        if earlier.provider_transfer_id is not None:
            return transfer_view(earlier)
        self.transfer = earlier  # asked, never answered: ask again under the same key
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        payment = self.payment
        await lock(tx, payment)
        if self.transfer is not None:
            # The earlier attempt passed every check and may have reached the provider: ask again,
            # identically, whatever the account's state now (the provider replays its answer).
            assert self.account.provider_account_id is not None
            self.destination = self.account.provider_account_id
            return None
        self.destination = ready(self.account, "connected_account_id")
        if payment.transfer_to is not None:
            raise Conflict("A destination charge's money went to its connected account already", code="invalid_state")
        if payment.status not in RELEASABLE:
            raise Conflict(
                f"A payment in status {payment.status} has nothing to transfer: capture it first",
                code="invalid_state",
            )
        left = await releasable(tx, payment)
        if self.data.amount > left:
            raise ValidationFailed(
                f"amount must be at most the {max(left, 0)} the payment still holds",
                code="amount_too_large",
                param="amount",
            )
        now = utcnow()
        self.transfer = Transfer(
            id=self.transfer_id,
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            connected_account_id=self.account.id,
            amount=self.data.amount,
            currency=payment.currency,
            amount_reversed=0,
            status="pending",
            metadata_=self.metadata,
            created_at=now,
            updated_at=now,
        )
        tx.add(self.transfer)
        await recount(tx, payment)
        return None

    async def call(self) -> TransferSnapshot:
        payment, transfer = self.payment, self.transfer
        assert transfer is not None
        return await self.provider.create_transfer(
            self.ctx,
            TransferCreate(
                amount=transfer.amount,
                currency=transfer.currency,
                destination=self.destination,
                source_payment=common.remote_id(payment),
                transfer_group=payment.id,
                metadata={
                    **(transfer.metadata_ or {}),
                    "hub_tenant_id": payment.tenant_id,
                    "hub_payment_id": payment.id,
                    "hub_transfer_id": transfer.id,
                },
            ),
            idempotency_key=store.provider_key(payment.id, "transfer", transfer.id),
        )

    async def record(self, tx: AsyncSession, answer: TransferSnapshot) -> schemas.Transfer:
        transfer = self.transfer
        assert transfer is not None
        await lock(tx, self.payment)
        await tx.refresh(transfer)
        transfer.provider_transfer_id = answer.provider_transfer_id
        transfer.status = _status(transfer)
        await _announce(tx, transfer, TRANSFER_CREATED)
        return transfer_view(transfer)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        if rule.row is RowFate.KEEP_FOR_RETRY:
            return  # it may have happened: the row keeps its money held until a retry with the key says
        await lock(tx, self.payment)
        await tx.delete(self.transfer)
        await recount(tx, self.payment)


async def sync_transfers(
    session: AsyncSession, provider: Provider, ctx: TenantContext, payment: Payment, lease: timedelta
) -> None:
    """Settle the payment's transfers whose provider answer was lost (sync): the provider's transfer
    of the group that names the row takes its place; none, once no request can still be asking
    (``lease``), means it never happened, and the row and its held money go. The provider is
    asked only when such a row exists."""
    pending = (
        await session.execute(
            select(Transfer.id).where(Transfer.payment_id == payment.id, Transfer.provider_transfer_id.is_(None))
        )
    ).all()
    if not pending:
        return
    await end(session)
    remote = {t.metadata.get("hub_transfer_id"): t for t in await provider.list_transfers(ctx, payment.id)}
    await lock(session, payment)
    rows = (
        (
            await session.execute(
                select(Transfer)
                .where(Transfer.payment_id == payment.id, Transfer.provider_transfer_id.is_(None))
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        found = remote.get(row.id)
        if found is not None and found.amount == row.amount:
            row.provider_transfer_id = found.provider_transfer_id
            await recount_reversals(session, payment, row, found.amount_reversed)
            await _announce(session, row, TRANSFER_CREATED)
        elif found is None and inflight.is_stale(row.created_at, lease):
            await session.delete(row)
    await recount(session, payment)


async def list_transfers(session: AsyncSession, who: TenantPrincipal, payment_id: str) -> schemas.TransferList:
    payment = await common.owned_payment(session, who.tenant_id, payment_id)
    rows = (
        (await session.execute(select(Transfer).where(Transfer.payment_id == payment.id).order_by(Transfer.id.desc())))
        .scalars()
        .all()
    )
    return schemas.TransferList(data=[transfer_view(t) for t in rows])


async def recount_reversals(tx: AsyncSession, payment: Payment, transfer: Transfer, figure: int = 0) -> None:
    """``amount_reversed`` from the reversal rows the provider confirmed (one per provider reversal),
    or the provider's cumulative ``figure`` when it is larger (reversals it did not list); the
    payment's ``amount_transferred`` follows. A growth is announced."""
    await tx.flush()
    confirmed = await tx.scalar(
        select(func.coalesce(func.sum(TransferReversal.amount), 0)).where(
            TransferReversal.transfer_id == transfer.id, TransferReversal.provider_reversal_id.is_not(None)
        )
    )
    before = transfer.amount_reversed
    transfer.amount_reversed = min(transfer.amount, max(int(confirmed or 0), figure))
    transfer.status = _status(transfer)
    await recount(tx, payment)
    if transfer.amount_reversed > before:
        await _announce(tx, transfer, TRANSFER_REVERSED)
