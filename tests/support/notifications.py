"""A tenant's own application, played by a small HTTP server on a loopback port, and helpers.

The server is raw asyncio (no framework between the hub's bytes and the test): it records each
request exactly as received, answers from a script of status codes (200 once the script is
spent), or holds the connection open without ever answering (a dead endpoint).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.support.hub import HubClient, TenantHandle, build_client, make_settings

#: Short schedules and timeouts: a test waits tenths of a second for what production spreads over hours.
FAST = {
    "HUB_NOTIFY_RETRY_SCHEDULE": "0.05,0.05",
    "HUB_NOTIFY_TIMEOUT_SECONDS": "3",
    "HUB_NOTIFY_POLL_SECONDS": "0.05",
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str) -> Any:
        """The message as the Standard Webhooks library verifies it with ``secret`` (raises if not)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    script: list[int] = field(default_factory=list)
    hang: bool = False
    reply: bytes = b"ok"
    location: str | None = None  # sent with every answer (a redirect, when the status is 3xx)
    messages: list[Received] = field(default_factory=list)
    connections: int = 0
    waiting: int = 0  # requests held open, never answered
    holding: int = 0  # of those, the ones whose sender still waits (it has not closed the connection)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, path, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.messages.append(Received(method, path, headers, body))
        if self.hang:
            self.waiting += 1
            self.holding += 1
            try:
                await reader.read()  # nothing more comes until the sender gives up and closes
            finally:
                self.holding -= 1
            return False
        status = self.script.pop(0) if self.script else 200
        head = f"HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {len(self.reply)}\r\n"
        if self.location:
            head += f"location: {self.location}\r\n"
        writer.write(head.encode() + b"\r\n" + self.reply)
        await writer.drain()
        return True

    def of_type(self, type_: str) -> list[Received]:
        return [m for m in self.messages if m.json()["type"] == type_]


@asynccontextmanager
async def receiver(**kw: Any) -> AsyncIterator[Receiver]:
    r = await Receiver(**kw).start()
    try:
        yield r
    finally:
        await r.stop()


async def eventually(check: Callable[[], Any] | Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def add_endpoint(
    hub: HubClient, tenant: TenantHandle, url: str, events: list[str] | None = None, **headers: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["enabled_events"] = events
    r = await hub.request("POST", "/v1/notification-endpoints", json=body, headers={**tenant.admin, **headers})
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries(hub: HubClient, tenant: TenantHandle, endpoint_id: str) -> list[dict[str, Any]]:
    r = await hub.request("GET", f"/v1/notification-endpoints/{endpoint_id}/deliveries?limit=100", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@asynccontextmanager
async def notify_hub(database_url: str, home: str, emulator_url: str, **env: str) -> AsyncIterator[HubClient]:
    """A hub with short notification schedules (``env`` adds or overrides HUB_* settings), on the
    app built once for these settings (``build_client(shared=True)``: give it the run's shared home)."""
    settings = make_settings(database_url, home, HUB_STRIPE_API_BASE=emulator_url, **{**FAST, **env})
    async with build_client(settings, shared=True) as client:
        yield HubClient(client, settings)


def settled(hub: HubClient, tenant: TenantHandle, endpoint_id: str, n: int, status: str = "delivered"):
    """A check for ``eventually``: the endpoint has ``n`` deliveries, all in ``status``."""

    async def check() -> list[dict[str, Any]] | None:
        listed = await deliveries(hub, tenant, endpoint_id)
        return listed if len(listed) == n and all(d["status"] == status for d in listed) else None

    return check
