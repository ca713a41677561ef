"""Storefront payment routes: parse, call one service function, return a Struct."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.operations import driver
from hub.payments import buyer, checkout, create, refunds, reversals, schemas, service, transfers
from hub.payments.status import Status
from hub.services import Injected, Services
from hub.strict import require_strict

TAGS = ["storefront: payments"]
MARKETPLACE = ["marketplace: transfers"]


@post("/v1/payments", tags=TAGS, guards=[storefront_guard], status_code=201)
async def create_payment(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.PaymentCreate,
) -> Response[schemas.Payment]:
    await require_strict(request, schemas.PaymentCreate)
    op = create.CreatePayment(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/payments", tags=TAGS, guards=[storefront_guard])
async def list_payments(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Parameter(max_length=64)] = None,
    status: Status | None = None,
) -> schemas.PaymentList:
    return await service.list_payments(session, storefront, limit=limit, starting_after=starting_after, status=status)


@get("/v1/payments/{payment_id:str}", tags=TAGS, guards=[storefront_guard])
async def get_payment(session: AsyncSession, storefront: TenantPrincipal, payment_id: str) -> schemas.Payment:
    return await service.get_payment(session, storefront, payment_id)


@post("/v1/payments/{payment_id:str}/capture", tags=TAGS, guards=[storefront_guard], status_code=200)
async def capture_payment(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    payment_id: str,
    data: schemas.CaptureRequest | None = None,
) -> Response[schemas.Payment]:
    await require_strict(request, schemas.CaptureRequest)
    amount = data.amount if data is not None else None
    op = service.CapturePayment(services, storefront, payment_id, amount)
    return await driver.run(op, request=request, session=session, body={"amount": amount})


@post("/v1/payments/{payment_id:str}/cancel", tags=TAGS, guards=[storefront_guard], status_code=200)
async def cancel_payment(
    request: Request, session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, payment_id: str
) -> Response[schemas.Payment]:
    op = service.CancelPayment(services, storefront, payment_id)
    return await driver.run(op, request=request, session=session, body={})


@post(
    "/v1/payments/{payment_id:str}/sync",
    tags=TAGS,
    guards=[storefront_guard],
    status_code=200,
    description="Re-reads the payment from the provider and converges to it, a terminal status the provider's "
    "object contradicts included (a webhook event never moves one back). `changes` lists each field the sync "
    "changed, `from` and `to`; empty when the hub agreed already.",
)
async def sync_payment(
    session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, payment_id: str
) -> schemas.SyncedPayment:
    return await service.sync_payment(session, services, storefront, payment_id)


@post("/v1/payments/{payment_id:str}/refunds", tags=TAGS, guards=[admin_guard], status_code=201)
async def create_refund(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    payment_id: str,
    data: schemas.RefundCreate | None = None,
) -> Response[schemas.Refund]:
    await require_strict(request, schemas.RefundCreate)
    body = data or schemas.RefundCreate()
    op = refunds.CreateRefund(services, admin, payment_id, body)
    return await driver.run(op, request=request, session=session, body=body)


@get("/v1/payments/{payment_id:str}/refunds", tags=TAGS, guards=[storefront_guard])
async def list_refunds(session: AsyncSession, storefront: TenantPrincipal, payment_id: str) -> schemas.RefundList:
    return await refunds.list_refunds(session, storefront, payment_id)


@post(
    "/v1/payments/{payment_id:str}/transfers",
    tags=MARKETPLACE,
    guards=[admin_guard],
    status_code=201,
    description="Releases part of a captured payment to a seller's connected account: a transfer from the "
    "payment's charge (`source_transaction`) in the group named by the payment. Refused before the provider is "
    "called for a payment not `succeeded`/`partially_refunded` (409 `invalid_state`), an account that cannot "
    "receive transfers (422 `account_not_ready`) and more than the payment still holds (422 `amount_too_large`).",
)
async def create_transfer(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    payment_id: str,
    data: schemas.TransferCreate,
) -> Response[schemas.Transfer]:
    await require_strict(request, schemas.TransferCreate)
    op = transfers.CreateTransfer(services, admin, payment_id, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/payments/{payment_id:str}/transfers", tags=MARKETPLACE, guards=[storefront_guard])
async def list_transfers(session: AsyncSession, storefront: TenantPrincipal, payment_id: str) -> schemas.TransferList:
    return await transfers.list_transfers(session, storefront, payment_id)


@post(
    "/v1/transfers/{transfer_id:str}/reversals",
    tags=MARKETPLACE,
    guards=[admin_guard],
    status_code=201,
    description="Takes back (part of) a transfer from the connected account; answers with the transfer after it.",
)
async def reverse_transfer(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    transfer_id: str,
    data: schemas.ReversalCreate | None = None,
) -> Response[schemas.Transfer]:
    await require_strict(request, schemas.ReversalCreate)
    body = data or schemas.ReversalCreate()
    op = reversals.ReverseTransfer(services, admin, transfer_id, body)
    return await driver.run(op, request=request, session=session, body=body)


@post("/v1/checkout/sessions", tags=TAGS, guards=[storefront_guard], status_code=201)
async def create_checkout_session(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.CheckoutSessionCreate,
) -> Response[schemas.CheckoutSession]:
    await require_strict(request, schemas.CheckoutSessionCreate)
    op = checkout.CreateCheckoutSession(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/providers/{provider:str}/acceptance", tags=TAGS, guards=[storefront_guard])
async def acceptance(
    session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, provider: str
) -> schemas.Acceptance:
    return await buyer.acceptance(session, services, storefront, provider)


@get("/v1/providers/{provider:str}/pse-banks", tags=TAGS, guards=[storefront_guard])
async def pse_banks(
    session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, provider: str
) -> schemas.BankList:
    return await buyer.banks(session, services, storefront, provider, "pse")


ROUTES: list = [
    acceptance,
    pse_banks,
    create_payment,
    list_payments,
    get_payment,
    capture_payment,
    cancel_payment,
    sync_payment,
    create_refund,
    list_refunds,
    create_transfer,
    list_transfers,
    reverse_transfer,
    create_checkout_session,
]
