"""Stripe SDK exceptions from the PLATFORM's account turned into the hub's typed errors.

The Stripe plugin's translator does the work (one map of Stripe's errors for tenants and the
platform alike); billing changes only what means something else for the platform's own key: a
refused key is the operator's misconfiguration (503), not a tenant's invalid credentials.
hub/errors.py turns the result into problem+json. Messages are masked by the translator.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import stripe

from hub.errors import ServiceUnavailable
from providers.base import errors as perr
from providers.stripe.errors import stripe_errors
from providers.stripe.errors import translate as translate_stripe_error


class BillingMisconfigured(ServiceUnavailable):
    code, title = "billing_misconfigured", "Billing misconfigured"


def billing_calls() -> AbstractContextManager[None]:
    """The plugin's one error-translation wrapper, with the platform's meaning of a refused key."""
    return stripe_errors(translate)


def translate(exc: stripe.StripeError) -> Exception:
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return BillingMisconfigured("Stripe refused the platform's billing key (HUB_BILLING_STRIPE_SECRET_KEY)")
    error = translate_stripe_error(exc)
    if isinstance(error, perr.CardDeclined) and error.param is None:
        error.param = "payment_method"  # the only card a billing request carries
    return error
