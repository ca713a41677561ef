"""The schemathesis side of the fuzz run: the hub's document, what each scope may call, the config, the checks.

Schemathesis parametrizes tests when they are collected, so the document is built here from the
app's code (the run then checks the served one is the same). Each scope gets its own config:
operations the scope may call get the coverage phase (boundary and invalid values of every
parameter and field) and ``MAX_EXAMPLES`` fuzzed requests; those it may not call are answered
401/403 before their body is read, so a few fuzzed requests show that and no more.
"""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from litestar.routes import HTTPRoute
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.app import create_app
from hub.openapi import complete
from tests.support.fuzz_world import KINDS, placeholders
from tests.support.hub import make_settings

#: Fuzzed requests per operation a scope may call, after the coverage phase's deterministic ones.
MAX_EXAMPLES = 8
#: Fuzzed requests per operation a scope may not call.
DENIED_EXAMPLES = 3
SEED = 20240611
PROBLEM_JSON = "application/problem+json"
#: The only 5xx answers that are not a bug: documented codes about something outside the hub.
OUTSIDE = {503: {"provider_unavailable", "billing_disabled"}}
#: Which route scopes a caller's token satisfies (an admin key may do what a storefront key may).
SATISFIES = {
    "platform": {"platform"},
    "admin": {"admin", "storefront"},
    "storefront": {"storefront"},
    "anonymous": set(),
}

#: Path parameters drawn (most of the time) from the world's objects, by kind.
PATH_KINDS = {
    "tenant_id": "tenant",
    "payment_id": "payment",
    "customer_id": "customer",
    "subscription_id": "subscription",
    "endpoint_id": "endpoint",
    "delivery_id": "delivery",
    "account_id": "account",
    "provider": "provider",
}
#: Destroying operations draw from objects of their own, so the rest of the run keeps its data.
DESTROYING = [
    ("DELETE", "/v1/api-keys/{key_id}", "key_id", "spare_key"),
    ("DELETE", "/v1/customers/{customer_id}", "customer_id", "spare_customer"),
    ("POST", "/v1/payments/{payment_id}/cancel", "payment_id", "spare_payment"),
    ("POST", "/v1/subscriptions/{subscription_id}/cancel", "subscription_id", "spare_subscription"),
    ("DELETE", "/v1/notification-endpoints/{endpoint_id}", "endpoint_id", "spare_endpoint"),
]


def _problem_code(response: schemathesis.Response) -> str | None:
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM_JSON):
        return None
    return response.json().get("code")


def only_documented_outside_failures(ctx: Any, response: schemathesis.Response, case: Case) -> bool | None:
    """A 5xx is a 503 naming a dependency; a 500 (or any other 5xx) is a bug."""
    if response.status_code >= 500:
        allowed = OUTSIDE.get(response.status_code, set())
        assert _problem_code(response) in allowed, (
            f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:300]}"
        )
    return None


def errors_are_problem_json(ctx: Any, response: schemathesis.Response, case: Case) -> bool | None:
    if response.status_code >= 400:
        ctype = response.headers.get("content-type", [""])[0]
        assert ctype.startswith(PROBLEM_JSON), f"{response.status_code} answered as {ctype!r}"
    return None


CHECKS = [
    not_a_server_error,
    only_documented_outside_failures,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    errors_are_problem_json,
]


def _required_scope(handler: Any) -> str | None:
    """The scope a handler asks for, by its guard or by the principal it takes (as hub.openapi reads it)."""
    names = {g.__name__.removesuffix("_guard") for g in handler.resolve_guards()}
    names |= set(handler.parsed_fn_signature.parameters)
    return next((scope for scope in ("platform", "admin", "storefront") if scope in names), None)


def build_document() -> tuple[dict[str, Any], dict[tuple[str, str], str | None]]:
    """What ``GET /schema/openapi.json`` serves, and the scope each (method, path) requires."""
    with tempfile.TemporaryDirectory() as home:
        app = create_app(make_settings(f"sqlite+aiosqlite:///{home}/unused.db", home))
        scopes = {
            (str(method), route.path_format): _required_scope(handler)
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for handler in route.route_handlers
            for method in handler.http_methods
        }
        return complete(app.openapi_schema.to_schema(), app.routes), scopes


def _drawn(kind: str, probability: float = 0.8) -> dict[str, Any]:
    return {"dictionary": kind, "probability": probability}


def fuzz_config(scope: str, required: dict[tuple[str, str], str | None]) -> schemathesis.Config:
    parameters = {f"path.{name}": _drawn(kind) for name, kind in PATH_KINDS.items()}
    parameters["body.customer_id"] = _drawn("customer", 0.6)
    # Currencies the hub knows, of each exponent: a random three letters is only ever 422.
    parameters["body.currency"] = _drawn("currency", 0.7)
    parameters |= {f"body.{f}[*].price_id": _drawn("price", 0.6) for f in ("items", "line_items")}
    denied = [
        {
            "include-name": f"{method} {path}",
            "phases": {"coverage": {"enabled": False}},
            "generation": {"max-examples": DENIED_EXAMPLES},
        }
        for (method, path), needs in sorted(required.items(), key=lambda item: item[0])
        if needs is not None and needs not in SATISFIES[scope] and method != "HEAD"
    ]
    destroying = [
        {"include-name": f"{method} {path}", "parameters": {f"path.{name}": _drawn(kind)}}
        for method, path, name, kind in DESTROYING
    ]
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # The scope's token comes with the caller's session; a generated one would replace it.
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            # The 503s that are answers, not failures, are told apart by their code (CHECKS).
            "checks": {"not_a_server_error": {"expected-statuses": ["1xx", "2xx", "3xx", "4xx", "503"]}},
            "dictionaries": {kind: {"values": placeholders(kind)} for kind in KINDS}
            | {"currency": {"values": ["usd", "eur", "jpy", "kwd"]}},
            "parameters": parameters,
            "operations": denied + destroying,
        }
    )
