"""The hub's Prometheus figures, and one small function to record each.

Counters live in the process (``prometheus-client``); with ``hub serve --workers N`` each worker
answers ``/metrics`` with its own figures unless ``PROMETHEUS_MULTIPROC_DIR`` names a directory
they share (prometheus-client's multiprocess mode), in which case the answer sums every worker.

Labels are bounded: the route is its template (``/v1/payments/{payment_id}``), never the path,
and the Stripe operation is the plugin's path template (``/v1/payment_intents/{id}``): no id is ever
a label value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

disable_created_metrics()  # the *_created series only double the output; scrapers track resets themselves

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "hub_http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"], buckets=_LATENCY_BUCKETS
)
STRIPE_CALLS = Counter(
    "hub_stripe_calls", "Calls to Stripe's API (retries included in one call), by outcome", ["operation", "outcome"]
)
STRIPE_SECONDS = Histogram(
    "hub_stripe_call_duration_seconds",
    "Latency of a Stripe API call, retries included",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_EVENTS = Counter("hub_webhook_events", "Webhook deliveries received, by outcome", ["provider", "outcome"])
NOTIFICATION_DELIVERIES = Counter(
    "hub_notification_deliveries", "Outgoing notification delivery attempts, by resulting status", ["status"]
)
APPLY_LAG = Histogram(
    "hub_webhook_apply_lag_seconds",
    "From a webhook event's receipt to its effect on the payment",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0),
)
PRUNED_ROWS = Counter(
    "hub_pruned_rows",
    "Rows removed by retention, by table (signature_failure_notes: notes cleared on provider_credentials)",
    ["table"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


def observe_stripe_call(operation: str, outcome: str, seconds: float) -> None:
    STRIPE_CALLS.labels(operation, outcome).inc()
    STRIPE_SECONDS.labels(operation).observe(seconds)


DB_CONNECTIONS = Counter(
    "hub_db_connections_opened", "Database connections opened by the pool (a pool too small for the load opens many)"
)


def count_db_connection() -> None:
    DB_CONNECTIONS.inc()


def count_webhook_event(outcome: str, provider: str = "stripe") -> None:
    """``applied``, ``ignored``, ``failed``, ``duplicate`` or ``signature_invalid``."""
    WEBHOOK_EVENTS.labels(provider, outcome).inc()


def count_notification_delivery(status: str) -> None:
    """``delivered``, ``failed`` (given up) or ``retrying``."""
    NOTIFICATION_DELIVERIES.labels(status).inc()


def observe_apply_lag(seconds: float) -> None:
    APPLY_LAG.observe(max(0.0, seconds))


def count_pruned(table: str, rows: int) -> None:
    PRUNED_ROWS.labels(table).inc(rows)


class _Given(Collector):
    """Metrics read elsewhere at scrape time (the database's backlog): exposed once, never summed."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def render(extra: Iterable[Metric] = ()) -> tuple[bytes, str]:
    """The exposition text and its content type; ``extra``: figures of the whole hub, read at scrape time."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    given = CollectorRegistry(auto_describe=False)
    given.register(_Given(extra))
    return body + generate_latest(given), CONTENT_TYPE_LATEST
