"""Rotation: re-wrap every tenant's data key under the active master key.

Secrets are sealed by data keys, so once every data key is wrapped by the active master key,
older master keys can be dropped from HUB_VAULT_KEYS.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models as _all_tables  # noqa: F401 - every table, so foreign keys resolve at flush time
from hub.db.base import utcnow
from hub.db.vault import TenantDataKey
from hub.vault.keyring import Vault, VaultError


async def rotate(session: AsyncSession, vault: Vault) -> int:
    """Re-wrap every data key not yet under the active key; returns how many were re-wrapped."""
    rows = (
        (
            await session.execute(
                select(TenantDataKey).where(TenantDataKey.master_key_id != vault.active_key_id).with_for_update()
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        data_key = vault.unwrap(row.tenant_id, row.master_key_id, row.wrapped_key)
        row.wrapped_key = vault.wrap(row.tenant_id, data_key)
        row.master_key_id = vault.active_key_id
        row.rotated_at = utcnow()
    await session.flush()
    return len(rows)


async def check(session: AsyncSession, vault: Vault) -> str | None:
    """None when the vault can open what is stored; otherwise a reason naming no secret.

    Unwraps one data key per master key id in use: a missing or wrong master key shows up
    without touching every tenant.
    """
    sample = (
        await session.execute(
            select(TenantDataKey.master_key_id, func.min(TenantDataKey.tenant_id)).group_by(TenantDataKey.master_key_id)
        )
    ).all()
    for _key_id, tenant_id in sample:
        row = await session.get(TenantDataKey, tenant_id)
        if row is None:  # deleted since the sample was read
            continue
        try:
            vault.unwrap(row.tenant_id, row.master_key_id, row.wrapped_key)
        except VaultError as exc:
            return str(exc)
    return None
