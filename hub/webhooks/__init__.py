"""Per-tenant webhook route, the event store (the inbox), the applier and apply-to-payment."""
