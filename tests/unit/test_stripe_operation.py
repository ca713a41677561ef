"""The Stripe operation name used as a metric label is bounded: ids never become part of it."""

from __future__ import annotations

import pytest

from providers.stripe.client import operation_name

BASE = "http://127.0.0.1:8420"


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("post", f"{BASE}/v1/payment_intents", "POST /v1/payment_intents"),
        (
            "post",
            f"{BASE}/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/capture",
            "POST /v1/payment_intents/{id}/capture",
        ),
        ("get", f"{BASE}/v1/payment_intents/pi_abcdefghijklmn", "GET /v1/payment_intents/{id}"),
        ("get", f"{BASE}/v1/payment_intents/search?query=metadata", "GET /v1/payment_intents/search"),
        ("get", "https://api.stripe.com/v1/checkout/sessions/cs_test_a1B2c3", "GET /v1/checkout/sessions/{id}"),
        ("delete", f"{BASE}/v1/webhook_endpoints/we_1Abc", "DELETE /v1/webhook_endpoints/{id}"),
        ("get", f"{BASE}/v1/balance", "GET /v1/balance"),
        ("post", f"{BASE}/v1/setup_intents", "POST /v1/setup_intents"),
    ],
)
def test_ids_in_the_path_become_a_placeholder_and_resource_names_stay(method, url, expected):
    assert operation_name(method, url) == expected
