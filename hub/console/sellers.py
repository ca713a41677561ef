"""The console's Sellers page: the tenant's connected accounts, what each still owes its
provider, and a button that makes an onboarding link for it.

The same service functions and operation as ``/v1/connected-accounts``. A link works once and
expires in minutes, so it is shown on the page that answers the click, never stored.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.connect import schemas
from hub.connect import service as connect
from hub.console.common import admin, page, well_formed_id, with_status
from hub.console.pages import error_message
from hub.errors import HubError
from hub.operations import driver
from hub.services import Injected, Services
from providers.base.errors import ProviderError


async def _sellers_page(session: AsyncSession, who: TenantPrincipal, **context: Any) -> Template:
    accounts = await connect.list_accounts(session, who, limit=100, starting_after=None, status=None)
    defaults: dict[str, Any] = {"link": None, "linked": None, "error": None}
    return page("sellers.html", who, accounts=accounts.data, **{**defaults, **context})


@get("/sellers")
async def sellers_page(request: Request, session: AsyncSession) -> Template:
    return await _sellers_page(session, await admin(request, session))


@post("/sellers/{account_id:str}/link")
async def seller_link(
    request: Request, session: AsyncSession, services: Injected[Services], account_id: str
) -> Template:
    who = await admin(request, session)
    if not well_formed_id(account_id):
        return with_status(page("not_found.html", who), 404)
    back = f"{services.settings.server.public_url}/console/sellers"
    data = schemas.LinkCreate(return_url=back, refresh_url=back, type="update")
    op = connect.CreateAccountLink(services, who, account_id, data)
    try:
        answer = await driver.run(
            op, request=request, session=session, body=None, route="console.sellers.link", status_code=200
        )
    except (HubError, ProviderError) as exc:  # the driver undid the phases' writes
        if isinstance(exc, HubError) and exc.status == 404:
            return with_status(page("not_found.html", who), 404)
        status = exc.status if isinstance(exc, HubError) else 502
        return with_status(await _sellers_page(session, who, error=error_message(exc)), status)
    content = answer.content
    link = (
        content if isinstance(content, schemas.AccountLink) else msgspec.json.decode(content, type=schemas.AccountLink)
    )
    return await _sellers_page(session, who, link=link, linked=account_id)


ROUTES = [sellers_page, seller_link]
