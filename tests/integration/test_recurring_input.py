"""Control characters in an id, a query parameter or a text field are refused before the
database (PostgreSQL refuses a NUL in text): 404 for an id in the path, 422 elsewhere."""

from __future__ import annotations

import pytest

from tests.support.payments import stripe_tenant
from tests.support.problem import assert_problem
from tests.support.recurring import post

PATHS = [
    "/v1/customers/cust_%00x",
    "/v1/customers/cust_%00x/payment-methods",
    "/v1/subscriptions/sub_%01x",
    "/v1/invoices/inv_%00x",
]
QUERIES = [
    "/v1/customers?email=a%00b",
    "/v1/customers?starting_after=cust_%00",
    "/v1/prices?product_id=prod_%00",
    "/v1/subscriptions?customer_id=cust_%00",
    "/v1/invoices?customer_id=cust_%1f",
    "/v1/payment-links?starting_after=plink_%00",
]


@pytest.mark.parametrize("path", PATHS)
async def test_a_control_character_in_an_id_is_404(hub, path):
    tenant, _ = await stripe_tenant(hub)
    assert_problem(await hub.request("GET", path, headers=tenant.admin), 404, "not_found")


@pytest.mark.parametrize("path", QUERIES)
async def test_a_control_character_in_a_query_parameter_is_422(hub, path):
    tenant, _ = await stripe_tenant(hub)
    assert_problem(await hub.request("GET", path, headers=tenant.admin), 422, "validation_error")


@pytest.mark.parametrize(
    "path,body,param",
    [
        ("/v1/products", {"name": "Cake\u0000"}, "name"),
        ("/v1/products", {"name": "Cake", "description": "a\u0007b"}, "description"),
        ("/v1/customers", {"name": "Ana\u0000"}, "name"),
        ("/v1/setup-intents", {"customer_id": "cust_\u0000"}, "customer_id"),
    ],
)
async def test_a_control_character_in_a_text_field_is_422(hub, path, body, param):
    tenant, _ = await stripe_tenant(hub)
    assert_problem(await post(hub, tenant, path, body), 422, "validation_error", param=param)
