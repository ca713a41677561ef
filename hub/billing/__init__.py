"""Platform SaaS billing: the platform charging its tenants, on the platform's own Stripe account.

Shares no credentials, tables or webhook with the tenant side.
"""
