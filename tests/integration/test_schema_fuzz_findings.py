"""What the schemathesis run over the OpenAPI document found, each kept as the exact input it sent.

Runs on SQLite and PostgreSQL, like the run itself (tests/e2e/test_schema_fuzz.py).
"""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM
from tests.support.payments import stripe_tenant
from tests.support.problem import assert_problem

ACTIONS = ["capture", "cancel", "refunds"]


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_refused_action_with_an_idempotency_key_can_be_retried_with_the_key_at_once(hub, action):
    # Found as `POST /v1/payments/0/capture` with an Idempotency-Key and no body: on SQLite the refused
    # request's own open read held the write lock while the key was being reopened, so the answer
    # waited for the busy timeout (30 s, every write of the hub stalled meanwhile) and the key stayed
    # "running": the client's retry with its key got 409 idempotency_in_progress instead of an answer.
    tenant, _ = await stripe_tenant(hub)
    headers = {**tenant.admin, "Idempotency-Key": f"{action}-1"}
    for _ in range(2):
        r = await hub.request("POST", f"/v1/payments/0/{action}", headers=headers)
        assert_problem(r, 404, "not_found")


async def _document(hub) -> dict:
    r = await hub.request("GET", "/schema/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def _declared(doc: dict, method: str, template: str) -> set[str]:
    return set(doc["paths"][template][method.lower()]["responses"])


# Creating requests that name an object (or a provider) the tenant does not have: each answer was
# right, but the document did not declare it, so a client generated from it had no type for it.
NAMING_UNKNOWN = [
    ("/v1/customers", {"email": "0@0", "name": "0", "metadata": {}, "provider": "0"}, "provider"),
    ("/v1/products", {"name": "0", "description": "", "metadata": {}, "provider": "0"}, "provider"),
    ("/v1/setup-intents", {"customer_id": "0"}, "customer_id"),
    (
        "/v1/subscriptions",
        {"customer_id": "0", "items": [{"price_id": "0"}], "payment_method": "0", "trial_days": 1, "metadata": {}},
        "customer_id",
    ),
    (
        "/v1/invoices",
        {"customer_id": "0", "currency": "usd", "items": [{"description": "0", "amount": 500}]},
        "customer_id",
    ),
    ("/v1/payment-links", {"line_items": [{"price_id": "0"}]}, "line_items.0.price_id"),
    ("/v1/payments", {"amount": 2000, "currency": "usd", "customer_id": "0"}, "customer_id"),
    ("/v1/payments", {"amount": 2000, "currency": "usd", "provider": "0"}, "provider"),
]


@pytest.mark.parametrize("path,body,param", NAMING_UNKNOWN)
async def test_naming_an_unknown_object_is_a_documented_404_naming_the_field(hub, path, body, param):
    tenant, _ = await stripe_tenant(hub)
    r = await hub.request("POST", path, json=body, headers=tenant.admin)
    assert_problem(r, 404, "not_found", param=param)
    assert "404" in _declared(await _document(hub), "POST", path)


@pytest.mark.parametrize("path", ["/v1/payments", "/v1/checkout/sessions"])
async def test_a_tenant_without_credentials_gets_a_documented_404(hub, path):
    bare = await hub.create_tenant("No keys yet")
    body = {
        "/v1/payments": {"amount": 2000, "currency": "usd"},
        "/v1/checkout/sessions": {
            "currency": "usd",
            "line_items": [{"name": "Tea", "unit_amount": 500, "quantity": 1}],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/back",
        },
    }[path]
    assert_problem(await hub.request("POST", path, json=body, headers=bare.storefront), 404, "credentials_missing")
    assert "404" in _declared(await _document(hub), "POST", path)


async def test_what_the_provider_does_not_offer_is_a_documented_422(hub):
    # The emulator has no one-off prices: 422 not_supported, which the route documents.
    tenant, _ = await stripe_tenant(hub)
    product = (await hub.request("POST", "/v1/products", json={"name": "Cake"}, headers=tenant.admin)).json()
    body = {"product_id": product["id"], "currency": "usd", "unit_amount": 900}
    assert_problem(await hub.request("POST", "/v1/prices", json=body, headers=tenant.admin), 422, "not_supported")
    assert "422" in _declared(await _document(hub), "POST", "/v1/prices")


async def test_metrics_are_documented_as_the_text_they_are_with_one_charset(hub):
    r = await hub.request("GET", "/metrics", headers=PLATFORM)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    answers = (await _document(hub))["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(answers["content"]) == ["text/plain"]


# Generated bodies that followed the document were refused for a field it did not forbid: the hub
# refuses unknown fields (a misspelt "capture_metod" must not silently mean the default), but the
# document allowed any, so schemathesis' "valid" bodies were nearly all 422 and never reached Stripe.
UNKNOWN_FIELDS = [
    ("/v1/payments", {"amount": 2000, "currency": "usd", "capture_metod": "manual"}, "PaymentCreate"),
    (
        "/v1/checkout/sessions",
        {
            "currency": "usd",
            "line_items": [{"name": "Tea", "unit_amount": 500, "quantity": 1, "sku": "t-1"}],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/back",
        },
        "LineItem",
    ),
    ("/v1/customers", {"email": "ana@example.com", "phone": "+1"}, "CustomerCreate"),
]


@pytest.mark.parametrize("path,body,component", UNKNOWN_FIELDS)
async def test_a_body_field_the_hub_refuses_is_one_the_document_forbids(hub, path, body, component):
    tenant, _ = await stripe_tenant(hub)
    assert_problem(await hub.request("POST", path, json=body, headers=tenant.admin), 422, "validation_error")
    schemas = (await _document(hub))["components"]["schemas"]
    assert schemas[component]["additionalProperties"] is False
