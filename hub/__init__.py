"""Multi-tenant payment-gateway integration hub."""
