"""Idempotency: request fingerprints, and the keys the hub sends to the provider.

The hub's own rule lives in the database: ``payments`` is unique on (tenant_id,
idempotency_key), so of two workers inserting the same key one wins and the other reads the
winner's row. The provider-side key makes a retry after a crash between the provider call
and the database write land on the same provider object instead of creating a second one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from hub.idempotency import store

HEADER = store.HEADER
MAX_KEY_LENGTH = store.MAX_KEY_LENGTH


def check_key(raw: str | None) -> str | None:
    return store.check_key(raw)


def fingerprint(normalized_request: dict[str, Any]) -> str:
    """SHA-256 of the request as the hub understood it (sorted keys), so key order and the
    spelling of defaults do not make two equal requests differ."""
    return hashlib.sha256(msgspec.json.encode(normalized_request, order="sorted")).hexdigest()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:48]


def create_key(tenant_id: str, idempotency_key: str | None, payment_id: str) -> str:
    """Provider idempotency key of a payment's creation: from (tenant, Idempotency-Key) when the
    client sent one, else from the hub payment id (then only the SDK's own retries share it)."""
    if idempotency_key is not None:
        return f"hub-pay-{_digest(tenant_id, idempotency_key)}"
    return f"hub-pay-{payment_id}"


def operation_key(payment_id: str, operation: str, *detail: str) -> str:
    """Provider idempotency key of one operation on a payment (capture, cancel, a refund…)."""
    return f"hub-{operation}-{_digest(payment_id, operation, *detail)}"
