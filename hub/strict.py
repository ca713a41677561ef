"""Strict JSON typing for bodies that carry money.

Litestar converts request bodies leniently (``"amount": "2000"`` becomes 2000). A payment API
must not guess: an amount arrives as a JSON integer or the request is refused, unchanged.
"""

from __future__ import annotations

import re

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

_AT = re.compile(r"\s*-\s*at `\$\.?([^`]*)`$")


async def require_strict(request: Request, struct: type[msgspec.Struct]) -> None:
    body = await request.body()
    if not body.strip():
        return  # an optional body that is absent: Litestar has already applied the defaults
    try:
        msgspec.json.decode(body, type=struct, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        m = _AT.search(message)
        key = m.group(1) if m else None
        if m:
            message = message[: m.start()]
        raise ValidationException(detail="Validation failed", extra=[{"message": message, "key": key}]) from None
    except msgspec.DecodeError:
        return  # cannot happen after Litestar decoded it; the lenient result stands
