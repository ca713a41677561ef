"""Provider-neutral types passed between the hub and its provider plugins."""

from __future__ import annotations

from typing import Annotated

import msgspec

#: The largest amount (minor units) or time an event may carry: every JSON reader still holds it exactly.
MAX_AMOUNT = 2**53 - 1

#: A non-negative integer within ``MAX_AMOUNT``: amounts in minor units, epoch seconds. Enforced
#: where a struct is converted (``providers.base.webhooks.checked``), not by the plain constructor.
Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]


class CredentialsInput(msgspec.Struct, frozen=True):
    """Raw credential fields as a tenant admin submitted them, by role (``CredentialsSpec``):
    ``publishable_key`` is the plugin's ``PUBLIC`` field, ``secret_key`` its ``KEY`` field,
    ``webhook_secret`` its ``SIGNING`` field, whatever the plugin names them. Secret: never log or repr."""

    publishable_key: str
    secret_key: str
    webhook_secret: str | None = None
    #: The webhook secret replaced less than the roll-over window ago (stored credentials only).
    previous_webhook_secret: str | None = None
    #: The plugin's other secrets (``CredentialRole.SEALED`` fields), by field name.
    extra: dict[str, str] = {}

    def __repr__(self) -> str:
        return "CredentialsInput(***)"

    __str__ = __repr__


class ProviderCredentials:
    """Base of each plugin's own typed credentials struct (a plugin subclasses it).

    Subclasses must keep ``__repr__``/``__str__`` masked.
    """

    mode: str
    publishable_key: str

    def secret_hint(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={getattr(self, 'mode', '?')}, ***)"

    __str__ = __repr__


class CredentialCheck(msgspec.Struct, frozen=True):
    """Outcome of checking credentials against the provider."""

    ok: bool
    mode: str
    latency_ms: int
    error: str | None = None
