"""Who is calling: the platform operator or a tenant API key with one scope."""

from __future__ import annotations

import msgspec


class PlatformPrincipal(msgspec.Struct, frozen=True):
    actor: str = "platform"


class StoredCredentials(msgspec.Struct, frozen=True):
    """Which credentials the tenant had for a provider when its key was authenticated."""

    provider: str
    id: str
    version: int
    publishable_key: str


class TenantPrincipal(msgspec.Struct, frozen=True):
    tenant_id: str
    scope: str
    key_id: str
    #: Brought by the authenticating read, so a request needs no second read to pick its
    #: provider, find its cached context (keyed by version) or show a publishable key.
    credentials: tuple[StoredCredentials, ...] = ()

    def stored(self, provider: str) -> StoredCredentials | None:
        return next((c for c in self.credentials if c.provider == provider), None)

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"
