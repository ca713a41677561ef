"""API keys (hashing, scopes), guards, and the current-tenant dependency."""
