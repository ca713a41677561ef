"""Tenant-admin routes: register, check and delete a tenant's provider credentials."""
