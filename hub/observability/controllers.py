"""``GET /metrics``: the Prometheus exposition, for the platform operator only."""

from __future__ import annotations

from litestar import Response, get

from hub.auth.dependencies import platform_guard
from hub.observability import backlog
from hub.observability.metrics import render
from hub.services import Injected, Services


@get("/metrics", guards=[platform_guard], tags=["operations"], media_type="text/plain")
async def metrics(services: Injected[Services]) -> Response[bytes]:
    """Prometheus text format: requests, Stripe calls, webhook events, notification deliveries, apply
    lag; and the database's backlog (pending events and deliveries), read now."""
    body, content_type = render(await backlog.read(services.engine, services.providers.names()))
    # Litestar appends "; charset=utf-8" to every text/ type; the exposition's own type already has it.
    return Response(content=body, media_type=content_type.replace("; charset=utf-8", ""))
