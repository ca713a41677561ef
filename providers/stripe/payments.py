"""Stripe payment operations (PaymentIntents, refunds, customers, Checkout Sessions)."""

from __future__ import annotations


class StripePayments:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""
