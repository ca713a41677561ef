"""The console's Payments pages: the list, one payment, and its capture, cancel, refund and release forms.

Every money form carries a one-time idempotency key (a hidden field, new each time the form is
shown), kept in the same store as the API's ``Idempotency-Key``: the same form sent again (a
reload, "Confirm form resubmission", a double click) replays the first answer instead of
acting twice. Every action answers with a 303 to the payment's page (Post/Redirect/Get) and a
one-shot message, so reloading that page only reads it.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console import flash, pages
from hub.console.common import admin, form_text, page, well_formed_id, with_status
from hub.console.money import major
from hub.db.connect import ConnectedAccount
from hub.errors import HubError
from hub.idempotency import store
from hub.idempotency.route import REPLAYED
from hub.operations import driver
from hub.operations.phases import Operation
from hub.payments import refunds, schemas, service, transfers
from hub.services import Injected, Services
from providers.base.errors import ProviderError

ACTIONS = ("capture", "cancel", "refund", "release")
DONE = {
    "capture": "Payment captured.",
    "cancel": "Payment canceled.",
    "refund": "Refund requested.",
    "release": "Transfer sent to the seller.",
}
REPLAY = "This form was already sent, so nothing was done again. Its answer then: "
FIELD = "idempotency_key"
STALE = "This form has expired or was changed. Open the form again."


@get("/payments")
async def payments_page(request: Request, session: AsyncSession) -> Template:
    who = await admin(request, session)
    status = request.query_params.get("status") or None
    starting_after = request.query_params.get("starting_after") or None
    if status is not None and status not in pages.PAYMENT_STATUSES:
        status = None
    if starting_after is not None and not well_formed_id(starting_after):
        starting_after = None
    listing = await service.list_payments(session, who, limit=20, starting_after=starting_after, status=status)
    rows = [pages.payment_row(p) for p in listing.data]
    return page(
        "payments.html", who, payments=rows, has_more=listing.has_more, status=status, statuses=pages.PAYMENT_STATUSES
    )


async def _payment_page(
    request: Request, session: AsyncSession, who: TenantPrincipal, payment_id: str, **context: Any
) -> Template:
    payment = await service.get_payment(session, who, payment_id)
    refund_list = await refunds.list_refunds(session, who, payment_id)
    transfer_list = await transfers.list_transfers(session, who, payment_id)
    sellers = await _sellers(session, who)
    events = await pages.payment_events(session, who.tenant_id, payment_id)
    action = context.pop("action", None) or request.query_params.get("action")
    defaults: dict[str, Any] = {"message": None, "error": None, "amount_value": "", "seller_value": ""}
    return page(
        "payment.html",
        who,
        payment=pages.payment_detail(payment),
        refunds=[pages.refund_row(r, payment.currency) for r in refund_list.data],
        transfers=[pages.transfer_row(t, sellers) for t in transfer_list.data],
        sellers=sorted(sellers.items(), key=lambda item: item[1]),
        events=events,
        action=action if action in ACTIONS else None,
        # New on every showing of a form: one key, one action.
        idempotency_key=secrets.token_urlsafe(24),
        **{**defaults, **context},
    )


async def _sellers(session: AsyncSession, who: TenantPrincipal) -> dict[str, str]:
    """The tenant's connected accounts a release may pay: hub id -> what the page calls it."""
    rows = (
        await session.execute(
            select(ConnectedAccount.id, ConnectedAccount.email, ConnectedAccount.provider_account_id)
            .where(ConnectedAccount.tenant_id == who.tenant_id)
            .order_by(ConnectedAccount.id.desc())
            .limit(200)
        )
    ).all()
    return {r.id: f"{r.email or r.id} ({r.provider_account_id or 'not created yet'})" for r in rows}


@get("/payments/{payment_id:str}")
async def payment_page(request: Request, session: AsyncSession, payment_id: str) -> Response[Any]:
    who = await admin(request, session)
    if not well_formed_id(payment_id):
        return with_status(page("not_found.html", who), 404)
    result = flash.take(request, f"/console/payments/{payment_id}")
    context: dict[str, Any] = {}
    if result is not None:
        context = {"message" if result.kind == "ok" else "error": result.message, "amount_value": result.amount}
    try:
        template = await _payment_page(request, session, who, payment_id, **context)
    except HubError as exc:
        return with_status(page("not_found.html", who), exc.status)
    if result is not None:
        flash.forget(template, request)
    return template


