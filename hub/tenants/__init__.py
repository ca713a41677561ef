"""Platform-operator routes and service: tenants, their suspension, and tenant API keys."""
