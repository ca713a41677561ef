"""The health-check diagnoses the tenant's webhook set-up, each silent failure told apart, and the
repair fixes each without ever making a second endpoint.

Stripe's webhook_endpoints API is played by tests/support/stripe_fake.py under the real SDK
(bodies shaped like the published ``webhook_endpoint`` object; the emulator has none).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import pytest

from hub.credentials.webhook_health import WRITE_INTERVAL, SignatureFailures
from hub.db.engine import make_engine, make_sessionmaker
from providers.stripe.webhooks import SUBSCRIBED_EVENTS as HANDLED_EVENTS
from tests.support import stripe_events as se
from tests.support.credentials import stored
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.problem import assert_problem
from tests.support.statements import count_statements
from tests.support.stripe_fake import PUBLIC_URL, FakeStripe

CHECK = "/v1/providers/stripe/health-check"
REPAIR = "/v1/providers/stripe/webhook/repair"
CREATE = ("POST", "/v1/webhook_endpoints")


def hub_url(tenant: TenantHandle) -> str:
    return f"{PUBLIC_URL}/v1/webhooks/stripe/{tenant.id}"


async def registered(hub: HubClient) -> TenantHandle:
    """A tenant registered without a webhook secret: the hub created its endpoint at the fake Stripe."""
    tenant = await hub.create_tenant()
    r = await hub.register_stripe(tenant, webhook_secret=None)
    assert r.status_code == 200, r.text
    return tenant


async def check(hub: HubClient, tenant: TenantHandle, path: str = CHECK) -> dict:
    r = await hub.request("POST", path, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def conditions(body: dict) -> list[str]:
    return [a["condition"] for a in body["webhook"]["advice"]]


def the_endpoint(fake: FakeStripe) -> dict:
    [endpoint] = fake.endpoints.values()
    return endpoint


def creates(fake: FakeStripe) -> int:
    return fake.calls.count(CREATE)


# -- each condition, told apart -----------------------------------------------------------------


async def test_an_enabled_endpoint_at_the_hubs_url_with_every_event_is_ok(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    endpoint = the_endpoint(fake)
    body = await check(hub_on_fake, tenant)
    assert body["ok"] is True and body["error"] is None
    webhook = body["webhook"]
    assert webhook["endpoint"] == "enabled" and webhook["endpoint_id"] == endpoint["id"]
    assert webhook["url_matches"] is True and webhook["url"] == hub_url(tenant)
    assert webhook["missing_events"] == [] and webhook["secret_set"] is True
    assert webhook["last_event_at"] is None and webhook["last_signature_failure_at"] is None
    assert conditions(body) == ["no_events_yet"]
    assert fake.secrets[endpoint["id"]] not in str(body)


async def test_a_disabled_endpoint_is_reported_disabled_and_not_ok(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    the_endpoint(fake)["status"] = "disabled"
    body = await check(hub_on_fake, tenant)
    assert body["ok"] is False and body["error"] is None
    assert body["webhook"]["endpoint"] == "disabled" and body["webhook"]["url_matches"] is True
    assert conditions(body) == ["endpoint_disabled"]
    [advice] = body["webhook"]["advice"]
    assert "disabled" in advice["message"] and "Repair" in advice["message"] and advice["repair"] is True


async def test_an_endpoint_deleted_at_stripe_is_reported_missing(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    fake.endpoints.clear()
    body = await check(hub_on_fake, tenant)
    assert body["ok"] is False
    webhook = body["webhook"]
    assert webhook["endpoint"] == "missing" and "endpoint_id" not in webhook
    assert webhook["url_matches"] is None and webhook["missing_events"] == []
    assert conditions(body) == ["endpoint_missing"]


async def test_an_endpoint_at_an_old_host_and_port_is_enabled_but_does_not_match(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    endpoint = the_endpoint(fake)
    endpoint["url"] = f"http://old-host.example.com:8080/v1/webhooks/stripe/{tenant.id}"
    body = await check(hub_on_fake, tenant)
    assert body["ok"] is False
    webhook = body["webhook"]
    assert webhook["endpoint"] == "enabled" and webhook["endpoint_id"] == endpoint["id"]
    assert webhook["url_matches"] is False
    assert conditions(body) == ["url_mismatch"]
    assert hub_url(tenant) in body["webhook"]["advice"][0]["message"]


async def test_a_hand_made_endpoint_at_an_old_host_is_found_by_the_hubs_path(hub_on_fake, fake):
    tenant = await hub_on_fake.create_tenant()
    mine = fake.add_endpoint(f"http://127.0.0.1:8001/v1/webhooks/stripe/{tenant.id}", events=["*"])
    fake.add_endpoint("https://shop.example.com/stripe-hook")  # the shop's own endpoint: not ours
    assert (await hub_on_fake.register_stripe(tenant, webhook_secret=fake.secrets[mine])).status_code == 200
    body = await check(hub_on_fake, tenant)
    webhook = body["webhook"]
    assert webhook["endpoint_id"] == mine and webhook["url_matches"] is False and webhook["missing_events"] == []
    assert body["ok"] is False and conditions(body) == ["url_mismatch"]


async def test_an_endpoint_missing_events_names_them(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    the_endpoint(fake)["enabled_events"] = ["payment_intent.succeeded", "charge.refunded"]
    body = await check(hub_on_fake, tenant)
    expected = sorted(set(HANDLED_EVENTS) - {"payment_intent.succeeded", "charge.refunded"})
    assert body["webhook"]["missing_events"] == expected
    assert body["webhook"]["endpoint"] == "enabled" and body["webhook"]["url_matches"] is True
    assert body["ok"] is False and conditions(body) == ["events_missing"]
    assert "refund.updated" in body["webhook"]["advice"][0]["message"]


async def test_a_restricted_key_that_may_not_read_endpoints_gets_unknown(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    fake.forbid_endpoints = True  # Stripe answers 403 to a restricted key without webhook access
    body = await check(hub_on_fake, tenant)
    assert body["error"] is None, "the key itself works"
    assert body["ok"] is False
    webhook = body["webhook"]
    assert webhook["endpoint"] == "unknown" and webhook["url_matches"] is None and "endpoint_id" not in webhook
    assert webhook["secret_set"] is True
    assert conditions(body) == ["endpoint_unknown"]
    assert ("GET", "/v1/webhook_endpoints") in fake.calls


async def test_a_rejected_key_is_not_ok_and_endpoints_are_not_asked(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    fake.calls.clear()
    fake.reject_key = True
    body = await check(hub_on_fake, tenant)
    assert body["ok"] is False and body["error"] == "invalid_credentials"
    assert body["webhook"]["endpoint"] == "unknown"
    assert conditions(body) == ["key_rejected"]
    assert fake.calls == [("GET", "/v1/balance")]


async def test_each_tenant_is_diagnosed_with_its_own_key_and_endpoint(hub_on_fake, fake):
    a = await registered(hub_on_fake)
    b = await registered(hub_on_fake)
    [endpoint_b] = fake.at(hub_url(b))
    endpoint_b["status"] = "disabled"
    assert (await check(hub_on_fake, a))["webhook"]["endpoint"] == "enabled"
    assert (await check(hub_on_fake, b))["webhook"]["endpoint"] == "disabled"


# -- the repair -----------------------------------------------------------------------------------


def disable(fake: FakeStripe, tenant: TenantHandle) -> None:
    the_endpoint(fake)["status"] = "disabled"


def move_away(fake: FakeStripe, tenant: TenantHandle) -> None:
    the_endpoint(fake)["url"] = f"http://localhost:9000/v1/webhooks/stripe/{tenant.id}"


def narrow(fake: FakeStripe, tenant: TenantHandle) -> None:
    the_endpoint(fake)["enabled_events"] = ["payment_intent.succeeded"]


def break_everything(fake: FakeStripe, tenant: TenantHandle) -> None:
    disable(fake, tenant)
    move_away(fake, tenant)
    narrow(fake, tenant)


@pytest.mark.parametrize(
    ("breaks", "condition"),
    [
        (disable, ["endpoint_disabled"]),
        (move_away, ["url_mismatch"]),
        (narrow, ["events_missing"]),
        (break_everything, ["endpoint_disabled", "url_mismatch", "events_missing"]),
    ],
)
async def test_repair_fixes_the_endpoint_in_place(
    hub_on_fake, fake, breaks: Callable[[FakeStripe, TenantHandle], None], condition: list[str]
):
    tenant = await registered(hub_on_fake)
    endpoint = the_endpoint(fake)
    secret = fake.secrets[endpoint["id"]]
    breaks(fake, tenant)
    assert conditions(await check(hub_on_fake, tenant)) == condition
    body = await check(hub_on_fake, tenant, REPAIR)
    assert body["ok"] is True, body
    assert body["webhook"]["endpoint_id"] == endpoint["id"] and body["webhook"]["missing_events"] == []
    assert list(fake.endpoints) == [endpoint["id"]] and creates(fake) == 1, "only the registration created one"
    assert endpoint["status"] == "enabled" and endpoint["url"] == hub_url(tenant)
    assert set(HANDLED_EVENTS) <= set(endpoint["enabled_events"])
    assert secret not in str(body)
    assert await verifies(hub_on_fake, tenant, secret), "the stored secret still verifies"


async def test_repair_of_a_missing_endpoint_creates_one_stores_its_secret_and_never_a_second(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    fake.endpoints.clear()
    body = await check(hub_on_fake, tenant, REPAIR)
    assert body["ok"] is True and body["webhook"]["endpoint"] == "enabled"
    new = the_endpoint(fake)
    assert body["webhook"]["endpoint_id"] == new["id"] and creates(fake) == 2
    assert fake.secrets[new["id"]] not in str(body)
    assert await verifies(hub_on_fake, tenant, fake.secrets[new["id"]])
    for _ in range(2):
        assert (await check(hub_on_fake, tenant, REPAIR))["ok"] is True
    assert list(fake.endpoints) == [new["id"]] and creates(fake) == 2, "a repeated repair makes no duplicate"
    r = await hub_on_fake.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert r.json()["webhook_endpoint_id"] == new["id"]


async def test_repair_moves_a_hand_made_endpoint_back_to_the_hubs_url(hub_on_fake, fake):
    tenant = await hub_on_fake.create_tenant()
    mine = fake.add_endpoint(f"http://127.0.0.1:8001/v1/webhooks/stripe/{tenant.id}", events=["*"])
    other = fake.add_endpoint("https://shop.example.com/stripe-hook")
    assert (await hub_on_fake.register_stripe(tenant, webhook_secret=fake.secrets[mine])).status_code == 200
    body = await check(hub_on_fake, tenant, REPAIR)
    assert body["ok"] is True and body["webhook"]["endpoint_id"] == mine
    assert fake.endpoints[mine]["url"] == hub_url(tenant) and fake.endpoints[mine]["enabled_events"] == ["*"]
    assert set(fake.endpoints) == {mine, other} and creates(fake) == 0
    assert await verifies(hub_on_fake, tenant, fake.secrets[mine])


async def test_repair_with_a_key_that_may_not_manage_endpoints_changes_nothing_and_says_why(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    disable(fake, tenant)
    fake.forbid_endpoints = True
    before = await hub_on_fake.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    r = await hub_on_fake.request("POST", REPAIR, headers=tenant.admin)
    assert_problem(r, 422, "invalid_credentials")
    after = await hub_on_fake.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert after.json() == before.json()
    assert the_endpoint(fake)["status"] == "disabled" and creates(fake) == 1


async def test_repair_needs_the_admin_key_and_credentials(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    assert_problem(await hub_on_fake.request("POST", REPAIR, headers=tenant.storefront), 403, "forbidden")
    bare = await hub_on_fake.create_tenant("Bare")
    assert_problem(await hub_on_fake.request("POST", REPAIR, headers=bare.admin), 404, "credentials_missing")
    assert creates(fake) == 1


# -- what the hub received ------------------------------------------------------------------------


async def verifies(hub: HubClient, tenant: TenantHandle, secret: str) -> bool:
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    r = await se.deliver(hub.http, tenant.id, body, secret)
    assert r.status_code in (200, 400), r.text
    return r.status_code == 200


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def test_last_event_and_last_signature_failure_move_with_deliveries(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    secret = fake.secrets[the_endpoint(fake)["id"]]
    start = datetime.now().astimezone()
    assert await verifies(hub_on_fake, tenant, secret)
    webhook = (await check(hub_on_fake, tenant))["webhook"]
    first_event = at(webhook["last_event_at"])
    assert first_event >= start and webhook["last_signature_failure_at"] is None
    creds = await hub_on_fake.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert creds.json()["last_event_at"] == webhook["last_event_at"]

    assert not await verifies(hub_on_fake, tenant, "whsec_someOtherEndpointsSecret")
    body = await check(hub_on_fake, tenant)
    failed = at(body["webhook"]["last_signature_failure_at"])
    assert failed >= first_event
    assert body["ok"] is True and conditions(body) == ["signature_failing"]
    assert "signing secret" in body["webhook"]["advice"][0]["message"]

    assert await verifies(hub_on_fake, tenant, secret)
    body = await check(hub_on_fake, tenant)
    assert at(body["webhook"]["last_event_at"]) >= failed
    assert conditions(body) == [], "a verified event after the failure: the secret is right again"
    assert not await verifies(hub_on_fake, tenant, "whsec_someOtherEndpointsSecret")
    assert at((await check(hub_on_fake, tenant))["webhook"]["last_signature_failure_at"]) >= failed


async def test_a_thousand_badly_signed_deliveries_make_one_database_write(hub_on_fake, fake):
    tenant = await registered(hub_on_fake)
    engine = hub_on_fake.http.app.state.services.engine
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    started = time.monotonic()
    with count_statements(engine) as seen:
        for _ in range(1000):
            r = await se.deliver(hub_on_fake.http, tenant.id, body, "whsec_forgedForgedForged01")
            assert r.status_code == 400
    minutes = int((time.monotonic() - started) // WRITE_INTERVAL)
    writes = [s for s in seen.seen if s.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")]
    # One write per minute per tenant at most: the first failure; more only if the run outlasted a minute.
    assert 1 <= len(writes) <= 1 + minutes, seen
    assert all("provider_credentials" in w for w in writes), seen
    [row] = await stored(hub_on_fake, tenant.id)
    assert row.last_signature_failure_at is not None


async def test_another_process_sees_the_stored_failure(hub_on_fake, fake, database_url, hub_home):
    tenant = await registered(hub_on_fake)
    body = se.encode(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert (await se.deliver(hub_on_fake.http, tenant.id, body, "whsec_forgedForgedForged01")).status_code == 400
    settings = make_settings(database_url, str(hub_home), HUB_PUBLIC_URL=PUBLIC_URL)
    async with build_client(settings, provider_options={"http_transport": fake.transport()}) as client:
        other = HubClient(client, settings)  # a second worker: its own memory, the same database
        webhook = (await check(other, tenant))["webhook"]
    [row] = await stored(hub_on_fake, tenant.id)
    assert webhook["last_signature_failure_at"] is not None
    assert at(webhook["last_signature_failure_at"]) == row.last_signature_failure_at


async def test_a_failure_after_the_interval_is_written_again(hub_on_fake):
    tenant = await registered(hub_on_fake)
    now = [1000.0]
    failures = SignatureFailures(interval=60, clock=lambda: now[0])
    engine = make_engine(hub_on_fake.settings.database.url)
    try:
        sessions = make_sessionmaker(engine)
        with count_statements(engine) as seen:
            for step in (0, 30, 29.9, 0.2, 10):
                now[0] += step
                async with sessions() as session:
                    await failures.record(session, tenant.id, "stripe")
    finally:
        await engine.dispose()
    writes = [s for s in seen.seen if s.startswith("UPDATE")]
    assert len(writes) == 2, seen  # at 0 s and at 60.1 s; not at 30 s, 59.9 s or 70.1 s
