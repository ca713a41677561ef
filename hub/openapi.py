"""The OpenAPI document, completed centrally so every route (today's and tomorrow's) is described alike.

Litestar describes each handler's parameters, body and success answer. What the hub adds here,
by rule rather than route by route: the bearer security scheme on every route that takes a
token, the ``Idempotency-Key`` header on every POST, and the ``application/problem+json`` error
answers (``Problem``) each kind of route can give, replacing Litestar's own error shape.

``/schema`` is a browsable page (Scalar). It shares the console's origin, so it loads nothing
from another host: a pinned release of Scalar is vendored in ``hub/schema_ui/`` (its version
and license are noted there) and served by the hub under ``/schema/ui/``, and the page sends a
Content-Security-Policy that allows scripts from the hub only. It works offline.
"""

from __future__ import annotations

import copy
import html
import json
import typing
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Router
from litestar.datastructures import ResponseHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router

from hub import __version__
from hub.errors import PROBLEM_JSON, Problem
from hub.openapi_operations import OPERATIONS, STATUS_OF

SECURITY_SCHEME = "bearer"
#: Handler parameters through which a route authenticates (the hub's DEPENDENCIES).
_AUTH_PARAMETERS = frozenset({"platform", "admin", "storefront"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

#: What each error status means, whatever the route; each answer then names the route's own codes.
_ERRORS = {
    400: "Malformed JSON, a bad signature, or a request the provider refused",
    401: "Missing, unknown or revoked bearer token",
    402: "The card was declined, or the bank wants the customer back to authenticate",
    403: "Valid token, wrong scope, or a suspended tenant",
    404: "No such object, or one of another tenant",
    409: "An idempotency or state conflict",
    413: "The body is over 1 MiB",
    415: "The body is not `application/json`",
    422: "A field, parameter or amount is invalid (the answer's param names it)",
    429: "Too many requests (`Retry-After` says when to try again)",
    503: "A dependency is unavailable (`Retry-After` when it is the database)",
}
#: The code an answer of a status names when the route has no code of its own for it.
_FALLBACK = {
    400: "provider_error",
    401: "unauthorized",
    402: "card_declined",
    403: "forbidden",
    404: "not_found",
    409: "invalid_state",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "database_unavailable",
}
#: Routes of the platform operator, who has no tenant to be suspended.
_PLATFORM_PATHS = ("/metrics", "/v1/tenants", "/v1/platform/")
ERRORS_LINE = "Error codes: "

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1-255 printable characters, scoped to the tenant and the route and kept 24 hours: "
    "the same key with the same body replays the first answer (`Idempotent-Replayed: true`); "
    "with another body it is 409 `idempotency_conflict`.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _takes_idempotency_key(path: str) -> bool:
    """Every POST but the webhooks (signed, deduplicated by event id) and sync (a read of the provider)."""
    return not path.startswith(("/v1/webhooks/", "/v1/platform/billing/webhook")) and not path.endswith("/sync")


def _statuses(method: str, path: str, authenticated: bool, has_parameters: bool) -> list[int]:
    codes = {503}
    if has_parameters or method in _WITH_BODY:
        codes.add(422)
    if authenticated:
        codes |= {401, 403, 429}
    if "{" in path:
        codes.add(404)
    if method in _WITH_BODY:
        codes |= {400, 413, 415}
    if method == "POST":
        codes.add(409)
    if method == "POST" and path.startswith("/v1/payments"):
        codes.add(402)
    if method == "POST" and path in ("/v1/payments", "/v1/checkout/sessions"):
        codes.add(404)  # credentials_missing, or a customer or provider named in the body that is not there
    if path.startswith("/v1/webhooks/") or path.endswith("/billing/webhook"):
        codes = {400, 404, 413, 503}  # signature_invalid, unknown tenant, too large; never a token
    if path.startswith("/health"):
        codes = {503} if path != "/health" else set()
    return sorted(codes)


def _codes(method: str, path: str, authenticated: bool, has_parameters: bool) -> set[str]:
    """The codes a route answers by what it takes (a token, a body, an id, a key), and its own."""
    own = OPERATIONS.get((method, path))
    codes = set(own.codes) if own else set()
    if path.startswith("/health"):
        return codes
    codes.add("database_unavailable")
    if path.startswith("/v1/webhooks/") or path.endswith("/billing/webhook"):
        return codes | {"signature_invalid", "not_found", "payload_too_large"}
    if authenticated:
        codes |= {"unauthorized", "forbidden", "rate_limited"}
        if not path.startswith(_PLATFORM_PATHS):
            codes.add("tenant_suspended")
    if has_parameters or method in _WITH_BODY:
        codes.add("validation_error")
    if "{" in path:
        codes.add("not_found")
    if method in _WITH_BODY:
        codes |= {"invalid_json", "payload_too_large", "unsupported_media_type"}
    if method == "POST" and _takes_idempotency_key(path):
        codes |= {"idempotency_conflict", "idempotency_in_progress"}
    return codes


def _describe(operation: dict[str, Any], method: str, path: str, codes: set[str]) -> None:
    """The summary and sentence of ``hub.openapi_operations``, and the list of the operation's codes."""
    own = OPERATIONS.get((method, path))
    if own is not None:
        operation["summary"] = own.summary
        operation["description"] = own.description
    if codes:
        listed = ", ".join(f"`{c}`" for c in sorted(codes, key=lambda c: (STATUS_OF[c], c)))
        operation["description"] = f"{operation.get('description', '')}\n\n{ERRORS_LINE}{listed}.".lstrip()


def _authenticated(route: HTTPRoute, method: str) -> bool:
    handler = next((h for h in route.route_handlers if method in h.http_methods), None)
    if handler is None:
        return False
    if handler.resolve_guards():
        return True
    return bool(_AUTH_PARAMETERS & set(handler.parsed_fn_signature.parameters))


def _closed_bodies(routes: list[Any]) -> set[str]:
    """Names of the request-body Structs, nested ones included, that refuse fields they do not declare.

    Litestar's document leaves them open, so a client (or a generator of test requests) would
    believe any extra field is accepted; the hub answers it 422.
    """
    closed: set[str] = set()
    seen: set[type] = set()

    def visit(annotation: Any) -> None:
        for arg in typing.get_args(annotation):
            visit(arg)
        if not isinstance(annotation, type) or not issubclass(annotation, msgspec.Struct) or annotation in seen:
            return
        seen.add(annotation)
        if annotation.__struct_config__.forbid_unknown_fields:
            closed.add(annotation.__name__)
        for field in msgspec.structs.fields(annotation):
            visit(field.type)

    for route in routes:
        for handler in route.route_handlers if isinstance(route, HTTPRoute) else ():
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                visit(data.annotation)
    return closed


def complete(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """A copy of Litestar's ``schema`` with the security scheme, the idempotency header and problem answers."""
    doc = copy.deepcopy(schema)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "`HUB_PLATFORM_TOKEN` for platform routes; a tenant API key (admin or storefront) otherwise.",
    }
    (problem_schema,), defs = msgspec.json.schema_components([Problem], ref_template="#/components/schemas/{name}")
    components.setdefault("schemas", {}).update(defs)
    for name in _closed_bodies(routes):
        found = components["schemas"].get(name)
        if found is not None and found.get("type") == "object":
            found["additionalProperties"] = False
    by_path = {r.path_format: r for r in routes if isinstance(r, HTTPRoute)}
    for path, item in doc.get("paths", {}).items():
        route = by_path.get(path)
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            upper = method.upper()
            authenticated = route is not None and _authenticated(route, upper)
            if authenticated:
                operation["security"] = [{SECURITY_SCHEME: []}]
            params = operation.setdefault("parameters", [])
            # A route may declare the header itself: one documented form, the hub's, replaces it.
            params[:] = [p for p in params if p.get("name", "").lower() != "idempotency-key"]
            if upper == "POST" and _takes_idempotency_key(path):
                params.append(dict(IDEMPOTENCY_KEY))
            has_parameters = any(p.get("in") in ("query", "path") for p in operation.get("parameters", []))
            responses = operation["responses"]
            # A route may declare answers of its own (a 404 for an object its body names);
            # they keep their status, in the hub's shape: Litestar's {status_code, detail, extra} is not it.
            declared = {int(c) for c in responses if c[:1] in "45"}
            for code in [c for c in responses if c[:1] in "45"]:
                del responses[code]
            codes = _codes(upper, path, authenticated, has_parameters)
            statuses = declared | set(_statuses(upper, path, authenticated, has_parameters))
            statuses |= {STATUS_OF[c] for c in codes}
            for status in sorted(statuses):
                mine = sorted(c for c in codes if STATUS_OF[c] == status) or [_FALLBACK[status]]
                codes.update(mine)
                responses[str(status)] = {
                    "description": f"{_ERRORS[status]}: " + ", ".join(f"`{c}`" for c in mine),
                    "content": {PROBLEM_JSON: {"schema": problem_schema}},
                }
            if path == "/health/ready":
                responses["503"]["description"] = "Not ready: the body names the failing check"
                codes.clear()
            _describe(operation, upper, path, codes)
    return doc


class CompletedJsonRenderPlugin(JsonRenderPlugin):
    """``/schema/openapi.json``: Litestar's document, completed once per app and then served as is."""

    def __init__(self) -> None:
        super().__init__()
        self._rendered: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = self.render_json(request, complete(openapi_schema, request.app.routes))
        return self._rendered


SCHEMA_UI = Path(__file__).parent / "schema_ui"
SCALAR_VERSION = "1.76.4"
#: Like the console's, but Scalar sets styles at run time (inline style is inert: no script runs from it).
SCHEMA_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

#: Nothing that would reach outside: no fonts from Scalar's CDN, no telemetry, no AI agent, no
#: developer toolbar (it links to Scalar's services).
SCALAR_OPTIONS = {
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "showDeveloperTools": "never",
}


class LocalScalarRenderPlugin(ScalarRenderPlugin):
    """Scalar from the hub itself: no CDN, no favicon from elsewhere, no inline script (the CSP forbids it)."""

    def __init__(self) -> None:
        super().__init__(
            path=["/", "/scalar"],
            js_url=f"/schema/ui/scalar-api-reference-{SCALAR_VERSION}.js",
            css_url="/schema/ui/schema.css",
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        configuration = html.escape(json.dumps(SCALAR_OPTIONS))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{html.escape(self.css_url)}">
</head>
<body>
<noscript>The API reference needs JavaScript; the document itself is at /schema/openapi.json.</noscript>
<script id="api-reference" data-url="{html.escape(self.get_openapi_json_route(request))}"
  data-configuration="{configuration}"></script>
<script src="{html.escape(self.js_url)}"></script>
</body>
</html>
""".encode()


def openapi_config() -> OpenAPIConfig:
    assets = create_static_files_router(path="/ui", directories=[SCHEMA_UI], include_in_schema=False)
    return OpenAPIConfig(
        title="Payment hub",
        version=__version__,
        description="Multi-tenant payment-gateway integration hub. Errors are application/problem+json.",
        openapi_router=Router(
            path="/schema",
            route_handlers=[assets],
            include_in_schema=False,
            response_headers=[
                ResponseHeader(name="Content-Security-Policy", value=SCHEMA_CSP),
                ResponseHeader(name="X-Frame-Options", value="DENY"),
                ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
                ResponseHeader(name="Referrer-Policy", value="same-origin"),
            ],
        ),
        render_plugins=[LocalScalarRenderPlugin(), CompletedJsonRenderPlugin()],
    )
