"""Who is calling: the platform operator or a tenant API key with one scope."""

from __future__ import annotations

import msgspec


class PlatformPrincipal(msgspec.Struct, frozen=True):
    actor: str = "platform"


class TenantPrincipal(msgspec.Struct, frozen=True):
    tenant_id: str
    scope: str
    key_id: str

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"
