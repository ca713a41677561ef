"""A small stateful Stripe for what the emulator lacks (Prices, Stripe's price-based subscriptions),
served through httpx.MockTransport under the real SDK. Bodies follow Stripe's published objects
(stripe/openapi fixtures): only the fields the hub reads, with Stripe's names and types.
"""

from __future__ import annotations

import itertools
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.support.stripe_mock import balance_ok


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def _meta(f: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in f.items() if k.startswith("metadata[")}


class StripeRecurring:
    """Customers, products, prices and subscriptions, kept per secret key like Stripe's accounts."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.subscription_status = "active"

    def _id(self, prefix: str) -> str:
        return f"{prefix}_Mock{next(self.ids):010d}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, f = request.url.path, form(request)
        now = int(time.time())
        if path == "/v1/balance":
            return balance_ok(request)
        if path == "/v1/customers" and request.method == "POST":
            return self._keep(
                {
                    "id": self._id("cus"),
                    "object": "customer",
                    "email": f.get("email"),
                    "name": f.get("name"),
                    "metadata": _meta(f),
                    "created": now,
                    "livemode": False,
                }
            )
        if path == "/v1/products" and request.method == "POST":
            return self._keep(
                {
                    "id": self._id("prod"),
                    "object": "product",
                    "active": True,
                    "name": f["name"],
                    "description": f.get("description"),
                    "metadata": _meta(f),
                    "created": now,
                    "livemode": False,
                }
            )
        if path == "/v1/prices" and request.method == "POST":
            recurring = None
            if "recurring[interval]" in f:
                recurring = {
                    "interval": f["recurring[interval]"],
                    "interval_count": int(f.get("recurring[interval_count]", "1")),
                    "usage_type": "licensed",
                    "aggregate_usage": None,
                    "trial_period_days": None,
                }
            return self._keep(
                {
                    "id": self._id("price"),
                    "object": "price",
                    "active": True,
                    "billing_scheme": "per_unit",
                    "currency": f["currency"],
                    "product": f["product"],
                    "unit_amount": int(f["unit_amount"]),
                    "unit_amount_decimal": f["unit_amount"],
                    "recurring": recurring,
                    "type": "recurring" if recurring else "one_time",
                    "metadata": _meta(f),
                    "created": now,
                    "livemode": False,
                }
            )
        if path.startswith("/v1/payment_methods/") and path.endswith("/attach"):
            pm = path.split("/")[3]
            return httpx.Response(
                200, json={"id": pm, "object": "payment_method", "type": "card", "customer": f["customer"]}
            )
        if path.startswith("/v1/customers/") and request.method == "POST":
            return httpx.Response(200, json=self.objects[path.split("/")[3]])
        if path == "/v1/subscriptions" and request.method == "POST":
            trial = int(f.get("trial_period_days", "0"))
            end = now + (trial or 30) * 86400
            sub = {
                "id": self._id("sub"),
                "object": "subscription",
                "customer": f["customer"],
                "status": "trialing" if trial else self.subscription_status,
                "cancel_at_period_end": False,
                "created": now,
                "livemode": False,
                "metadata": _meta(f),
                "latest_invoice": self._id("in"),
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self._id("si"),
                            "object": "subscription_item",
                            "quantity": int(f["items[0][quantity]"]),
                            "price": {"id": f["items[0][price]"], "object": "price"},
                            "current_period_start": now,
                            "current_period_end": end,
                        }
                    ],
                    "has_more": False,
                },
            }
            return self._keep(sub)
        if path.startswith("/v1/subscriptions/"):
            sub = self.objects[path.split("/")[3]]
            if request.method == "DELETE":
                sub["status"] = "canceled"
            elif f.get("cancel_at_period_end") == "true":
                sub["cancel_at_period_end"] = True
            return httpx.Response(200, json=sub)
        answer = self._invoices(request, path, f, now)
        if answer is not None:
            return answer
        return httpx.Response(
            404,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"Unrecognized request URL ({request.method}: {path})",
                }
            },
        )

    def _keep(self, obj: dict[str, Any]) -> httpx.Response:
        self.objects[obj["id"]] = obj
        return httpx.Response(200, json=obj, headers={"request-id": "req_mock"})

    def sent(self, method: str, path: str) -> list[dict[str, str]]:
        return [form(r) for r in self.requests if r.method == method and r.url.path == path]

    # -- invoices and payment links -------------------------------------------------------------

    def _invoices(self, request: httpx.Request, path: str, f: dict[str, str], now: int) -> httpx.Response | None:
        if path == "/v1/invoices" and request.method == "POST":
            return self._keep(
                {
                    "id": self._id("in"),
                    "object": "invoice",
                    "status": "draft",
                    "customer": f["customer"],
                    "currency": f["currency"],
                    "collection_method": f["collection_method"],
                    "auto_advance": f.get("auto_advance") == "true",
                    "amount_due": 0,
                    "amount_paid": 0,
                    "amount_remaining": 0,
                    "due_date": now + int(f["days_until_due"]) * 86400,
                    "hosted_invoice_url": None,
                    "lines": {"object": "list", "data": [], "has_more": False},
                    "metadata": _meta(f),
                    "created": now,
                    "livemode": False,
                }
            )
        if path == "/v1/invoiceitems" and request.method == "POST":
            invoice = self.objects[f["invoice"]]
            amount = int(f["unit_amount_decimal"]) * int(f.get("quantity", "1"))
            item = {
                "id": self._id("ii"),
                "object": "invoiceitem",
                "amount": amount,
                "currency": f["currency"],
                "description": f["description"],
                "invoice": f["invoice"],
                "quantity": int(f.get("quantity", "1")),
            }
            invoice["lines"]["data"].append(item)
            invoice["amount_due"] += amount
            invoice["amount_remaining"] += amount
            return self._keep(item)
        if path.startswith("/v1/invoices/"):
            parts = path.split("/")
            invoice = self.objects[parts[3]]
            action = parts[4] if len(parts) > 4 else None
            if action == "finalize":
                invoice["status"] = "open"
                invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_1Mock/test_{invoice['id']}"
            elif action == "send" and invoice["status"] == "open":
                pass  # Stripe emails the hosted page; nothing in the object changes
            elif action == "void":
                if invoice["status"] != "open":
                    return httpx.Response(
                        400,
                        json={
                            "error": {
                                "type": "invalid_request_error",
                                "code": "invoice_not_open",
                                "message": "This invoice is not open.",
                            }
                        },
                    )
                invoice["status"] = "void"
            return httpx.Response(200, json=invoice)
        if path == "/v1/payment_links" and request.method == "POST":
            return self._keep(
                {
                    "id": self._id("plink"),
                    "object": "payment_link",
                    "active": True,
                    "url": f"https://buy.stripe.com/test_{next(self.ids):08d}",
                    "metadata": _meta(f),
                    "livemode": False,
                }
            )
        if path.startswith("/v1/payment_links/") and request.method == "POST":
            link = self.objects[path.split("/")[3]]
            if "active" in f:
                link["active"] = f["active"] == "true"
            return httpx.Response(200, json=link)
        return None
