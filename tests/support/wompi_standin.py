"""A Wompi stand-in: Wompi's public REST API (v1) as a real HTTP server on a free loopback port.

There is no public Wompi emulator, so this one plays what the hub relies on, from Wompi's own
documentation (docs.wompi.co: "Ambientes y llaves", "Tokens de aceptación", "Métodos de pago",
"Datos de prueba en Sandbox", "Eventos", "Errores del API", the API reference):

- merchants with four credentials (``pub_test_…``, ``prv_test_…``, ``test_events_…``,
  ``test_integrity_…``), made by ``WompiStandin.add_merchant``;
- ``GET /v1/merchants/{public_key}`` (no auth): the presigned acceptance and personal-data
  tokens with their permalinks; an unknown public key is 404 ``NOT_FOUND_ERROR``;
- ``POST /v1/tokens/cards`` (public key): sandbox cards 4242 4242 4242 4242 (approved) and
  4111 1111 1111 1111 (declined); any other number that passes Luhn ends in ``ERROR`` (a choice
  of this stand-in: Wompi documents only the two);
- ``POST /v1/transactions`` (public or private key): the acceptance token, the integrity
  ``signature`` (SHA-256 hex of reference + amount_in_cents + currency [+ expiration_time] +
  integrity secret), ``reference`` unique per merchant (a second create is a 422
  ``INPUT_VALIDATION_ERROR`` on ``reference``), the minimum of 1,500 COP; payment methods CARD,
  NEQUI (3991111111 approved, 3992222222 declined, other numbers ``ERROR``), PSE (financial
  institution "1" approves, "2" declines) and BANCOLOMBIA_TRANSFER (approves). The answer is
  201 with ``status: PENDING``; for PSE and Bancolombia the ``async_payment_url`` appears in
  ``payment_method.extra`` ``url_delay`` seconds later;
- ``GET /v1/transactions/{id}`` (public or private key), ``GET /v1/transactions?reference=``
  (private key only);
- ``POST /v1/transactions/{id}/void`` (private key): an APPROVED CARD transaction, whole amount;
  it becomes VOIDED;
- ``GET /v1/pse/financial_institutions`` (public key);
- a missing or unknown key is 401 ``INVALID_ACCESS_TOKEN``; a public key where the private one
  is needed is 401 as well.

Settlement: a transaction leaves PENDING for its sandbox outcome ``settle_delay`` seconds after
creation (``None``: only when a test calls ``settle``). Each status change (settlement, void) is
sent as a signed ``transaction.updated`` event to the merchant's ``events_url`` (the hub's
``/v1/webhooks/wompi/{tenant_id}``): ``signature.properties`` = ``["transaction.id",
"transaction.status", "transaction.amount_in_cents"]``, ``checksum`` = SHA-256 hex of those
values, then ``timestamp``, then the events secret; also in header ``X-Event-Checksum``.

A merchant without an events URL keeps its events (``events_of``) for a test to hand to an
in-process hub itself. A failed delivery is not retried by itself (Wompi retries after 30 minutes,
3 hours and 24 hours): a test calls ``resend``.

For tests: ``deliveries`` (every event sent and the hub's answer), ``resend``, ``forge`` (an event
signed with any secret, about any transaction), ``tamper`` (a delivered event with one value
changed, the checksum left as it was), ``inject`` (a delay or an error status before or after
acting), and counters: ``created`` (transactions created per reference), ``voids`` (per
transaction id), ``requests`` (per "METHOD /path/{id}") and ``refused`` (answers >= 400 per the
same key), so a test can prove one transaction per Idempotency-Key and that nothing reached
Wompi on a refused request. The bank page an ``async_payment_url`` names is a plain HTML page here.

The server is a bare ASGI app under uvicorn, on its own event loop in a daemon thread, so it
serves while the test's loop waits on the hub.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn

from tests.support.canaries.ledger import LEDGER

APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4111111111111111"
APPROVED_NEQUI = "3991111111"
DECLINED_NEQUI = "3992222222"
APPROVED_BANK = "1"
DECLINED_BANK = "2"
MIN_AMOUNT_IN_CENTS = 150_000  # 1,500 COP
EVENT_PROPERTIES = ["transaction.id", "transaction.status", "transaction.amount_in_cents"]
FINAL = frozenset({"APPROVED", "DECLINED", "VOIDED", "ERROR"})
PSE_BANKS = [
    {"financial_institution_code": "0", "financial_institution_name": "A continuación seleccione su banco"},
    {"financial_institution_code": APPROVED_BANK, "financial_institution_name": "Banco que aprueba"},
    {"financial_institution_code": DECLINED_BANK, "financial_institution_name": "Banco que rechaza"},
]

_ID_SEGMENT = re.compile(r"[0-9]+-[0-9]+-[0-9]+|(pub|prv)_(test|prod)_[A-Za-z0-9]+|tok_[A-Za-z0-9_]+")


def integrity_signature(
    reference: str, amount_in_cents: int, currency: str, secret: str, expiration_time: str | None = None
) -> str:
    """Wompi's integrity signature, computed here on its own (not with the plugin's code)."""
    text = f"{reference}{amount_in_cents}{currency}{expiration_time or ''}{secret}"
    return hashlib.sha256(text.encode()).hexdigest()


def event_checksum(data: dict[str, Any], properties: list[str], timestamp: int, secret: str) -> str:
    values = []
    for path in properties:
        node: Any = data
        for part in path.split("."):
            node = node[part]
        values.append(str(node))
    return hashlib.sha256(("".join(values) + str(timestamp) + secret).encode()).hexdigest()


def luhn(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path_key(method: str, path: str) -> str:
    return f"{method} " + "/".join("{id}" if _ID_SEGMENT.fullmatch(s) else s for s in path.split("/"))


@dataclass
class Merchant:
    id: int
    public_key: str
    private_key: str
    events_secret: str
    integrity_secret: str
    name: str = "Comercio de pruebas"
    #: Where ``transaction.updated`` events go; ``None``: nowhere.
    events_url: str | None = None
    acceptance_token: str = ""
    personal_data_token: str = ""
    #: Every token this merchant ever presigned: an older one still works (Wompi's tokens expire, these do not).
    accepted_tokens: set[str] = field(default_factory=set)

    @property
    def credentials(self) -> dict[str, str]:
        """The body of the hub's ``PUT /v1/providers/wompi/credentials``."""
        return {
            "public_key": self.public_key,
            "private_key": self.private_key,
            "events_secret": self.events_secret,
            "integrity_secret": self.integrity_secret,
        }


