"""The console's cookies: the session, the CSRF token and the one-shot result message.

In prod their names carry the ``__Host-`` prefix, so the browser keeps them only when they are
Secure, for Path=/ and without a Domain: no sibling host or plain-HTTP page can set or shadow
them. Elsewhere (plain HTTP on a laptop) they are ordinary cookies for ``/console``.

Which of the two, and the key that signs the result messages, are the console router's own
options (:class:`Options`, set by ``console_router`` from the settings), read from the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from hub.console.sessions import COOKIE as SESSION

__all__ = ["CSRF", "FLASH", "OPT", "SESSION", "Options", "delete", "make", "name", "options", "path", "prod", "read"]

CSRF = "hub_console_csrf"
FLASH = "hub_console_flash"


#: The key of the console's :class:`Options` in its router's ``opt`` (every console handler has it).
OPT = "hub_console"


@dataclass(frozen=True)
class Options:
    #: Prod: ``__Host-`` cookies, Secure, for Path=/.
    secure_cookies: bool
    #: The HMAC key of the one-shot result messages (hub/console/flash.py).
    flash_key: bytes


def options(request: Request) -> Options:
    found = request.route_handler.opt[OPT]
    assert isinstance(found, Options)
    return found


def prod(request: Request) -> bool:
    return options(request).secure_cookies


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
