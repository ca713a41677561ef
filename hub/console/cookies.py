"""The console's cookies: the session, the CSRF token and the one-shot result message.

In prod their names carry the ``__Host-`` prefix, so the browser keeps them only when they are
Secure, for Path=/ and without a Domain: no sibling host or plain-HTTP page can set or shadow
them. Elsewhere (plain HTTP on a laptop) they are ordinary cookies for ``/console``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from hub.console.sessions import COOKIE as SESSION

__all__ = ["CSRF", "FLASH", "SESSION", "delete", "make", "name", "path", "prod", "read"]

CSRF = "hub_console_csrf"
FLASH = "hub_console_flash"


def prod(request: Request) -> bool:
    return bool(request.app.state.services.settings.server.env == "prod")


def name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def path(secure: bool) -> str:
    return "/" if secure else "/console"


def make(request: Request, base: str, value: str, max_age: int) -> Cookie:
    secure = prod(request)
    return Cookie(
        key=name(base, secure),
        value=value,
        path=path(secure),
        httponly=True,
        samesite="strict",
        secure=secure,
        max_age=max_age,
    )


def read(request: Request, base: str) -> str | None:
    return request.cookies.get(name(base, prod(request)))


def delete(response: Response[Any], request: Request, base: str) -> None:
    secure = prod(request)
    response.delete_cookie(name(base, secure), path=path(secure))
