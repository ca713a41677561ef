"""Request and response Structs of the credential routes (the GET shows only a masked view)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Field = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class CredentialsPut(msgspec.Struct, forbid_unknown_fields=True):
    publishable_key: Field
    secret_key: Field
    webhook_secret: Field | None = None

    def __repr__(self) -> str:
        return "CredentialsPut(***)"


class CredentialsView(msgspec.Struct):
    provider: str
    mode: str
    publishable_key: str
    secret_key_hint: str
    webhook_secret_set: bool
    webhook_url: str
    verified_at: datetime | None
    updated_at: datetime
    webhook_endpoint_id: str | None = None


class HealthCheck(msgspec.Struct):
    ok: bool
    mode: str
    latency_ms: int
    error: str | None
