"""The Wompi stand-in, driven over real HTTP with plain httpx: what the Wompi plugin's tests rely on.

Checksums and signatures are computed here from Wompi's documented rules, not with the stand-in's
or the plugin's code, so a slip in either shows up.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.support.wompi_standin import (
    APPROVED_CARD,
    APPROVED_NEQUI,
    DECLINED_CARD,
    DECLINED_NEQUI,
    Merchant,
    WompiStandin,
)


@pytest.fixture(scope="module")
def standin() -> Iterator[WompiStandin]:
    s = WompiStandin(settle_delay=0.05, url_delay=0.02)
    yield s
    s.close()


class Receiver:
    """An events URL: a stdlib HTTP server on loopback that keeps each POST and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/webhooks/wompi/ten_1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def sign(reference: str, amount: int, secret: str) -> str:
    return hashlib.sha256(f"{reference}{amount}COP{secret}".encode()).hexdigest()


def checksum_ok(event: dict[str, Any], secret: str) -> bool:
    values = ""
    for path in event["signature"]["properties"]:
        node: Any = event["data"]
        for part in path.split("."):
            node = node[part]
        values += str(node)
    expected = hashlib.sha256(f"{values}{event['timestamp']}{secret}".encode()).hexdigest()
    return expected == event["signature"]["checksum"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create(
    standin: WompiStandin,
    m: Merchant,
    method: dict[str, Any],
    *,
    reference: str,
    amount: int = 2_500_000,
    key: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = {
        "acceptance_token": m.acceptance_token,
        "amount_in_cents": amount,
        "currency": "COP",
        "customer_email": "comprador@example.com",
        "reference": reference,
        "signature": signature or sign(reference, amount, m.integrity_secret),
        "payment_method": method,
    }
    return httpx.post(f"{standin.url}/transactions", json=body, headers=bearer(key or m.private_key), timeout=5)


PSE = {
    "type": "PSE",
    "user_type": 0,
    "user_legal_id_type": "CC",
    "user_legal_id": "1999888777",
    "payment_description": "Pedido 42",
}


def test_merchant_tokens_and_keys(standin: WompiStandin) -> None:
    m = standin.add_merchant()
    data = httpx.get(f"{standin.url}/merchants/{m.public_key}", timeout=5).json()["data"]
    assert data["presigned_acceptance"]["acceptance_token"] == m.acceptance_token
    assert data["presigned_acceptance"]["permalink"].startswith("https://")
    assert data["presigned_acceptance"]["type"] == "END_USER_POLICY"
    assert data["presigned_personal_data_auth"]["acceptance_token"] == m.personal_data_token

    unknown = httpx.get(f"{standin.url}/merchants/pub_test_nobody", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "NOT_FOUND_ERROR"

    listing = f"{standin.url}/transactions"
    for headers in ({}, bearer("prv_test_unknown"), bearer(m.public_key)):
        refused = httpx.get(listing, params={"reference": "x"}, headers=headers, timeout=5)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "INVALID_ACCESS_TOKEN"
    assert httpx.get(listing, params={"reference": "x"}, headers=bearer(m.private_key), timeout=5).json()["data"] == []

    banks = httpx.get(f"{standin.url}/pse/financial_institutions", headers=bearer(m.public_key), timeout=5).json()
    assert {"1", "2"} <= {b["financial_institution_code"] for b in banks["data"]}


def test_card_settles_sends_signed_events_and_voids(standin: WompiStandin, receiver: Receiver) -> None:
    m = standin.add_merchant(events_url=receiver.url)
    token = standin.card_token(m, APPROVED_CARD)
    answer = create(
        standin, m, {"type": "CARD", "token": token, "installments": 1}, reference="pay_card_1", key=m.public_key
    )
    assert answer.status_code == 201
    tx = answer.json()["data"]
    assert tx["status"] == "PENDING" and tx["reference"] == "pay_card_1" and tx["amount_in_cents"] == 2_500_000
    assert standin.wait_status(tx["id"]) == "APPROVED"

    (delivered,) = standin.wait_events(m, 1)
    assert delivered.url == receiver.url and delivered.status == 200 and delivered.public_key == m.public_key
    headers, raw = receiver.bodies[-1]
    event = json.loads(raw)
    assert event["event"] == "transaction.updated" and event["environment"] == "test"
    assert event["data"]["transaction"]["status"] == "APPROVED"
    assert checksum_ok(event, m.events_secret) and not checksum_ok(event, "test_events_other")
    assert headers["x-event-checksum"] == event["signature"]["checksum"]

    # Only the private key voids; the whole amount only; once.
    url = f"{standin.url}/transactions/{tx['id']}/void"
    assert httpx.post(url, headers=bearer(m.public_key), timeout=5).status_code == 401
    assert httpx.post(url, json={"amount_in_cents": 100}, headers=bearer(m.private_key), timeout=5).status_code == 422
    assert httpx.post(url, headers=bearer(m.private_key), timeout=5).status_code == 201
    read = httpx.get(f"{standin.url}/transactions/{tx['id']}", headers=bearer(m.private_key), timeout=5).json()
    assert read["data"]["status"] == "VOIDED"
    assert httpx.post(url, headers=bearer(m.private_key), timeout=5).status_code == 422
    assert standin.voids[tx["id"]] == 1
    voided = standin.wait_events(m, 2)[1].body
    assert voided["data"]["transaction"]["status"] == "VOIDED" and checksum_ok(voided, m.events_secret)

    # The test hooks: a resend is byte for byte; a forged or tampered event does not verify.
    again = standin.resend(delivered)
    assert again.content == delivered.content and receiver.bodies[-1][1] == delivered.content
    assert not checksum_ok(standin.forge(m, tx).body, m.events_secret)
    tampered = standin.tamper(delivered, "data.transaction.amount_in_cents", 100)
    assert tampered.body["signature"] == delivered.body["signature"]
    assert not checksum_ok(tampered.body, m.events_secret)


def test_refusals_create_nothing(standin: WompiStandin) -> None:
    m = standin.add_merchant()
    token = standin.card_token(m, DECLINED_CARD)
    method = {"type": "CARD", "token": token, "installments": 1}
    wrong = create(standin, m, method, reference="pay_ref_1", signature=sign("pay_ref_1", 2_500_000, "x"))
    assert wrong.status_code == 422 and "signature" in wrong.json()["error"]["messages"]
    too_small = create(standin, m, method, reference="pay_ref_1", amount=149_900)
    assert too_small.status_code == 422 and "amount_in_cents" in too_small.json()["error"]["messages"]
    other = standin.add_merchant()
    foreign = create(standin, other, method, reference="pay_ref_1")  # another merchant's token
    assert foreign.status_code == 422
    assert standin.created["pay_ref_1"] == 0

    first = create(standin, m, method, reference="pay_ref_1")
    assert first.status_code == 201
    second = create(standin, m, method, reference="pay_ref_1")
    assert second.status_code == 422 and second.json()["error"]["type"] == "INPUT_VALIDATION_ERROR"
    assert "reference" in second.json()["error"]["messages"]
    assert standin.created["pay_ref_1"] == 1
    assert standin.wait_status(first.json()["data"]["id"]) == "DECLINED"
    listed = httpx.get(
        f"{standin.url}/transactions", params={"reference": "pay_ref_1"}, headers=bearer(m.private_key), timeout=5
    ).json()["data"]
    assert [t["id"] for t in listed] == [first.json()["data"]["id"]]
    # A declined card transaction cannot be voided; another merchant cannot read it.
    tx_id = first.json()["data"]["id"]
    assert (
        httpx.post(f"{standin.url}/transactions/{tx_id}/void", headers=bearer(m.private_key), timeout=5).status_code
        == 422
    )
    assert (
        httpx.get(f"{standin.url}/transactions/{tx_id}", headers=bearer(other.private_key), timeout=5).status_code
        == 404
    )
    assert standin.refused["POST /v1/transactions"] >= 4


def test_nequi_and_bank_methods_follow_the_sandbox_data(standin: WompiStandin) -> None:
    m = standin.add_merchant()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "NEQUI", "phone_number": APPROVED_NEQUI}, "APPROVED"),
        ({"type": "NEQUI", "phone_number": DECLINED_NEQUI}, "DECLINED"),
        ({**PSE, "financial_institution_code": "1"}, "APPROVED"),
        ({**PSE, "financial_institution_code": "2"}, "DECLINED"),
        ({"type": "BANCOLOMBIA_TRANSFER", "user_type": "PERSON", "payment_description": "Pedido 42"}, "APPROVED"),
    ]
    created = []
    for i, (method, _) in enumerate(cases):
        answer = create(standin, m, method, reference=f"pay_m_{i}")
        assert answer.status_code == 201, answer.text
        data = answer.json()["data"]
        # The bank's URL is never in the create answer: it appears a moment later.
        assert "async_payment_url" not in data["payment_method"].get("extra", {})
        created.append(data["id"])
    for tx_id, (method, outcome) in zip(created, cases, strict=True):
        assert standin.wait_status(tx_id) == outcome
        extra = standin.transaction(tx_id)["payment_method"].get("extra", {})
        assert ("async_payment_url" in extra) == (method["type"] != "NEQUI")


def test_held_settlement_and_held_events() -> None:
    """With no settle delay a transaction stays PENDING until the test settles it; with no events URL
    the event is kept for the test to hand over itself."""
    s = WompiStandin(settle_delay=None, url_delay=0.0)
    try:
        m = s.add_merchant()
        answer = create(s, m, {**PSE, "financial_institution_code": "1"}, reference="pay_held")
        tx_id = answer.json()["data"]["id"]
        s.show_async_url(tx_id)
        read = httpx.get(f"{s.url}/transactions/{tx_id}", headers=bearer(m.public_key), timeout=5).json()["data"]
        bank_page = read["payment_method"]["extra"]["async_payment_url"]
        assert read["status"] == "PENDING" and httpx.get(bank_page, timeout=5).status_code == 200
        s.settle(tx_id, "ERROR")
        assert s.transaction(tx_id)["status"] == "ERROR"
        (held,) = s.wait_events(m, 1)
        assert held.url is None and held.status is None and checksum_ok(held.body, m.events_secret)
        assert s.requests["GET /v1/transactions/{id}"] == 1 and s.created["pay_held"] == 1
    finally:
        s.close()
