"""Connected-account routes: parse, call one service function, return a Struct.

Storefront keys read; creating, syncing and making onboarding links take an admin key.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.dependencies import admin_guard, storefront_guard
from hub.auth.principal import TenantPrincipal
from hub.connect import schemas, service
from hub.operations import driver
from hub.recurring.http import ACTION, CREATE, LIST, READ, Cursor, Limit
from hub.services import Injected, Services
from providers.base.statuses import ConnectedAccountStatusName

TAGS = ["connected accounts"]
PATH = "/v1/connected-accounts"


@post(PATH, tags=TAGS, guards=[admin_guard], status_code=201, responses=CREATE)
async def create_connected_account(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    data: schemas.ConnectedAccountCreate,
) -> Response[schemas.ConnectedAccount]:
    op = service.CreateConnectedAccount(services, admin, data)
    return await driver.run(op, request=request, session=session, body=data)


@get(PATH, tags=TAGS, guards=[storefront_guard], responses=LIST)
async def list_connected_accounts(
    session: AsyncSession,
    storefront: TenantPrincipal,
    limit: Limit = 20,
    starting_after: Cursor = None,
    status: Annotated[ConnectedAccountStatusName | None, Parameter()] = None,
) -> schemas.ConnectedAccountList:
    return await service.list_accounts(session, storefront, limit=limit, starting_after=starting_after, status=status)


@get(f"{PATH}/{{account_id:str}}", tags=TAGS, guards=[storefront_guard], responses=READ)
async def get_connected_account(
    session: AsyncSession, storefront: TenantPrincipal, account_id: str
) -> schemas.ConnectedAccount:
    return await service.get_account(session, storefront, account_id)


@post(f"{PATH}/{{account_id:str}}/sync", tags=TAGS, guards=[admin_guard], status_code=200, responses=ACTION)
async def sync_connected_account(
    request: Request, session: AsyncSession, services: Injected[Services], admin: TenantPrincipal, account_id: str
) -> Response[schemas.ConnectedAccount]:
    op = service.SyncConnectedAccount(services, admin, account_id)
    return await driver.run(op, request=request, session=session, body=None)


@post(f"{PATH}/{{account_id:str}}/links", tags=TAGS, guards=[admin_guard], status_code=201, responses=ACTION)
async def create_account_link(
    request: Request,
    session: AsyncSession,
    services: Injected[Services],
    admin: TenantPrincipal,
    account_id: str,
    data: schemas.LinkCreate,
) -> Response[schemas.AccountLink]:
    op = service.CreateAccountLink(services, admin, account_id, data)
    return await driver.run(op, request=request, session=session, body=data)


ROUTES: list = [
    create_connected_account,
    list_connected_accounts,
    get_connected_account,
    sync_connected_account,
    create_account_link,
]
