"""Rate limits with the ``limits`` library: per API key, failed authentication per client address,
and console sign-ins.

- A bearer token may make ``HUB_RATE_LIMIT_PER_KEY`` requests a second, with bursts of twice
  that: a moving window of 2N requests over 2 seconds. The token is identified by its SHA-256
  (what the key table stores too), before any database read.
- A client address may fail authentication ``AUTH_FAILURES`` times a minute; past that, each
  further failure from it is answered 429 instead of 401 until the window moves on. Only failures
  are limited: the token is still looked up (one indexed read), and a valid key is served
  whatever others sent from the same address (behind a proxy, every tenant's). The trade: a
  locked-out guesser still learns which of its guesses is right. What makes guessing hopeless is
  the keys' 256 random bits (and a platform token of at least 32 characters in prod), not this
  limit; refusing valid keys would hand anyone at a shared address a denial of service.
- Console sign-ins: ``SIGN_IN_FAILURES`` failures a minute per address, counted whether or not
  someone signs in successfully in between; and ``SIGN_INS_PER_KEY`` successful sign-ins a minute
  per key, so a script cannot fill the session table.

Counters live in this process by default; with ``HUB_REDIS_URL`` they live in Redis and every
worker and machine shares them. In process, the per-key rate (checked on every API request) is a
token bucket of ``2N`` tokens refilled at ``N`` a second: one dict update a request. The rarer
limits keep the ``limits`` library's moving windows, in memory or in Redis. If Redis cannot be
reached the limits are skipped (and logged):
a rate limiter must not take the payment API down with it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from litestar.types import ASGIApp, Receive, Scope, Send

from hub.errors import HubError
from hub.services import running

log = logging.getLogger("hub.ratelimit")

#: Failed authentications one client address may have in a minute.
AUTH_FAILURES = 30
#: Failed console sign-ins one client address may have in a minute (a person at a form types slower).
SIGN_IN_FAILURES = 10
#: Successful console sign-ins one admin key may make in a minute.
SIGN_INS_PER_KEY = 5
UNLIMITED = ("/v1/webhooks/", "/v1/platform/billing/webhook")


class RateLimited(HubError):
    status, code, title = 429, "rate_limited", "Rate limited"


class TokenBuckets:
    """Per-identity token buckets in this process: ``rate`` tokens a second, at most ``capacity``.

    Bounded: past ``max_entries`` identities the least recently used is dropped (a dropped
    bucket starts full again, which only ever lets a long-idle caller in).
    """

    def __init__(self, rate: float, capacity: float, max_entries: int = 100_000) -> None:
        self.rate, self.capacity, self.max_entries = rate, capacity, max_entries
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # identity -> (tokens, at)
        self._clock = time.monotonic

    def take(self, identity: str) -> float | None:
        """Take a token: None when there was one, else the seconds until there is."""
        now = self._clock()
        tokens, at = self._buckets.pop(identity, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[identity] = (tokens - 1, now)
            if len(self._buckets) > self.max_entries:
                self._buckets.popitem(last=False)
            return None
        self._buckets[identity] = (tokens, now)
        return (1 - tokens) / self.rate


class Limits:
    """The hub's limits over one storage (memory, or Redis shared by every worker)."""

    def __init__(self, per_key: int, redis_url: str | None = None) -> None:
        storage: Storage = (
            RedisStorage(_async_uri(redis_url), implementation="redispy") if redis_url else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(storage)
        # In process, the per-key check is a token bucket; with Redis every worker shares the window.
        self.buckets = None if redis_url else TokenBuckets(per_key, 2 * per_key)
        self.per_key: RateLimitItem = RateLimitItemPerSecond(2 * per_key, 2, namespace="hub-key")
        self.auth_failures: RateLimitItem = RateLimitItemPerMinute(AUTH_FAILURES, namespace="hub-authfail")
        self.sign_in_failures: RateLimitItem = RateLimitItemPerMinute(SIGN_IN_FAILURES, namespace="hub-signin")
        self.sign_ins: RateLimitItem = RateLimitItemPerMinute(SIGN_INS_PER_KEY, namespace="hub-signin-key")

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

    async def check(self, token_digest: str) -> None:
        """The token's own rate: before any database read, so a flood with one token costs no query."""
        if self.buckets is not None:
            wait = self.buckets.take(token_digest)
            if wait is not None:
                raise _limited("Too many requests with this API key; retry later", max(wait, 1.0))
            return
        wait = await self._allowed(self.per_key, token_digest, hit=True)
        if wait is not None:
            raise _limited("Too many requests with this API key; retry later", wait)

    async def failed_authentication(self, address: str) -> RateLimited | None:
        """Count a failure of ``address``: the 429 to answer instead of 401 once it has failed too often."""
        wait = await self._allowed(self.auth_failures, address, hit=True)
        if wait is None:
            return None
        return _limited("Too many failed authentications from this address; retry later", wait)

    async def failed_sign_in(self, address: str) -> int | None:
        """Count a failed console sign-in: the seconds ``address`` must wait once it has failed too often."""
        wait = await self._allowed(self.sign_in_failures, address, hit=True)
        return None if wait is None else math.ceil(wait)

    async def sign_in(self, key_id: str) -> int | None:
        """Count a successful sign-in with the key ``key_id``: the seconds to wait when it has made too many."""
        wait = await self._allowed(self.sign_ins, key_id, hit=True)
        return None if wait is None else math.ceil(wait)


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
    """The per-key limit; failed authentications are counted where they fail (``hub.auth``)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        services = running(scope["app"])
        limits = services.limits if services is not None else None
        path = scope["path"]
        # Webhooks carry no token and are verified by signature; a provider's retries are its own.
        limited = scope["type"] == "http" and path.startswith("/v1/") and not path.startswith(UNLIMITED)
        token_digest = _bearer_digest(scope) if limited and limits is not None else None
        if limits is not None and token_digest is not None:
            await limits.check(token_digest)
        await app(scope, receive, send)

    return middleware
