"""The console's CSRF protection: Litestar's double-submit cookie, its token bound to the session.

Litestar signs every token with one secret, so a token (and its cookie) taken from one session
passes in any other: someone able to plant a cookie in a victim's browser (a sibling host, a
plain-HTTP page of the same name) could post with their own. Here each token is signed with a
key derived from the secret *and* the session cookie it was made under: a token made for
another session (or for the sign-in page, before the session) does not verify, and a page of
the new session hands out a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_BYTES, CSRF_SECRET_LENGTH, CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from hub.console import cookies


def csrf_config(platform_token: str, secure_cookies: bool) -> CSRFConfig:
    # Every worker and machine derives the same signing secret, without a new setting to manage.
    secret = hmac.new(platform_token.encode(), b"hub-console-csrf", hashlib.sha256).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name=cookies.name(cookies.CSRF, secure_cookies),
        cookie_path=cookies.path(secure_cookies),
        cookie_samesite="strict",
        cookie_httponly=True,
        cookie_secure=secure_cookies,
    )


def _sign(key: str, random_part: str) -> str:
    return hmac.new(key.encode(), random_part.encode(), hashlib.sha256).hexdigest()


class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware, with tokens signed under a key of the current session."""

    def __init__(self, app: ASGIApp, config: CSRFConfig, session_cookie: str) -> None:
        super().__init__(app, config)
        self.session_cookie = session_cookie

    def _key(self, session: str | None) -> str:
        return hmac.new(self.config.secret.encode(), f"session:{session or ''}".encode(), hashlib.sha256).hexdigest()

    def _valid(self, token: str | None, key: str) -> str | None:
        """The token's random part when ``key`` signed it, else None."""
        if not token or len(token) != CSRF_SECRET_LENGTH + 64:
            return None
        random_part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return random_part if hmac.compare_digest(signature, _sign(key, random_part)) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        key = self._key(request.cookies.get(self.session_cookie))
        cookie = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            if self._valid(cookie, key) is not None:
                state.csrf_token = cookie
                await self.app(scope, receive, send)
                return
            # No cookie, or one of another session: a new token, and its cookie with the answer.
            random_part = secrets.token_hex(CSRF_SECRET_BYTES)
            token = state.csrf_token = random_part + _sign(key, random_part)
            await self.app(scope, receive, self.create_send_wrapper(send=send, csrf_cookie=None, token=token))
            return
        sent = request.headers.get(self.config.header_name)
        if not sent and request.content_type[0] in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            value = (await request.form()).get("_csrf_token")
            sent = value if isinstance(value, str) else None
        from_form, from_cookie = self._valid(sent, key), self._valid(cookie, key)
        if from_form is None or from_cookie is None or not hmac.compare_digest(from_form, from_cookie):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        await self.app(scope, receive, send)
