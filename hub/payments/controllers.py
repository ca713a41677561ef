"""Storefront payment routes."""

ROUTES: list = []
