"""billing_* tables (filled in by the billing module)."""
