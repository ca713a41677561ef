"""The tenant admin console: server-rendered pages over the same services the API uses.

Every page is rendered for the admin the session cookie names; nothing secret is rendered back
(only hints such as ``sk_test_…1234``). Forms carry Litestar's CSRF token; the router sends a
strict Content-Security-Policy (no inline script), ``X-Frame-Options: DENY`` and ``no-store``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console import cookies, flash, notifications, pages, payments, providers, sellers, sessions
from hub.console.common import NotSignedIn
from hub.console.common import admin as _admin
from hub.console.common import form_text as _form_text
from hub.console.common import page as _page
from hub.console.common import with_status as _status
from hub.console.csrf import SessionCSRFMiddleware, csrf_config
from hub.console.static_files import static_router
from hub.credentials import diagnosis
from hub.credentials import schemas as credential_schemas
from hub.credentials import service as credentials
from hub.db.ids import well_formed_id
from hub.errors import HubError
from hub.operations import driver
from hub.services import Injected, Services
from hub.tenants import service as tenants
from providers.base.errors import ProviderError

TEMPLATES = Path(__file__).parent / "templates"
#: Fields of the Stripe form that may be left empty (a stored secret is then kept).
OPTIONAL = ("webhook_secret", "connect_webhook_secret")
PROVIDER = "stripe"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_refused(error: str, wait: int) -> Response[Any]:
    return _status(_page("login.html", None, error=error), 429, {"Retry-After": str(wait)})


# -- sign-in -------------------------------------------------------------------------------


@get("/login")
async def login_page() -> Template:
    return _page("login.html", None, error=None)


@post("/login")
async def login(request: Request, session: AsyncSession, services: Injected[Services]) -> Response[Any]:
    """Sign in. Failures count per client address and a success does not forgive them; past the
    limit a wrong key gets 429, while a valid admin key still signs in (others' failures at a shared
    address must not lock its admin out). Each key may sign in ``SIGN_INS_PER_KEY`` times a minute.
    Sign-ins count in the API's limits (in-process, or in Redis shared by every worker)."""
    form = await request.form()
    try:
        who = await sessions.admin_key(session, _form_text(form, "api_key"))
    except sessions.SignInRefused as exc:
        wait = await services.limits.failed_sign_in(_client(request))
        if wait is not None:
            return _sign_in_refused(f"Too many failed sign-ins. Try again in {wait} seconds.", wait)
        return _status(_page("login.html", None, error=str(exc)), 401)
    wait = await services.limits.sign_in(who.key_id)
    if wait is not None:
        return _sign_in_refused(f"Too many sign-ins with this key. Try again in {wait} seconds.", wait)
    try:
        token = await sessions.open_session(session, who)
    except sessions.SignInRefused as exc:  # suspended since the key was read
        return _status(_page("login.html", None, error=str(exc)), 401)
    cookie = cookies.make(request, cookies.SESSION, token, int(sessions.LIFETIME.total_seconds()))
    return Redirect("/console/payments", cookies=[cookie])


@post("/logout")
async def logout(request: Request, session: AsyncSession) -> Redirect:
    await sessions.sign_out(session, cookies.read(request, cookies.SESSION))
    response = Redirect("/console/login")
    cookies.delete(response, request, cookies.SESSION)
    return response


@get("/")
async def home() -> Redirect:
    return Redirect("/console/payments")


# -- Stripe connection -----------------------------------------------------------------------


async def _stripe_page(services: Services, session: AsyncSession, who: TenantPrincipal, **context: Any) -> Template:
    view = await pages.credentials_or_none(session, services, who, PROVIDER)
    webhook_url = tenants.webhook_url(services.settings.server.public_url, who.tenant_id, PROVIDER)
    defaults: dict[str, Any] = {
        "errors": {},
        "form_error": None,
        "saved": False,
        "check": None,
        "form": {},
        "repaired": False,
    }
    return _page("stripe.html", who, view=view, webhook_url=webhook_url, **{**defaults, **context})


@get("/stripe")
async def stripe_page(request: Request, session: AsyncSession, services: Injected[Services]) -> Template:
    who = await _admin(request, session)
    return await _stripe_page(services, session, who)


@post("/stripe")
async def stripe_save(request: Request, session: AsyncSession, services: Injected[Services]) -> Response[Any]:
    who = await _admin(request, session)
    form = await request.form()
    names = ("publishable_key", "secret_key", "webhook_secret", "connect_webhook_secret")
    fields = {name: _form_text(form, name).strip() for name in names}
    let_hub_create = _form_text(form, "create_webhook") == "1"
    errors: dict[str, str] = {}
    for name, label in (("publishable_key", "Publishable key"), ("secret_key", "Secret key")):
        if not fields[name]:
            errors[name] = f"{label} is required."
    if not fields["webhook_secret"] and not let_hub_create:
        errors["webhook_secret"] = "Enter the webhook signing secret, or let the hub create the webhook."
    kept = {"publishable_key": fields["publishable_key"]}  # the only public one: never echo the others
    if errors:
        page = await _stripe_page(services, session, who, errors=errors, form=kept)
        return _status(page, 422)
    try:
        # The same checks as the API's (a field too long, say: 422 naming it, shown next to it).
        data = {k: v for k, v in fields.items() if v or k not in OPTIONAL}
        await credentials.put_credentials(session, services, who, PROVIDER, data)
    except (HubError, ProviderError) as exc:  # refused with nothing written (its writes are a savepoint)
        param = getattr(exc, "param", None)
        message = pages.error_message(exc)
        field_errors = {param: message} if param in fields else {}
        page = await _stripe_page(
            services,
            session,
            who,
            errors=field_errors,
            form_error=None if field_errors else message,
            form=kept,
        )
        return _status(page, 422)
    return await _stripe_page(services, session, who, saved=True)


