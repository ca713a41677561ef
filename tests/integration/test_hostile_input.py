"""Hostile input at the boundary: a clear 4xx before anything reaches Stripe or the database.

Each case was a 500 (or reached Stripe) once. Runs on SQLite and PostgreSQL, where a NUL in
text is an error of the driver itself.
"""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM
from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_tenant
from tests.support.problem import assert_problem


@pytest.fixture
async def rec_hub(database_url, emulator, shared_home):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(shared_home), emulator.url, recorder, shared=True) as hub:
        tenant, _ = await stripe_tenant(hub)
        yield hub, tenant, recorder


def _stripe_writes(recorder: Recorder) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in recorder.requests if m == "POST"]


async def test_a_nul_in_a_path_id_is_404(rec_hub):
    hub, tenant, _ = rec_hub
    for path in ("/v1/payments/pay_%00", "/v1/customers/cust_%00", "/v1/payments/pay_%00/refunds"):
        assert_problem(await hub.request("GET", path, headers=tenant.admin), 404, "not_found")
    r = await hub.request("POST", "/v1/payments/pay_%00x/capture", headers=tenant.storefront)
    assert_problem(r, 404, "not_found")
    assert_problem(await hub.request("GET", "/v1/tenants/ten_%00", headers=PLATFORM), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/v1/payments?starting_after=%00", "/v1/events?starting_after=%00", "/v1/payments?status=%01"]
)
async def test_a_control_character_in_a_query_parameter_is_422(rec_hub, path):
    hub, tenant, _ = rec_hub
    assert_problem(await hub.request("GET", path, headers=tenant.admin), 422, "validation_error")


async def test_a_nul_in_a_text_field_is_422_and_changes_nothing(rec_hub):
    hub, tenant, recorder = rec_hub
    before = (await hub.request("GET", "/v1/tenants", headers=PLATFORM)).json()
    r = await hub.request("POST", "/v1/tenants", json={"name": "a\u0000b"}, headers=PLATFORM)
    assert_problem(r, 422, "validation_error", param="name")
    assert (await hub.request("GET", "/v1/tenants", headers=PLATFORM)).json() == before
    sent = len(_stripe_writes(recorder))
    r = await create_payment(hub, tenant, description="x\u0000y")
    assert_problem(r, 422, "validation_error", param="description")
    r = await hub.request("POST", "/v1/customers", json={"name": "a\u0000b"}, headers=tenant.storefront)
    assert_problem(r, 422, "validation_error", param="name")
    r = await create_payment(hub, tenant, metadata={"k\u0000": "v"})
    assert_problem(r, 422, "validation_error")
    assert len(_stripe_writes(recorder)) == sent
    assert (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"] == []


async def test_absurdly_nested_or_undecodable_json_is_400_invalid_json(rec_hub):
    hub, tenant, recorder = rec_hub
    deep = b'{"amount": 2000, "currency": "usd", "metadata": ' + b'{"a": ' * 5000 + b'"x"' + b"}" * 5000 + b"}"
    json_headers = {**tenant.storefront, "content-type": "application/json"}
    for raw in (deep, b'{"amount": 2000, "currency": "u\xffd"}', b"[" * 100_000, b'{"amount": 2000,'):
        r = await hub.request("POST", "/v1/payments", content=raw, headers=json_headers)
        assert_problem(r, 400, "invalid_json")
    assert _stripe_writes(recorder) == []


async def test_metadata_keys_stripe_forbids_are_422_before_stripe(rec_hub):
    hub, tenant, recorder = rec_hub
    r = await create_payment(hub, tenant, metadata={"a[b]": "v"})
    assert_problem(r, 422, "validation_error", param="metadata")
    r = await hub.request("POST", "/v1/customers", json={"metadata": {"x]": "v"}}, headers=tenant.storefront)
    assert_problem(r, 422, "validation_error", param="metadata")
    assert _stripe_writes(recorder) == []


async def test_a_body_that_is_not_json_is_415(rec_hub):
    hub, tenant, recorder = rec_hub
    body = b'{"amount": 2000, "currency": "usd"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = dict(tenant.storefront)
        if ctype:
            headers["content-type"] = ctype
        r = await hub.request("POST", "/v1/payments", content=body, headers=headers)
        assert_problem(r, 415, "unsupported_media_type")
    r = await hub.request(
        "POST",
        "/v1/payments",
        content=body,
        headers={**tenant.storefront, "content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text
    assert len(_stripe_writes(recorder)) == 1


async def test_every_v1_response_is_no_store_and_nosniff(rec_hub):
    hub, tenant, _ = rec_hub
    responses = [
        await hub.request("POST", "/v1/tenants", json={"name": "B"}, headers=PLATFORM),  # carries API keys
        await create_payment(hub, tenant),  # carries a client_secret
        await hub.request("GET", "/v1/payments/pay_nope", headers=tenant.storefront),
        await hub.request("GET", "/v1/payments"),
        await hub.request("GET", "/v1/no-such-route", headers=tenant.storefront),
    ]
    for r in responses:
        assert r.headers.get("cache-control") == "no-store", (r.status_code, r.headers)
        assert r.headers.get("x-content-type-options") == "nosniff"
