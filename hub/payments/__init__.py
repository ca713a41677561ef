"""Storefront routes, the payment service, status rules, idempotency."""
