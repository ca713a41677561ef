"""A tenant's provider context: its stored credentials decrypted into a TenantContext, and the cache of them."""
