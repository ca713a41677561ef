"""Stripe's Payment Links, which the emulator lacks, played by the fault-injecting proxy
(tests/support/stripe_proxy.py) behind its faults and idempotency replay: create, list, update.
Bodies follow Stripe's published object with only the fields the hub reads."""

from __future__ import annotations

import copy
import itertools
import threading
from typing import Any
from urllib.parse import parse_qsl


class PaymentLinks:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: id -> (the Authorization header that made it, the link)
        self._links: dict[str, tuple[str, dict[str, Any]]] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith("/v1/payment_links")

    def objects(self, secret_key: str) -> list[dict[str, Any]]:
        """Copies of the links made with ``secret_key``."""
        with self._lock:
            return [copy.deepcopy(o) for who, o in self._links.values() if who == f"Bearer {secret_key}"]

    def answer(self, method: str, path: str, body: bytes, owner: str) -> tuple[int, dict[str, Any]]:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        parts = path.strip("/").split("/")  # v1, payment_links[, id]
        with self._lock:
            if method == "POST" and len(parts) == 2:
                n = next(self._ids)
                link = {
                    "id": f"plink_Proxy{n:010d}",
                    "object": "payment_link",
                    "active": True,
                    "url": f"https://buy.stripe.com/test_{n:08d}",
                    "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
                    "livemode": False,
                }
                self._links[link["id"]] = (owner, link)
                return 200, copy.deepcopy(link)
            if len(parts) == 3 and parts[2] in self._links and self._links[parts[2]][0] == owner:
                link = self._links[parts[2]][1]
                if method == "POST" and "active" in form:
                    link["active"] = form["active"] == "true"
                return 200, copy.deepcopy(link)
        message = f"No such payment link: {path}"
        return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": message}}
