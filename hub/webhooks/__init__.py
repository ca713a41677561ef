"""Per-tenant webhook route, the event store, apply-to-payment."""
