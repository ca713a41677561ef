"""One-shot result messages across a Post/Redirect/Get.

A console action answers with a 303 to the page it acted on; what it did (or why it could not)
rides along in a short-lived cookie, signed so that nothing but the hub can write one, and
naming the page it is for. That page shows it once and deletes it: a reload shows the page as
it is, and sends nothing again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any, Literal

import msgspec
from litestar import Request, Response

from hub.console import cookies

#: Long enough for the redirect to be followed; a message not shown by then is stale.
MAX_AGE = 120


class Flash(msgspec.Struct, frozen=True):
    page: str
    kind: Literal["ok", "error"]
    message: str
    #: What the person typed in the form, to fill it in again after an error.
    amount: str = ""


def key_for(platform_token: str) -> bytes:
    """The signing key of the messages, derived from the platform token (the console router keeps it)."""
    return hmac.new(platform_token.encode(), b"hub-console-flash", hashlib.sha256).digest()


def _sign(request: Request, payload: str) -> str:
    return hmac.new(cookies.options(request).flash_key, payload.encode(), hashlib.sha256).hexdigest()


def put(response: Response[Any], request: Request, flash: Flash) -> None:
    payload = base64.urlsafe_b64encode(msgspec.json.encode(flash)).decode().rstrip("=")
    response.set_cookie(cookies.make(request, cookies.FLASH, f"{payload}.{_sign(request, payload)}", MAX_AGE))


def take(request: Request, page: str) -> Flash | None:
    """The message for ``page``, if there is one (the page then deletes it: see :func:`forget`)."""
    raw = cookies.read(request, cookies.FLASH)
    if not raw or len(raw) > 4096:
        return None
    payload, _, signature = raw.partition(".")
    if not hmac.compare_digest(signature, _sign(request, payload)):
        return None
    try:
        flash = msgspec.json.decode(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)), type=Flash)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    return flash if flash.page == page else None


def forget(response: Response[Any], request: Request) -> None:
    """The message is shown by ``response``: the browser deletes it, and a reload does not show it."""
    cookies.delete(response, request, cookies.FLASH)
