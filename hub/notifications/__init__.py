"""Notifications to each tenant's own application: endpoints, the outbox, the dispatcher (Standard Webhooks)."""
