"""Neutral transfer types, and the transfers part of the provider contract (marketplaces).

A transfer sends part of a payment's money to a seller's connected account, tied to the charge
it came from (so it waits for those funds) and to a group naming the hub payment. A reversal
takes (part of) it back. A provider without connected accounts keeps the defaults, which
refuse with ``NotSupported``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from providers.base.errors import NotSupported

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.provider import TenantContext


class TransferCreate(msgspec.Struct, frozen=True):
    amount: int
    currency: str
    #: The provider's id of the connected account receiving it.
    destination: str
    #: The provider's id of the payment whose money is sent (the plugin finds its charge).
    source_payment: str
    #: The hub payment's id: every transfer of one payment in one group.
    transfer_group: str
    #: Carries ``hub_tenant_id``, ``hub_payment_id`` and ``hub_transfer_id``.
    metadata: dict[str, str] = {}


class TransferSnapshot(msgspec.Struct, frozen=True):
    provider_transfer_id: str
    amount: int
    currency: str
    amount_reversed: int = 0
    destination: str | None = None
    metadata: dict[str, str] = {}


class ReversalSnapshot(msgspec.Struct, frozen=True):
    provider_reversal_id: str
    amount: int
    provider_transfer_id: str | None = None


class TransfersAPI:
    """Transfers to connected accounts; ``idempotency_key`` as in ``PaymentsAPI``."""

    async def create_transfer(
        self, ctx: TenantContext, data: TransferCreate, *, idempotency_key: str
    ) -> TransferSnapshot:
        raise NotSupported("This provider cannot transfer to connected accounts")

    async def list_transfers(self, ctx: TenantContext, transfer_group: str) -> list[TransferSnapshot]:
        """Every transfer of the group (the hub payment's), newest first."""
        raise NotSupported("This provider cannot transfer to connected accounts")

    async def reverse_transfer(
        self,
        ctx: TenantContext,
        provider_transfer_id: str,
        amount: int,
        *,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> ReversalSnapshot:
        raise NotSupported("This provider cannot reverse transfers")
