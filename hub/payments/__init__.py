"""Storefront routes, the payment service, money and status rules, the in-flight marker."""
