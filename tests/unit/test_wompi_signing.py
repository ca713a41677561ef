"""Wompi's integrity signature and event checksum (providers/wompi/signing.py), against the
concatenations Wompi documents, spelled out here as literal strings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from providers.base.errors import NestedTooDeep, SignatureInvalid
from providers.wompi import signing
from providers.wompi.wire import FieldError

SECRET = "test_events_Q1w2E3r4T5y6U7i8O9p0AsDfGhJkLzXc"
OLD_SECRET = "test_events_OldOldOldOldOldOldOldOldOldOld00"
TX_ID = "1234-1610641025-49201"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def event(
    *,
    status: str = "APPROVED",
    amount: int = 4_490_000,
    timestamp: int = 1530291411,
    secret: str = SECRET,
    properties: list[str] | None = None,
) -> dict[str, Any]:
    properties = properties or ["transaction.id", "transaction.status", "transaction.amount_in_cents"]
    tx = {"id": TX_ID, "status": status, "amount_in_cents": amount, "reference": "pay_1", "currency": "COP"}
    values = "".join(str(tx[p.split(".")[1]]) for p in properties)
    return {
        "event": "transaction.updated",
        "data": {"transaction": tx},
        "environment": "test",
        "signature": {"properties": properties, "checksum": sha(f"{values}{timestamp}{secret}")},
        "timestamp": timestamp,
        "sent_at": "2018-07-20T16:45:05.000Z",
    }


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_integrity_signature_is_the_documented_concatenation() -> None:
    secret = "test_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6"
    assert signing.integrity_signature("sk8-438k4-xmxm392-sn2m", 2_490_000, "COP", secret) == sha(
        "sk8-438k4-xmxm392-sn2m2490000COPtest_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6"
    )
    with_expiry = signing.integrity_signature("ref", 150_000, "COP", secret, "2030-01-01T00:00:00.000Z")
    assert with_expiry == sha(f"ref150000COP2030-01-01T00:00:00.000Z{secret}")
    assert signing.integrity_signature("ref", 150_001, "COP", secret) != signing.integrity_signature(
        "ref", 150_000, "COP", secret
    )


def test_a_genuine_event_verifies_and_is_identified_by_its_checksum() -> None:
    body = event()
    verified = signing.verify_event(raw(body), [SECRET], header_checksum=body["signature"]["checksum"])
    assert verified.event == "transaction.updated" and verified.timestamp == 1530291411
    assert signing.delivery_id(verified) == body["signature"]["checksum"]
    tx = signing.transaction_of(verified)
    assert tx.id == TX_ID and tx.status == "APPROVED" and tx.amount_in_cents == 4_490_000


def test_the_checksum_compares_case_insensitively_and_a_previous_secret_still_verifies() -> None:
    body = event()
    body["signature"]["checksum"] = body["signature"]["checksum"].upper()
    assert signing.verify_event(raw(body), [SECRET]).data["transaction"]["id"] == TX_ID
    assert signing.delivery_id(signing.verify_event(raw(body), [SECRET])) == body["signature"]["checksum"].lower()
    old = event(secret=OLD_SECRET)
    assert signing.verify_event(raw(old), [SECRET, OLD_SECRET]).event == "transaction.updated"


def test_the_properties_are_read_from_the_event_in_its_order() -> None:
    body = event(properties=["transaction.reference", "transaction.currency", "transaction.status"])
    assert signing.verify_event(raw(body), [SECRET]).signature.properties[0] == "transaction.reference"
    # The same values in another order than the one the event names do not verify.
    swapped = event(properties=["transaction.status", "transaction.id", "transaction.amount_in_cents"])
    swapped["signature"]["properties"] = ["transaction.id", "transaction.status", "transaction.amount_in_cents"]
    with pytest.raises(SignatureInvalid):
        signing.verify_event(raw(swapped), [SECRET])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b["data"]["transaction"].update(amount_in_cents=100), id="tampered-amount"),
        pytest.param(lambda b: b["data"]["transaction"].update(status="DECLINED"), id="tampered-status"),
        pytest.param(lambda b: b.update(timestamp=b["timestamp"] + 1), id="tampered-timestamp"),
        pytest.param(lambda b: b["signature"].update(checksum="0" * 64), id="forged-checksum"),
        pytest.param(lambda b: b["signature"].update(checksum=sha("anything")), id="forged-checksum-2"),
    ],
)
def test_a_tampered_or_forged_event_is_refused(change: Any) -> None:
    body = event()
    change(body)
    with pytest.raises(SignatureInvalid) as refused:
        signing.verify_event(raw(body), [SECRET])
    assert SECRET not in str(refused.value)


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(SignatureInvalid):
        signing.verify_event(raw(event(secret="test_events_someone_elses_secret_0000000")), [SECRET])
    with pytest.raises(SignatureInvalid):
        signing.verify_event(raw(event()), [])


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda b: b.pop("signature"), id="no-signature"),
        pytest.param(lambda b: b.update(signature="abc"), id="signature-not-an-object"),
        pytest.param(lambda b: b["signature"].pop("checksum"), id="no-checksum"),
        pytest.param(lambda b: b["signature"].update(checksum="xyz"), id="checksum-not-hex"),
        pytest.param(lambda b: b["signature"].update(checksum=b["signature"]["checksum"][:63]), id="checksum-short"),
        pytest.param(lambda b: b["signature"].update(properties=[]), id="no-properties"),
        pytest.param(lambda b: b["signature"].update(properties="transaction.id"), id="properties-not-a-list"),
        pytest.param(lambda b: b["signature"].update(properties=["transaction.nothing"]), id="missing-property"),
        pytest.param(lambda b: b["signature"].update(properties=["transaction"]), id="object-property"),
        pytest.param(lambda b: b.update(timestamp="1530291411"), id="timestamp-as-text"),
        pytest.param(lambda b: b.update(timestamp=-1), id="timestamp-negative"),
        pytest.param(lambda b: b.pop("data"), id="no-data"),
    ],
)
def test_a_malformed_signature_is_refused(mangle: Any) -> None:
    body = event()
    mangle(body)
    with pytest.raises(SignatureInvalid):
        signing.verify_event(raw(body), [SECRET])


def test_a_header_checksum_that_differs_from_the_body_is_refused() -> None:
    body = event()
    with pytest.raises(SignatureInvalid):
        signing.verify_event(raw(body), [SECRET], header_checksum=sha("another"))
    # The header's case does not matter.
    assert signing.verify_event(raw(body), [SECRET], header_checksum=body["signature"]["checksum"].upper())


def test_what_is_not_an_event() -> None:
    for payload in (b"", b"not json", b"[]", b'"text"', '{"a": "\xff"}'.encode("latin-1")):
        with pytest.raises(SignatureInvalid):
            signing.verify_event(payload, [SECRET])
    with pytest.raises(NestedTooDeep):
        signing.verify_event(b'{"a":' * 100 + b"1" + b"}" * 100, [SECRET])


def test_a_verified_event_whose_transaction_is_not_wompis_shape_is_a_field_error() -> None:
    body = event(properties=["transaction.id"])
    body["data"]["transaction"]["amount_in_cents"] = "4490000"
    verified = signing.verify_event(raw(body), [SECRET])
    with pytest.raises(FieldError) as wrong:
        signing.transaction_of(verified)
    assert "amount_in_cents" in str(wrong.value) and "4490000" not in str(wrong.value)
