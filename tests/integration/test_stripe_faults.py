"""Stripe faults on a money-moving call: a clear code, never a second refund, and a retry with the
same Idempotency-Key (or a sync) repairs whatever was left pending.

Faults are injected in front of the emulator by an httpx transport: an answer lost after Stripe
acted (500, connection reset, truncated body), and a refusal before it acted (429).
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_error, stripe_tenant

FAULTS: dict[str, tuple[bool, int]] = {
    # name: (forwarded to Stripe first?, the status the hub answers)
    "500_after_acting": (True, 503),
    "reset_after_acting": (True, 503),
    "truncated_body": (True, 503),
    "429_before_acting": (False, 429),
}


def _instead(fault: str, request: httpx.Request, response: httpx.Response | None) -> httpx.Response:
    """What the hub gets instead of Stripe's answer."""
    if fault == "500_after_acting":
        return stripe_error(500, "api_error", "Something went wrong.")
    if fault == "reset_after_acting":
        raise httpx.ReadError("Connection reset by peer", request=request)
    if fault == "truncated_body":
        assert response is not None
        return httpx.Response(200, content=response.content[: len(response.content) // 2])
    return stripe_error(429, "rate_limit_error", "Too many requests")


def faulty(recorder: Recorder, fault: str) -> None:
    forward, _ = FAULTS[fault]
    original = recorder._handle
    left = {"n": 1}

    async def handle(request: httpx.Request) -> httpx.Response:
        if not (request.method == "POST" and request.url.path == "/v1/refunds" and left["n"]):
            return await original(request)
        left["n"] -= 1
        response = await original(request) if forward else None
        if not forward:  # recorded here, since the emulator never saw it
            await request.aread()
            recorder.requests.append((request.method, request.url.path, request.content))
            recorder.headers.append(request.headers)
        return _instead(fault, request, response)

    recorder.transport = httpx.MockTransport(handle)


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_refund_under_a_stripe_fault_is_never_made_twice(database_url, emulator, tmp_path, fault):
    recorder = Recorder(emulator.url)
    faulty(recorder, fault)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant, amount=2000, payment_method="pm_card_visa", confirm=True)
        payment = r.json()
        path = f"/v1/payments/{payment['id']}/refunds"
        headers = {**tenant.admin, "Idempotency-Key": f"refund-{fault}"}
        r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
        expected = FAULTS[fault][1]
        assert r.status_code == expected, r.text
        assert r.json()["code"] == ("provider_unavailable" if expected == 503 else "rate_limited")
        assert r.headers["content-type"].startswith("application/problem+json")

        # The client retries with its key: the hub asks Stripe again under the SAME Stripe key
        # (Stripe answers with the refund it already made), and keeps one refund.
        r = await hub.request("POST", path, json={"amount": 700}, headers=headers)
        assert r.status_code == 201, r.text
        keys = recorder.idempotency_keys("POST", "/v1/refunds")
        assert len(keys) == 2 and keys[0] == keys[1]
        listed = (await hub.request("GET", path, headers=tenant.admin)).json()["data"]
        assert [(x["amount"], x["status"]) for x in listed] == [(700, "succeeded")]
        synced = (await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)).json()
        assert (synced["status"], synced["amount_refunded"]) == ("partially_refunded", 700)
