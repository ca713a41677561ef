"""The fault-injecting Stripe proxy itself: each fault really happens, and its idempotency cache
replays like Stripe. Without this, the hub's fault tests could pass with a proxy that injects nothing.

Requests go over raw sockets where the wire matters (a reset, a cut-off body).
"""

from __future__ import annotations

import secrets
import socket
import time
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.recurring import emulator_objects

SK = "sk_test_proxyself0001"


def marker() -> str:
    return secrets.token_hex(6)


def raw_post(proxy, path: str, data: dict[str, str], *, key: str | None = None) -> socket.socket:
    body = urlencode(data).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: stripe.test\r\nAuthorization: Bearer {SK}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        + (f"Idempotency-Key: {key}\r\n" if key else "")
        + "\r\n"
    )
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    s.sendall(head.encode() + body)
    return s


def read_to_eof(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def customers(emulator, mark: str, sk: str = SK) -> list[dict]:
    return emulator_objects(emulator, sk, "/v1/customers", mark=mark)


def post(proxy, path: str, data: dict[str, str], *, key: str | None = None, sk: str = SK) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(f"{proxy.url}{path}", data=data, auth=(sk, ""), headers=headers, timeout=10)


@pytest.mark.parametrize(("fault", "acted"), [("reset_before", False), ("reset_after", True)])
def test_a_reset_is_a_tcp_reset_before_or_after_stripe_acted(emulator, stripe_proxy, fault, acted):
    stripe_proxy.inject(fault, "POST", "/v1/customers")
    mark = marker()
    with raw_post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}) as s, pytest.raises(ConnectionResetError):
        read_to_eof(s)
    assert len(customers(emulator, mark)) == (1 if acted else 0)
    seen = stripe_proxy.requests[-1]
    assert (seen.fault, seen.outcome) == (fault, "forwarded" if acted else "not_forwarded")


def test_a_truncated_body_is_shorter_than_its_content_length_then_eof(emulator, stripe_proxy):
    stripe_proxy.inject("truncate", "POST", "/v1/customers")
    mark = marker()
    with raw_post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}) as s:
        received = read_to_eof(s)  # a FIN, not a reset
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(b":")[1])
    assert 0 < len(body) < length
    assert len(customers(emulator, mark)) == 1


def test_a_delayed_answer_is_held_after_stripe_acted(emulator, stripe_proxy):
    stripe_proxy.inject("delay", "POST", "/v1/customers")  # held for an hour
    mark = marker()
    with raw_post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}) as s:
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(65536)
        waited = time.monotonic() + 10
        while not customers(emulator, mark) and time.monotonic() < waited:
            time.sleep(0.05)
        assert len(customers(emulator, mark)) == 1


@pytest.mark.parametrize(("fault", "status", "acted"), [("error_500", 500, True), ("rate_limit_429", 429, False)])
def test_an_error_answer_after_or_instead_of_stripe_acting(emulator, stripe_proxy, fault, status, acted):
    stripe_proxy.inject(fault, "POST", "/v1/customers")
    mark = marker()
    r = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark})
    assert r.status_code == status and "error" in r.json()
    assert len(customers(emulator, mark)) == (1 if acted else 0)


def test_rules_match_a_method_a_path_prefix_and_the_nth_occurrence(stripe_proxy):
    stripe_proxy.inject("error_500", "GET", "/v1/bal", nth=2)
    statuses = [httpx.get(f"{stripe_proxy.url}/v1/balance", auth=(SK, "")).status_code for _ in range(3)]
    assert statuses == [200, 500, 200]
    stripe_proxy.clear()
    stripe_proxy.inject("rate_limit_429", "GET", "/v1/balance", nth=2, times=None)
    statuses = [httpx.get(f"{stripe_proxy.url}/v1/balance", auth=(SK, "")).status_code for _ in range(4)]
    assert statuses == [200, 429, 429, 429]
    assert httpx.post(f"{stripe_proxy.url}/v1/balance", auth=(SK, "")).status_code != 429  # another method


def test_the_idempotency_cache_replays_per_api_key_and_refuses_other_parameters(emulator, stripe_proxy):
    mark, key = marker(), f"key-{marker()}"
    first = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}, key=key)
    again = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}, key=key)
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(customers(emulator, mark)) == 1

    other = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark, "name": "B"}, key=key)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    # The same key under another API key is another key.
    elsewhere = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}, key=key, sk="sk_test_proxyself0002")
    assert elsewhere.status_code == 200 and elsewhere.json()["id"] != first.json()["id"]
    assert len(customers(emulator, mark)) == 2

    assert [(s.outcome, s.idempotency_key) for s in stripe_proxy.posts("/v1/customers")] == [
        ("forwarded", key),
        ("replayed", key),
        ("rejected", key),
        ("forwarded", key),
    ]


def test_a_fault_after_acting_leaves_the_answer_cached_for_the_retry(emulator, stripe_proxy):
    stripe_proxy.inject("reset_after", "POST", "/v1/customers")
    mark, key = marker(), f"key-{marker()}"
    with pytest.raises(httpx.TransportError):
        post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}, key=key)
    retry = post(stripe_proxy, "/v1/customers", {"metadata[mark]": mark}, key=key)
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert [c["id"] for c in customers(emulator, mark)] == [retry.json()["id"]]


def test_search_finds_payment_intents_by_metadata(stripe_proxy):
    mark = marker()
    data = {"amount": "2000", "currency": "usd", "metadata[hub_payment_id]": mark}
    created = post(stripe_proxy, "/v1/payment_intents", data).json()
    post(stripe_proxy, "/v1/payment_intents", {**data, "metadata[hub_payment_id]": "other"})
    r = httpx.get(
        f"{stripe_proxy.url}/v1/payment_intents/search",
        params={"query": f"metadata['hub_payment_id']:'{mark}'", "limit": 1},
        auth=(SK, ""),
    )
    assert r.status_code == 200, r.text
    assert [pi["id"] for pi in r.json()["data"]] == [created["id"]]
