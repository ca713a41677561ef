"""Reading and writing a tenant's encrypted secrets: find or create its data key, seal, open."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.upsert import insert_ignoring_conflict
from hub.db.vault import TenantDataKey
from hub.vault.keyring import Secret, Vault


class TenantSecrets:
    """A tenant's data key in memory, able to seal and open that tenant's fields."""

    __slots__ = ("_key", "_vault", "tenant_id")

    def __init__(self, vault: Vault, tenant_id: str, data_key: bytes) -> None:
        self._vault = vault
        self._key = data_key
        self.tenant_id = tenant_id

    def __repr__(self) -> str:
        return f"TenantSecrets(tenant_id={self.tenant_id!r}, ***)"

    def seal(self, provider: str, field: str, plaintext: str) -> bytes:
        return self._vault.encrypt(self._key, self.tenant_id, provider, field, plaintext)

    def open(self, provider: str, field: str, blob: bytes) -> Secret:
        return self._vault.decrypt(self._key, self.tenant_id, provider, field, blob)


async def find_tenant_secrets(session: AsyncSession, vault: Vault, tenant_id: str) -> TenantSecrets | None:
    """The tenant's data key, or None when the tenant has none yet."""
    row = await session.get(TenantDataKey, tenant_id)
    if row is None:
        return None
    return TenantSecrets(vault, tenant_id, vault.unwrap(tenant_id, row.master_key_id, row.wrapped_key))


async def ensure_tenant_secrets(session: AsyncSession, vault: Vault, tenant_id: str) -> TenantSecrets:
    """The tenant's data key, created (race-safely) when missing."""
    row = await session.get(TenantDataKey, tenant_id)
    if row is None:
        key_id, wrapped, _ = vault.new_data_key(tenant_id)
        # Two workers registering the same tenant's first credentials: one data key wins.
        await session.execute(
            insert_ignoring_conflict(
                session, TenantDataKey, ["tenant_id"], tenant_id=tenant_id, master_key_id=key_id, wrapped_key=wrapped
            )
        )
        row = (await session.execute(select(TenantDataKey).where(TenantDataKey.tenant_id == tenant_id))).scalar_one()
    return TenantSecrets(vault, tenant_id, vault.unwrap(tenant_id, row.master_key_id, row.wrapped_key))