@dataclass(frozen=True)
class Delivery:
    """One event for a merchant: POSTed to ``url`` (``status``: the answer's, ``None``: no answer), or,
    when the merchant has no events URL (``url`` is ``None``), only kept, for a test to hand to an
    in-process hub itself (``content`` and ``headers`` are exactly what Wompi would send)."""

    url: str | None
    content: bytes
    headers: dict[str, str]
    status: int | None
    #: The merchant the event is for (its public key); ``None`` for one a test sent by hand.
    public_key: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.content)


@dataclass
class Fault:
    """Trouble for the next ``times`` requests matching ``key`` ("METHOD /v1/path/{id}"): held back
    ``delay`` seconds, then, with ``status``, answered with that error, before acting (``after=False``:
    nothing happens at Wompi) or after (``after=True``: Wompi acted, its answer is lost)."""

    key: str
    status: int | None = None
    delay: float = 0.0
    after: bool = False
    times: int = 1


class Problem(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _invalid_token(reason: str) -> Problem:
    return Problem(401, {"error": {"type": "INVALID_ACCESS_TOKEN", "reason": reason}})


def _not_found(reason: str) -> Problem:
    return Problem(404, {"error": {"type": "NOT_FOUND_ERROR", "reason": reason}})


def _invalid(messages: dict[str, list[str]]) -> Problem:
    return Problem(422, {"error": {"type": "INPUT_VALIDATION_ERROR", "messages": messages}})


class WompiStandin:
    def __init__(self, *, settle_delay: float | None = 0.05, url_delay: float = 0.02) -> None:
        self.settle_delay = settle_delay
        self.url_delay = url_delay
        self._lock = threading.RLock()
        self.merchants: dict[str, Merchant] = {}  # by public key
        self._by_private: dict[str, Merchant] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self._owner: dict[str, Merchant] = {}  # transaction id -> merchant
        self._references: dict[tuple[int, str], str] = {}  # (merchant id, reference) -> transaction id
        self._tokens: dict[str, tuple[Merchant, dict[str, Any], str]] = {}  # tok -> (merchant, card extra, outcome)
        self._outcomes: dict[str, str] = {}  # transaction id -> the status it settles to
        self.created: Counter[str] = Counter()
        self.voids: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.deliveries: list[Delivery] = []
        self._delivered = threading.Condition(self._lock)
        self._merchant_seq = 10_000
        self._tasks: set[asyncio.Task[None]] = set()
        self._faults: list[Fault] = []

        self._sock = socket.socket()
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms pause per keep-alive answer
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        #: The API base, as ``HUB_WOMPI_API_BASE`` takes it.
        self.url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(
            self._app, interface="asgi3", log_level="warning", access_log=False, lifespan="off", server_header=False
        )
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="wompi-standin", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Wompi stand-in did not start within 10 s")

    # -- life cycle ---------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._client = httpx.AsyncClient(timeout=5)

        async def main() -> None:
            serving = asyncio.ensure_future(self._server.serve(sockets=[self._sock]))
            while not self._server.started and not serving.done():
                await asyncio.sleep(0.005)
            self._started.set()
            await serving

        try:
            self._loop.run_until_complete(main())
        finally:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # -- the test's side ----------------------------------------------------------------------

    def add_merchant(self, *, events_url: str | None = None, prod: bool = False) -> Merchant:
        """A new merchant with its four credentials (sandbox ones unless ``prod``)."""
        env = "prod" if prod else "test"
        with self._lock:
            self._merchant_seq += 1
            merchant = Merchant(
                id=self._merchant_seq,
                public_key=f"pub_{env}_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}",
                private_key=f"prv_{env}_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}",
                events_secret=f"{env}_events_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}",
                integrity_secret=f"{env}_integrity_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}",
                events_url=events_url,
            )
            self._presign(merchant)
            self.merchants[merchant.public_key] = merchant
            self._by_private[merchant.private_key] = merchant
        LEDGER.add_public(merchant.public_key)
        for value, what in (
            (merchant.private_key, "private key"),
            (merchant.events_secret, "events secret"),
            (merchant.integrity_secret, "integrity secret"),
        ):
            LEDGER.harvest(value, f"a Wompi {what} the Wompi stand-in made")
        return merchant

    def inject(
        self, key: str, *, status: int | None = None, delay: float = 0.0, after: bool = False, times: int = 1
    ) -> None:
        """The next ``times`` requests matching ``key`` (``"GET /v1/transactions/{id}"``) meet a ``Fault``."""
        with self._lock:
            self._faults.append(Fault(key, status, delay, after, times))

    def revoke(self, merchant: Merchant) -> None:
        """The merchant's keys stop working (as after a rotation in Wompi's dashboard)."""
        with self._lock:
            self.merchants.pop(merchant.public_key, None)
            self._by_private.pop(merchant.private_key, None)

    def card_token(self, merchant: Merchant, number: str = APPROVED_CARD) -> str:
        """A card token, made over HTTP as the Wompi widget would in the buyer's browser."""
        answer = httpx.post(
            f"{self.url}/tokens/cards",
            headers={"Authorization": f"Bearer {merchant.public_key}"},
            json={"number": number, "cvc": "123", "exp_month": "08", "exp_year": "30", "card_holder": "José Pérez"},
            timeout=5,
        )
        answer.raise_for_status()
        return str(answer.json()["data"]["id"])

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.transactions[transaction_id])

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(t) for t in self.transactions.values() if t["reference"] == reference]

    def settle(self, transaction_id: str, status: str | None = None) -> None:
        """Settles a PENDING transaction now: to its sandbox outcome, or to ``status``; sends the event."""
        self._submit(self._settle(transaction_id, status))

    def show_async_url(self, transaction_id: str) -> None:
        """Makes a PSE or Bancolombia transaction's bank URL appear now."""
        self._submit(self._show_url(transaction_id))

    def wait_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Waits until at least ``count`` events were delivered (or tried); returns them all."""
        with self._delivered:
            if not self._delivered.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise AssertionError(f"{len(self.deliveries)} event deliveries, expected {count}")
            return list(self.deliveries)

    def events_of(self, merchant: Merchant) -> list[Delivery]:
        """The events the stand-in made for ``merchant`` (settlements, voids), in order."""
        with self._lock:
            return [d for d in self.deliveries if d.public_key == merchant.public_key]

    def wait_events(self, merchant: Merchant, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Waits until ``merchant`` has at least ``count`` events; returns them."""
        with self._delivered:
            if not self._delivered.wait_for(lambda: len(self.events_of(merchant)) >= count, timeout):
                raise AssertionError(f"{len(self.events_of(merchant))} events for the merchant, expected {count}")
            return self.events_of(merchant)

    def __enter__(self) -> WompiStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_status(self, transaction_id: str, timeout: float = 5.0) -> str:
        """Waits until the transaction has left PENDING; returns its status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                status = str(self.transactions[transaction_id]["status"])
            if status != "PENDING":
                return status
            time.sleep(0.005)
        raise AssertionError(f"transaction {transaction_id} still PENDING after {timeout} s")

    def event_for(
        self,
        merchant: Merchant,
        transaction: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        properties: list[str] | None = None,
    ) -> dict[str, Any]:
        """A ``transaction.updated`` event about ``transaction``, signed with ``secret`` (the merchant's by default)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        properties = list(EVENT_PROPERTIES if properties is None else properties)
        data = {"transaction": copy.deepcopy(transaction)}
        checksum = event_checksum(data, properties, timestamp, merchant.events_secret if secret is None else secret)
        return {
            "event": "transaction.updated",
            "data": data,
            "environment": "prod" if merchant.public_key.startswith("pub_prod_") else "test",
            "signature": {"properties": properties, "checksum": checksum},
            "timestamp": timestamp,
            "sent_at": _now(),
        }

    def send(self, url: str | None, event: dict[str, Any], *, checksum_header: bool = True) -> Delivery:
        """POSTs ``event`` to ``url`` as Wompi would (``None``: only keeps it), records and returns the delivery."""
        return self._submit(self._post(url, event, checksum_header=checksum_header))

    def resend(self, delivery: Delivery) -> Delivery:
        """The same event delivered again, byte for byte (Wompi retries a delivery it thinks failed)."""
        return self._submit(self._post_raw(delivery.url, delivery.content, dict(delivery.headers)))

    def forge(
        self,
        merchant: Merchant,
        transaction: dict[str, Any],
        *,
        secret: str = "test_events_forged",
        url: str | None = None,
    ) -> Delivery:
        """An event signed with another secret than the merchant's, sent to its events URL (or ``url``)."""
        return self.send(url or merchant.events_url, self.event_for(merchant, transaction, secret=secret))

    def tamper(self, delivery: Delivery, path: str, value: Any, *, send: bool = True) -> Delivery:
        """``delivery``'s event with the value at ``path`` (dotted, into the event) changed, checksum kept."""
        body = copy.deepcopy(delivery.body)
        node = body
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
        if not send:
            return Delivery(None, json.dumps(body).encode(), dict(delivery.headers), None)
        return self._submit(self._post_raw(delivery.url, json.dumps(body).encode(), dict(delivery.headers)))

    # -- the server's side --------------------------------------------------------------------

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        method, path = scope["method"], scope["path"]
        if method == "GET" and path.startswith("/bank/"):
            page = b"<!doctype html><title>Banco de pruebas</title><p>Pago en proceso</p>"
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": page})
            return
        key = _path_key(method, path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        with self._lock:
            self.requests[key] += 1
            fault = next((f for f in self._faults if f.key == key and f.times > 0), None)
            if fault is not None:
                fault.times -= 1
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None and not fault.after:
            status, payload = fault.status, {"error": {"type": "INTERNAL_ERROR", "reason": "Fallo inyectado"}}
        else:
            try:
                status, payload = self._route(method, path, headers, query, b"".join(chunks))
            except Problem as problem:
                status, payload = problem.status, problem.body
            if fault is not None and fault.status is not None:
                status, payload = fault.status, {"error": {"type": "INTERNAL_ERROR", "reason": "Fallo inyectado"}}
        if status >= 400:
            with self._lock:
                self.refused[key] += 1
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _route(
        self, method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if not parts or parts[0] != "v1":
            raise _not_found("La entidad solicitada no existe")
        parts = parts[1:]
        if method == "GET" and len(parts) == 2 and parts[0] == "merchants":
            return 200, {"data": self._merchant_view(parts[1])}
        if method == "GET" and parts == ["pse", "financial_institutions"]:
            self._auth(headers, private=False)
            return 200, {"data": copy.deepcopy(PSE_BANKS)}
        if method == "POST" and parts == ["tokens", "cards"]:
            return 201, self._tokenize(self._auth(headers, private=False), self._json(body))
        if parts == ["transactions"] and method == "POST":
            return 201, {"data": self._create(self._auth(headers, private=False), self._json(body))}
        if parts == ["transactions"] and method == "GET":
            merchant = self._auth(headers, private=True)
            reference = query.get("reference")
            with self._lock:
                found = [
                    copy.deepcopy(t)
                    for tid, t in self.transactions.items()
                    if self._owner[tid] is merchant and (reference is None or t["reference"] == reference)
                ]
            return 200, {"data": found, "meta": {}}
        if len(parts) == 2 and parts[0] == "transactions" and method == "GET":
            merchant = self._auth(headers, private=False)
            return 200, {"data": self._owned(merchant, parts[1])}
        if len(parts) == 3 and parts[0] == "transactions" and parts[2] == "void" and method == "POST":
            return 201, {"data": self._void(self._auth(headers, private=True), parts[1], self._json(body or b"{}"))}
        raise _not_found("La entidad solicitada no existe")

    def _auth(self, headers: dict[str, str], *, private: bool) -> Merchant:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            raise _invalid_token("Se esperaba un token de acceso en el header Authorization")
        key = value[7:].strip()
        with self._lock:
            by_private = self._by_private.get(key)
            by_public = self.merchants.get(key)
        if by_private is not None:
            return by_private
        if by_public is not None and not private:
            return by_public
        if by_public is not None:
            raise _invalid_token("Se esperaba una llave privada")
        raise _invalid_token("La llave proporcionada no es válida")

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            raise _invalid({"body": ["El cuerpo de la petición no es un JSON válido"]}) from None
        if not isinstance(parsed, dict):
            raise _invalid({"body": ["El cuerpo de la petición debe ser un objeto"]})
        return parsed

    def _presign(self, merchant: Merchant) -> None:
        merchant.acceptance_token = "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(32)
        merchant.personal_data_token = "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(32)
        merchant.accepted_tokens |= {merchant.acceptance_token, merchant.personal_data_token}

    def _merchant_view(self, public_key: str) -> dict[str, Any]:
        with self._lock:
            merchant = self.merchants.get(public_key)
        if merchant is None:
            raise _not_found("La entidad solicitada no existe")
        return {
            "id": merchant.id,
            "name": merchant.name,
            "email": "pagos@comercio.example",
            "legal_name": merchant.name,
            "public_key": merchant.public_key,
            "accepted_currencies": ["COP"],
            "accepted_payment_methods": ["CARD", "NEQUI", "PSE", "BANCOLOMBIA_TRANSFER"],
            "presigned_acceptance": {
                "acceptance_token": merchant.acceptance_token,
                "permalink": "https://wompi.com/assets/downloadble/reglamento-Usuarios-Colombia.pdf",
                "type": "END_USER_POLICY",
            },
            "presigned_personal_data_auth": {
                "acceptance_token": merchant.personal_data_token,
                "permalink": "https://wompi.com/assets/downloadble/autorizacion-administracion-datos-personales.pdf",
                "type": "PERSONAL_DATA_AUTH",
            },
        }

    def _tokenize(self, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        number = str(body.get("number", "")).replace(" ", "")
        errors: dict[str, list[str]] = {}
        if not (number.isdigit() and 13 <= len(number) <= 19 and luhn(number)):
            errors["number"] = ["El número de tarjeta no es válido"]
        for name in ("cvc", "exp_month", "exp_year", "card_holder"):
            if not isinstance(body.get(name), str) or not body[name]:
                errors[name] = ["Este campo es requerido"]
        if errors:
            raise _invalid(errors)
        outcome = {APPROVED_CARD: "APPROVED", DECLINED_CARD: "DECLINED"}.get(number, "ERROR")
        brand = "VISA" if number.startswith("4") else "MASTERCARD"
        token = f"tok_test_{merchant.id}_{secrets.token_hex(16)}"
        extra = {
            "bin": number[:6],
            "name": f"{brand}-{number[-4:]}",
            "brand": brand,
            "exp_year": body["exp_year"],
            "exp_month": body["exp_month"],
            "last_four": number[-4:],
            "card_holder": body["card_holder"],
        }
        with self._lock:
            self._tokens[token] = (merchant, extra, outcome)
        return {
            "status": "CREATED",
            "data": {"id": token, "created_at": _now(), **extra, "expires_at": _now()},
        }

    def _create(self, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        amount = body.get("amount_in_cents")
        if not isinstance(amount, int) or isinstance(amount, bool):
            errors["amount_in_cents"] = ["Debe ser un número entero"]
        elif amount < MIN_AMOUNT_IN_CENTS:
            errors["amount_in_cents"] = [f"El monto mínimo es {MIN_AMOUNT_IN_CENTS}"]
        if body.get("currency") != "COP":
            errors["currency"] = ["Moneda no soportada"]
        for name in ("customer_email", "reference", "acceptance_token", "signature"):
            if not isinstance(body.get(name), str) or not body[name]:
                errors[name] = ["Este campo es requerido"]
        if "acceptance_token" not in errors and body["acceptance_token"] not in merchant.accepted_tokens:
            errors["acceptance_token"] = ["El token de aceptación no es válido"]
        method = body.get("payment_method")
        outcome, pm = "ERROR", dict[str, Any]()
        if not isinstance(method, dict):
            errors["payment_method"] = ["Este campo es requerido"]
        else:
            try:
                outcome, pm = self._method(merchant, method)
            except Problem as problem:
                errors.update(problem.body["error"]["messages"])
        if errors or not isinstance(amount, int):
            raise _invalid(errors)
        expiration = body.get("expiration_time")
        expected = integrity_signature(
            body["reference"],
            amount,
            "COP",
            merchant.integrity_secret,
            expiration if isinstance(expiration, str) else None,
        )
        if body["signature"].lower() != expected:
            raise _invalid({"signature": ["La firma es inválida"]})
        with self._lock:
            if (merchant.id, body["reference"]) in self._references:
                raise _invalid({"reference": ["La referencia ya ha sido usada"]})
            transaction_id = f"{merchant.id}-{int(time.time())}-{secrets.randbelow(90_000) + 10_000}"
            while transaction_id in self.transactions:
                transaction_id = f"{merchant.id}-{int(time.time())}-{secrets.randbelow(90_000) + 10_000}"
            transaction = {
                "id": transaction_id,
                "created_at": _now(),
                "finalized_at": None,
                "amount_in_cents": amount,
                "reference": body["reference"],
                "customer_email": body["customer_email"],
                "currency": "COP",
                "payment_method_type": pm["type"],
                "payment_method": pm,
                "status": "PENDING",
                "status_message": None,
                "billing_data": None,
                "shipping_address": body.get("shipping_address"),
                "redirect_url": body.get("redirect_url"),
                "payment_source_id": None,
                "payment_link_id": None,
                "customer_data": body.get("customer_data"),
                "bill_id": None,
                "taxes": [],
                "tip_in_cents": None,
            }
            self.transactions[transaction_id] = transaction
            self._owner[transaction_id] = merchant
            self._references[(merchant.id, body["reference"])] = transaction_id
            self._outcomes[transaction_id] = outcome
            self.created[body["reference"]] += 1
            answer = copy.deepcopy(transaction)
        loop = asyncio.get_running_loop()
        if pm["type"] in ("PSE", "BANCOLOMBIA_TRANSFER"):
            loop.call_later(self.url_delay, self._put_url, transaction_id)
        if self.settle_delay is not None:
            # After the bank URL (if any): a bank transfer's outcome never comes before its URL.
            delay = (
                max(self.settle_delay, self.url_delay * 2)
                if pm["type"] in ("PSE", "BANCOLOMBIA_TRANSFER")
                else self.settle_delay
            )
            # The coroutine is made when it runs: one never started leaves nothing un-awaited behind.
            loop.call_later(delay, lambda: self._spawn(self._settle(transaction_id, None)))
        return answer

    def _method(self, merchant: Merchant, method: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kind = method.get("type")
        if kind == "CARD":
            token = method.get("token")
            installments = method.get("installments", 1)
            with self._lock:
                found = self._tokens.get(token) if isinstance(token, str) else None
            if found is None or found[0] is not merchant:
                raise _invalid({"payment_method.token": ["El token no existe o no pertenece al comercio"]})
            if not isinstance(installments, int) or isinstance(installments, bool) or not 1 <= installments <= 36:
                raise _invalid({"payment_method.installments": ["Debe ser un entero entre 1 y 36"]})
            return found[2], {"type": "CARD", "extra": copy.deepcopy(found[1]), "installments": installments}
        if kind == "NEQUI":
            phone = method.get("phone_number")
            if not (isinstance(phone, str) and phone.isdigit() and len(phone) == 10):
                raise _invalid({"payment_method.phone_number": ["Debe ser un número de celular de 10 dígitos"]})
            outcome = {APPROVED_NEQUI: "APPROVED", DECLINED_NEQUI: "DECLINED"}.get(phone, "ERROR")
            return outcome, {"type": "NEQUI", "phone_number": phone, "extra": {}}
        if kind == "PSE":
            errors: dict[str, list[str]] = {}
            code = method.get("financial_institution_code")
            if code not in (APPROVED_BANK, DECLINED_BANK):
                errors["payment_method.financial_institution_code"] = ["La institución financiera no es válida"]
            if method.get("user_type") not in (0, 1):
                errors["payment_method.user_type"] = ["Debe ser 0 (persona) o 1 (empresa)"]
            for name in ("user_legal_id_type", "user_legal_id", "payment_description"):
                if not isinstance(method.get(name), str) or not method[name]:
                    errors[f"payment_method.{name}"] = ["Este campo es requerido"]
            if errors:
                raise _invalid(errors)
            outcome = "APPROVED" if code == APPROVED_BANK else "DECLINED"
            pm = {
                k: method[k]
                for k in (
                    "type",
                    "user_type",
                    "user_legal_id_type",
                    "user_legal_id",
                    "financial_institution_code",
                    "payment_description",
                )
            }
            return outcome, {**pm, "extra": {}}
        if kind == "BANCOLOMBIA_TRANSFER":
            if method.get("user_type") != "PERSON":
                raise _invalid({"payment_method.user_type": ["Debe ser PERSON"]})
            if not isinstance(method.get("payment_description"), str) or not method["payment_description"]:
                raise _invalid({"payment_method.payment_description": ["Este campo es requerido"]})
            pm = {
                "type": "BANCOLOMBIA_TRANSFER",
                "user_type": "PERSON",
                "payment_description": method["payment_description"],
                "extra": {},
            }
            return "APPROVED", pm
        raise _invalid({"payment_method.type": ["Método de pago no soportado"]})

    def _owned(self, merchant: Merchant, transaction_id: str) -> dict[str, Any]:
        with self._lock:
            if self._owner.get(transaction_id) is not merchant:
                raise _not_found("La entidad solicitada no existe")
            return copy.deepcopy(self.transactions[transaction_id])

    def _void(self, merchant: Merchant, transaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            transaction = self._owned(merchant, transaction_id)
            if transaction["payment_method_type"] != "CARD" or transaction["status"] != "APPROVED":
                raise _invalid({"transaction": ["Solo se puede anular una transacción APROBADA con tarjeta"]})
            amount = body.get("amount_in_cents")
            if amount is not None and amount != transaction["amount_in_cents"]:
                raise _invalid({"amount_in_cents": ["Solo se puede anular el monto total"]})
            self.voids[transaction_id] += 1
            self.transactions[transaction_id]["status"] = "VOIDED"
            self.transactions[transaction_id]["status_message"] = None
            answer = copy.deepcopy(self.transactions[transaction_id])
        self._spawn(self._announce(transaction_id))
        return {"status": "APPROVED", "transaction": answer}

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _show_url(self, transaction_id: str) -> None:
        self._put_url(transaction_id)

    def _put_url(self, transaction_id: str) -> None:
        with self._lock:
            transaction = self.transactions[transaction_id]
            extra = transaction["payment_method"].setdefault("extra", {})
            if "async_payment_url" not in extra:
                kind = "pse" if transaction["payment_method_type"] == "PSE" else "bancolombia"
                extra["async_payment_url"] = f"http://127.0.0.1:{self.port}/bank/{kind}/{transaction_id}"

    async def _settle(self, transaction_id: str, status: str | None) -> None:
        with self._lock:
            transaction = self.transactions[transaction_id]
            if transaction["status"] != "PENDING":
                return
            if transaction["payment_method_type"] in ("PSE", "BANCOLOMBIA_TRANSFER"):
                self._put_url(transaction_id)
            final = status or self._outcomes[transaction_id]
            assert final in FINAL, final
            transaction["status"] = final
            transaction["finalized_at"] = _now()
            transaction["status_message"] = (
                None
                if final == "APPROVED"
                else {"DECLINED": "Transacción rechazada", "ERROR": "Error en el medio de pago"}.get(final)
            )
        await self._announce(transaction_id)

    async def _announce(self, transaction_id: str) -> None:
        with self._lock:
            merchant = self._owner[transaction_id]
            url = merchant.events_url
            event = self.event_for(merchant, self.transactions[transaction_id])
        await self._post(url, event, public_key=merchant.public_key)

    async def _post(
        self, url: str | None, event: dict[str, Any], *, checksum_header: bool = True, public_key: str | None = None
    ) -> Delivery:
        headers = {"Content-Type": "application/json"}
        signature = event.get("signature")
        checksum = signature.get("checksum") if isinstance(signature, dict) else None
        if checksum_header and isinstance(checksum, str):
            headers["X-Event-Checksum"] = checksum
        return await self._post_raw(url, json.dumps(event).encode(), headers, public_key)

    async def _post_raw(
        self, url: str | None, content: bytes, headers: dict[str, str], public_key: str | None = None
    ) -> Delivery:
        status: int | None = None
        if url is not None:
            try:
                status = (await self._client.post(url, content=content, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
        delivery = Delivery(url, content, headers, status, public_key)
        with self._delivered:
            self.deliveries.append(delivery)
            self._delivered.notify_all()
        return delivery
