"""Stripe's typed credentials: key formats and the test/live mode rule."""

from __future__ import annotations

import re
from typing import NoReturn

from providers.base.errors import CredentialsFormatError, ModeMismatch
from providers.base.types import CredentialsInput, ProviderCredentials

#: How many characters follow a key's prefix; each rule below is stated in its refusal, never the key.
_MIN, _MAX = 8, 250
_PUBLISHABLE = re.compile(rf"^pk_(test|live)_[0-9A-Za-z]{{{_MIN},{_MAX}}}$")
_SECRET = re.compile(rf"^(sk|rk)_(test|live)_[0-9A-Za-z]{{{_MIN},{_MAX}}}$")
_WEBHOOK = re.compile(rf"^whsec_[0-9A-Za-z+/=_-]{{{_MIN},{_MAX}}}$")
_ALNUM = f"followed by {_MIN} to {_MAX} letters or digits (A-Z, a-z, 0-9)"
_PUBLISHABLE_RULE = f"publishable_key must be pk_test_ or pk_live_ {_ALNUM}"
_SECRET_RULE = f"secret_key must be sk_test_, sk_live_, rk_test_ or rk_live_ {_ALNUM}"
_WEBHOOK_RULE = f"webhook_secret must be whsec_ followed by {_MIN} to {_MAX} letters, digits or + / = _ -"
_CONNECT_RULE = "connect_" + _WEBHOOK_RULE


class StripeCredentials(ProviderCredentials):
    """A tenant's Stripe keys. ``repr``/``str`` never show the secret parts."""

    __slots__ = ("_connect_webhook_secret", "_secret_key", "_webhook_secrets", "mode", "publishable_key")

    def __init__(
        self,
        *,
        mode: str,
        publishable_key: str,
        secret_key: str,
        webhook_secrets: tuple[str, ...] = (),
        connect_webhook_secret: str | None = None,
    ):
        self.mode = mode
        self.publishable_key = publishable_key
        self._secret_key = secret_key
        self._webhook_secrets = webhook_secrets
        self._connect_webhook_secret = connect_webhook_secret

    @property
    def secret_key(self) -> str:
        return self._secret_key

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Current secret first, then the previous one while it is still in its roll-over window."""
        return self._webhook_secrets

    @property
    def connect_webhook_secret(self) -> str | None:
        """The signing secret of the Connect endpoint: events about the connected accounts."""
        return self._connect_webhook_secret

    def secret_hint(self) -> str:
        prefix = self._secret_key[: self._secret_key.index("_", 3) + 1]
        return f"{prefix}…{self._secret_key[-4:]}"

    def __reduce__(self) -> NoReturn:  # keep secrets out of pickles too
        raise TypeError("StripeCredentials cannot be pickled")


def parse_credentials(raw: CredentialsInput) -> StripeCredentials:
    pk, sk, wh = raw.publishable_key.strip(), raw.secret_key.strip(), raw.webhook_secret
    pk_match = _PUBLISHABLE.match(pk)
    if not pk_match:
        raise CredentialsFormatError(_PUBLISHABLE_RULE, param="publishable_key")
    sk_match = _SECRET.match(sk)
    if not sk_match:
        raise CredentialsFormatError(_SECRET_RULE, param="secret_key")
    secrets: tuple[str, ...] = ()
    if wh is not None:
        wh = wh.strip()
        if not _WEBHOOK.match(wh):
            raise CredentialsFormatError(_WEBHOOK_RULE, param="webhook_secret")
        secrets = (wh,)
    if raw.previous_webhook_secret:
        secrets += (raw.previous_webhook_secret,)
    connect = raw.extra.get("connect_webhook_secret")
    connect = connect.strip() if connect is not None else None
    if connect is not None and not _WEBHOOK.match(connect):
        raise CredentialsFormatError(_CONNECT_RULE, param="connect_webhook_secret")
    if pk_match.group(1) != sk_match.group(2):
        raise ModeMismatch(
            f"publishable_key is a {pk_match.group(1)} key but secret_key is a {sk_match.group(2)} key",
            param="secret_key",
        )
    return StripeCredentials(
        mode=pk_match.group(1),
        publishable_key=pk,
        secret_key=sk,
        webhook_secrets=secrets,
        connect_webhook_secret=connect,
    )
