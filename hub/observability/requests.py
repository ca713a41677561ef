"""Every HTTP request: its id (``X-Request-Id``), one access line, and the request metrics.

An ASGI wrapper around the whole Litestar handler (outside routing), so an unknown path, a 405
or an error answer gets its id, its line and its count like any other.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.dependencies import principal_in
from hub.db.ids import well_formed_id
from hub.logging import REQUEST_ID
from hub.observability.metrics import observe_request

access = logging.getLogger("hub.access")

#: The caller's own id is kept when it is 1-128 printable ASCII characters (no spaces, no controls).
_GOOD_ID = re.compile(rb"[\x21-\x7e]{1,128}")
#: The label of a request no route matched: never its raw path, which the caller chooses.
UNMATCHED = "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value.decode("ascii") if _GOOD_ID.fullmatch(value) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = str(scope.get("method", ""))
            observe_request(method, route, status, seconds)
            if access.isEnabledFor(logging.INFO):  # at WARNING the line costs nothing to skip
                fields: dict[str, Any] = {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "tenant_id": _tenant_of(scope),
                }
                access.info("request", extra={"fields": fields})
            REQUEST_ID.reset(token)


def _tenant_of(scope: Scope) -> str | None:
    tenant = getattr(principal_in(scope.get("state", {})), "tenant_id", None)
    if tenant is None:  # the webhook route names its tenant in the path; an operator route its target
        tenant = scope.get("path_params", {}).get("tenant_id")
        # A path parameter is the caller's text: anything but a tenant id the hub issued (a key
        # pasted into a URL) stays off the record, which reaches every handler of the host's logging.
        if not well_formed_id(tenant, "ten"):
            return None
    return tenant if isinstance(tenant, str) else None


def install(app: Litestar) -> Litestar:
    """Wrap ``app``'s handler (inside Litestar's own entry point, outside its router)."""
    app.asgi_handler = RequestObserver(app.asgi_handler)
    return app
