"""``GET /metrics``: the Prometheus exposition, for the platform operator only."""

from __future__ import annotations

from litestar import Response, get

from hub.auth.dependencies import platform_guard
from hub.observability.metrics import render


@get("/metrics", guards=[platform_guard], tags=["operations"], sync_to_thread=False, media_type="text/plain")
def metrics() -> Response[bytes]:
    """Prometheus text format: requests, Stripe calls, webhook events, notification deliveries, apply lag."""
    body, content_type = render()
    # Litestar appends "; charset=utf-8" to every text/ type; the exposition's own type already has it.
    return Response(content=body, media_type=content_type.replace("; charset=utf-8", ""))
