"""Every 4xx/5xx is problem+json with type/title/status/detail/code; nothing ever answers 500."""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM
from tests.support.problem import assert_problem


async def test_unknown_route_is_404_problem_json(hub):
    body = assert_problem(await hub.request("GET", "/v1/nothing-here"), 404, "not_found")
    assert body["type"].endswith("/not_found")


async def test_wrong_method_is_405_problem_json_with_allow(hub):
    r = await hub.request("DELETE", "/v1/tenants", headers=PLATFORM)
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers.get("allow", "") and "GET" in r.headers.get("allow", "")
    assert_problem(await hub.request("PATCH", "/health"), 405, "method_not_allowed")


async def test_body_over_one_mebibyte_is_413_problem_json(hub):
    tenant = await hub.create_tenant()
    big = b'{"publishable_key": "' + b"a" * (1024 * 1024) + b'"}'
    r = await hub.request(
        "PUT",
        "/v1/providers/stripe/credentials",
        content=big,
        headers={**tenant.admin, "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")


@pytest.mark.parametrize("raw", [b"{", b"{not json}", b'{"name": "x"', b"\x00\x01", b""])
async def test_malformed_json_is_400_with_a_fixed_detail(hub, raw):
    r = await hub.request("POST", "/v1/tenants", content=raw, headers={**PLATFORM, "content-type": "application/json"})
    body = assert_problem(r, 400, "invalid_json")
    assert "byte" not in body["detail"]  # the decoder's internals are not the client's business


async def test_type_error_is_422_with_param_and_a_detail_naming_it(hub):
    r = await hub.request("POST", "/v1/tenants", json={"name": ["x"]}, headers=PLATFORM)
    body = assert_problem(r, 422, "validation_error", param="name")
    assert "name" in body["detail"]


async def test_problem_type_is_a_uri_named_after_the_code(hub):
    r = await hub.request("GET", "/v1/tenants")
    body = assert_problem(r, 401, "unauthorized")
    assert body["type"].startswith("https://") and body["type"].endswith("/unauthorized")
    assert body["title"] == "Unauthorized"


async def test_path_parameters_that_are_odd_are_404_not_500(hub):
    for path in (
        "/v1/tenants/%00",
        "/v1/tenants/" + "x" * 2000,
        "/v1/tenants/' OR 1=1 --",
        "/v1/tenants/ten_%F0%9F%92%A5",
    ):
        r = await hub.request("GET", path, headers=PLATFORM)
        assert_problem(r, 404, "not_found")


async def test_odd_ids_in_the_path_are_404_for_every_id_route(hub):
    tenant = await hub.create_tenant()
    for bad in ("%00", "key_%00", "ten_" + "x" * 300):
        assert_problem(await hub.request("DELETE", f"/v1/api-keys/{bad}", headers=tenant.admin), 404, "not_found")
        assert_problem(await hub.request("POST", f"/v1/tenants/{bad}/suspend", headers=PLATFORM), 404, "not_found")
        r = await hub.request(
            "POST", f"/v1/webhooks/stripe/{bad}", content=b"{}", headers={"stripe-signature": "t=1,v1=00"}
        )
        assert_problem(r, 404, "not_found")


async def test_an_odd_pagination_cursor_is_422_naming_it(hub):
    r = await hub.request("GET", "/v1/tenants", params={"starting_after": "x\x00"}, headers=PLATFORM)
    assert_problem(r, 422, "validation_error", param="starting_after")
