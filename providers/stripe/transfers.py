"""Stripe transfers to connected accounts (separate charges and transfers) and their reversals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.base.errors import InvalidState
from providers.base.transfers import ReversalSnapshot, TransferCreate, TransferSnapshot
from providers.base.webhooks import ProviderEvent, ReversalUpdate, TransferUpdate
from providers.stripe import wire
from providers.stripe.errors import stripe_errors

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost


#: The transfer events the hub applies (from the account's own endpoint or its Connect endpoint).
TRANSFER_EVENTS = ("transfer.created", "transfer.updated", "transfer.reversed")


def transfer_event(body: object) -> ProviderEvent | None:
    """The facts of a transfer event; None for any other event."""
    if not (isinstance(body, dict) and body.get("type") in TRANSFER_EVENTS):
        return None
    event = wire.decode(body, wire.Event)
    transfer = wire.decode(event.data.object, wire.Transfer)
    meta = transfer.metadata
    return ProviderEvent(
        provider_event_id=event.id,
        type=event.type,
        created=event.created,
        hub_tenant_id=meta.get("hub_tenant_id"),
        hub_payment_id=meta.get("hub_payment_id"),
        hub_object_id=meta.get("hub_transfer_id"),
        transfer=TransferUpdate(
            provider_transfer_id=transfer.id,
            amount=transfer.amount or 0,
            amount_reversed=transfer.amount_reversed or 0,
            reversals=tuple(
                ReversalUpdate(
                    provider_reversal_id=r.id, amount=r.amount or 0, hub_reversal_id=r.metadata.get("hub_reversal_id")
                )
                for r in (transfer.reversals.data if transfer.reversals else [])
            ),
        ),
    )


class StripeTransfers:
    """Mixed into StripeProvider."""

    async def create_transfer(
        self: StripeHost, ctx: TenantContext, data: TransferCreate, *, idempotency_key: str
    ) -> TransferSnapshot:
        client = self.client(ctx)
        with stripe_errors():
            pi = await client.v1.payment_intents.retrieve_async(data.source_payment)
        intent = wire.decode(pi, wire.PaymentIntent)
        charge = intent.latest_charge
        charge_id = charge.id if isinstance(charge, wire.Charge) else charge
        if not charge_id and intent.charges and intent.charges.data:
            charge_id = intent.charges.data[-1].id
        if not charge_id:
            raise InvalidState("The payment has no charge to transfer from")
        params: Any = {
            "amount": data.amount,
            "currency": data.currency,
            "destination": data.destination,
            "source_transaction": charge_id,
            "transfer_group": data.transfer_group,
            "metadata": dict(data.metadata),
        }
        with stripe_errors():
            transfer = await client.v1.transfers.create_async(params, {"idempotency_key": idempotency_key})
        return transfer_from_stripe(transfer)

    async def list_transfers(self: StripeHost, ctx: TenantContext, transfer_group: str) -> list[TransferSnapshot]:
        params: Any = {"transfer_group": transfer_group, "limit": 100}
        with stripe_errors():
            page = await self.client(ctx).v1.transfers.list_async(params)
        return [transfer_from_stripe(t) for t in wire.decode(page, wire.Page).data]

    async def reverse_transfer(
        self: StripeHost,
        ctx: TenantContext,
        provider_transfer_id: str,
        amount: int,
        *,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> ReversalSnapshot:
        params: Any = {"amount": amount, "metadata": dict(metadata)}
        with stripe_errors():
            reversal = await self.client(ctx).v1.transfers.reversals.create_async(
                provider_transfer_id, params, {"idempotency_key": idempotency_key}
            )
        found = wire.decode(reversal, wire.TransferReversal)
        return ReversalSnapshot(
            provider_reversal_id=found.id, amount=found.amount or 0, provider_transfer_id=wire.ref_id(found.transfer)
        )


def transfer_from_stripe(obj: object) -> TransferSnapshot:
    transfer = wire.decode(obj, wire.Transfer)
    return TransferSnapshot(
        provider_transfer_id=transfer.id,
        amount=transfer.amount or 0,
        currency=(transfer.currency or "").lower(),
        amount_reversed=transfer.amount_reversed or 0,
        destination=wire.ref_id(transfer.destination),
        metadata=transfer.metadata,
    )
