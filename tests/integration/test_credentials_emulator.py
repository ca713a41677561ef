"""Against the emulator (HUB_STRIPE_EMULATOR=localstripe), which has no webhook-endpoint API, the
health-check and the repair say so plainly; and a key of the wrong format is refused with the rule
it breaks, never with the key itself.
"""

from __future__ import annotations

import html

import pytest

from tests.support.credentials import URL, audit_rows, creds, stored
from tests.support.problem import assert_problem

CHECK = "/v1/providers/stripe/health-check"
REPAIR = "/v1/providers/stripe/webhook/repair"
NO_ENDPOINT_API = "The emulator has no webhook-endpoint API"


async def _registered(hub):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json=creds(), headers=tenant.admin)
    assert r.status_code == 200, r.text
    return tenant


async def test_the_health_check_says_the_emulator_has_no_webhook_endpoint_api(hub):
    tenant = await _registered(hub)
    r = await hub.request("POST", CHECK, headers=tenant.admin)
    assert r.status_code == 200, r.text
    webhook = r.json()["webhook"]
    assert webhook["endpoint"] == "unknown" and r.json()["ok"] is False
    [advice] = [a for a in webhook["advice"] if a["condition"] != "no_events_yet"]
    assert advice["condition"] == "endpoint_not_supported" and advice["repair"] is False
    assert NO_ENDPOINT_API in advice["message"]
    assert "restricted" not in advice["message"]


async def test_the_repair_answers_422_not_supported_with_that_sentence_and_changes_nothing(hub):
    tenant = await _registered(hub)
    before = (
        [(r.version, r.webhook_endpoint_id) for r in await stored(hub, tenant.id)],
        await audit_rows(hub, tenant.id),
    )
    r = await hub.request("POST", REPAIR, headers=tenant.admin)
    body = assert_problem(r, 422, "not_supported")
    assert NO_ENDPOINT_API in body["detail"]
    assert "Invalid response body" not in r.text and "404" not in body["detail"]
    after = (
        [(r.version, r.webhook_endpoint_id) for r in await stored(hub, tenant.id)],
        await audit_rows(hub, tenant.id),
    )
    assert len(after[1]) == len(before[1]) and after[0] == before[0]


async def test_registering_without_a_webhook_secret_at_the_emulator_is_422_not_supported(hub):
    tenant = await hub.create_tenant()
    body = {k: v for k, v in creds().items() if k != "webhook_secret"}
    r = await hub.request("PUT", URL, json=body, headers=tenant.admin)
    problem = assert_problem(r, 422, "not_supported")
    assert NO_ENDPOINT_API in problem["detail"]
    assert await stored(hub, tenant.id) == []


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("secret_key", "sk_test_short", "sk_test_, sk_live_, rk_test_ or rk_live_ followed by 8 to 250"),
        ("secret_key", "sk_test_has-a-dash-000", "letters or digits"),
        ("secret_key", "sk_test_" + "a" * 251, "8 to 250"),
        ("secret_key", "xk_test_abcdefgh1234", "sk_test_"),
        ("publishable_key", "pk_test_short", "pk_test_ or pk_live_ followed by 8 to 250 letters or digits"),
        ("webhook_secret", "whsec_short", "whsec_ followed by 8 to 250"),
        ("webhook_secret", "whsec_with spaces inside", "letters, digits"),
    ],
)
async def test_a_key_of_the_wrong_format_is_refused_with_the_rule_not_the_key(hub, field, value, rule):
    tenant = await hub.create_tenant()
    r = await hub.request("PUT", URL, json=creds(**{field: value}), headers=tenant.admin)
    body = assert_problem(r, 422, "validation_error", param=field)
    assert rule in body["detail"], body["detail"]
    assert value not in r.text and value[8:] not in r.text
    assert await stored(hub, tenant.id) == []


async def test_the_consoles_repair_button_shows_the_same_refusal_and_changes_nothing(hub):
    from tests.integration.test_console_actions import CSRF_FIELD, signed_in

    tenant = await _registered(hub)
    await signed_in(hub, tenant)
    page = await hub.request("GET", "/console/stripe")
    token = CSRF_FIELD.search(page.text)
    assert page.status_code == 200 and token
    before = await audit_rows(hub, tenant.id)
    r = await hub.request("POST", "/console/stripe/repair", data={"_csrf_token": token.group(1)})
    assert r.status_code == 200, r.text
    assert NO_ENDPOINT_API in html.unescape(r.text)
    assert len(await audit_rows(hub, tenant.id)) == len(before)
