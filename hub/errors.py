"""The one place that turns domain, provider and framework errors into problem+json."""

from __future__ import annotations

import errno
import logging
import re
import socket
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap
from sqlalchemy import exc as sa_exc

from providers.base import errors as perr
from providers.base.secrets import mask_secrets

log = logging.getLogger("hub.errors")

PROBLEM_JSON = "application/problem+json"


class HubError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        param: str | None = None,
        status: int | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class Unauthorized(HubError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(HubError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(HubError):
    status, code, title = 404, "not_found", "Not found"


class ValidationFailed(HubError):
    status, code, title = 422, "validation_error", "Validation error"


class Conflict(HubError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidJson(HubError):
    status, code, title = 400, "invalid_json", "Invalid JSON"


class Unsupported(HubError):
    """The tenant's provider cannot do this for this request (what its plugin declares it cannot do)."""

    status, code, title = 422, "not_supported", "Not supported"


class UnsupportedMediaType(HubError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ServiceUnavailable(HubError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    param: str | None = None
    decline_code: str | None = None
    payment_id: str | None = None
    #: The provider's own error code when the hub reports its refusal as provider_error.
    provider_code: str | None = None


_PROVIDER_STATUS: dict[type[perr.ProviderError], tuple[int, str]] = {
    perr.CredentialsFormatError: (422, "Validation error"),
    perr.ModeMismatch: (422, "Mode mismatch"),
    perr.InvalidCredentials: (422, "Invalid credentials"),
    perr.CardDeclined: (402, "Card declined"),
    perr.InvalidState: (409, "Invalid state"),
    perr.RateLimited: (429, "Rate limited"),
    perr.UnexpectedAnswer: (502, "Provider answer not understood"),
    perr.ProviderUnavailable: (503, "Provider unavailable"),
    perr.SignatureInvalid: (400, "Signature invalid"),
    perr.NestedTooDeep: (400, InvalidJson.title),
    perr.InvalidRequest: (400, "Provider refused the request"),
    perr.InvalidParameter: (422, "Validation error"),
    # The tenant's provider cannot do this: the client may ask it of another provider.
    perr.NotSupported: (422, "Not supported by this provider"),
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = Problem(
        type=f"https://errors.payment-hub.dev/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        param=param,
        **{k: v for k, v in extra.items() if k in Problem.__struct_fields__},
    )
    return Response(content=msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def provider_problem(exc: perr.ProviderError) -> Response:
    status, title = 400, "Provider error"
    for cls in type(exc).__mro__:
        if cls in _PROVIDER_STATUS:
            status, title = _PROVIDER_STATUS[cls]
            break
    extra: dict[str, Any] = {}
    if isinstance(exc, perr.CardDeclined):
        extra["decline_code"] = exc.decline_code
    code = exc.code
    if isinstance(exc, perr.InvalidRequest) and exc.provider_code:
        code = "provider_error"
        extra["provider_code"] = exc.provider_code
    # A payment operation names the hub payment it concerns (e.g. the one a decline kept as failed).
    extra["payment_id"] = exc.payment_id
    return problem(status, code, title, mask_secrets(exc.message), param=exc.param, **extra)


def _hub_error(_: Request, exc: HubError) -> Response:
    return problem(exc.status, exc.code, exc.title, exc.detail, param=exc.param, headers=exc.headers, **exc.extra)


def _provider_error(_: Request, exc: perr.ProviderError) -> Response:
    return provider_problem(exc)


_FIELD_IN_MESSAGE = re.compile(r"(?:missing required field|contains unknown field) `([^`]+)`")


def _param_path(key: str | None, message: str) -> str | None:
    """The dotted path of the offending field (``line_items.0.name``), or None for the body itself.

    Litestar reports the location as ``key`` (``data`` for the body root, ``data.`` stripped
    below it); msgspec names a missing or unknown field only in the message.
    """
    path = [] if key in (None, "", "data") else [key]
    m = _FIELD_IN_MESSAGE.search(message)
    if m:
        path.append(m.group(1))
    joined = ".".join(path).replace("[", ".").replace("]", "")
    return joined or None


def _validation(_: Request, exc: ValidationException) -> Response:
    # Litestar raises this when a decoded body does not match the request Struct, and for bad
    # query/path parameters. Messages are msgspec's ("Expected `str`, got `int`"); masked
    # anyway, because a few of them quote the value that was sent.
    items = [i for i in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(i, dict)]
    if not items:
        return problem(422, "validation_error", "Validation error", mask_secrets(str(exc.detail or "Invalid request")))
    item = items[0]
    message = str(item.get("message", "")) or "Invalid value"
    key = item.get("key")
    if key == "data" and message == "'data'":
        # No body at all where the route needs one.
        return _malformed_json("The request body is required and must be a JSON object")
    param = _param_path(key, message)
    if param is not None:
        param = mask_secrets(param)  # an unknown field's name is client text too
    if param is None and message.startswith("Expected `object`"):
        return problem(422, "validation_error", "Validation error", "The request body must be a JSON object")
    detail = f"{param}: {message}" if param else message
    return problem(422, "validation_error", "Validation error", mask_secrets(detail), param=param)


def _malformed_json(detail: str = "The request body is not valid JSON") -> Response:
    return problem(400, InvalidJson.code, InvalidJson.title, detail)


def _http(_: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        # The body could not be decoded at all (Litestar raises this before any validation).
        return _malformed_json()
    if isinstance(exc, NotFoundException):
        return problem(404, "not_found", "Not found", "No such resource")
    if isinstance(exc, MethodNotAllowedException):
        return problem(
            405, "method_not_allowed", "Method not allowed", "That method is not allowed here", headers=exc.headers
        )
    if isinstance(exc, NotAuthorizedException):
        return problem(401, "unauthorized", "Unauthorized", "A valid bearer token is required")
    if isinstance(exc, PermissionDeniedException):
        return problem(403, "forbidden", "Forbidden", "This token may not do that")
    if status == 413:
        return problem(413, "payload_too_large", "Payload too large", "The request body is too large")
    if status == 429:
        return problem(429, "rate_limited", "Rate limited", "Too many requests", headers=exc.headers)
    if status >= 500:
        return problem(status, "internal_error", "Internal error", "The hub could not complete the request")
    return problem(status, "bad_request", "Bad request", mask_secrets(str(exc.detail or "Bad request")))


_CONNECTION_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)


def _is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError):
        # OperationalError/InterfaceError: the server is gone or refuses work (SQLite: the file is
        # locked or unreadable). Any other DBAPIError counts only when the driver says the
        # connection itself died under it.
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) or exc.connection_invalidated
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection within the pool's timeout
        return True
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return True
    if isinstance(exc, OSError):
        return exc.errno in _CONNECTION_ERRNOS
    # asyncpg's own connection errors, when they surface unwrapped (connecting, mostly).
    module = type(exc).__module__ or ""
    return module.startswith("asyncpg") and any(
        c.__name__ in {"PostgresConnectionError", "InterfaceError", "ConnectionDoesNotExistError"}
        for c in type(exc).__mro__
    )


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_connection_failure(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def database_unavailable() -> Response:
    return problem(
        503,
        "database_unavailable",
        "Database unavailable",
        "The hub cannot reach its database right now; retry shortly",
        headers={"Retry-After": "2"},
    )


def _unhandled(request: Request, exc: Exception) -> Response:
    # Log the type only: exception text from drivers can carry parameters, and parameters can
    # carry secrets. The body never shows a trace.
    if is_database_outage(exc):
        log.warning("database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.url.path)
        return database_unavailable()
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem(500, "internal_error", "Internal error", "The hub could not complete the request")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HubError: _hub_error,
    perr.ProviderError: _provider_error,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unhandled,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "Conflict",
    "Forbidden",
    "HubError",
    "InvalidJson",
    "MediaType",
    "NotFound",
    "ServiceUnavailable",
    "Unauthorized",
    "Unsupported",
    "UnsupportedMediaType",
    "ValidationFailed",
    "database_unavailable",
    "is_database_outage",
    "problem",
    "provider_problem",
]
