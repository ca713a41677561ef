"""A fault-injecting HTTP/1.1 proxy in front of the Stripe emulator: Stripe trouble as a real network hop.

An in-process httpx transport cannot show what the hub's network code does with a socket: a
connection reset by the peer, a body cut off on the wire, an answer that arrives after the
hub's deadline. This proxy listens on a free loopback port (``HUB_STRIPE_API_BASE`` points the
hub at it), forwards to the emulator, and, per rule (method, path prefix, nth occurrence),
injects one of ``FAULTS`` instead of relaying the answer faithfully.

It also plays three things of Stripe the emulator lacks, since the hub relies on them:
- Idempotency. localstripe ignores ``Idempotency-Key``; Stripe keeps the first answer to a POST
  for a given (API key, Idempotency-Key) and replays it (``Idempotent-Replayed: true``) instead of
  acting again; the same key with other parameters is a 400 ``idempotency_error``, and while the
  first request runs a second one is a 409. The cache is what lets a test count objects at the
  emulator and prove that every retry carried the same key: a new key would act a second time.
- Search, for ``metadata['k']:'v'`` queries on PaymentIntents (what sync uses to find a payment
  whose creation answer was lost), over the PaymentIntents created through this proxy, each read
  again from the emulator. (Listing the emulator instead costs a full scan per page of its one
  store for the whole run: seconds, past a short deadline, once a few hundred exist.)
- Connect (``connect``, tests/support/stripe_connect.py): connected accounts, account links,
  transfers and their reversals, and the Connect parameters of PaymentIntents and refunds, answered here
  behind the same faults and the same idempotency replay.
- Invoices and Payment Links (``invoicing``, tests/support/stripe_invoicing.py), which localstripe
  lacks or predates.

HTTP/1.1 with keep-alive and Content-Length bodies (what the SDK sends). Runs its own event loop
in a thread, so it serves while the test's loop waits on the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.emulator import free_port
from tests.support.stripe_connect import ConnectStandIn, stripe_json
from tests.support.stripe_invoicing import Invoicing

#: fault -> whether the request reaches the emulator (Stripe acts) before the fault.
FAULTS = {
    "delay": True,  # the answer is held back (``hold`` seconds, by default past any deadline)
    "error_500": True,  # Stripe acted; its answer is replaced by a 500 api_error
    "rate_limit_429": False,  # refused before Stripe acts
    "reset_before": False,  # connection reset after the request was read, before forwarding
    "reset_after": True,  # Stripe acted; the connection is reset instead of answering
    "truncate": True,  # Stripe acted; half the body is sent under the full Content-Length, then EOF
}
_HOP = {"connection", "content-length", "content-encoding", "transfer-encoding", "keep-alive", "date", "server"}
_QUERY_CLAUSE = re.compile(r"metadata\['([^']+)'\]\s*:\s*'([^']*)'")


@dataclass
class Rule:
    fault: str
    method: str
    path: str  # a prefix
    nth: int = 1
    times: int | None = 1  # None: every matching request from the nth on
    hold: float = 3600.0
    seen: int = 0

    def hits(self, method: str, path: str) -> bool:
        if method != self.method or not path.startswith(self.path):
            return False
        self.seen += 1
        return self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it; ``outcome``: forwarded, replayed, rejected, not_forwarded."""

    method: str
    path: str
    idempotency_key: str | None
    outcome: str
    fault: str | None


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, body: bytes | None = None) -> bytes:
        reason = HTTPStatus(self.status).phrase
        lines = [f"HTTP/1.1 {self.status} {reason}", *(f"{k}: {v}" for k, v in self.headers.items())]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (self.body if body is None else body)


def stripe_error(status: int, type_: str, message: str) -> Answer:
    body = json.dumps({"error": {"type": type_, "message": message}}).encode()
    return Answer(status, {"Content-Type": "application/json"}, body)


