"""Stripe webhook verification and parsing into neutral events."""

from __future__ import annotations


class StripeWebhooks:
    """Mixed into StripeProvider."""
