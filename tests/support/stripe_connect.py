"""Stripe Connect as Stripe documents it, for the parts of the API localstripe lacks.

The Stripe proxy (tests/support/stripe_proxy.py) answers these paths itself instead of
forwarding them to the emulator, so the hub reaches them over real HTTP through the real SDK,
with the proxy's faults and Idempotency-Key replay applying to them like to any other call:

- ``/v1/accounts``: create (Express unless ``type`` says otherwise), retrieve, update, list,
  delete. A new account can do nothing yet: ``charges_enabled``/``payouts_enabled`` and
  ``details_submitted`` false, its requested capabilities ``inactive``, and
  ``requirements.currently_due`` listing what the seller must still provide.
- ``/v1/account_links``: ``account_onboarding`` always; ``account_update`` refused with an
  ``invalid_request_error`` for an account whose details are not submitted (Stripe's answer for
  an Express account that has not finished onboarding).
- ``/v1/transfers`` (create, retrieve, list) and ``/v1/transfers/{id}/reversals`` (create, list):
  the destination must be an account of the same platform with its ``transfers`` capability
  active; a ``source_transaction`` must be a charge of the platform (read from the emulator), and
  the transfers out of one charge, less their reversals, never exceed what the charge captured
  less what it refunded.
- Connect parameters on PaymentIntents (``transfer_data[destination]``, ``transfer_data[amount]``,
  ``application_fee_amount``, ``transfer_group``, ``on_behalf_of``), which localstripe refuses: they
  are checked, taken out of the request before it reaches the emulator, recorded per
  PaymentIntent (``intent_params``), and put back into every PaymentIntent the proxy answers with.
- Refunds of such charges (``POST /v1/refunds`` with ``reverse_transfer`` or
  ``refund_application_fee``): tests/support/stripe_connect_refunds.py.

Objects belong to the platform whose key created them (the request's ``Authorization``): another
platform's key gets Stripe's "no such" answer. ``count`` and ``objects`` let a test prove that
nothing exists at Stripe the hub does not know about. The test hooks (``update_account``,
``finish_onboarding``, ``reject``, ``account_updated``, ``emit``) play what happens at Stripe
outside the API: a seller finishing onboarding, Stripe rejecting an account, and the signed
``account.updated`` event Stripe then sends to the platform's Connect endpoint.

Shapes follow Stripe's published objects (stripe/openapi ``fixtures3.json``: ``account``,
``account_link``, ``transfer``, ``transfer_reversal``), with the fields the hub may read.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.support import stripe_events
from tests.support.stripe_connect_refunds import DestinationRefunds

#: What an Express or Custom account in the US must still provide before it can take charges
#: and receive payouts (Stripe's ``requirements.currently_due`` of a new account).
NEW_ACCOUNT_DUE = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
#: The Connect parameters of a PaymentIntent the emulator refuses; the stand-in keeps them.
INTENT_PARAMS = ("transfer_data[destination]", "transfer_data[amount]", "application_fee_amount", "transfer_group")
INTENT_PARAMS_ALSO = ("on_behalf_of",)
#: Countries where Stripe offers Connect accounts (a sample; Stripe refuses an unknown one).
COUNTRIES = frozenset(
    "AT AU BE BG BR CA CH CO CY CZ DE DK EE ES FI FR GB GR HK HR HU IE IT JP LT LU LV MT MX MY NL NO NZ PL PT "
    "RO SE SG SI SK TH US".split()
)
KINDS = ("account", "account_link", "transfer", "transfer_reversal", "payment_intent", "refund", "application_fee")
LINK_SECONDS = 300


@dataclass
class Reply:
    """An answer of the stand-in: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
        if param:
            error["param"] = param
        if code:
            error["code"] = code
        self.reply = Reply(status, {"error": error})


def _id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "").replace("_", "")[:16]


def _form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def _nested(form: list[tuple[str, str]], name: str) -> dict[str, str]:
    """``name[k]=v`` pairs as {k: v} (one level, what metadata and capabilities use)."""
    head = f"{name}["
    return {k[len(head) : k.index("]", len(head))]: v for k, v in form if k.startswith(head)}


