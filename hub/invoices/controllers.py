"""Invoice routes. Storefront keys create and read; sending and voiding take an admin key."""

from __future__ import annotations

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.invoices import schemas, service
from hub.operations import driver
from hub.recurring.http import ACTION, CREATE, LIST, READ, Cursor, Limit
from hub.services import Injected, Services
from hub.strict import require_strict

TAGS = ["invoices"]


@post("/v1/invoices", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_invoice(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.InvoiceCreate,
) -> Response[schemas.Invoice]:
    await require_strict(request, schemas.InvoiceCreate)
    op = service.CreateInvoice(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/invoices", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_invoices(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    customer_id: Cursor = None,
    status: schemas.Status | None = None,
) -> schemas.InvoiceList:
    return await service.list_invoices(
        session, storefront, limit=limit, starting_after=starting_after, customer_id=customer_id, status=status
    )


@get("/v1/invoices/{invoice_id:str}", tags=TAGS, guards=[storefront_guard], responses=READ)
async def get_invoice(session: AsyncSession, storefront: TenantPrincipal, invoice_id: str) -> schemas.Invoice:
    return await service.get_invoice(session, storefront, invoice_id)


@post("/v1/invoices/{invoice_id:str}/send", tags=TAGS, guards=[admin_guard], status_code=200, responses=ACTION)
async def send_invoice(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    invoice_id: str,
) -> Response[schemas.Invoice]:
    op = service.SendInvoice(services, admin, invoice_id)
    return await driver.run(op, request=request, session=session, body=None)


@post("/v1/invoices/{invoice_id:str}/void", tags=TAGS, guards=[admin_guard], status_code=200, responses=ACTION)
async def void_invoice(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    invoice_id: str,
) -> Response[schemas.Invoice]:
    op = service.VoidInvoice(services, admin, invoice_id)
    return await driver.run(op, request=request, session=session, body=None)


ROUTES: list = [create_invoice, list_invoices, get_invoice, send_invoice, void_invoice]
