"""Applying a provider's news of a connected account (an ``account.updated`` event) to its row.

The webhook applier calls this once per event, in the order the events were stored, under the
account's row lock; ``hub.connect.service.apply_snapshot`` keeps the newest news only, so any
order and any number of repeats end in the same account.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.connect.service import announce, apply_snapshot
from hub.db.connect import ConnectedAccount
from providers.base.webhooks import ProviderEvent

APPLIED, IGNORED = "applied", "ignored"


async def apply_account_event(
    session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent
) -> tuple[str, str | None]:
    """(outcome, hub account id); ``ignored`` for an account this tenant does not own."""
    snap = event.connected_account
    assert snap is not None
    if event.hub_tenant_id is not None and event.hub_tenant_id != tenant_id:
        return IGNORED, None  # stamped by the hub for another tenant
    base = (
        select(ConnectedAccount)
        .where(ConnectedAccount.tenant_id == tenant_id, ConnectedAccount.provider == provider)
        .with_for_update()
    )
    row = (
        await session.execute(base.where(ConnectedAccount.provider_account_id == snap.provider_account_id))
    ).scalar_one_or_none()
    if row is None and event.hub_object_id and event.hub_tenant_id == tenant_id:
        # A row whose creation answer never arrived: the account names it, and it has no provider id yet.
        row = (
            await session.execute(
                base.where(ConnectedAccount.id == event.hub_object_id, ConnectedAccount.provider_account_id.is_(None))
            )
        ).scalar_one_or_none()
    if row is None:
        return IGNORED, None
    if apply_snapshot(row, snap, event.created):
        await announce(session, row)
    await session.flush()
    return APPLIED, row.id
