"""Refunds of destination charges as Stripe makes them, for the Connect stand-in.

localstripe refuses a refund's Connect parameters. The stand-in (``ConnectStandIn``, which mixes
this in) answers ``POST /v1/refunds`` itself: it takes ``reverse_transfer`` and
``refund_application_fee`` out, has the emulator make the refund, then does what Stripe does for
a charge made with ``transfer_data[destination]``:

- ``reverse_transfer=true``: the charge's automatic transfer to the destination is reversed in
  proportion to the amount refunded (a ``transfer_reversal`` whose ``source_refund`` is the refund);
  the refund carries its id in ``transfer_reversal`` in every answer the proxy gives (create,
  retrieve, list). Without ``transfer_data`` Stripe refuses the parameter, and nothing is refunded.
- ``refund_application_fee=true``: the charge's ``application_fee`` is refunded in proportion to
  the amount refunded (all of it once the charge is refunded in full). Refused for a charge with
  no application fee.

Stripe makes the destination transfer (for ``transfer_data[amount]``, else the whole amount
captured) and the application fee when the charge succeeds; the stand-in makes them the first time
a refund needs them, with the same fields. Proportions are cumulative (what was reversed in all
is the transfer's share of all the reversing refunds, rounded down), so partial refunds never drift
from a whole one. The parameters each refund reached Stripe with are kept (``refund_params``).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

#: A refund's Connect parameters the emulator refuses; the stand-in acts on them.
REFUND_PARAMS = ("reverse_transfer", "refund_application_fee")

Emulator = Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any]]]]


class DestinationRefunds:
    """The refund side of the Connect stand-in (see the module docstring)."""

    _lock: threading.Lock
    _objects: dict[str, dict[str, tuple[str, dict[str, Any]]]]
    _intent_params: dict[str, dict[str, Any]]

    def _init_refunds(self) -> None:
        #: refund id -> the Connect parameters it was created with ({} when none)
        self._refund_params: dict[str, dict[str, str]] = {}
        #: refund id -> the transfer reversal it made
        self._refund_reversal: dict[str, str] = {}
        #: PaymentIntent id -> [destination transfer id, reversing refunds' total, fee id, fee-refunding total]
        self._charge_state: dict[str, dict[str, Any]] = {}

    def refund_params(self, refund_id: str) -> dict[str, str]:
        """The Connect parameters a refund made through the proxy reached Stripe with ({} when none)."""
        with self._lock:
            return dict(self._refund_params[refund_id])

    def _reverse(self, transfer: dict[str, Any], form: list[tuple[str, str]], owner: str) -> dict[str, Any]:
        raise NotImplementedError  # ConnectStandIn's

    @staticmethod
    def _new_id(prefix: str) -> str:
        from tests.support.stripe_connect import _id

        return _id(prefix)

    @staticmethod
    def _error(message: str, param: str) -> Exception:
        from tests.support.stripe_connect import StripeError

        return StripeError(400, message, param=param)

    async def _refund(self, form: list[tuple[str, str]], owner: str, emulator: Emulator) -> tuple[int, dict[str, Any]]:
        connect = {k: v for k, v in form if k in REFUND_PARAMS}
        rest = [(k, v) for k, v in form if k not in REFUND_PARAMS]
        reverse = connect.get("reverse_transfer") == "true"
        fee_back = connect.get("refund_application_fee") == "true"
        intent: dict[str, Any] = {}
        if reverse or fee_back:
            pi_id = dict(form).get("payment_intent")
            if not pi_id:
                raise self._error("The stand-in takes Connect refund parameters with payment_intent only.", "charge")
            with self._lock:
                params = copy.deepcopy(self._intent_params.get(pi_id, {}))
            if reverse and "transfer_data" not in params:
                raise self._error(
                    "You cannot reverse a transfer for a charge that was not made with a destination.",
                    "reverse_transfer",
                )
            if fee_back and "application_fee_amount" not in params:
                raise self._error("This charge has no application fee to refund.", "refund_application_fee")
            status, intent = await emulator("GET", f"/v1/payment_intents/{pi_id}", b"")
            if status != 200:
                return status, intent
            intent = {**intent, **params}
        status, body = await emulator("POST", "/v1/refunds", urlencode(rest).encode())
        if status != 200:
            return status, body
        with self._lock:
            self._refund_params[body["id"]] = connect
            self._objects["refund"][body["id"]] = (owner, {"id": body["id"], **connect})
            if reverse:
                self._reverse_destination(intent, body, owner)
            if fee_back:
                self._refund_fee(intent, body, owner)
            return status, self.splice_refund(body)

    def _state(self, intent: dict[str, Any]) -> dict[str, Any]:
        return self._charge_state.setdefault(
            intent["id"], {"transfer": None, "reversing": 0, "fee": None, "fee_refunding": 0}
        )

    def _reverse_destination(self, intent: dict[str, Any], refund: dict[str, Any], owner: str) -> None:
        state = self._state(intent)
        received = int(intent.get("amount_received") or intent["amount"])
        if state["transfer"] is None:
            state["transfer"] = self._destination_transfer(intent, received, owner)["id"]
        transfer = self._objects["transfer"][state["transfer"]][1]
        before = transfer["amount"] * state["reversing"] // received
        state["reversing"] += int(refund["amount"])
        share = transfer["amount"] * state["reversing"] // received - before
        share = min(share, transfer["amount"] - transfer["amount_reversed"])
        if share <= 0:
            return
        reversal = self._reverse(transfer, [("amount", str(share))], owner)
        for stored in (self._objects["transfer_reversal"][reversal["id"]][1], transfer["reversals"]["data"][0]):
            stored["source_refund"] = refund["id"]
        self._refund_reversal[refund["id"]] = reversal["id"]

    def _destination_transfer(self, intent: dict[str, Any], received: int, owner: str) -> dict[str, Any]:
        """The transfer Stripe made to the destination when the charge succeeded."""
        transfer_id = self._new_id("tr_")
        latest = intent.get("latest_charge")
        charges = (intent.get("charges") or {}).get("data") or []
        charge = charges[-1]["id"] if charges else (latest["id"] if isinstance(latest, dict) else latest)
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": int(intent["transfer_data"].get("amount") or received),
            "amount_reversed": 0,
            "balance_transaction": self._new_id("txn_"),
            "created": int(time.time()),
            "currency": intent["currency"],
            "description": None,
            "destination": intent["transfer_data"]["destination"],
            "destination_payment": self._new_id("py_"),
            "livemode": False,
            "metadata": {},
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/transfers/{transfer_id}/reversals",
            },
            "reversed": False,
            "source_transaction": charge,
            "source_type": "card",
            "transfer_group": intent.get("transfer_group"),
        }
        self._objects["transfer"][transfer_id] = (owner, transfer)
        return transfer

    def _refund_fee(self, intent: dict[str, Any], refund: dict[str, Any], owner: str) -> None:
        state = self._state(intent)
        received = int(intent.get("amount_received") or intent["amount"])
        if state["fee"] is None:
            fee_id = self._new_id("fee_")
            state["fee"] = fee_id
            self._objects["application_fee"][fee_id] = (
                owner,
                {
                    "id": fee_id,
                    "object": "application_fee",
                    "account": intent["transfer_data"]["destination"],
                    "amount": int(intent["application_fee_amount"]),
                    "amount_refunded": 0,
                    "currency": intent["currency"],
                    "originating_transaction": refund.get("charge"),
                    "refunded": False,
                },
            )
        fee = self._objects["application_fee"][state["fee"]][1]
        state["fee_refunding"] += int(refund["amount"])
        fee["amount_refunded"] = min(fee["amount"], fee["amount"] * state["fee_refunding"] // received)
        fee["refunded"] = fee["amount_refunded"] == fee["amount"]

    def splice_refund(self, body: dict[str, Any]) -> dict[str, Any]:
        """A refund the proxy answers with, carrying the transfer reversal it made (call under the lock)."""
        if body.get("id") in self._refund_params:
            return {**body, "transfer_reversal": self._refund_reversal.get(body["id"])}
        return body