class StripeProxy:
    def __init__(self, emulator_url: str, port: int | None = None) -> None:
        """``port``: the loopback port to listen on (a free one when not given); a proxy made for each
        test on its worker's one port keeps the hub's settings, so the app built for them serves again."""
        self.emulator_url = emulator_url
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._cache: dict[tuple[str, str], tuple[str, Answer]] = {}
        self._running: set[tuple[str, str]] = set()
        self._intents: dict[str, list[str]] = {}  # Authorization -> PaymentIntent ids created through here
        self._rewrites: list[Callable[[dict], None]] = []
        #: Stripe Connect, played here (localstripe has none); its test hooks are the test's to call.
        self.connect = ConnectStandIn()
        #: Invoices and Payment Links, played here too.
        self.invoicing = Invoicing()
        self._tasks: set[asyncio.Task] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.base_events.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._run(self._start())

    # -- the test's side ------------------------------------------------------------------

    def inject(
        self, fault: str, method: str, path: str, *, nth: int = 1, times: int | None = 1, hold: float = 3600.0
    ) -> None:
        """From the ``nth`` request matching (method, path prefix) on, ``times`` of them (None: all) get ``fault``."""
        assert fault in FAULTS, fault
        with self._lock:
            self._rules.append(Rule(fault, method.upper(), path, nth, times, hold))

    def refuse(self, method: str, path: str, *, times: int | None = 1) -> None:
        """Matching requests are refused as Stripe refuses a bad one (400 ``invalid_request_error``),
        before anything is made."""
        with self._lock:
            self._rules.append(Rule("refuse", method.upper(), path, 1, times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rewrite(self, change: Callable[[dict], None]) -> None:
        """Every JSON object the emulator answers passes through ``change`` (which edits it in place)
        before the hub reads it: a field Stripe sends that the emulator leaves out, say."""
        with self._lock:
            self._rewrites.append(change)

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def posts(self, path: str) -> list[Seen]:
        """The POSTs to exactly ``path``, in order."""
        return [s for s in self.requests if s.method == "POST" and s.path == path]

    def close(self) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.emulator_url, timeout=10)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        assert self._server is not None and self._client is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    # -- the proxy's side -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is done."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines if ":" in h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path = urlsplit(target).path
        key = headers.get("idempotency-key") if method == "POST" else None
        with self._lock:
            rule = next((r for r in self._rules if r.hits(method, path)), None)
        fault = rule.fault if rule else None

        def record(outcome: str) -> None:
            with self._lock:
                self._seen.append(Seen(method, path, key, outcome, fault))

        if rule is not None and rule.fault == "refuse":
            record("not_forwarded")
            writer.write(stripe_error(400, "invalid_request_error", "This request was refused.").encode())
            await writer.drain()
            return True
        if rule is not None and not FAULTS[rule.fault]:
            record("not_forwarded")
            if rule.fault == "reset_before":
                _reset(writer)
                return False
            writer.write(stripe_error(429, "rate_limit_error", "Too many requests hit the API too quickly.").encode())
            await writer.drain()
            return True
        answer, outcome = await self._answer(method, target, headers, body, key)
        record(outcome)
        if rule is None:
            writer.write(answer.encode())
        elif rule.fault == "delay":
            await asyncio.sleep(rule.hold)
            writer.write(answer.encode())
        elif rule.fault == "error_500":
            writer.write(stripe_error(500, "api_error", "Something went wrong on Stripe's end.").encode())
        elif rule.fault == "reset_after":
            _reset(writer)
            return False
        else:  # truncate
            writer.write(answer.encode(answer.body[: len(answer.body) // 2]))
            await writer.drain()
            return False
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    async def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, key: str | None
    ) -> tuple[Answer, str]:
        """Stripe's answer: replayed for a known idempotency key, otherwise the emulator's."""
        if key is None:
            answer = await self._forward(method, target, headers, body)
            self._index(method, target, headers, answer)
            return answer, "forwarded"
        scope = (headers.get("authorization", ""), key)
        fingerprint = f"{target}\x00{body.decode('latin-1')}"
        with self._lock:
            cached, running = self._cache.get(scope), scope in self._running
            if cached is None and not running:
                self._running.add(scope)
        if cached is not None:
            if cached[0] != fingerprint:
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they were first used with."
                )
                return stripe_error(400, "idempotency_error", message), "rejected"
            replay = cached[1]
            return Answer(replay.status, {**replay.headers, "Idempotent-Replayed": "true"}, replay.body), "replayed"
        if running:
            message = "There is currently another in-progress request using this Stripe API key and idempotency key."
            return stripe_error(409, "idempotency_error", message), "rejected"
        try:
            answer = await self._forward(method, target, headers, body)
            with self._lock:
                self._cache[scope] = (fingerprint, answer)
            self._index(method, target, headers, answer)
        finally:
            with self._lock:
                self._running.discard(scope)
        return answer, "forwarded"

    async def _forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        assert self._client is not None
        parts = urlsplit(target)
        if method == "GET" and parts.path == "/v1/payment_intents/search":
            return await self._search(headers, parse_qs(parts.query))
        sent = {k: v for k, v in headers.items() if k not in _HOP | {"host", "accept-encoding"}}
        sent["accept-encoding"] = "identity"
        if Invoicing.handles(parts.path):
            status, content = self.invoicing.answer(method, target, body)
            return Answer(status, {"Content-Type": "application/json"}, content)
        if self.connect.handles(method, parts.path):

            async def emulator(m: str, t: str, b: bytes) -> tuple[int, dict]:
                assert self._client is not None
                r = await self._client.request(m, t, headers=sent, content=b)
                try:
                    return r.status_code, r.json()
                except ValueError:  # not JSON: passed on as Stripe's generic error
                    return r.status_code or 500, {"error": {"type": "api_error", "message": "Unreadable answer."}}

            reply = await self.connect.answer(
                method, parts.path, parts.query, body, headers.get("authorization", ""), emulator
            )
            content = self._rewritten(reply.status, stripe_json(reply))
            return Answer(reply.status, {"Content-Type": "application/json"}, content)
        r = await self._client.request(method, target, headers=sent, content=body)
        content = r.content
        if parts.path.startswith(("/v1/payment_intents", "/v1/refunds")) and r.status_code == 200:
            content = json.dumps(self.connect.splice(r.json())).encode()
        content = self._rewritten(r.status_code, content)
        return Answer(r.status_code, {k: v for k, v in r.headers.items() if k.lower() not in _HOP}, content)

    def _rewritten(self, status: int, content: bytes) -> bytes:
        """``content`` through the test's rewrites (``rewrite``), when it is a successful JSON answer."""
        with self._lock:
            rewrites = list(self._rewrites)
        if not rewrites or status != 200:
            return content
        obj = json.loads(content)
        for change in rewrites:
            change(obj)
        return json.dumps(obj).encode()

    def _index(self, method: str, target: str, headers: dict[str, str], answer: Answer) -> None:
        """Remember a PaymentIntent created through here, for ``_search``."""
        if method == "POST" and urlsplit(target).path == "/v1/payment_intents" and answer.status == 200:
            self._intents.setdefault(headers.get("authorization", ""), []).append(json.loads(answer.body)["id"])

    async def _search(self, headers: dict[str, str], query: dict[str, list[str]]) -> Answer:
        """Stripe's PaymentIntent search for ``metadata['k']:'v'`` clauses (AND)."""
        assert self._client is not None
        wanted = dict(_QUERY_CLAUSE.findall(query.get("query", [""])[0]))
        if not wanted:
            return stripe_error(400, "invalid_request_error", "Only metadata['key']:'value' queries are emulated.")
        auth = {"authorization": headers.get("authorization", "")}
        found: list[dict] = []
        for pid in self._intents.get(auth["authorization"], []):
            pi = (await self._client.get(f"/v1/payment_intents/{pid}", headers=auth)).json()
            if all((pi.get("metadata") or {}).get(k) == v for k, v in wanted.items()):
                found.append(self.connect.splice(pi))
        limit = int(query.get("limit", ["10"])[0])
        result = {"object": "search_result", "url": "/v1/payment_intents/search", "has_more": False}
        return Answer(200, {"Content-Type": "application/json"}, json.dumps({**result, "data": found[:limit]}).encode())


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, not a FIN: SO_LINGER with a zero timeout, then abort."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
