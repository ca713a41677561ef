"""Neutral webhook event types, and the webhook part of the provider contract (filled in by the webhooks work)."""

from __future__ import annotations


class WebhooksAPI:
    """Webhook verification and parsing a provider offers (see providers.stripe.webhooks for Stripe's)."""
