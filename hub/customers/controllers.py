"""Customer and saved-payment-method routes: parse, call one service function, return a Struct.

Storefront keys create and read; changing or deleting a customer takes an admin key.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.customers import saved_methods, schemas, service
from hub.operations import driver
from hub.recurring.http import ACTION, CREATE, LIST, PLAIN, READ, Cursor, Limit
from hub.services import Injected, Services

TAGS = ["customers"]


@post("/v1/customers", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_customer(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.CustomerCreate,
) -> Response[schemas.Customer]:
    op = service.CreateCustomer(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


@get("/v1/customers", tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_customers(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    email: Annotated[str | None, Parameter(max_length=320, pattern=PLAIN)] = None,
) -> schemas.CustomerList:
    return await service.list_customers(session, storefront, limit=limit, starting_after=starting_after, email=email)


@get("/v1/customers/{customer_id:str}", tags=TAGS, guards=[storefront_guard], responses=READ)
async def get_customer(session: AsyncSession, storefront: TenantPrincipal, customer_id: str) -> schemas.Customer:
    return await service.get_customer(session, storefront, customer_id)


@patch("/v1/customers/{customer_id:str}", tags=TAGS, guards=[admin_guard], responses=ACTION)
async def update_customer(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    customer_id: str,
    data: schemas.CustomerUpdate,
) -> Response[schemas.Customer]:
    op = service.UpdateCustomer(services, admin, customer_id, data)
    return await driver.run(op, request=request, session=session, body=data)


@delete("/v1/customers/{customer_id:str}", tags=TAGS, guards=[admin_guard], status_code=204, responses=ACTION)
async def delete_customer(
    request: Request, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, customer_id: str
) -> None:
    op = service.DeleteCustomer(services, admin, customer_id)
    await driver.run(op, request=request, session=session, body=None)


@get("/v1/customers/{customer_id:str}/payment-methods", tags=TAGS, guards=[storefront_guard], responses=CREATE)
async def list_payment_methods(
    session: AsyncSession, services: Injected[Services], storefront: TenantPrincipal, customer_id: str
) -> schemas.PaymentMethodList:
    return await saved_methods.list_payment_methods(session, services, storefront, customer_id)


@post("/v1/setup-intents", tags=TAGS, guards=[storefront_guard], status_code=201, responses=CREATE)
async def create_setup_intent(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    storefront: TenantPrincipal,
    data: schemas.SetupIntentCreate,
) -> Response[schemas.SetupIntent]:
    op = saved_methods.CreateSetupIntent(services, storefront, data)
    return await driver.run(op, request=request, session=session, body=data)


ROUTES: list = [
    create_customer,
    list_customers,
    get_customer,
    update_customer,
    delete_customer,
    list_payment_methods,
    create_setup_intent,
]
