"""The console's Notifications pages: the tenant's endpoints, their deliveries, retry, rotate, test.

The same service functions as ``/v1/notification-endpoints``; a secret is shown once, on the page
that answers its creation or rotation, and never again.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console.common import admin, form_text, page, well_formed_id, with_status
from hub.errors import HubError
from hub.notifications import schemas
from hub.notifications import service as notifications
from hub.services import Injected, Services


async def _list_page(session: AsyncSession, who: TenantPrincipal, **context: Any) -> Template:
    endpoints = await notifications.list_endpoints(session, who, limit=100, starting_after=None)
    defaults: dict[str, Any] = {"created": None, "error": None, "message": None, "form": {}}
    return page("notifications.html", who, endpoints=endpoints.data, **{**defaults, **context})


async def _endpoint_page(session: AsyncSession, who: TenantPrincipal, endpoint_id: str, **context: Any) -> Template:
    endpoint = await notifications.get_endpoint(session, who, endpoint_id)
    deliveries = await notifications.list_deliveries(session, who, endpoint_id, limit=20, starting_after=None)
    defaults: dict[str, Any] = {"secret": None, "error": None, "message": None}
    return page("notification.html", who, endpoint=endpoint, deliveries=deliveries.data, **{**defaults, **context})


@get("/notifications")
async def notifications_page(request: Request, session: AsyncSession) -> Template:
    return await _list_page(session, await admin(request, session))


@post("/notifications")
async def notifications_create(request: Request, session: AsyncSession, services: Injected[Services]) -> Template:
    who = await admin(request, session)
    form = await request.form()
    url = form_text(form, "url").strip()
    events = [e.strip() for e in form_text(form, "enabled_events").split(",") if e.strip()] or ["*"]
    description = form_text(form, "description").strip() or None
    kept = {"url": url, "enabled_events": ", ".join(events), "description": description or ""}
    try:
        data = msgspec.convert(
            {"url": url, "enabled_events": events, "description": description}, schemas.EndpointCreate
        )
        async with session.begin_nested():  # a refused form's writes are undone; the page is then read
            created = await notifications.create_endpoint(session, services, who, data)
    except msgspec.ValidationError as exc:
        return with_status(await _list_page(session, who, error=f"Check the form: {exc}", form=kept), 422)
    except HubError as exc:
        return with_status(await _list_page(session, who, error=exc.detail, form=kept), exc.status)
    return await _list_page(session, who, created=created)


@get("/notifications/{endpoint_id:str}")
async def notification_page(request: Request, session: AsyncSession, endpoint_id: str) -> Template:
    who = await admin(request, session)
    if not well_formed_id(endpoint_id):
        return with_status(page("not_found.html", who), 404)
    try:
        return await _endpoint_page(session, who, endpoint_id)
    except HubError as exc:
        return with_status(page("not_found.html", who), exc.status)


@post("/notifications/{endpoint_id:str}/{action:str}")
async def notification_action(
    request: Request, session: AsyncSession, services: Injected[Services], endpoint_id: str, action: str
) -> Template | Redirect:
    who = await admin(request, session)
    if not well_formed_id(endpoint_id) or action not in ("rotate", "test", "delete"):
        return with_status(page("not_found.html", who), 404)
    try:
        async with session.begin_nested():  # a refused action's writes are undone
            if action == "delete":
                await notifications.delete_endpoint(session, who, endpoint_id)
                return Redirect("/console/notifications")
            if action == "rotate":
                rotated = await notifications.rotate_secret(session, services, who, endpoint_id)
                message = "New secret below: copy it now. The old one keeps signing for 24 hours."
            else:
                await notifications.send_ping(session, who, endpoint_id)
                message = "A ping message is on its way."
        secret = rotated.secret if action == "rotate" else None
        return await _endpoint_page(session, who, endpoint_id, secret=secret, message=message)
    except HubError as exc:
        return with_status(page("not_found.html", who), exc.status)


@post("/notifications/{endpoint_id:str}/deliveries/{delivery_id:str}/retry")
async def delivery_retry(request: Request, session: AsyncSession, endpoint_id: str, delivery_id: str) -> Template:
    who = await admin(request, session)
    if not well_formed_id(endpoint_id) or not well_formed_id(delivery_id):
        return with_status(page("not_found.html", who), 404)
    try:
        async with session.begin_nested():  # a refused retry's writes are undone
            await notifications.retry_delivery(session, who, endpoint_id, delivery_id)
    except HubError as exc:
        return with_status(page("not_found.html", who), exc.status)
    return await _endpoint_page(session, who, endpoint_id, message="The delivery will be sent again now.")


ROUTES = [notifications_page, notifications_create, notification_page, notification_action, delivery_retry]
