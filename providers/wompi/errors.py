"""Wompi's error answers -> the neutral typed errors of providers.base. Never echoes a key.

Sources (docs.wompi.co, Colombia, "Errores del API"): ``{"error": {"type": "INPUT_VALIDATION_ERROR",
"messages": {field: [text]}}}`` (422), ``{"error": {"type": "NOT_FOUND_ERROR" | "INVALID_ACCESS_TOKEN",
"reason": text}}`` (404, 401).
"""

from __future__ import annotations

import re

import msgspec

from providers.base.errors import (
    InvalidCredentials,
    InvalidRequest,
    InvalidState,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from providers.base.secrets import mask_secrets
from providers.wompi import wire

#: Wompi's keys and secrets (masked to their first 8 characters wherever a text is passed on).
_WOMPI_SECRETISH = re.compile(
    r"\b(?:pub|prv)_(?:test|prod|stagtest)_[0-9A-Za-z_-]+|\b(?:test|prod)_(?:events|integrity)_[0-9A-Za-z_-]+"
)


def mask(text: str | None) -> str:
    """``text`` with anything shaped like a Wompi key or secret (or a Stripe one) cut to its first 8 characters."""
    return mask_secrets(_WOMPI_SECRETISH.sub(lambda m: m.group(0)[:8] + "…", text or ""))


def key_param(key: str) -> str:
    """The credentials field a key came from: ``public_key`` or ``private_key``."""
    return "public_key" if key.startswith("pub_") else "private_key"


class ReferenceUsed(InvalidRequest):
    """``POST /transactions`` refused because the reference was used already (by an earlier try of the same create)."""


def _error_body(content: bytes) -> wire.ErrorDetail | None:
    try:
        return msgspec.json.decode(content, type=wire.ErrorBody).error
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _first_field(messages: dict[str, list[str] | str]) -> tuple[str | None, str]:
    for name, texts in messages.items():
        text = texts if isinstance(texts, str) else "; ".join(t for t in texts if isinstance(t, str))
        return name, text
    return None, ""


def translate(status: int, content: bytes, *, param: str, operation: str) -> ProviderError:
    """The typed error for Wompi's answer ``status``/``content`` to a call made with the key of the
    credentials field ``param`` (``public_key`` or ``private_key``).

    ``operation`` is the bounded call name (``POST /v1/transactions``): it tells a refused void
    (``InvalidState``) and an unknown merchant (``InvalidCredentials`` on ``public_key``) apart.
    """
    detail = _error_body(content)
    kind = detail.type if detail is not None else None
    if status == 401 or kind == "INVALID_ACCESS_TOKEN":
        return InvalidCredentials(
            f"Wompi rejected the tenant's {param.replace('_', ' ')}", param=param, provider_code="INVALID_ACCESS_TOKEN"
        )
    if status == 429:
        return RateLimited("Wompi is rate-limiting this account; retry later", provider_code=kind)
    if status >= 500:
        return ProviderUnavailable("Wompi answered with a server error", provider_code=kind)
    if status == 404 and operation.startswith("GET /v1/merchants/"):
        return InvalidCredentials(
            "Wompi knows no merchant with this public key", param="public_key", provider_code=kind or "NOT_FOUND_ERROR"
        )
    if status == 404:
        return InvalidRequest("Wompi has no such object", provider_code=kind or "NOT_FOUND_ERROR")
    if detail is not None and detail.messages:
        field, text = _first_field(detail.messages)
        message = mask(f"Wompi refused the request: {field}: {text}"[:300])
        if operation.endswith("/void"):
            return InvalidState(message, param=field, provider_code=kind)
        if field == "reference" and operation == "POST /v1/transactions":
            return ReferenceUsed(message, param=field, provider_code=kind)
        return InvalidRequest(message, param=field, provider_code=kind)
    reason = mask(detail.reason[:200]) if detail is not None and detail.reason else None
    message = f"Wompi refused the request: {reason}" if reason else f"Wompi refused the request ({status})"
    if operation.endswith("/void"):
        return InvalidState(message, provider_code=kind)
    return InvalidRequest(message, provider_code=kind)
