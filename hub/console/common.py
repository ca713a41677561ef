"""What every console page handler shares: the signed-in admin, rendering, form values."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console import cookies, sessions
from hub.db.ids import well_formed_id

__all__ = ["NotSignedIn", "admin", "form_text", "page", "well_formed_id", "with_status"]


class NotSignedIn(NotAuthorizedException):
    """No valid console session: the browser is sent to the sign-in page."""


async def admin(request: Request, session: AsyncSession) -> TenantPrincipal:
    """The admin the session cookie names, or NotSignedIn (a redirect to the sign-in page)."""
    who = await sessions.current(session, cookies.read(request, cookies.SESSION))
    if who is None:
        raise NotSignedIn()
    return who


def page(name: str, who: TenantPrincipal | None, **context: Any) -> Template:
    return Template(template_name=name, context={"who": who, **context})


def with_status(template: Template, status_code: int, headers: dict[str, str] | None = None) -> Template:
    template.status_code = status_code
    for name, value in (headers or {}).items():
        template.headers[name] = value
    return template


def form_text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
