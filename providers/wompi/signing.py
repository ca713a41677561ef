"""Wompi's two signatures: the integrity signature the hub puts on a transaction, and the checksum
Wompi puts on every event it sends.

Sources (docs.wompi.co, Colombia): "Widget & Checkout Web" / "Métodos de pago" (integrity:
the lowercase hex SHA-256 of ``reference + amount_in_cents + currency + integrity_secret``, with
``expiration_time`` between currency and the secret when one is sent) and "Eventos" (the
checksum: the values named by ``signature.properties``, paths into ``data``, concatenated in the
order given, then ``timestamp``, then the events secret; SHA-256 hex; the same value is also sent
as header ``X-Event-Checksum``). The properties list is read from each event, never assumed.

Wompi documents no age limit on an event (it retries a failed delivery up to 24 hours later), so
none is applied: a replayed event is harmless to the hub, which stores a delivery once (its
checksum identifies it) and never moves a payment backwards.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base.errors import SignatureInvalid
from providers.base.jsonbody import EVENT_MAX_DEPTH, NotJson, loads
from providers.wompi import wire

REFUSED = "The event's checksum does not match the tenant's Wompi events secret"
NOT_AN_EVENT = "The body is not a Wompi event"
#: The header Wompi repeats the checksum in.
CHECKSUM_HEADER = "x-event-checksum"


def integrity_signature(
    reference: str, amount_in_cents: int, currency: str, integrity_secret: str, expiration_time: str | None = None
) -> str:
    """The ``signature`` of ``POST /transactions`` (lowercase hex SHA-256)."""
    text = f"{reference}{amount_in_cents}{currency}{expiration_time or ''}{integrity_secret}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _value_at(data: Any, path: str) -> str:
    """The text of the value at dotted ``path`` in ``data``, as Wompi concatenates it.

    Only a scalar can be signed: a missing path or an object there refuses the event.
    """
    node = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise SignatureInvalid(f"The event's signature names a property it does not carry ({path[:80]})")
        node = node[part]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (str, int)):
        return str(node)
    if isinstance(node, float) and node.is_integer():
        return str(int(node))
    raise SignatureInvalid(f"The event's signature names a property that is not a text or a number ({path[:80]})")


def event_checksum(data: Mapping[str, Any], properties: Sequence[str], timestamp: int, events_secret: str) -> str:
    """The checksum Wompi computes for an event (lowercase hex SHA-256)."""
    values = "".join(_value_at(data, path) for path in properties)
    return hashlib.sha256(f"{values}{timestamp}{events_secret}".encode()).hexdigest()


def verify_event(payload: bytes, secrets: Sequence[str], *, header_checksum: str | None = None) -> wire.Event:
    """The event in ``payload`` (the body exactly as received) if its checksum verifies with one of
    ``secrets`` (the current events secret, then a previous one during a roll-over).

    Raises ``SignatureInvalid`` when the body is not a Wompi event, its ``signature`` is missing or
    malformed, a signed property is missing, the ``X-Event-Checksum`` header (when sent) differs from
    the body's checksum, or no secret gives the checksum (compared case-insensitively, in constant
    time). ``NestedTooDeep`` for an absurdly nested body. The messages never hold a secret.
    """
    if not secrets:
        raise SignatureInvalid("No Wompi events secret is set")
    try:
        data = loads(payload, EVENT_MAX_DEPTH)
    except NotJson:
        raise SignatureInvalid(NOT_AN_EVENT) from None
    if not isinstance(data, dict) or not isinstance(data.get("signature"), dict):
        raise SignatureInvalid("The Wompi event carries no signature")
    try:
        event = wire.decode(data, wire.Event, "event")
    except wire.FieldError:
        raise SignatureInvalid("The Wompi event's signature or envelope is malformed") from None
    claimed = event.signature.checksum.lower().encode()
    if header_checksum is not None and not hmac.compare_digest(header_checksum.strip().lower().encode(), claimed):
        raise SignatureInvalid(REFUSED)
    verified = False
    for secret in secrets:
        expected = event_checksum(event.data, event.signature.properties, event.timestamp, secret).encode()
        verified |= hmac.compare_digest(expected, claimed)
    if not verified:
        raise SignatureInvalid(REFUSED)
    return event


def delivery_id(event: wire.Event) -> str:
    """What identifies a delivery (Wompi's events carry no id): the lowercase checksum, which covers
    the transaction, its status and the event's timestamp."""
    return event.signature.checksum.lower()


def transaction_of(event: wire.Event) -> wire.Transaction:
    """The transaction a ``transaction.updated`` event carries; ``FieldError`` if it has not the documented shape."""
    return wire.decode(event.data, wire.TransactionEventData, "event's transaction").transaction
