"""The guard against server-side request forgery: tenants choose the URLs the hub calls.

An endpoint URL is checked when it is registered, and the address is checked again at every
connection: the transport resolves the name once, refuses a forbidden address, and connects to
exactly the address it checked, so a DNS answer that changes between the check and the connect
(rebinding) cannot point the hub at its own network. No proxy from the environment, no redirects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_CHARS = 2048


class BlockedAddress(Exception):
    """The target resolves to an address the hub may not call (loopback, private, link-local...)."""


class UnusableUrl(ValueError):
    """The URL cannot be a notification endpoint; the message says why (never echoing a secret)."""


def forbidden(ip: IPAddress) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 2002:7f00:1::/48 reach IPv4 addresses: judge the address they carry.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return forbidden(embedded)
    return (
        not ip.is_global
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Strip an IPv6 zone ("fe80::1%eth0"): the address alone decides.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def check_addresses(host: str, addresses: Iterable[IPAddress]) -> None:
    if any(forbidden(ip) for ip in addresses):
        raise BlockedAddress("the endpoint's host resolves to a loopback, private, link-local or reserved address")


def check_url_shape(url: str, *, https_only: bool) -> tuple[str, int]:
    """(host, port) of a usable endpoint URL, or UnusableUrl."""
    if len(url) > MAX_URL_CHARS or not url.isprintable() or any(c.isspace() for c in url):
        raise UnusableUrl(f"url must be at most {MAX_URL_CHARS} printable characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnusableUrl("url is not a valid URL") from None
    schemes = ("https",) if https_only else ("https", "http")
    if parts.scheme not in schemes:
        raise UnusableUrl("url must start with https://" if https_only else "url must start with http:// or https://")
    if not parts.hostname:
        raise UnusableUrl("url has no host")
    if parts.username is not None or parts.password is not None:
        raise UnusableUrl("url may not carry a user name or password")
    if parts.fragment:
        raise UnusableUrl("url may not carry a #fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_url(url: str, *, https_only: bool, allow_private: bool) -> None:
    """Refuse a URL the hub must not call (raises UnusableUrl)."""
    host, port = check_url_shape(url, https_only=https_only)
    if allow_private:
        return
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise UnusableUrl("url's host does not resolve") from None
    try:
        check_addresses(host, addresses)
    except BlockedAddress as exc:
        raise UnusableUrl(f"url may not point at the hub's own network: {exc}") from None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks, and connects to the checked address (TLS still verifies the name)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve the endpoint's host ({type(exc).__name__})") from None
        if not self._allow_private:
            check_addresses(host, addresses)
        error: Exception = httpcore.ConnectError("the endpoint's host has no address")
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are never a notification target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(*, timeout: float, allow_private: bool, max_connections: int) -> httpx.AsyncClient:
    """The one HTTP client every notification goes through."""
    transport = httpx.AsyncHTTPTransport(retries=0, trust_env=False)
    # httpx builds its connection pool without a way to pass a network backend; this rebuilds it
    # with the guard (httpx is pinned below 1.0, and a test fails if the guard stops applying).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(allow_private=allow_private),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": "payment-hub-notifications/1"},
    )
