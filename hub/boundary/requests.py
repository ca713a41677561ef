"""Checks every /v1 request passes before a handler runs (docs/errors.md, "The request itself").

- a body sent to a JSON route is ``application/json`` (415 ``unsupported_media_type``);
- it decodes as JSON, is valid UTF-8 and is not absurdly nested (400 ``invalid_json``; the nesting
  rule is the plugin contract's, ``providers.base.jsonbody``, which webhook bodies obey too);
- no control character in a path id (404), a query parameter or a JSON text (422).

The webhook routes are left alone here: their raw bytes are verified against a signature, and a
provider decides their content type (and parses them with the same nesting rule).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from hub.errors import InvalidJson, NotFound, UnsupportedMediaType, ValidationFailed
from hub.text import has_control, has_control_in_text
from providers.base.jsonbody import MAX_DEPTH, NotJson, decode, too_deep

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
RAW_BODY_PREFIXES = ("/v1/webhooks/", "/v1/platform/billing/webhook")


async def check_request(request: Request) -> None:
    path = request.url.path
    if not path.startswith("/v1/"):
        return
    for value in request.path_params.values():
        if isinstance(value, str) and has_control(value):
            raise NotFound("No such resource")
    for name, value in request.query_params.multi_items():
        if has_control(name) or (isinstance(value, str) and has_control(value)):
            raise ValidationFailed("Query parameters may not contain control characters", param=_printable(name))
    if request.method in BODY_METHODS and not path.startswith(RAW_BODY_PREFIXES):
        body = await request.body()
        if body.strip():
            _check_media_type(request.headers.get("content-type", ""))
            _check_json(body)


def _check_media_type(content_type: str) -> None:
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType("The request body must be sent as application/json")


def _check_json(body: bytes) -> None:
    try:
        value = decode(body)  # NestedTooDeep (400 invalid_json) past the decoder's own limit
    except NotJson:
        raise InvalidJson("The request body is not valid JSON") from None
    _walk(value)


def _walk(root: Any) -> None:
    """Depth (the contract's nesting rule) and control characters in one walk, without recursion."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise too_deep(MAX_DEPTH)
        if isinstance(value, str):
            if has_control_in_text(value):
                raise ValidationFailed("Text may not contain control characters", param=_param(path))
        elif isinstance(value, dict):
            for key, item in value.items():
                if has_control(key):
                    raise ValidationFailed("Field names may not contain control characters", param=_param(path))
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(n))) for n, item in enumerate(value))


def _param(path: tuple[str, ...]) -> str | None:
    return _printable(".".join(path)) if path else None


def _printable(name: str) -> str:
    # A param names client text: keep it short and free of what it was refused for.
    return "".join(c if c.isprintable() else "?" for c in name[:100])
