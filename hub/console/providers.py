"""A connection page for every provider plugin without a page of its own (Stripe has one), drawn
from what the plugin declares: its credential fields and labels, its events URL, its check.

Nothing secret is rendered back: the public field is kept in the form after a refusal, the secrets
never; the stored ones show as a hint or as "stored".
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console import pages
from hub.console.common import admin as _admin
from hub.console.common import form_text as _form_text
from hub.console.common import page as _page
from hub.console.common import with_status as _status
from hub.credentials import diagnosis
from hub.credentials import service as credentials
from hub.errors import HubError, NotFound
from hub.services import Injected, Services
from hub.tenants import service as tenants
from providers.base.capabilities import CredentialRole
from providers.base.errors import ProviderError
from providers.base.provider import Provider

#: Providers whose console page is their own (``hub.console.routes``), not this generic one.
OWN_PAGES = frozenset({"stripe"})


def provider_pages(providers: Any) -> list[dict[str, str]]:
    """The navigation links of the generic provider pages: one per registered plugin without its own page."""
    out = []
    for name in providers.names():
        if name not in OWN_PAGES:
            provider = providers.get(name)
            out.append({"name": name, "label": provider.label or name.capitalize()})
    return out


def _provider(services: Services, name: str) -> Provider | None:
    """The plugin of a generic page; ``None`` (the console's not-found page) for an unknown name or Stripe."""
    if name in OWN_PAGES:
        return None
    try:
        return credentials.provider_named(services, name)
    except NotFound:
        return None


def _not_found(who: TenantPrincipal) -> Template:
    return _status(_page("not_found.html", who), 404)


def _fields(provider: Provider, view: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each declared field with what the page shows of its stored value (never a secret)."""
    shown = []
    for f in provider.credentials_spec.fields:
        if f.role is CredentialRole.PUBLIC:
            stored = view.get(f.name) if view else None
        elif f.role is CredentialRole.KEY:
            stored = view.get(f"{f.name}_hint") if view else None
        else:
            stored = ("stored" if view.get(f"{f.name}_set") else "not set") if view else None
        shown.append(
            {"name": f.name, "label": f.label, "public": not f.secret, "required": f.required, "stored": stored}
        )
    return shown


async def _page_of(
    services: Services, session: AsyncSession, who: TenantPrincipal, provider: Provider, **context: Any
) -> Template:
    view = await pages.credentials_or_none(session, services, who, provider.name)
    url = tenants.webhook_url(services.settings.server.public_url, who.tenant_id, provider.name)
    defaults: dict[str, Any] = {"errors": {}, "form_error": None, "saved": False, "check": None, "form": {}}
    return _page(
        "provider.html",
        who,
        provider={"name": provider.name, "label": provider.label or provider.name.capitalize()},
        fields=_fields(provider, view),
        view=view,
        webhook_url=url,
        **{**defaults, **context},
    )


@get("/providers/{name:str}")
async def provider_page(request: Request, session: AsyncSession, services: Injected[Services], name: str) -> Template:
    who = await _admin(request, session)
    provider = _provider(services, name)
    if provider is None:
        return _not_found(who)
    return await _page_of(services, session, who, provider)


@post("/providers/{name:str}")
async def provider_save(
    request: Request, session: AsyncSession, services: Injected[Services], name: str
) -> Response[Any]:
    who = await _admin(request, session)
    provider = _provider(services, name)
    if provider is None:
        return _not_found(who)
    form = await request.form()
    spec = provider.credentials_spec
    body = {f.name: _form_text(form, f.name).strip() for f in spec.fields}
    errors = {f.name: f"{f.label} is required." for f in spec.fields if f.required and not body[f.name]}
    kept = {f.name: body[f.name] for f in spec.fields if not f.secret}  # never echo a secret
    if errors:
        return _status(await _page_of(services, session, who, provider, errors=errors, form=kept), 422)
    try:
        await credentials.put_credentials(session, services, who, provider.name, {k: v for k, v in body.items() if v})
    except (HubError, ProviderError) as exc:  # refused with nothing written (its writes are a savepoint)
        param = getattr(exc, "param", None)
        message = exc.message if isinstance(exc, ProviderError) else exc.detail
        field_errors = {param: message} if param in body else {}
        page = await _page_of(
            services,
            session,
            who,
            provider,
            errors=field_errors,
            form_error=None if field_errors else message,
            form=kept,
        )
        return _status(page, 422)
    return await _page_of(services, session, who, provider, saved=True)


@post("/providers/{name:str}/check")
async def provider_check(request: Request, session: AsyncSession, services: Injected[Services], name: str) -> Template:
    who = await _admin(request, session)
    provider = _provider(services, name)
    if provider is None:
        return _not_found(who)
    try:
        result = pages.check_result(await diagnosis.health_check(session, services, who, provider.name))
    except (HubError, ProviderError) as exc:  # a check writes nothing
        result = pages.check_failed(exc.message if isinstance(exc, ProviderError) else exc.detail)
    return await _page_of(services, session, who, provider, check=result)


ROUTES = [provider_page, provider_save, provider_check]
