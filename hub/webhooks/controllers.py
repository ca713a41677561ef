"""Per-tenant webhook route and the event list."""

ROUTES: list = []
