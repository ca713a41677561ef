"""The tenant's marketplace sellers: connected accounts at its provider, their onboarding links."""
