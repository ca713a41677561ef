"""Rate limits with the ``limits`` library: per API key, and failed authentication per client address.

- A bearer token may make ``HUB_RATE_LIMIT_PER_KEY`` requests a second, with bursts of twice
  that: a moving window of 2N requests over 2 seconds. The token is identified by its SHA-256
  (what the key table stores too), before any database read, so a flood costs no query.
- A client address whose requests failed authentication (401) ``AUTH_FAILURES`` times within a
  minute gets 429 until the window moves on, whatever token it sends next.

Counters live in this process by default; with ``HUB_REDIS_URL`` they live in Redis and every
worker and machine shares them. If Redis cannot be reached the limits are skipped (and logged):
a rate limiter must not take the payment API down with it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import HubError

log = logging.getLogger("hub.ratelimit")

#: Failed authentications one client address may have in a minute.
AUTH_FAILURES = 30
#: Failed console sign-ins one client address may have in a minute (a person at a form types slower).
SIGN_IN_FAILURES = 10
UNLIMITED = ("/v1/webhooks/", "/v1/platform/billing/webhook")


class RateLimited(HubError):
    status, code, title = 429, "rate_limited", "Rate limited"


class Limits:
    """The hub's two limits over one storage (memory, or Redis shared by every worker)."""

    def __init__(self, per_key: int, redis_url: str | None = None) -> None:
        storage: Storage = (
            RedisStorage(_async_uri(redis_url), implementation="redispy") if redis_url else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_key: RateLimitItem = RateLimitItemPerSecond(2 * per_key, 2, namespace="hub-key")
        self.auth_failures: RateLimitItem = RateLimitItemPerMinute(AUTH_FAILURES, namespace="hub-authfail")
        self.sign_in_failures: RateLimitItem = RateLimitItemPerMinute(SIGN_IN_FAILURES, namespace="hub-signin")

    async def _allowed(self, item: RateLimitItem, identity: str, *, hit: bool) -> float | None:
        """None when allowed; else the seconds until it is. Fails open when the storage is down."""
        try:
            ok = await (self.limiter.hit(item, identity) if hit else self.limiter.test(item, identity))
            if ok:
                return None
            stats = await self.limiter.get_window_stats(item, identity)
        except Exception as exc:
            log.warning("rate limit storage unavailable (%s); request not limited", type(exc).__name__)
            return None
        return max(stats.reset_time - time.time(), 1.0)

    async def check(self, token_digest: str | None, address: str) -> None:
        wait = await self._allowed(self.auth_failures, address, hit=False)
        if wait is not None:
            raise _limited("Too many failed authentications from this address; retry later", wait)
        if token_digest is not None:
            wait = await self._allowed(self.per_key, token_digest, hit=True)
            if wait is not None:
                raise _limited("Too many requests with this API key; retry later", wait)

    async def failed_authentication(self, address: str) -> None:
        await self._allowed(self.auth_failures, address, hit=True)

    async def sign_in_wait(self, address: str) -> int | None:
        """Seconds ``address`` must wait before another console sign-in; None when it may try now."""
        wait = await self._allowed(self.sign_in_failures, address, hit=False)
        return None if wait is None else math.ceil(wait)

    async def failed_sign_in(self, address: str) -> None:
        await self._allowed(self.sign_in_failures, address, hit=True)

    async def signed_in(self, address: str) -> None:
        """A successful sign-in forgets the address's failures."""
        try:
            await self.limiter.clear(self.sign_in_failures, address)
        except Exception as exc:
            log.warning("rate limit storage unavailable (%s); sign-in failures not cleared", type(exc).__name__)


def _limited(detail: str, wait: float) -> RateLimited:
    return RateLimited(detail, headers={"Retry-After": str(math.ceil(wait))})


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"


def _bearer_digest(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return hashlib.sha256(token).hexdigest()
    return None


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        limits: Limits | None = getattr(scope["app"].state, "limits", None)
        path = scope["path"]
        # Webhooks carry no token and are verified by signature; a provider's retries are its own.
        if scope["type"] != "http" or limits is None or not path.startswith("/v1/") or path.startswith(UNLIMITED):
            await app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        await limits.check(_bearer_digest(scope), address)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await limits.failed_authentication(address)
            await send(message)

        await app(scope, receive, watch)

    return middleware
