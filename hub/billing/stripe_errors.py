"""Stripe SDK exceptions from the PLATFORM's account turned into the hub's typed errors.

Billing cannot use the Stripe plugin's translator (it must not import ``providers.stripe``), so
this small map does the same job with the neutral errors of ``providers.base``; hub/errors.py
turns them into problem+json. Messages are ours, so no key fragment Stripe echoes leaks out.
"""

from __future__ import annotations

import stripe

from hub.errors import ServiceUnavailable
from providers.base import errors as perr


class BillingMisconfigured(ServiceUnavailable):
    code, title = "billing_misconfigured", "Billing misconfigured"


def translate(exc: stripe.StripeError) -> Exception:
    if isinstance(exc, stripe.CardError):
        error = getattr(exc, "error", None)
        decline = getattr(error, "decline_code", None) or exc.code
        return perr.CardDeclined("The payment method was declined", decline_code=decline, param="payment_method")
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return BillingMisconfigured("Stripe refused the platform's billing key (HUB_BILLING_STRIPE_SECRET_KEY)")
    if isinstance(exc, stripe.RateLimitError):
        return perr.RateLimited("Stripe is rate-limiting the platform's account; retry later")
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) >= 500:
        return perr.ProviderUnavailable("Stripe could not be reached for platform billing; nothing was recorded")
    if isinstance(exc, stripe.InvalidRequestError):
        # Stripe's own sentence (e.g. "No such plan: 'x'") helps the operator fix the plan list;
        # invalid-request messages never carry a key.
        return perr.InvalidRequest(
            f"Stripe refused the billing request: {exc.user_message or 'invalid request'}",
            param=exc.param,
            provider_code=exc.code or "invalid_request",
        )
    return perr.InvalidRequest("Stripe refused the billing request", provider_code=exc.code or "stripe_error")
