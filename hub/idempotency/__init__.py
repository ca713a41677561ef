"""Idempotency-Key for every POST that creates something or moves money: one implementation for all routes."""
