"""A mixed load on a running hub: payment creations and signed webhook deliveries, every answer kept.

Each client loops until told to stop: it creates a payment (a fresh ``Idempotency-Key``), or
delivers a signed ``payment_intent.succeeded`` for a payment the load already created (a new
event, or now and then one already sent: Stripe repeats deliveries). Nothing is retried during
the load, so each answer says what the hub did at that moment; ``retry_failed`` afterwards is
the client that retries with the same key, or Stripe redelivering the same event.

After an error answer a client pauses briefly instead of honouring ``Retry-After`` in full, so an
outage of a few seconds meets many requests.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from tests.support import stripe_events as se

PAYMENT_BODY = {"amount": 2000, "currency": "usd"}
#: Pause after an error answer or a connection error (seconds).
ERROR_PAUSE = 0.2
#: One delivery in this many repeats an event already sent.
REPEAT_EVERY = 4


@dataclass
class Answer:
    """One request of the load and what came back (``status`` None: no HTTP answer at all)."""

    kind: str  # "payment" | "webhook"
    key: str  # the Idempotency-Key, or the event id
    ended: float  # time.monotonic() when the answer (or the error) came
    status: int | None
    code: str | None = None
    retry_after: str | None = None
    error: str | None = None  # the connection error's type
    payment_id: str | None = None  # the hub payment id of a 2xx payment answer

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def label(self) -> str:
        """``2xx``, ``503 database_unavailable``, ``connection error (ReadError)``…"""
        if self.status is None:
            return f"connection error ({self.error})"
        if self.ok:
            return "2xx"
        return f"{self.status} {self.code}"


@dataclass
class Tenant:
    id: str
    admin: dict[str, str]
    storefront: dict[str, str]
    secret_key: str
    webhook_secret: str


async def new_tenant(http: httpx.AsyncClient, platform: dict[str, str]) -> Tenant:
    """A tenant with its own Stripe test keys (checked against the emulator) and webhook secret."""
    r = await http.post("/v1/tenants", json={"name": "Load"}, headers=platform)
    r.raise_for_status()
    body = r.json()
    token = secrets.token_hex(8)
    tenant = Tenant(
        id=body["id"],
        admin={"Authorization": f"Bearer {body['api_keys']['admin']}"},
        storefront={"Authorization": f"Bearer {body['api_keys']['storefront']}"},
        secret_key=f"sk_test_{token}",
        webhook_secret=f"whsec_{token}",
    )
    creds = {"publishable_key": f"pk_test_{token}", "secret_key": tenant.secret_key}
    r = await http.put(
        "/v1/providers/stripe/credentials",
        json={**creds, "webhook_secret": tenant.webhook_secret},
        headers=tenant.admin,
    )
    r.raise_for_status()
    return tenant


@dataclass
class MixedLoad:
    """Payment creations (``payments=True``) and webhook deliveries from ``clients`` concurrent clients."""

    http: httpx.AsyncClient
    tenant: Tenant
    clients: int
    payments: bool = True
    answers: list[Answer] = field(default_factory=list)
    #: hub payment id -> its PaymentIntent id, for every payment answered 2xx (or seeded).
    created: dict[str, str] = field(default_factory=dict)
    #: event id -> the signed body's event (re-signed at each delivery), for every event sent.
    events: dict[str, bytes] = field(default_factory=dict)
    #: Idempotency-Key -> the body sent with it.
    keys: dict[str, dict] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=lambda: random.Random(11))

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._client(i, stop) for i in range(self.clients)))

    async def _client(self, n: int, stop: asyncio.Event) -> None:
        turn = n
        while not stop.is_set():
            turn += 1
            if self.payments and (turn % 2 == 0 or not self.created):
                answer = await self.create_payment("load-" + secrets.token_hex(8))
            elif self.created:
                answer = await self.deliver(self._next_event())
            else:
                await asyncio.sleep(ERROR_PAUSE)
                continue
            if not answer.ok:
                await asyncio.sleep(ERROR_PAUSE)

    def _next_event(self) -> str:
        if self.events and self._rng.randrange(REPEAT_EVERY) == 0:
            return self._rng.choice(list(self.events))
        payment_id = self._rng.choice(list(self.created))
        meta = {"hub_tenant_id": self.tenant.id, "hub_payment_id": payment_id}
        pi = se.payment_intent(self.created[payment_id], "succeeded", amount_received=2000, metadata=meta)
        event = se.event("payment_intent.succeeded", pi)
        self.events[event["id"]] = se.encode(event)
        return str(event["id"])

    async def create_payment(self, key: str) -> Answer:
        body = self.keys.setdefault(key, dict(PAYMENT_BODY))
        headers = {**self.tenant.storefront, "Idempotency-Key": key}
        return await self._send("payment", key, "/v1/payments", headers, json=body)

    async def deliver(self, event_id: str) -> Answer:
        body = self.events[event_id]
        headers = {"Stripe-Signature": se.sign(body, self.tenant.webhook_secret), "Content-Type": "application/json"}
        return await self._send("webhook", event_id, f"/v1/webhooks/stripe/{self.tenant.id}", headers, content=body)

    async def _send(self, kind: str, key: str, path: str, headers: dict[str, str], **body) -> Answer:
        try:
            r = await self.http.post(path, headers=headers, **body)
        except httpx.HTTPError as exc:
            answer = Answer(kind, key, time.monotonic(), None, error=type(exc).__name__)
        else:
            answer = Answer(kind, key, time.monotonic(), r.status_code, retry_after=r.headers.get("retry-after"))
            if r.status_code >= 400:
                answer.code = _code(r)
            elif kind == "payment":
                payment = r.json()
                answer.payment_id = payment["id"]
                self.created[payment["id"]] = payment["provider_payment_id"]
        self.answers.append(answer)
        return answer

    def acknowledged(self, kind: str) -> set[str]:
        """Keys (payments) or event ids (webhooks) that got a 2xx at least once."""
        return {a.key for a in self.answers if a.kind == kind and a.ok}

    def payment_ids(self) -> set[str]:
        return {a.payment_id for a in self.answers if a.payment_id is not None}

    def unanswered(self, kind: str) -> set[str]:
        """What was sent but never got a 2xx: what a client (or Stripe) tries again."""
        sent = {a.key for a in self.answers if a.kind == kind}
        return sent - self.acknowledged(kind)

    async def retry_failed(self, within: float) -> list[Answer]:
        """Send each unanswered request again (same key, same body; same event) until it gets a 2xx,
        honouring ``Retry-After``; returns every answer of this phase. Stops trying after ``within``."""
        start = len(self.answers)
        deadline = time.monotonic() + within

        async def until_ok(kind: str, key: str) -> None:
            while time.monotonic() < deadline:
                answer = await (self.create_payment(key) if kind == "payment" else self.deliver(key))
                if answer.ok:
                    return
                await asyncio.sleep(min(float(answer.retry_after or ERROR_PAUSE), 5.0))

        todo = [("payment", k) for k in self.unanswered("payment")] + [
            ("webhook", e) for e in self.unanswered("webhook")
        ]
        await asyncio.gather(*(until_ok(kind, key) for kind, key in todo))
        return self.answers[start:]


def _code(r: httpx.Response) -> str | None:
    try:
        code = r.json().get("code")
    except ValueError:
        return "(not JSON)"
    return str(code) if code is not None else None


def tally(answers: Iterable[Answer]) -> Counter[str]:
    """How many answers of each kind: ``2xx``, ``503 database_unavailable``, ``connection error (…)``."""
    return Counter(a.label for a in answers)