def _int(value: str | None, param: str, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        raise StripeError(400, f"Invalid integer: {value}", param=param) from None
    if n < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return n


def _metadata(old: dict[str, str], form: list[tuple[str, str]]) -> dict[str, str]:
    """Stripe's metadata update: keys set, an empty value unsets its key."""
    new = dict(old)
    for k, v in _nested(form, "metadata").items():
        if v == "":
            new.pop(k, None)
        else:
            new[k] = v
    return new


def derive_ready(account: dict[str, Any]) -> None:
    """An account's flags from its requirements, as Stripe derives them after each change."""
    req = account["requirements"]
    blocked = bool(req["currently_due"] or req["past_due"]) or req["disabled_reason"] is not None
    account["charges_enabled"] = account["payouts_enabled"] = not blocked and account["details_submitted"]
    state = "active" if account["charges_enabled"] else "inactive"
    account["capabilities"] = {name: state for name in account["capabilities"]}


class ConnectStandIn(DestinationRefunds):
    """Accounts, account links, transfers and reversals per platform key; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: kind -> id -> (owner Authorization, object)
        self._objects = {k: {} for k in KINDS}
        #: PaymentIntent id -> the Connect parameters it was created with (Stripe's field names)
        self._intent_params = {}
        self._init_refunds()

    # -- the test's side ------------------------------------------------------------------

    def count(self, kind: str, secret_key: str | None = None) -> int:
        """How many objects of ``kind`` exist (made by ``secret_key``'s platform, when given)."""
        return len(self.objects(kind, secret_key))

    def objects(self, kind: str, secret_key: str | None = None) -> list[dict[str, Any]]:
        """Copies of the objects of ``kind`` (``payment_intent``: those created with Connect parameters)."""
        assert kind in KINDS, kind
        owner = None if secret_key is None else f"Bearer {secret_key}"
        with self._lock:
            return [copy.deepcopy(o) for who, o in self._objects[kind].values() if owner in (None, who)]

    def account(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._objects["account"][account_id][1])

    def intent_params(self, intent_id: str) -> dict[str, Any]:
        """The Connect parameters a PaymentIntent reached Stripe with ({} when none)."""
        with self._lock:
            return copy.deepcopy(self._intent_params.get(intent_id, {}))

    def add_account(self, secret_key: str, **form: str) -> dict[str, Any]:
        """An Express account made at "Stripe" outside the hub (the Dashboard, another integration),
        under ``secret_key``'s platform; ``form``: more create parameters (``metadata[k]``...)."""
        params = [("type", "express"), ("capabilities[transfers][requested]", "true"), *form.items()]
        with self._lock:
            return copy.deepcopy(self._new_account(params, f"Bearer {secret_key}"))

    def update_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        """Change an account as Stripe would (``requirements`` fields merge; flags follow unless given)."""
        with self._lock:
            account = self._objects["account"][account_id][1]
            requirements = changes.pop("requirements", None)
            if requirements:
                account["requirements"].update(requirements)
            flags: dict[str, Any] = {k: changes.pop(k) for k in ("charges_enabled", "payouts_enabled") if k in changes}
            account.update(changes)
            derive_ready(account)
            account.update(flags)
            return copy.deepcopy(account)

    def finish_onboarding(self, account_id: str) -> dict[str, Any]:
        """The seller submitted everything and Stripe verified it: charges and payouts enabled."""
        none_due: dict[str, Any] = {"currently_due": [], "eventually_due": [], "past_due": [], "disabled_reason": None}
        return self.update_account(account_id, details_submitted=True, requirements=none_due)

    def reject(self, account_id: str, reason: str = "rejected.fraud") -> dict[str, Any]:
        """Stripe refused the account for good (``disabled_reason`` ``rejected.*``)."""
        return self.update_account(account_id, requirements={"disabled_reason": reason})

    def account_updated(self, account_id: str, *, created: int | None = None) -> dict[str, Any]:
        """The ``account.updated`` event Stripe sends a Connect endpoint about the account as it is now."""
        evt = stripe_events.event("account.updated", self.account(account_id), created=created)
        evt["account"] = account_id
        return evt

    @staticmethod
    async def emit(http: Any, tenant_id: str, evt: dict[str, Any], secret: str) -> Any:
        """Deliver ``evt`` to the tenant's webhook URL, signed with ``secret`` (the Connect one, say)."""
        return await stripe_events.deliver(http, tenant_id, stripe_events.encode(evt), secret)

    # -- the proxy's side -----------------------------------------------------------------

    @staticmethod
    def handles(method: str, path: str) -> bool:
        return path.startswith(("/v1/accounts", "/v1/account_links", "/v1/transfers")) or (
            method == "POST" and path in ("/v1/payment_intents", "/v1/refunds")
        )

    async def answer(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        owner: str,
        emulator: Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> Reply:
        """Stripe's answer to one request; ``emulator(method, target, body)`` asks localstripe (as ``owner``)."""
        form = _form(body if method == "POST" else query.encode())
        parts = path.strip("/").split("/")[1:]  # without "v1"
        try:
            if parts[0] == "payment_intents":
                return await self._intent(form, owner, emulator)
            if parts[0] == "refunds":
                return Reply(*await self._refund(form, owner, emulator))
            if parts[0] == "accounts":
                return self._accounts(method, parts[1:], form, owner)
            if parts[0] == "account_links" and method == "POST" and len(parts) == 1:
                return self._link(form, owner)
            if parts[0] == "transfers":
                return await self._transfers(method, parts[1:], form, owner, emulator)
        except StripeError as e:
            return e.reply
        return StripeError(404, f"Unrecognized request URL ({method}: {path}).").reply

    # -- accounts -------------------------------------------------------------------------

    def _owned(self, kind: str, object_id: str, owner: str, what: str, param: str = "id") -> dict[str, Any]:
        found = self._objects[kind].get(object_id)
        if found is None or found[0] != owner:
            raise StripeError(404, f"No such {what}: '{object_id}'", param=param, code="resource_missing")
        return found[1]

    def _accounts(self, method: str, rest: list[str], form: list[tuple[str, str]], owner: str) -> Reply:
        with self._lock:
            if not rest and method == "POST":
                return Reply(200, copy.deepcopy(self._new_account(form, owner)))
            if not rest and method == "GET":
                return Reply(200, self._list("account", "/v1/accounts", form, owner))
            if len(rest) != 1:
                raise StripeError(404, "Unrecognized request URL.")
            account = self._owned("account", rest[0], owner, "account", "account")
            if method == "DELETE":
                del self._objects["account"][rest[0]]
                return Reply(200, {"id": rest[0], "object": "account", "deleted": True})
            if method == "POST":
                fields = dict(form)
                for name in ("email", "business_type", "country"):
                    if name in fields:
                        account[name] = fields[name] or None
                account["metadata"] = _metadata(account["metadata"], form)
            return Reply(200, copy.deepcopy(account))

    def _new_account(self, form: list[tuple[str, str]], owner: str) -> dict[str, Any]:
        fields = dict(form)
        type_ = fields.get("type", "express")
        if type_ not in ("express", "standard", "custom"):
            raise StripeError(
                400, f"Invalid type: must be one of express, standard, or custom ({type_!r})", param="type"
            )
        requested = {k.split("]")[0] for k, v in _nested_pairs(form, "capabilities") if v == "true"}
        if type_ != "standard" and "transfers" not in requested:
            raise StripeError(
                400,
                "You must request the `transfers` capability (or `card_payments` and `transfers`) "
                f"when creating an account of type {type_}.",
                param="capabilities",
            )
        country = fields.get("country", "US")
        if country not in COUNTRIES:
            raise StripeError(
                400, f"Country '{country}' is unknown, or not supported for connected accounts.", param="country"
            )
        account_id = _id("acct_")
        due = list(NEW_ACCOUNT_DUE)
        account: dict[str, Any] = {
            "id": account_id,
            "object": "account",
            "type": type_,
            "country": country,
            "email": fields.get("email"),
            "business_type": fields.get("business_type"),
            "business_profile": {"mcc": None, "name": None, "url": None},
            "capabilities": dict.fromkeys(sorted(requested), "inactive"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "default_currency": "usd",
            "created": int(time.time()),
            "livemode": False,
            "metadata": _metadata({}, form),
            "requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": due,
                "eventually_due": list(due),
                "past_due": list(due),
                "pending_verification": [],
                "errors": [],
                "disabled_reason": "requirements.past_due",
            },
            "controller": {"type": "application", "is_controller": True},
            "tos_acceptance": {"date": None, "ip": None},
        }
        self._objects["account"][account_id] = (owner, account)
        return account

    def _link(self, form: list[tuple[str, str]], owner: str) -> Reply:
        fields = dict(form)
        for name in ("account", "type"):
            if not fields.get(name):
                raise StripeError(400, f"Missing required param: {name}.", param=name)
        if fields["type"] not in ("account_onboarding", "account_update"):
            raise StripeError(400, f"Invalid type: {fields['type']!r}", param="type")
        with self._lock:
            account = self._owned("account", fields["account"], owner, "account", "account")
            if fields["type"] == "account_update" and (
                not account["details_submitted"] or account["type"] == "standard"
            ):
                raise StripeError(
                    400,
                    "You cannot create `account_update` type Account Links for an account that has not "
                    "completed onboarding; use `account_onboarding` instead.",
                    param="type",
                )
            if fields["type"] == "account_onboarding" and not fields.get("refresh_url"):
                raise StripeError(400, "Missing required param: refresh_url.", param="refresh_url")
            now = int(time.time())
            link = {
                "object": "account_link",
                "created": now,
                "expires_at": now + LINK_SECONDS,
                "url": f"https://connect.stripe.com/setup/e/{account['id']}/{secrets.token_urlsafe(12)}",
            }
            self._objects["account_link"][_id("link_")] = (owner, {**link, "account": account["id"]})
            return Reply(200, dict(link))

    # -- transfers and reversals --------------------------------------------------------------

    async def _transfers(
        self,
        method: str,
        rest: list[str],
        form: list[tuple[str, str]],
        owner: str,
        emulator: Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> Reply:
        if not rest and method == "POST":
            return Reply(200, await self._new_transfer(form, owner, emulator))
        with self._lock:
            if not rest:
                return Reply(200, self._list("transfer", "/v1/transfers", form, owner))
            transfer = self._owned("transfer", rest[0], owner, "transfer")
            if len(rest) == 1:
                if method == "POST":
                    transfer["metadata"] = _metadata(transfer["metadata"], form)
                return Reply(200, copy.deepcopy(transfer))
            if rest[1:] != ["reversals"]:
                raise StripeError(404, "Unrecognized request URL.")
            if method == "GET":
                return Reply(200, copy.deepcopy(transfer["reversals"]))
            return Reply(200, self._reverse(transfer, form, owner))

    async def _new_transfer(
        self,
        form: list[tuple[str, str]],
        owner: str,
        emulator: Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> dict[str, Any]:
        fields = dict(form)
        for name in ("amount", "currency", "destination"):
            if not fields.get(name):
                raise StripeError(400, f"Missing required param: {name}.", param=name)
        amount = _int(fields["amount"], "amount", minimum=1)
        assert amount is not None
        source = fields.get("source_transaction")
        charge: dict[str, Any] | None = None
        if source:
            status, charge = await emulator("GET", f"/v1/charges/{source}", b"")
            if status != 200:
                raise StripeError(
                    400, f"No such charge: '{source}'", param="source_transaction", code="resource_missing"
                )
        with self._lock:
            destination = self._owned("account", fields["destination"], owner, "destination", "destination")
            if destination["capabilities"].get("transfers") != "active":
                raise StripeError(
                    400,
                    "Your destination account needs to have at least one of the following capabilities "
                    "enabled: transfers, crypto_transfers, legacy_payments",
                    param="destination",
                    code="insufficient_capabilities_for_transfer",
                )
            if charge is not None:
                if fields["currency"].lower() != charge.get("currency"):
                    raise StripeError(
                        400, "The currency of source_transaction's balance transaction must match.", param="currency"
                    )
                available = _captured(charge) - int(charge.get("amount_refunded") or 0)
                available -= sum(
                    t["amount"] - t["amount_reversed"]
                    for who, t in self._objects["transfer"].values()
                    if who == owner and t["source_transaction"] == source
                )
                if amount > available:
                    raise StripeError(
                        400,
                        f"Insufficient funds in the source transaction: {available} available, {amount} asked for.",
                        param="amount",
                        code="balance_insufficient",
                    )
            transfer_id = _id("tr_")
            transfer = {
                "id": transfer_id,
                "object": "transfer",
                "amount": amount,
                "amount_reversed": 0,
                "balance_transaction": _id("txn_"),
                "created": int(time.time()),
                "currency": fields["currency"].lower(),
                "description": fields.get("description"),
                "destination": destination["id"],
                "destination_payment": _id("py_"),
                "livemode": False,
                "metadata": _metadata({}, form),
                "reversals": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/transfers/{transfer_id}/reversals",
                },
                "reversed": False,
                "source_transaction": source,
                "source_type": "card",
                "transfer_group": fields.get("transfer_group"),
            }
            self._objects["transfer"][transfer_id] = (owner, transfer)
            return copy.deepcopy(transfer)

    def _reverse(self, transfer: dict[str, Any], form: list[tuple[str, str]], owner: str) -> dict[str, Any]:
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = _int(dict(form).get("amount"), "amount", minimum=1)
        amount = left if amount is None else amount
        if left == 0:
            raise StripeError(400, f"Transfer {transfer['id']} has already been fully reversed.", param="amount")
        if amount > left:
            raise StripeError(
                400,
                f"You cannot reverse {amount} from transfer {transfer['id']}: only {left} remains to be reversed.",
                param="amount",
            )
        reversal = {
            "id": _id("trr_"),
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": _id("txn_"),
            "created": int(time.time()),
            "currency": transfer["currency"],
            "destination_payment_refund": _id("pyr_"),
            "metadata": _metadata({}, form),
            "source_refund": None,
            "transfer": transfer["id"],
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        transfer["reversals"]["total_count"] += 1
        self._objects["transfer_reversal"][reversal["id"]] = (owner, reversal)
        return copy.deepcopy(reversal)

    # -- PaymentIntents with Connect parameters --------------------------------------------

    async def _intent(
        self,
        form: list[tuple[str, str]],
        owner: str,
        emulator: Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> Reply:
        connect = {k: v for k, v in form if k in INTENT_PARAMS + INTENT_PARAMS_ALSO}
        rest = [(k, v) for k, v in form if k not in connect]
        params: dict[str, Any] = {}
        if connect:
            fields = dict(form)
            amount = _int(fields.get("amount"), "amount") or 0
            fee = _int(connect.get("application_fee_amount"), "application_fee_amount")
            with self._lock:
                for param in ("transfer_data[destination]", "on_behalf_of"):
                    if param in connect:
                        account = self._owned("account", connect[param], owner, "account", param)
                        if account["capabilities"].get("transfers") != "active":
                            raise StripeError(
                                400,
                                f"The destination account {account['id']} needs the transfers capability active.",
                                param=param,
                                code="insufficient_capabilities_for_transfer",
                            )
            if fee is not None:
                if "transfer_data[destination]" not in connect and "on_behalf_of" not in connect:
                    raise StripeError(
                        400,
                        "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
                        "payment (using an OAuth key or Stripe-Account header) or destination payment "
                        "(using `transfer_data[destination]`).",
                        param="application_fee_amount",
                    )
                if fee > amount:
                    raise StripeError(
                        400,
                        "application_fee_amount must be less than or equal to the amount.",
                        param="application_fee_amount",
                    )
                params["application_fee_amount"] = fee
            if "transfer_data[destination]" in connect:
                transfer_data: dict[str, Any] = {"destination": connect["transfer_data[destination]"]}
                if "transfer_data[amount]" in connect:
                    transfer_data["amount"] = _int(connect["transfer_data[amount]"], "transfer_data[amount]")
                params["transfer_data"] = transfer_data
            for name in ("transfer_group", "on_behalf_of"):
                if name in connect:
                    params[name] = connect[name]
        status, body = await emulator("POST", "/v1/payment_intents", urlencode(rest).encode())
        if status == 200 and params:
            with self._lock:
                self._intent_params[body["id"]] = params
                self._objects["payment_intent"][body["id"]] = (owner, {"id": body["id"], **params})
        return Reply(status, self.splice(body))

    def splice(self, body: Any) -> Any:
        """A PaymentIntent or refund answer (or a list or search page of them) with its Connect parts put back."""
        if not isinstance(body, dict):
            return body
        with self._lock:
            if body.get("object") == "payment_intent" and body.get("id") in self._intent_params:
                return {**body, **copy.deepcopy(self._intent_params[body["id"]])}
            if body.get("object") == "refund":
                return self.splice_refund(body)
        if isinstance(body.get("data"), list) and body.get("object") in ("list", "search_result"):
            return {**body, "data": [self.splice(item) for item in body["data"]]}
        return body

    # -- lists ------------------------------------------------------------------------------

    def _list(self, kind: str, url: str, form: list[tuple[str, str]], owner: str) -> dict[str, Any]:
        """A newest-first page (``limit``, ``starting_after``, and ``destination``/``transfer_group`` filters)."""
        fields = dict(form)
        limit = _int(fields.get("limit"), "limit", minimum=1) or 10
        rows = [o for who, o in reversed(list(self._objects[kind].values())) if who == owner]
        for name in ("destination", "transfer_group"):
            if name in fields:
                rows = [o for o in rows if o.get(name) == fields[name]]
        after = fields.get("starting_after")
        if after:
            ids = [o["id"] for o in rows]
            if after not in ids:
                raise StripeError(400, f"No such object: '{after}'", param="starting_after")
            rows = rows[ids.index(after) + 1 :]
        return {"object": "list", "url": url, "has_more": len(rows) > limit, "data": copy.deepcopy(rows[:limit])}


def _nested_pairs(form: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    """``name[a][b]=v`` pairs as ("a][b", v)."""
    head = f"{name}["
    return [(k[len(head) :], v) for k, v in form if k.startswith(head)]


def _captured(charge: dict[str, Any]) -> int:
    """What a charge captured (localstripe's charges carry ``captured`` and ``amount`` only)."""
    if charge.get("amount_captured") is not None:
        return int(charge["amount_captured"])
    return int(charge["amount"]) if charge.get("captured", True) else 0


def stripe_json(reply: Reply) -> bytes:
    return json.dumps(reply.body).encode()