async def _diagnosed(
    request: Request,
    session: AsyncSession,
    services: Services,
    run: Callable[[TenantPrincipal], Awaitable[credential_schemas.HealthCheck]],
    *,
    repair: bool,
) -> Template:
    who = await _admin(request, session)
    try:
        check = await run(who)
        result = pages.check_result(check)
    except (HubError, ProviderError) as exc:  # a check writes nothing; a repair's phases are undone by the driver
        result = pages.check_failed(pages.error_message(exc))
    return await _stripe_page(services, session, who, check=result, repaired=repair)


@post("/stripe/check")
async def stripe_check(request: Request, session: AsyncSession, services: Injected[Services]) -> Template:
    async def check(who: TenantPrincipal) -> credential_schemas.HealthCheck:
        return await diagnosis.health_check(session, services, who, PROVIDER)

    return await _diagnosed(request, session, services, check, repair=False)


@post("/stripe/repair")
async def stripe_repair(request: Request, session: AsyncSession, services: Injected[Services]) -> Template:
    async def repair(who: TenantPrincipal) -> credential_schemas.HealthCheck:
        op = diagnosis.RepairWebhook(services, who, PROVIDER)
        async with op.serialized():
            await driver.run(op, request=request, session=session, body=None)
        return await diagnosis.health_check(session, services, who, PROVIDER)

    return await _diagnosed(request, session, services, repair, repair=True)


# -- events and API keys -----------------------------------------------------------------------


@get("/events")
async def events_page(request: Request, session: AsyncSession) -> Template:
    who = await _admin(request, session)
    starting_after = request.query_params.get("starting_after") or None
    if starting_after is not None and not well_formed_id(starting_after):
        starting_after = None
    rows, has_more = await pages.events(session, who.tenant_id, starting_after)
    return _page("events.html", who, events=rows, has_more=has_more)


async def _keys_page(session: AsyncSession, who: TenantPrincipal, **context: Any) -> Template:
    keys = await tenants.list_api_keys(session, who.tenant_id)
    defaults: dict[str, Any] = {"created": None, "error": None, "message": None}
    return _page("api_keys.html", who, keys=keys.data, **{**defaults, **context})


@get("/api-keys")
async def keys_page(request: Request, session: AsyncSession) -> Template:
    who = await _admin(request, session)
    return await _keys_page(session, who)


@post("/api-keys")
async def keys_create(request: Request, session: AsyncSession) -> Response[Any]:
    who = await _admin(request, session)
    scope = _form_text(await request.form(), "scope")
    if scope not in ("admin", "storefront"):
        return _status(await _keys_page(session, who, error="Choose admin or storefront."), 422)
    created = await tenants.create_api_key(session, who.tenant_id, scope, actor=who.actor)
    return await _keys_page(session, who, created=created)


@post("/api-keys/{key_id:str}/revoke")
async def keys_revoke(request: Request, session: AsyncSession, key_id: str) -> Response[Any]:
    who = await _admin(request, session)
    if not well_formed_id(key_id):
        return _status(_page("not_found.html", who), 404)
    try:
        async with session.begin_nested():  # a refused revocation's writes are undone
            await tenants.revoke_api_key(session, who.tenant_id, key_id, actor=who.actor)
    except HubError as exc:
        return _status(await _keys_page(session, who, error=pages.error_message(exc)), exc.status)
    if key_id == who.key_id:  # the key this session stands on is gone: so is the session
        return Redirect("/console/login")
    return await _keys_page(session, who, message="Key revoked.")


def _to_login(_: Request, __: NotSignedIn) -> Response[Any]:
    return Redirect("/console/login")


def console_router(services_settings_secret: str, *, secure_cookies: bool) -> Router:
    """The console, under /console, with CSRF protection and the page security headers."""
    return Router(
        path="/console",
        route_handlers=[
            login_page,
            login,
            logout,
            home,
            stripe_page,
            stripe_save,
            stripe_check,
            stripe_repair,
            *providers.ROUTES,
            *payments.ROUTES,
            events_page,
            keys_page,
            keys_create,
            keys_revoke,
            *notifications.ROUTES,
            *sellers.ROUTES,
            static_router(),
        ],
        middleware=[
            DefineMiddleware(
                SessionCSRFMiddleware,
                config=csrf_config(services_settings_secret, secure_cookies),
                session_cookie=cookies.name(cookies.SESSION, secure_cookies),
            )
        ],
        response_headers=[
            ResponseHeader(name="Content-Security-Policy", value=CSP),
            ResponseHeader(name="X-Frame-Options", value="DENY"),
            ResponseHeader(name="Cache-Control", value="no-store"),
            ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
            ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ],
        exception_handlers={NotSignedIn: _to_login},
        opt={cookies.OPT: cookies.Options(secure_cookies, flash.key_for(services_settings_secret))},
        include_in_schema=False,
    )
