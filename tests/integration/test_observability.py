"""Request ids, the access log, structured lines and the Prometheus figures, through the real app."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.logging import JsonFormatter, TextFormatter
from tests.support import stripe_events as se
from tests.support.hub import PLATFORM, PLATFORM_TOKEN

WEBHOOK_SECRET = "whsec_observedsecret00001"


def _records(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


async def test_every_response_carries_a_new_request_id_or_the_callers_own(hub):
    fresh = await hub.request("GET", "/health")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    again = await hub.request("GET", "/health")
    assert again.headers["x-request-id"] != fresh.headers["x-request-id"]
    mine = await hub.request("GET", "/v1/tenants", headers={"X-Request-Id": "order-1001/retry.2"})
    assert mine.status_code == 401 and mine.headers["x-request-id"] == "order-1001/retry.2"
    unmatched = await hub.request("GET", "/no/such/route", headers={"X-Request-Id": "abc"})
    assert unmatched.status_code == 404 and unmatched.headers["x-request-id"] == "abc"


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "tab\there", "é-accent"])
async def test_a_request_id_that_is_too_long_or_not_printable_ascii_is_replaced(hub, sent):
    r = await hub.request("GET", "/health", headers={"X-Request-Id": sent.encode("utf-8")})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), r.headers["x-request-id"]


async def test_one_access_line_per_request_with_route_template_status_tenant_and_no_token(hub, caplog):
    tenant = await hub.create_tenant()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        r = await hub.request("GET", "/v1/payments/pay_doesnotexist", headers=tenant.storefront)
    assert r.status_code == 404
    (line,) = _records(caplog, "hub.access")
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["method"] == "GET" and fields["route"] == "/v1/payments/{payment_id}"
    assert fields["status"] == 404 and fields["tenant_id"] == tenant.id
    assert isinstance(fields["duration_ms"], float)
    assert line.request_id == r.headers["x-request-id"]  # type: ignore[attr-defined]
    for formatter in (JsonFormatter(), TextFormatter()):
        text = formatter.format(line)
        assert tenant.storefront_key not in text and "pay_doesnotexist" not in text
    parsed = json.loads(JsonFormatter().format(line))
    assert parsed["request_id"] == r.headers["x-request-id"] and parsed["route"] == "/v1/payments/{payment_id}"
    assert parsed["tenant_id"] == tenant.id and parsed["level"] == "INFO"


async def test_the_access_line_takes_a_tenant_from_the_path_only_when_it_is_shaped_like_a_tenant_id(hub, caplog):
    # The path is the caller's text: a key pasted where a tenant id belongs must not ride on the record
    # into every handler of the host's logging (the hub's own handler masks it; another would not).
    tenant = await hub.create_tenant()
    pasted = "sk_" + "test_51PastedIntoThePath0001"
    calls = [
        ("GET", f"/v1/tenants/{pasted}", PLATFORM, pasted),
        ("POST", f"/v1/webhooks/stripe/{pasted}", {}, pasted),
        ("GET", f"/v1/tenants/{tenant.id}", PLATFORM, tenant.id),
        ("POST", f"/v1/webhooks/stripe/{tenant.id}", {}, tenant.id),
    ]
    seen = []
    for method, path, headers, _ in calls:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            await hub.request(method, path, headers=headers, content=b"{}" if method == "POST" else None)
        (line,) = _records(caplog, "hub.access")
        seen.append(line.fields["tenant_id"])  # type: ignore[attr-defined]
    assert seen == [None, None, tenant.id, tenant.id]


async def test_lines_logged_while_serving_carry_that_requests_id(hub, caplog):
    tenant = await hub.create_tenant()
    assert (await hub.register_stripe(tenant, webhook_secret=WEBHOOK_SECRET)).status_code == 200
    with caplog.at_level(logging.INFO):
        r = await se.deliver(hub.http, tenant.id, b'{"id": "evt_x"}', "whsec_not_the_tenants_secret")
    assert r.status_code == 400
    refused = [rec for rec in _records(caplog, "hub.webhooks") if "refused" in rec.getMessage()]
    assert refused and all(rec.request_id == r.headers["x-request-id"] for rec in refused)  # type: ignore[attr-defined]


def test_formatters_keep_one_record_on_one_line_and_mask_secrets():
    record = logging.LogRecord(
        "hub.test", logging.INFO, __file__, 1, "name=%s", ("evil\nINFO forged line\x1b[0m",), None
    )
    record.request_id = "rid-1"
    text = TextFormatter().format(record)
    assert "\n" not in text and "\x1b" not in text and "\\n" in text and "[rid-1]" in text
    line = JsonFormatter().format(record)
    assert "\n" not in line and json.loads(line)["message"] == "name=evil\nINFO forged line\x1b[0m"


async def _metrics(hub) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await hub.request("GET", "/metrics", headers=PLATFORM)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _delta(before, after, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_need_the_platform_token(hub):
    tenant = await hub.create_tenant()
    assert (await hub.request("GET", "/metrics")).status_code == 401
    assert (await hub.request("GET", "/metrics", headers=tenant.admin)).status_code == 403
    body = (await hub.request("GET", "/metrics", headers=PLATFORM)).text
    assert PLATFORM_TOKEN not in body and "hub_http_requests_total" in body


async def test_metrics_count_requests_stripe_calls_webhook_outcomes_and_apply_lag(hub):
    before = await _metrics(hub)
    tenant = await hub.create_tenant()
    assert (await hub.register_stripe(tenant, webhook_secret=WEBHOOK_SECRET)).status_code == 200
    bad = await se.deliver(hub.http, tenant.id, b'{"id": "evt_x"}', "whsec_not_the_tenants_secret")
    assert bad.status_code == 400
    unknown = se.event("payment_intent.succeeded", se.payment_intent("pi_unknown0001", "succeeded"))
    ok = await se.deliver(hub.http, tenant.id, se.encode(unknown), WEBHOOK_SECRET)
    assert ok.status_code == 200
    await hub.request("GET", "/never/routed")
    # Ingest counts the event as stored (pending); the applier counts its outcome once applied.
    deadline = time.monotonic() + 20
    after = await _metrics(hub)
    while _delta(before, after, "hub_webhook_events_total", provider="stripe", outcome="ignored") < 1:
        assert time.monotonic() < deadline, "the applier did not count the event's outcome within 20 s"
        await asyncio.sleep(0.05)
        after = await _metrics(hub)

    requests = "hub_http_requests_total"
    assert _delta(before, after, requests, method="POST", route="/v1/tenants", status="201") == 1
    assert (
        _delta(before, after, requests, method="PUT", route="/v1/providers/{provider}/credentials", status="200") == 1
    )
    assert _delta(before, after, requests, method="GET", route="unmatched", status="404") == 1
    assert not any("/never/routed" in str(labels) for _, labels in after)
    assert _delta(before, after, "hub_stripe_calls_total", operation="GET /v1/balance", outcome="ok") == 1
    assert _delta(before, after, "hub_stripe_call_duration_seconds_count", operation="GET /v1/balance") == 1
    events = "hub_webhook_events_total"
    assert _delta(before, after, events, provider="stripe", outcome="signature_invalid") == 1
    assert _delta(before, after, events, provider="stripe", outcome="pending") == 1
    assert _delta(before, after, events, provider="stripe", outcome="ignored") == 1
    assert _delta(before, after, "hub_webhook_apply_lag_seconds_count") == 1
    assert ("hub_notification_deliveries_total", ()) not in after  # a family with labels, none recorded yet


async def test_a_stripe_call_is_one_debug_line_and_the_sdk_says_nothing_at_info(hub, caplog):
    tenant = await hub.create_tenant()
    with caplog.at_level(logging.DEBUG):
        assert (await hub.register_stripe(tenant)).status_code == 200
    ours = [r.getMessage() for r in _records(caplog, "providers.stripe")]
    assert ours == [m for m in ours if m.startswith("stripe GET /v1/balance -> 200 in ")] and len(ours) == 1, ours
    assert not [r for r in caplog.records if r.name == "stripe" and r.levelno >= logging.INFO]


async def test_at_debug_the_database_drivers_do_not_log_the_values_the_hub_writes(hub, caplog):
    # aiosqlite logs each statement with its parameters at DEBUG: names, emails, sealed secrets.
    marker = "Shop-" + "7c1e5b0d9a"
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        r = await hub.request("POST", "/v1/tenants", json={"name": marker}, headers=PLATFORM)
    assert r.status_code == 201, r.text
    assert [rec.name for rec in caplog.records if marker in rec.getMessage()] == []
