"""Every write at a provider runs through the operation driver (hub/operations/driver.py).

Each POST/PUT/PATCH/DELETE route of the app is classified below: a write at a provider, or not.
A new route must be added to one list or the other, so none slips past unclassified. A provider
write is either declared through the driver (its operation in ``driver.REGISTRY``, its handler
calling ``driver.run`` with that operation) or listed in ``PENDING`` until it is moved.
"""

from __future__ import annotations

import tempfile
import types
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.routes import HTTPRoute

import hub.console.payments  # noqa: F401  (the routes below declare their operations on import)
from hub.app import create_app
from hub.operations import driver
from tests.support.hub import make_settings

Route = tuple[str, str]

#: Provider writes declared through the driver.
DRIVEN: set[Route] = {
    ("POST", "/v1/payments"),
    ("POST", "/v1/payments/{payment_id:str}/capture"),
    ("POST", "/v1/payments/{payment_id:str}/cancel"),
    ("POST", "/v1/payments/{payment_id:str}/transfers"),
    ("POST", "/v1/transfers/{transfer_id:str}/reversals"),
    ("POST", "/v1/payments/{payment_id:str}/refunds"),
    ("POST", "/console/payments/{payment_id:str}/{action:str}"),
    ("POST", "/v1/checkout/sessions"),
    ("POST", "/v1/customers"),
    ("POST", "/v1/connected-accounts"),
    ("POST", "/v1/connected-accounts/{account_id:str}/sync"),
    ("POST", "/v1/connected-accounts/{account_id:str}/links"),
    ("PATCH", "/v1/customers/{customer_id:str}"),
    ("DELETE", "/v1/customers/{customer_id:str}"),
    ("POST", "/v1/setup-intents"),
    ("POST", "/v1/products"),
    ("POST", "/v1/prices"),
    ("POST", "/v1/subscriptions"),
    ("POST", "/v1/subscriptions/{subscription_id:str}/cancel"),
    ("POST", "/v1/invoices"),
    ("POST", "/v1/invoices/{invoice_id:str}/send"),
    ("POST", "/v1/invoices/{invoice_id:str}/void"),
    ("POST", "/v1/payment-links"),
    ("POST", "/v1/payment-links/{link_id:str}/deactivate"),
    ("POST", "/v1/providers/{provider:str}/webhook/repair"),
    ("POST", "/console/stripe/repair"),
    ("POST", "/console/sellers/{account_id:str}/link"),
    ("POST", "/v1/tenants/{tenant_id:str}/subscription"),
}

#: Provider writes not on the driver, each with the reason.
PENDING: set[Route] = set()

#: Routes that change something at a provider.
PROVIDER_WRITES = DRIVEN | PENDING

#: Routes that run declared operations on another surface than the API's (the console's forms).
SURFACES: dict[Route, set[str]] = {
    ("POST", "/console/payments/{payment_id:str}/{action:str}"): {"CapturePayment", "CancelPayment", "CreateRefund"},
    ("POST", "/console/stripe/repair"): {"RepairWebhook"},
    ("POST", "/console/sellers/{account_id:str}/link"): {"CreateAccountLink"},
}

#: Writes that change nothing at a provider (the hub's own rows, or a provider read).
HUB_WRITES: set[Route] = {
    ("POST", "/v1/tenants"),
    ("POST", "/v1/tenants/{tenant_id:str}/activate"),
    ("POST", "/v1/tenants/{tenant_id:str}/suspend"),
    ("POST", "/v1/tenants/{tenant_id:str}/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{key_id:str}"),
    ("PUT", "/v1/providers/{provider:str}/credentials"),  # checks the keys with a read
    ("DELETE", "/v1/providers/{provider:str}/credentials"),
    ("DELETE", "/v1/providers/{provider:str}/credentials/previous-webhook-secret"),
    ("POST", "/v1/providers/{provider:str}/health-check"),  # reads
    ("POST", "/v1/notification-endpoints"),
    ("POST", "/v1/notification-endpoints/{endpoint_id:str}/test"),
    ("DELETE", "/v1/notification-endpoints/{endpoint_id:str}"),
    ("POST", "/v1/notification-endpoints/{endpoint_id:str}/deliveries/{delivery_id:str}/retry"),
    ("POST", "/v1/notification-endpoints/{endpoint_id:str}/rotate-secret"),
    ("POST", "/v1/payments/{payment_id:str}/sync"),  # reads the provider, converges the hub
    ("POST", "/v1/subscriptions/{subscription_id:str}/sync"),  # the same
    ("POST", "/v1/webhooks/{provider:str}/{tenant_id:str}"),
    ("POST", "/v1/platform/billing/webhook"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("POST", "/console/stripe"),
    ("POST", "/console/stripe/check"),
    ("POST", "/console/providers/{name:str}"),  # the credentials service, as the API's PUT
    ("POST", "/console/providers/{name:str}/check"),  # reads
    ("POST", "/console/api-keys"),
    ("POST", "/console/api-keys/{key_id:str}/revoke"),
    ("POST", "/console/notifications"),
    ("POST", "/console/notifications/{endpoint_id:str}/{action:str}"),
    ("POST", "/console/notifications/{endpoint_id:str}/deliveries/{delivery_id:str}/retry"),
}

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def handlers() -> dict[Route, Any]:
    with tempfile.TemporaryDirectory() as home:
        app = create_app(make_settings(f"sqlite+aiosqlite:///{home}/unused.db", home))
        return {
            (method, route.path): handler.fn
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for handler in route.route_handlers
            for method in handler.http_methods
            if method in WRITES
        }


def _names(code: types.CodeType) -> Iterator[str]:
    """The global and attribute names a function's code (its nested functions' included) uses."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def test_every_write_route_is_classified(handlers: dict[Route, Any]) -> None:
    unclassified = set(handlers) - PROVIDER_WRITES - HUB_WRITES
    assert not unclassified, f"classify these routes in {__name__}: {sorted(unclassified)}"
    assert not (PROVIDER_WRITES | HUB_WRITES) - set(handlers), "routes listed here that the app no longer has"
    assert not PROVIDER_WRITES & HUB_WRITES
    assert not DRIVEN & PENDING


def test_every_declared_operation_serves_a_provider_write_route(handlers: dict[Route, Any]) -> None:
    for route in driver.REGISTRY:
        assert route in handlers, f"{driver.REGISTRY[route].__name__} is declared for {route}, which no handler serves"
        assert route in DRIVEN, f"{route} is declared through the driver: list it in DRIVEN"


def test_every_provider_write_runs_through_the_driver(handlers: dict[Route, Any]) -> None:
    for route in sorted(DRIVEN):
        declared = driver.REGISTRY.get(route)
        operations = SURFACES.get(route) or ({declared.__name__} if declared is not None else None)
        assert operations, f"{route} is listed in DRIVEN but no operation is declared for it"
        names = set(_names(handlers[route].__code__))
        assert {"driver", "run"} <= names, f"the handler of {route} does not call driver.run"
        assert operations <= names, f"the handler of {route} does not run {sorted(operations - names)}"
