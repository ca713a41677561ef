"""The one rule that picks the hub's endpoint among a Stripe account's webhook endpoints, shared by
the diagnosis and the repair (bodies shaped like stripe/openapi's ``webhook_endpoint`` fixture)."""

from __future__ import annotations

from typing import Any

from providers.stripe import wire
from providers.stripe.webhooks import SUBSCRIBED_EVENTS as HANDLED_EVENTS
from providers.stripe.webhooks import match_endpoint, missing_events

HUB = "https://hub.example.com/v1/webhooks/stripe/ten_1"


def endpoint(
    endpoint_id: str, url: str, events: list[str] | None = None, status: str = "enabled"
) -> wire.WebhookEndpoint:
    body: dict[str, Any] = {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": 1234567890,
        "description": None,
        "enabled_events": events if events is not None else list(HANDLED_EVENTS),
        "livemode": False,
        "metadata": {},
        "status": status,
        "url": url,
    }
    return wire.decode(body, wire.WebhookEndpoint)


def test_the_endpoint_the_hub_created_is_kept_wherever_it_now_points():
    mine = endpoint("we_mine", "http://old.example.com:8080/v1/webhooks/stripe/ten_1")
    orphan = endpoint("we_orphan", HUB)
    match = match_endpoint([orphan, mine], HUB, known_endpoint_id="we_mine", has_secret=True)
    assert match.keep is mine and match.stale == ["we_orphan"]


def test_without_a_secret_nothing_is_kept_and_only_endpoints_at_the_hubs_url_or_path_are_stale():
    shop = endpoint("we_shop", "https://shop.example.com/stripe")
    other_tenant = endpoint("we_other", "https://hub.example.com/v1/webhooks/stripe/ten_2")
    at_url = endpoint("we_at_url", HUB)
    moved = endpoint("we_moved", "http://127.0.0.1:8001/v1/webhooks/stripe/ten_1/")
    match = match_endpoint([shop, other_tenant, at_url, moved], HUB, known_endpoint_id=None, has_secret=False)
    assert match.keep is None and match.stale == ["we_at_url", "we_moved"]


def test_a_hand_entered_secret_keeps_the_endpoint_at_the_url_before_one_at_an_old_host():
    at_url = endpoint("we_at_url", HUB)
    moved = endpoint("we_moved", "http://127.0.0.1:8001/v1/webhooks/stripe/ten_1")
    assert match_endpoint([moved, at_url], HUB, known_endpoint_id=None, has_secret=True).keep is at_url
    assert match_endpoint([moved], HUB, known_endpoint_id=None, has_secret=True).keep is moved


def test_a_created_endpoint_that_is_gone_is_not_replaced_by_one_whose_secret_is_unknown():
    stranger = endpoint("we_stranger", HUB)
    match = match_endpoint([stranger], HUB, known_endpoint_id="we_deleted", has_secret=True)
    assert match.keep is None and match.stale == ["we_stranger"]


def test_missing_events_are_the_handled_ones_not_sent_and_none_for_a_wildcard():
    assert missing_events(endpoint("we_1", HUB, events=["*"])) == ()
    assert missing_events(endpoint("we_1", HUB)) == ()
    narrow = endpoint("we_1", HUB, events=["payment_intent.succeeded", "customer.created"])
    assert missing_events(narrow) == tuple(sorted(set(HANDLED_EVENTS) - {"payment_intent.succeeded"}))
