"""API key tokens: high-entropy random, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCOPES = ("admin", "storefront")


def new_token(scope: str) -> str:
    # 256 bits of randomness; the scope in the prefix helps a human tell keys apart.
    return f"hub_{scope[:2]}_{secrets.token_urlsafe(32)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:10]


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
