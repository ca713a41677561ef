"""Platform billing routes."""

ROUTES: list = []
