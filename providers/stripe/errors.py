"""Stripe SDK exceptions -> the neutral typed errors of providers.base. Never echoes a key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import stripe

from providers.base.errors import (
    CardDeclined,
    InvalidCredentials,
    InvalidRequest,
    InvalidState,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from providers.base.secrets import mask_secrets


class DeadlineExceeded(stripe.APIConnectionError):
    """The call, retries included, ran past the overall deadline (raised by the shared HTTP client)."""


@contextmanager
def stripe_errors(into: Callable[[stripe.StripeError], Exception] | None = None) -> Iterator[None]:
    """The one place an SDK exception becomes the neutral typed error: every call to Stripe runs in it.

    A handler inside that wants one case for itself catches it and returns, or re-raises
    (``raise``) to have it translated here like any other. ``into`` replaces ``translate`` for a
    caller whose errors mean something else (the platform's own billing key).
    """
    try:
        yield
    except stripe.StripeError as exc:
        raise (into or translate)(exc) from None


def translate(exc: stripe.StripeError) -> ProviderError:
    err = getattr(exc, "error", None)
    message = mask_secrets(  # Stripe echoes keys in some messages
        getattr(err, "message", None) or exc.user_message or "Stripe refused the request"
    )
    param = getattr(err, "param", None)
    code = getattr(err, "code", None) or getattr(exc, "code", None)
    if isinstance(exc, stripe.CardError):
        decline = getattr(err, "decline_code", None) or code
        obj = getattr(err, "payment_intent", None)
        return CardDeclined(
            message,
            decline_code=decline,
            provider_object_id=getattr(obj, "id", None) if obj is not None else None,
            param=param,
        )
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return InvalidCredentials("Stripe rejected the tenant's secret key", provider_code=code)
    if isinstance(exc, stripe.RateLimitError):
        return RateLimited("Stripe is rate-limiting this account; retry later", provider_code=code)
    if isinstance(exc, DeadlineExceeded):
        return ProviderUnavailable("Stripe did not answer within the hub's deadline", provider_code="deadline")
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderUnavailable("Stripe could not be reached", provider_code=code)
    status = exc.http_status or 0
    if status >= 500 or status == 0:
        return ProviderUnavailable("Stripe answered with a server error", provider_code=code)
    if isinstance(exc, stripe.APIError) and status < 400:
        # A success status whose body could not be read (cut off on the way): Stripe may well have
        # acted, so the outcome is unknown, never a refusal. The body is not echoed.
        return ProviderUnavailable("Stripe's answer could not be read", provider_code=code)
    if code in {"payment_intent_unexpected_state", "charge_already_captured", "charge_already_refunded"}:
        return InvalidState(message, param=param, provider_code=code)
    if isinstance(exc, stripe.IdempotencyError):
        return InvalidRequest(message, param=param, provider_code=code or "idempotency_error")
    return InvalidRequest(message, param=param, provider_code=code)
