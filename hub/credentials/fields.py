"""A plugin's declared credential fields (``Provider.credentials_spec``) against a submitted body,
and the masked view built from the same declaration: no code of the hub names a provider's fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from hub.credentials.schemas import MAX_FIELD
from hub.db.vault import ProviderCredential
from hub.errors import ValidationFailed
from providers.base.capabilities import CredentialRole, CredentialsSpec
from providers.base.secrets import mask_secrets
from providers.base.types import CredentialsInput


class Submitted(msgspec.Struct, frozen=True):
    """The body's fields by role: what ``parse_credentials`` reads and what the vault seals."""

    public: str
    key: str
    signing: str | None
    sealed: dict[str, str]

    def __repr__(self) -> str:
        return "Submitted(***)"

    __str__ = __repr__

    def raw(self) -> CredentialsInput:
        return CredentialsInput(
            publishable_key=self.public, secret_key=self.key, webhook_secret=self.signing, extra=dict(self.sealed)
        )


def read(spec: CredentialsSpec, body: dict[str, Any]) -> Submitted:
    """The body's fields by role; 422 ``validation_error`` naming an unknown, missing, empty,
    over-long or non-string field."""
    known = {f.name for f in spec.fields}
    for name in body:
        if name not in known:
            # The name is client text (a secret pasted as a name, say): masked, and never in the sentence.
            takes = ", ".join(sorted(known))
            raise ValidationFailed(f"Unknown field: this provider takes {takes}", param=mask_secrets(name))
    values: dict[str, str] = {}
    for f in spec.fields:
        value = body.get(f.name)
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(f"{f.name} must be a string", param=f.name)
        if value is not None and len(value) > MAX_FIELD:
            raise ValidationFailed(f"{f.name} must be at most {MAX_FIELD} characters", param=f.name)
        value = value.strip() if value is not None else None
        if not value:
            if f.required:
                raise ValidationFailed(f"{f.name} is required", param=f.name)
            continue
        values[f.name] = value
    return Submitted(
        public=values[spec.public.name],
        key=values[spec.key.name],
        signing=values.get(spec.signing.name),
        sealed={f.name: values[f.name] for f in spec.sealed if f.name in values},
    )


def pooled(spec: CredentialsSpec, submitted: Submitted) -> dict[str, str]:
    """The submitted ``SEALED`` fields stored together (those without a column of their own)."""
    alone = {f.name for f in spec.sealed if f.column is not None}
    return {k: v for k, v in submitted.sealed.items() if k not in alone}


def changed_fields(spec: CredentialsSpec, submitted: Submitted) -> list[str]:
    """The names of the fields a registration writes (for the audit trail: names, never values)."""
    names = [spec.public.name, spec.key.name]
    if submitted.signing is not None:
        names.append(spec.signing.name)
    return names + sorted(submitted.sealed)


def view(
    spec: CredentialsSpec, row: ProviderCredential, webhook_url: str, last_event_at: datetime | None
) -> dict[str, Any]:
    """The masked view: the public field as is, the key as a hint, every other secret as ``{name}_set``."""
    out: dict[str, Any] = {
        "provider": row.provider,
        "mode": row.mode,
        spec.public.name: row.publishable_key,
        f"{spec.key.name}_hint": row.secret_key_hint,
        f"{spec.signing.name}_set": row.webhook_secret_ct is not None,
    }
    for f in spec.by_role(CredentialRole.SEALED):
        # A field with a column of its own is set when that column is; the others are stored
        # together, all at once: the shared ciphertext's presence says each is set.
        ct = getattr(row, f.column) if f.column is not None else row.sealed_secrets_ct
        out[f"{f.name}_set"] = ct is not None
    out.update(
        webhook_url=webhook_url,
        verified_at=row.verified_at,
        updated_at=row.updated_at,
        webhook_endpoint_id=row.webhook_endpoint_id,
        last_event_at=last_event_at,
    )
    return out
