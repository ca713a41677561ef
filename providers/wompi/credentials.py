"""A tenant's four Wompi credentials: their formats and the test/prod rule.

Source (docs.wompi.co, "Ambientes y llaves"): a merchant has a public key ``pub_test_…`` /
``pub_prod_…``, a private key ``prv_test_…`` / ``prv_prod_…``, an events secret
``test_events_…`` / ``prod_events_…`` and an integrity secret ``test_integrity_…`` /
``prod_integrity_…``; the sandbox takes the ``test`` ones, production the ``prod`` ones.
"""

from __future__ import annotations

import re
from typing import NoReturn

from providers.base.errors import CredentialsFormatError, ModeMismatch
from providers.base.types import CredentialsInput, ProviderCredentials

_BODY = r"[0-9A-Za-z_-]{8,250}"
_FORMATS = {
    "public_key": re.compile(rf"^pub_(test|prod)_{_BODY}$"),
    "private_key": re.compile(rf"^prv_(test|prod)_{_BODY}$"),
    "events_secret": re.compile(rf"^(test|prod)_events_{_BODY}$"),
    "integrity_secret": re.compile(rf"^(test|prod)_integrity_{_BODY}$"),
}
_RULES = {
    "public_key": "public_key must be pub_test_ or pub_prod_ followed by 8 to 250 letters, digits, _ or -",
    "private_key": "private_key must be prv_test_ or prv_prod_ followed by 8 to 250 letters, digits, _ or -",
    "events_secret": "events_secret must be test_events_ or prod_events_ followed by 8 to 250 letters, digits, _ or -",
    "integrity_secret": (
        "integrity_secret must be test_integrity_ or prod_integrity_ followed by 8 to 250 letters, digits, _ or -"
    ),
}


class WompiCredentials(ProviderCredentials):
    """A tenant's Wompi credentials. ``repr``/``str`` never show the secret parts."""

    __slots__ = ("_events_secrets", "_integrity_secret", "_private_key", "mode", "publishable_key")

    def __init__(
        self,
        *,
        mode: str,
        public_key: str,
        private_key: str,
        events_secrets: tuple[str, ...],
        integrity_secret: str,
    ) -> None:
        self.mode = mode
        self.publishable_key = public_key
        self._private_key = private_key
        self._events_secrets = events_secrets
        self._integrity_secret = integrity_secret

    @property
    def public_key(self) -> str:
        return self.publishable_key

    @property
    def private_key(self) -> str:
        return self._private_key

    @property
    def events_secrets(self) -> tuple[str, ...]:
        """The current events secret first, then the previous one while its roll-over lasts."""
        return self._events_secrets

    @property
    def integrity_secret(self) -> str:
        return self._integrity_secret

    def secret_hint(self) -> str:
        prefix = self._private_key[: self._private_key.index("_", 4) + 1]
        return f"{prefix}…{self._private_key[-4:]}"

    def __reduce__(self) -> NoReturn:  # keep secrets out of pickles too
        raise TypeError("WompiCredentials cannot be pickled")


def parse_credentials(raw: CredentialsInput) -> WompiCredentials:
    """Formats, then one mode for all four (422 ``mode_mismatch`` naming the first that differs)."""
    values = {
        "public_key": raw.publishable_key.strip(),
        "private_key": raw.secret_key.strip(),
        "events_secret": (raw.webhook_secret or "").strip(),
        "integrity_secret": raw.extra.get("integrity_secret", "").strip(),
    }
    modes: dict[str, str] = {}
    for name, value in values.items():
        match = _FORMATS[name].match(value)
        if not match:
            raise CredentialsFormatError(_RULES[name], param=name)
        modes[name] = match.group(1)
    expected = modes["public_key"]
    for name, mode in modes.items():
        if mode != expected:
            raise ModeMismatch(f"public_key is a {expected} key but {name} is a {mode} one", param=name)
    previous = (raw.previous_webhook_secret,) if raw.previous_webhook_secret else ()
    return WompiCredentials(
        mode=expected,  # Wompi's own words: test or prod
        public_key=values["public_key"],
        private_key=values["private_key"],
        events_secrets=(values["events_secret"], *previous),
        integrity_secret=values["integrity_secret"],
    )
