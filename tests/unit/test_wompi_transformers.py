"""Wompi's transactions as the hub's neutral facts (providers/wompi/transformers.py), read from
answers shaped as Wompi's API reference shows them (extra fields, nulls)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.base.errors import UnexpectedAnswer
from providers.base.statuses import PaymentStatus
from providers.wompi import transformers, wire


def answer(**changes: Any) -> bytes:
    tx: dict[str, Any] = {
        "id": "1234-1610641025-49201",
        "created_at": "2021-01-14T16:17:05.000Z",
        "finalized_at": None,
        "amount_in_cents": 4_490_000,
        "reference": "pay_7f3a",
        "customer_email": "juan@example.com",
        "currency": "COP",
        "payment_method_type": "CARD",
        "payment_method": {
            "type": "CARD",
            "extra": {"bin": "424242", "name": "VISA-4242", "brand": "VISA", "last_four": "4242"},
            "installments": 1,
        },
        "status": "PENDING",
        "status_message": None,
        "billing_data": None,
        "shipping_address": None,
        "redirect_url": None,
        "payment_source_id": None,
        "payment_link_id": None,
        "customer_data": {"full_name": "Juan Pérez", "phone_number": "+573001234567"},
        "bill_id": None,
        "taxes": [],
    }
    tx.update(changes)
    return json.dumps({"data": tx, "meta": {}}).encode()


def read(**changes: Any) -> wire.Transaction:
    return wire.decode(answer(**changes), wire.TransactionAnswer).data


@pytest.mark.parametrize(
    ("status", "neutral"),
    [
        ("PENDING", PaymentStatus.PROCESSING),
        ("APPROVED", PaymentStatus.SUCCEEDED),
        ("DECLINED", PaymentStatus.FAILED),
        ("ERROR", PaymentStatus.FAILED),
        ("VOIDED", PaymentStatus.REFUNDED),
    ],
)
def test_every_documented_status_maps(status: str, neutral: PaymentStatus) -> None:
    snap = transformers.snapshot(read(status=status), {"hub_payment_id": "pay_7f3a"})
    assert snap.status is neutral
    assert snap.provider_payment_id == "1234-1610641025-49201" and snap.currency == "cop"
    assert snap.capture_method == "automatic" and snap.metadata == {"hub_payment_id": "pay_7f3a"}
    assert snap.amount_received == (4_490_000 if status in ("APPROVED", "VOIDED") else 0)
    assert snap.amount_refunded == (4_490_000 if status == "VOIDED" else 0)
    assert transformers.is_final(read(status=status)) == (status != "PENDING")


def test_an_undocumented_status_or_shape_is_refused_without_its_value() -> None:
    with pytest.raises(UnexpectedAnswer):
        transformers.snapshot(read(status="REVERSED_SOMEHOW"))
    with pytest.raises(wire.FieldError) as wrong:
        read(amount_in_cents="4490000")
    assert "amount_in_cents" in str(wrong.value) and "4490000" not in str(wrong.value)
    with pytest.raises(wire.FieldError):
        read(id="")
    with pytest.raises(wire.FieldError):
        wire.decode(b"<html>", wire.TransactionAnswer)


def test_failures_carry_a_code() -> None:
    assert transformers.failure_code(read(status="DECLINED")) == "card_declined"
    nequi = {"type": "NEQUI", "phone_number": "3992222222", "extra": {}}
    assert transformers.failure_code(read(status="DECLINED", payment_method_type="NEQUI", payment_method=nequi)) == (
        "payment_declined"
    )
    assert transformers.failure_code(read(status="ERROR")) == "processing_error"
    assert transformers.failure_code(read(status="APPROVED")) is None
    assert transformers.decline_error(read(status="APPROVED")) is None
    assert transformers.snapshot(read(status="ERROR")).last_error_code == "processing_error"


def test_the_bank_url_is_a_next_action_only_while_pending() -> None:
    pse = {
        "type": "PSE",
        "user_type": 0,
        "financial_institution_code": "1",
        "extra": {"async_payment_url": "https://registro.pse.com.co/PSENF/index.html?enc=abc", "ticket_id": "x"},
    }
    pending = read(payment_method_type="PSE", payment_method=pse)
    assert transformers.method_type(pending) == "pse"
    assert transformers.next_action(pending) == {
        "type": "redirect_to_url",
        "url": "https://registro.pse.com.co/PSENF/index.html?enc=abc",
    }
    assert transformers.next_action(read(status="APPROVED", payment_method_type="PSE", payment_method=pse)) is None
    assert transformers.next_action(read(payment_method_type="PSE", payment_method={"type": "PSE"})) is None
    odd = {**pse, "extra": {"async_payment_url": "javascript:alert(1)"}}
    assert transformers.next_action(read(payment_method_type="PSE", payment_method=odd)) is None
    assert transformers.method_type(read(payment_method_type="BANCOLOMBIA_TRANSFER")) == "bancolombia_transfer"
    assert transformers.method_type(read(payment_method_type="DAVIPLATA")) is None
