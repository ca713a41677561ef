"""Stripe's 300 s tolerance both ways: a signature dated too far in the FUTURE is refused too.

The SDK checks only old timestamps; a delivery signed "a year from now" by a leaked secret
would otherwise stay replayable for a year.
"""

from __future__ import annotations

import math
import time

import pytest

from tests.support import stripe_events as se
from tests.support.payment_rows import table_snapshot

SECRET = "whsec_tenantAsecret0001"


@pytest.fixture
async def tenant(hub):
    t = await hub.create_tenant("A")
    assert (await hub.register_stripe(t, webhook_secret=SECRET)).status_code == 200
    return t


@pytest.mark.parametrize("ahead", [301, 3600, 365 * 24 * 3600])
async def test_a_timestamp_too_far_in_the_future_is_refused(hub, tenant, database_url, ahead):
    body = se.encode(se.event("customer.created", {"id": "cus_x", "object": "customer", "metadata": {}}))
    before = await table_snapshot(database_url, "webhook_events")
    # Rounded up, so the timestamp is ``ahead`` seconds past the hub's clock when it checks (rounded
    # down, a 301 s lead shrank below the tolerance whenever the fraction of a second plus the
    # request's own time reached 1 s).
    r = await se.deliver(hub.http, tenant.id, body, SECRET, timestamp=math.ceil(time.time()) + ahead)
    assert r.status_code == 400 and r.json()["code"] == "signature_invalid", r.text
    assert await table_snapshot(database_url, "webhook_events") == before


async def test_a_timestamp_slightly_ahead_within_the_tolerance_is_accepted(hub, tenant):
    # Clocks drift: Stripe's own tolerance applies in both directions.
    body = se.encode(se.event("customer.created", {"id": "cus_y", "object": "customer", "metadata": {}}))
    r = await se.deliver(hub.http, tenant.id, body, SECRET, timestamp=int(time.time()) + 240)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("case", ["decoy first", "decoy after a blank", "decoy with a second equals sign"])
async def test_a_decoy_timestamp_beside_a_future_one_is_refused(hub, tenant, database_url, case):
    # The future check must read the same t= the signature was verified with, whatever else the header holds.
    body = se.encode(se.event("customer.created", {"id": "cus_d", "object": "customer", "metadata": {}}))
    header = se.decoy_headers(body, SECRET, int(time.time()))[case]
    before = await table_snapshot(database_url, "webhook_events")
    r = await se.deliver(hub.http, tenant.id, body, header=header)
    assert r.status_code == 400 and r.json()["code"] == "signature_invalid", r.text
    assert await table_snapshot(database_url, "webhook_events") == before


async def test_a_normal_header_is_still_accepted(hub, tenant):
    body = se.encode(se.event("customer.created", {"id": "cus_n", "object": "customer", "metadata": {}}))
    r = await se.deliver(hub.http, tenant.id, body, header=se.sign(body, SECRET))
    assert r.status_code == 200, r.text
