"""Every customer, catalogue, subscription, invoice and payment-link route is in the OpenAPI
document, with its problem+json errors and, on creating POSTs, the Idempotency-Key header."""

from __future__ import annotations

ROUTES = {
    ("/v1/customers", "post"): True,
    ("/v1/customers", "get"): False,
    ("/v1/customers/{customer_id}", "get"): False,
    ("/v1/customers/{customer_id}", "patch"): False,
    ("/v1/customers/{customer_id}", "delete"): False,
    ("/v1/customers/{customer_id}/payment-methods", "get"): False,
    ("/v1/setup-intents", "post"): True,
    ("/v1/products", "post"): True,
    ("/v1/products", "get"): False,
    ("/v1/prices", "post"): True,
    ("/v1/prices", "get"): False,
    ("/v1/subscriptions", "post"): True,
    ("/v1/subscriptions", "get"): False,
    ("/v1/subscriptions/{subscription_id}", "get"): False,
    ("/v1/subscriptions/{subscription_id}/cancel", "post"): True,
    ("/v1/subscriptions/{subscription_id}/sync", "post"): False,
    ("/v1/invoices", "post"): True,
    ("/v1/invoices", "get"): False,
    ("/v1/invoices/{invoice_id}", "get"): False,
    ("/v1/invoices/{invoice_id}/send", "post"): True,
    ("/v1/invoices/{invoice_id}/void", "post"): True,
    ("/v1/payment-links", "post"): True,
    ("/v1/payment-links", "get"): False,
    ("/v1/payment-links/{link_id}/deactivate", "post"): True,
}


async def test_every_recurring_route_is_documented_with_its_errors_and_idempotency_header(hub):
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    for (path, method), idempotent in ROUTES.items():
        assert path in doc["paths"], path
        op = doc["paths"][path][method]
        errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
        assert {"401", "403", "422"} <= errors.keys(), (path, method, sorted(op["responses"]))
        assert all("application/problem+json" in r["content"] for r in errors.values()), (path, method)
        if "{" in path:
            assert "404" in errors, (path, method)
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) is idempotent, (path, method, headers)
