"""Item 1: a tenant's webhook is verified with THAT tenant's secret over the raw body, or refused
with nothing written (Stripe's scheme: HMAC-SHA256 of "{t}.{raw_body}", any v1 may match, 300 s)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.base import utcnow
from hub.db.vault import ProviderCredential
from tests.support import stripe_events as se
from tests.support.payment_rows import hub_payment, payment_row, table_snapshot

SECRET_A = "whsec_tenantAsecret0001"
SECRET_B = "whsec_tenantBsecret0002"
PLATFORM_BILLING_SECRET = "whsec_platformBilling09"
WRITTEN = ("webhook_events", "payments", "refunds", "audit_log", "provider_credentials")
#: The one thing a refused delivery may write: when the tenant's last bad signature arrived (throttled).
FAILURE_TIME = {"provider_credentials": {"last_signature_failure_at"}}


@pytest.fixture
async def tenant(hub):
    t = await hub.create_tenant("A")
    r = await hub.register_stripe(t, webhook_secret=SECRET_A)
    assert r.status_code == 200, r.text
    return t


async def events_of(hub, tenant) -> list[dict]:
    r = await hub.request("GET", "/v1/events", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def assert_problem(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_event_signed_with_the_tenants_secret_is_accepted_and_stored(hub, tenant):
    evt = se.event("customer.created", {"id": "cus_1", "object": "customer", "metadata": {}})
    r = await se.deliver(hub.http, tenant.id, se.encode(evt), SECRET_A)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True}
    [stored] = await events_of(hub, tenant)
    assert stored["provider_event_id"] == evt["id"] and stored["deliveries"] == 1


async def test_the_raw_bytes_are_verified_not_a_reserialised_json(hub, tenant):
    # Pretty-printed with sorted keys, as the emulator (and Stripe) send: re-encoding the parsed
    # JSON would change the bytes and break the signature.
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}), pretty=True)
    assert json.dumps(json.loads(body)).encode() != body
    r = await se.deliver(hub.http, tenant.id, body, SECRET_A)
    assert r.status_code == 200, r.text


async def test_any_one_matching_v1_signature_is_enough(hub, tenant):
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    header = se.sign(body, "whsec_someoneelse000000000000", SECRET_A, extra=["00" * 32])
    r = await se.deliver(hub.http, tenant.id, body, header=header)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "case",
    [
        "wrong_secret",
        "tampered_body",
        "missing_header",
        "garbage_header",
        "expired",
        "no_v1",
        "platform_billing_secret",
    ],
)
async def test_bad_signature_is_refused_and_writes_nothing(hub, tenant, database_url, emulator, case):
    payment_id, pi_id = await hub_payment(database_url, emulator.url, tenant.id)
    evt = se.event(
        "payment_intent.succeeded",
        se.payment_intent(
            pi_id,
            "succeeded",
            amount_received=2000,
            metadata={"hub_tenant_id": tenant.id, "hub_payment_id": payment_id},
        ),
    )
    body = se.encode(evt)
    now = int(time.time())
    header = {
        "wrong_secret": se.sign(body, "whsec_wrongsecret000000"),
        "tampered_body": se.sign(body.replace(b"2000", b"2001"), SECRET_A),
        "missing_header": "",
        "garbage_header": "this is not a signature",
        "expired": se.sign(body, SECRET_A, timestamp=now - 301),
        "no_v1": f"t={now},v0={se.signature(body, SECRET_A, now)}",
        "platform_billing_secret": se.sign(body, PLATFORM_BILLING_SECRET),
    }[case]
    before = await table_snapshot(database_url, *WRITTEN, ignoring=FAILURE_TIME)
    r = await se.deliver(hub.http, tenant.id, body, header=header)
    assert_problem(r, 400, "signature_invalid")
    assert SECRET_A not in r.text and PLATFORM_BILLING_SECRET not in r.text
    assert await table_snapshot(database_url, *WRITTEN, ignoring=FAILURE_TIME) == before
    assert (await payment_row(database_url, payment_id))["status"] == "requires_payment_method"


async def test_a_timestamp_inside_the_300_second_tolerance_is_accepted(hub, tenant):
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    r = await se.deliver(hub.http, tenant.id, body, SECRET_A, timestamp=int(time.time()) - 240)
    assert r.status_code == 200, r.text


async def test_another_tenants_secret_is_refused(hub, tenant):
    other = await hub.create_tenant("B")
    assert (await hub.register_stripe(other, webhook_secret=SECRET_B)).status_code == 200
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert_problem(await se.deliver(hub.http, tenant.id, body, SECRET_B), 400, "signature_invalid")
    assert_problem(await se.deliver(hub.http, other.id, body, SECRET_A), 400, "signature_invalid")
    assert await events_of(hub, tenant) == [] and await events_of(hub, other) == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"hello": "world"}',
        b"not json at all",
        b"[1, 2, 3]",
        b"\xff\xfe\x00",
        b'{"id": "evt_1", "object": "event", "type": "x"}',
        b'{"id": "evt_1", "object": "v2.core.event", "type": "x", "data": {"object": {}}}',
    ],
)
async def test_a_signed_body_that_is_not_an_event_is_refused(hub, tenant, database_url, body):
    before = await table_snapshot(database_url, *WRITTEN, ignoring=FAILURE_TIME)
    assert_problem(await se.deliver(hub.http, tenant.id, body, SECRET_A), 400, "signature_invalid")
    assert await table_snapshot(database_url, *WRITTEN, ignoring=FAILURE_TIME) == before


async def test_a_body_over_one_mebibyte_is_refused_with_413(hub, tenant, database_url):
    evt = se.event("customer.created", {"id": "cus_1", "object": "customer", "padding": "x" * (1024 * 1024)})
    body = se.encode(evt)
    before = await table_snapshot(database_url, *WRITTEN)
    assert_problem(await se.deliver(hub.http, tenant.id, body, SECRET_A), 413, "payload_too_large")
    assert await table_snapshot(database_url, *WRITTEN) == before


async def test_unknown_tenant_or_tenant_without_credentials_is_404(hub, tenant):
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    r = await se.deliver(hub.http, "ten_doesnotexist", body, SECRET_A)
    assert_problem(r, 404, "not_found")
    bare = await hub.create_tenant("no credentials")
    assert_problem(await se.deliver(hub.http, bare.id, body, SECRET_A), 404, "not_found")
    r = await hub.http.post(
        f"/v1/webhooks/paypal/{tenant.id}", content=body, headers={"Stripe-Signature": se.sign(body, SECRET_A)}
    )
    assert_problem(r, 404, "not_found")


async def test_a_suspended_tenants_webhooks_are_still_verified_and_stored(hub, tenant):
    from tests.support.hub import PLATFORM

    assert (await hub.request("POST", f"/v1/tenants/{tenant.id}/suspend", headers=PLATFORM)).status_code == 200
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert (await se.deliver(hub.http, tenant.id, body, SECRET_A)).status_code == 200
    assert (await hub.request("POST", f"/v1/tenants/{tenant.id}/activate", headers=PLATFORM)).status_code == 200
    assert len(await events_of(hub, tenant)) == 1


async def test_after_a_secret_change_the_previous_secret_verifies_for_24_hours(hub, tenant, database_url):
    new_secret = "whsec_tenantArolled0001"
    assert (await hub.register_stripe(tenant, webhook_secret=new_secret)).status_code == 200
    for secret in (new_secret, SECRET_A):
        body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
        assert (await se.deliver(hub.http, tenant.id, body, secret)).status_code == 200, secret
    # Once the roll-over window has passed (state set as 24 h later), the old secret is refused.
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(ProviderCredential)
                .where(ProviderCredential.tenant_id == tenant.id)
                .values(previous_webhook_secret_expires_at=utcnow() - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()
    # The hub's cached context drops the old secret when its roll-over ends; this change was made
    # behind the hub's back, which a cache is told of within a second (NOTIFY, or SQLite's bound).
    deadline = time.monotonic() + 3
    n = 2
    while True:
        body = se.encode(se.event("customer.created", {"id": f"cus_{n}", "object": "customer"}))
        refused = await se.deliver(hub.http, tenant.id, body, SECRET_A)
        if refused.status_code == 400 or time.monotonic() > deadline:
            break
        n += 1
        await asyncio.sleep(0.1)
    assert_problem(refused, 400, "signature_invalid")
    assert (await se.deliver(hub.http, tenant.id, body, new_secret)).status_code == 200


@pytest.mark.parametrize("depth", [100, 5000])
async def test_a_signed_body_nested_absurdly_deep_is_400_invalid_json_and_stores_nothing(
    hub, tenant, database_url, depth
):
    # 100 deep decodes but is past the API's nesting limit; 5,000 deep is past the decoder's own.
    body = se.nested_event_body(depth)
    before = await table_snapshot(database_url, *WRITTEN)
    r = await se.deliver(hub.http, tenant.id, body, SECRET_A)
    assert_problem(r, 400, "invalid_json")
    assert "nested" in r.json()["detail"]
    assert await table_snapshot(database_url, *WRITTEN) == before