async def _error_message(
    session: AsyncSession, who: TenantPrincipal, payment: schemas.Payment, action: str, exc: HubError | ProviderError
) -> str:
    """The error in the page's own words and units (the API speaks minor units: 7450, not 74.50)."""
    code = getattr(exc, "code", "")
    currency = payment.currency.upper()
    if code == "amount_too_large" and action in ("capture", "refund", "release"):
        if action == "capture":
            limit, what = (await service.get_payment(session, who, payment.id)).amount_capturable, "capturable"
        elif action == "release":
            held = (await service.get_payment(session, who, payment.id)).platform_amount
            limit, what = held, "the payment still holds"
        else:
            limit, what = await refunds.refundable(session, who, payment.id), "left to refund"
        return f"The amount can be at most {major(limit, payment.currency)} {currency}, what is {what}."
    if code == "idempotency_conflict":
        return STALE
    if code == "idempotency_in_progress":
        return "This form is still being processed. Reload the page in a moment."
    return pages.error_message(exc)


def _after(request: Request, payment_id: str, result: flash.Flash, action: str | None = None) -> Redirect:
    """303 to the payment's page (its form open again after an error), the result riding along once."""
    location = f"/console/payments/{payment_id}" + (f"?action={action}" if action else "")
    response = Redirect(location, status_code=303)
    flash.put(response, request, result)
    return response


@post("/payments/{payment_id:str}/{action:str}")
async def payment_action(
    request: Request, session: AsyncSession, services: Injected[Services], payment_id: str, action: str
) -> Response[Any]:
    who = await admin(request, session)
    if not well_formed_id(payment_id) or action not in ACTIONS:
        return with_status(page("not_found.html", who), 404)
    form = await request.form()
    amount_text, key = form_text(form, "amount"), form_text(form, FIELD)
    seller, reverse = form_text(form, "connected_account_id"), form_text(form, "reverse_transfers") == "1"
    try:
        current = await service.get_payment(session, who, payment_id)
    except HubError as exc:
        return with_status(page("not_found.html", who), exc.status)
    if not key or len(key) > store.MAX_KEY_LENGTH or not key.isprintable():
        shown = await _payment_page(request, session, who, payment_id, error=STALE, amount_value=amount_text)
        return with_status(shown, 422)
    amount: int | None = None
    if action == "release" and not (amount_text.strip() and seller and well_formed_id(seller)):
        error = "Choose the seller and the amount to release."
        shown = await _payment_page(
            request, session, who, payment_id, error=error, amount_value=amount_text, action="release"
        )
        return with_status(shown, 422)
    if amount_text.strip() and action in ("capture", "refund", "release"):
        amount = pages.parse_amount(amount_text, current.currency)
        if amount is None:
            error = f"Amount must be a positive number in {current.currency.upper()}, like {pages.example(current)}."
            shown = await _payment_page(request, session, who, payment_id, error=error, amount_value=amount_text)
            return with_status(shown, 422)

    op: Operation[Any]
    if action == "capture":
        op = service.CapturePayment(services, who, payment_id, amount)
    elif action == "cancel":
        op = service.CancelPayment(services, who, payment_id)
    elif action == "refund":
        op = refunds.CreateRefund(
            services, who, payment_id, schemas.RefundCreate(amount=amount, reverse_transfers=reverse)
        )
    else:
        assert amount is not None
        op = transfers.CreateTransfer(
            services, who, payment_id, schemas.TransferCreate(connected_account_id=seller, amount=amount)
        )

    here = f"/console/payments/{payment_id}"
    try:
        answer = await driver.run(
            op,
            request=request,
            session=session,
            body={"payment": payment_id, "amount": amount, "seller": seller, "reverse_transfers": reverse},
            route=f"console.payments.{action}",
            status_code=200,
            form_key=key,
        )
    except (HubError, ProviderError) as exc:  # the driver undid the phases' writes
        message = await _error_message(session, who, current, action, exc)
        return _after(request, payment_id, flash.Flash(here, "error", message, amount_text), action)
    replayed = REPLAYED in answer.headers
    if (answer.status_code or 200) >= 400:  # a decline, stored as the key's answer: replayed like a success
        problem = msgspec.json.decode(answer.content) if isinstance(answer.content, bytes) else {}
        message = pages.declined(problem)
        return _after(request, payment_id, flash.Flash(here, "error", (REPLAY if replayed else "") + message))
    return _after(request, payment_id, flash.Flash(here, "ok", (REPLAY if replayed else "") + DONE[action]))


ROUTES = [payments_page, payment_page, payment_action]
