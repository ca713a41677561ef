"""The console's CSRF configuration (Litestar's double-submit cookie, checked on every form post)."""

from __future__ import annotations

import hashlib
import hmac

from litestar.config.csrf import CSRFConfig


def csrf_config(platform_token: str, secure_cookies: bool) -> CSRFConfig:
    # Every worker and machine derives the same signing secret, without a new setting to manage.
    secret = hmac.new(platform_token.encode(), b"hub-console-csrf", hashlib.sha256).hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name="hub_console_csrf",
        cookie_path="/console",
        cookie_samesite="strict",
        cookie_httponly=True,
        cookie_secure=secure_cookies,
    )
