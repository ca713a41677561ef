"""Who the client is behind a reverse proxy: ``X-Forwarded-For`` from the peers in ``HUB_TRUSTED_PROXIES``.

The hub answers the address it sees for rate limits and logs. By default that is the
connection's peer, and ``X-Forwarded-For`` is ignored: anyone can send the header. When the
operator names the proxies in front of the hub, a request whose peer is one of them has its
client address (and ``X-Forwarded-Proto`` its scheme) taken from the headers, the last entry
not itself a trusted proxy winning, so a client cannot pick its own address by prepending one.
uvicorn's middleware does the reading; the hub applies it itself, under whatever ASGI server.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def install(app: Litestar, trusted: tuple[str, ...]) -> Litestar:
    """Wrap ``app``'s handler (outermost) when there are proxies to trust; leave it alone otherwise."""
    if trusted:
        handler: Any = app.asgi_handler
        app.asgi_handler = ProxyHeadersMiddleware(handler, trusted_hosts=list(trusted))  # type: ignore[assignment]
    return app
