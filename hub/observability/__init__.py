"""Metrics (Prometheus), the request id and the access log."""
