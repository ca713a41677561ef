"""Invoices and Payment Links, which the emulator lacks (its invoices predate the hub's), played
for the fault-injecting proxy (tests/support/stripe_proxy.py) by tests/support/stripe_recurring.py,
behind the proxy's faults and idempotency replay."""

from __future__ import annotations

import copy
import threading
from typing import Any

import httpx

from tests.support.stripe_recurring import StripeRecurring

PATHS = ("/v1/invoices", "/v1/invoiceitems", "/v1/payment_links")


class Invoicing:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fake = StripeRecurring()

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(PATHS)

    def answer(self, method: str, target: str, body: bytes) -> tuple[int, bytes]:
        request = httpx.Request(method, f"https://api.stripe.com{target}", content=body)
        with self._lock:
            r = self._fake.handle(request)
        return r.status_code, r.content

    def objects(self, kind: str, **metadata: str) -> list[dict[str, Any]]:
        """Copies of the objects of ``kind`` (``invoice``, ``payment_link``) whose metadata holds ``metadata``."""
        with self._lock:
            return [
                copy.deepcopy(o)
                for o in self._fake.objects.values()
                if o.get("object") == kind and all(o.get("metadata", {}).get(k) == v for k, v in metadata.items())
            ]
