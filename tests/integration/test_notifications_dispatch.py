"""The dispatcher: retries on the schedule with the same message, gives up as ``failed``, retries on
request, signs with both secrets during a rotation, survives a crash, and never lets one dead
endpoint hold up another tenant's messages."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.db.engine import make_engine, make_sessionmaker
from hub.notifications.service import delivery_counts
from tests.support.hub import PLATFORM
from tests.support.notifications import add_endpoint, deliveries, eventually, notify_hub, receiver, settled
from tests.support.payments import create_payment, stripe_tenant
from tests.support.rawdb import execute

BASE = "/v1/notification-endpoints"


async def ping(hub, tenant, endpoint_id):
    r = await hub.request("POST", f"{BASE}/{endpoint_id}/test", headers=tenant.admin)
    assert r.status_code == 202, r.text
    return r.json()


@pytest.fixture
async def nhub(database_url, emulator, shared_home):
    async with notify_hub(database_url, str(shared_home), emulator.url) as client:
        yield client


async def test_an_endpoint_failing_twice_gets_the_same_message_on_the_third_attempt(nhub):
    tenant = await nhub.create_tenant()
    async with receiver(script=[500, 503]) as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        sent = await ping(nhub, tenant, endpoint["id"])
        [delivery] = await eventually(settled(nhub, tenant, endpoint["id"], 1))
    assert (delivery["attempts"], delivery["last_status_code"]) == (3, 200)
    assert len(app.messages) == 3
    assert {m.headers["webhook-id"] for m in app.messages} == {sent["message_id"]}
    assert len({m.body for m in app.messages}) == 1  # one message id, one body
    for m in app.messages:
        m.verify(endpoint["secret"])


async def test_past_the_schedule_a_delivery_fails_and_a_retry_through_the_api_delivers_it(
    database_url, emulator, shared_home
):
    # Never answers: each attempt ends at the (short) timeout; the schedule allows two attempts.
    env = {"HUB_NOTIFY_TIMEOUT_SECONDS": "0.3", "HUB_NOTIFY_RETRY_SCHEDULE": "0.05"}
    async with notify_hub(database_url, str(shared_home), emulator.url, **env) as hub, receiver(hang=True) as app:
        tenant = await hub.create_tenant()
        endpoint = await add_endpoint(hub, tenant, app.url)
        sent = await ping(hub, tenant, endpoint["id"])
        [failed] = await eventually(settled(hub, tenant, endpoint["id"], 1, "failed"))
        assert (failed["attempts"], failed["last_status_code"], failed["next_attempt_at"]) == (2, None, None)
        assert len(app.messages) == 2
        app.hang = False
        r = await hub.request(
            "POST", f"{BASE}/{endpoint['id']}/deliveries/{sent['delivery_id']}/retry", headers=tenant.admin
        )
        assert (r.status_code, r.json()["status"]) == (202, "pending")
        [delivered] = await eventually(settled(hub, tenant, endpoint["id"], 1))
        assert delivered["attempts"] == 3
        assert app.messages[-1].headers["webhook-id"] == sent["message_id"]


async def test_during_a_rotation_each_message_verifies_with_the_old_and_with_the_new_secret(nhub):
    tenant = await nhub.create_tenant()
    async with receiver() as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        r = await nhub.request("POST", f"{BASE}/{endpoint['id']}/rotate-secret", headers=tenant.admin)
        assert r.status_code == 200, r.text
        new_secret = r.json()["secret"]
        assert new_secret.startswith("whsec_") and new_secret != endpoint["secret"]
        await ping(nhub, tenant, endpoint["id"])
        [message] = await eventually(lambda: app.messages)
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    assert message.verify(endpoint["secret"])["type"] == "ping"
    assert message.verify(new_secret)["type"] == "ping"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(message.body, message.headers)


async def test_a_message_recorded_by_a_worker_that_stops_before_sending_is_sent_by_the_next(
    database_url, emulator, shared_home
):
    async with receiver() as app:
        # The first worker records (it commits the payment change) but never sends: it "crashes".
        async with notify_hub(database_url, str(shared_home), emulator.url, HUB_NOTIFY_DISPATCH="0") as first:
            tenant, _ = await stripe_tenant(first)
            endpoint = await add_endpoint(first, tenant, app.url)
            r = await create_payment(
                first, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True
            )
            assert r.status_code == 201
            [pending] = await deliveries(first, tenant, endpoint["id"])
            assert (pending["status"], pending["type"], pending["attempts"]) == (
                "pending",
                "payment.requires_capture",
                0,
            )
        assert app.messages == []
        async with notify_hub(database_url, str(shared_home), emulator.url) as second:
            await eventually(settled(second, tenant, endpoint["id"], 1))
        [message] = app.messages
        assert message.verify(endpoint["secret"])["data"]["id"] == r.json()["id"]


@pytest.mark.alone  # measures how soon a message goes out
async def test_a_dead_endpoint_does_not_hold_up_another_tenants_messages(database_url, emulator, shared_home):
    # A long timeout: while this test runs, none of the dead endpoint's attempts can end. The
    # tenant's share is set to the endpoint's: here the endpoint's bound is the one that holds.
    env = {
        "HUB_NOTIFY_TIMEOUT_SECONDS": "60",
        "HUB_NOTIFY_PER_ENDPOINT": "2",
        "HUB_NOTIFY_CONCURRENCY": "4",
        "HUB_NOTIFY_PER_TENANT": "2",
    }
    async with notify_hub(database_url, str(shared_home), emulator.url, **env) as hub:
        tenant_a = await hub.create_tenant("A")
        tenant_b = await hub.create_tenant("B")
        async with receiver(hang=True) as dead, receiver() as alive:
            dead_endpoint = await add_endpoint(hub, tenant_a, dead.url)
            for _ in range(6):
                await ping(hub, tenant_a, dead_endpoint["id"])
            await eventually(lambda: dead.waiting == 2)  # both of its slots are held, unanswered
            live_endpoint = await add_endpoint(hub, tenant_b, alive.url)
            for _ in range(3):
                await ping(hub, tenant_b, live_endpoint["id"])
            await eventually(settled(hub, tenant_b, live_endpoint["id"], 3))
            assert dead.waiting == 2  # still hanging: B went through beside it, not after it
            assert all(d["attempts"] == 0 for d in await deliveries(hub, tenant_a, dead_endpoint["id"]))


#: The endpoint answers at once; a send that outlived the suite's short 3 s timeout (a pause of the
#: whole test process, as seen once in a full run) would be retried with the same webhook-id, which
#: is at-least-once working as designed, not what this test is about.
PATIENT = {"HUB_NOTIFY_TIMEOUT_SECONDS": "15"}


@pytest.mark.alone  # measures how soon a message goes out
async def test_two_workers_on_one_database_send_each_message_once(database_url, emulator, shared_home):
    async with (
        notify_hub(database_url, str(shared_home), emulator.url, **PATIENT) as one,
        notify_hub(database_url, str(shared_home), emulator.url, **PATIENT) as two,
        receiver() as app,
    ):
        tenant = await one.create_tenant()
        endpoint = await add_endpoint(one, tenant, app.url)
        sent = await asyncio.gather(*(ping(hub, tenant, endpoint["id"]) for hub in [one, two] * 6))
        await eventually(settled(two, tenant, endpoint["id"], 12))
        ids = sorted(m.headers["webhook-id"] for m in app.messages)
        assert ids == sorted(s["message_id"] for s in sent)  # each once: none twice, none lost
        assert all(d["attempts"] == 1 for d in await deliveries(one, tenant, endpoint["id"]))


async def test_a_secret_that_cannot_be_opened_holds_up_only_its_own_endpoint(nhub, database_url):
    tenant_a = await nhub.create_tenant("A")
    tenant_b = await nhub.create_tenant("B")
    async with receiver() as app_a, receiver() as app_b:
        endpoint_a = await add_endpoint(nhub, tenant_a, app_a.url)
        endpoint_b = await add_endpoint(nhub, tenant_b, app_b.url)
        # B's sealed secret copied onto A's endpoint: bound to B and B's endpoint, it opens nowhere else.
        await execute(
            database_url,
            "UPDATE notification_endpoints SET secret = (SELECT secret FROM notification_endpoints WHERE id = :b)"
            " WHERE id = :a",
            a=endpoint_a["id"],
            b=endpoint_b["id"],
        )
        await ping(nhub, tenant_a, endpoint_a["id"])
        await ping(nhub, tenant_b, endpoint_b["id"])
        await eventually(settled(nhub, tenant_b, endpoint_b["id"], 1))
        [held] = await deliveries(nhub, tenant_a, endpoint_a["id"])
    assert (held["status"], held["attempts"]) == ("pending", 0)
    assert app_a.messages == [] and len(app_b.messages) == 1
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await delivery_counts(session) == {"pending": 1, "delivered": 1, "failed": 0}
    finally:
        await engine.dispose()


async def test_a_delivery_leased_by_a_worker_that_died_mid_send_is_sent_once_the_lease_ends(
    database_url, emulator, shared_home
):
    async with receiver() as app:
        async with notify_hub(database_url, str(shared_home), emulator.url, HUB_NOTIFY_DISPATCH="0") as first:
            tenant = await first.create_tenant()
            endpoint = await add_endpoint(first, tenant, app.url)
            sent = await ping(first, tenant, endpoint["id"])
        # What a worker's claim leaves behind when it dies before writing the outcome: its token and
        # a lease, here already over.
        await execute(
            database_url,
            "UPDATE notification_deliveries SET claim_token = 'dead-worker', next_attempt_at = created_at"
            " WHERE id = :id",
            id=sent["delivery_id"],
        )
        async with notify_hub(database_url, str(shared_home), emulator.url) as second:
            [delivered] = await eventually(settled(second, tenant, endpoint["id"], 1))
    assert delivered["attempts"] == 1
    assert [m.headers["webhook-id"] for m in app.messages] == [sent["message_id"]]


#: Long enough that an unfair dispatcher makes the other tenant wait seconds, not tenths.
HANGING = {"HUB_NOTIFY_TIMEOUT_SECONDS": "10"}
#: ``flood`` sends 200 pings with one admin key as fast as the hub answers: past the default
#: 50 a second (bursts of 100) on a fast machine. The per-key rate limit is not what is tested here.
UNTHROTTLED = {"HUB_RATE_LIMIT_PER_KEY": "10000"}


async def flood(hub, tenant, url: str, messages: int) -> list[dict]:
    """The tenant's full set of 20 endpoints, all at ``url``, and ``messages`` pings spread over them."""
    endpoints = [await add_endpoint(hub, tenant, url) for _ in range(20)]
    for i in range(messages):
        await ping(hub, tenant, endpoints[i % len(endpoints)]["id"])
    return endpoints


async def delay_of_first_message(app, since: float, within: float = 40.0) -> float:
    await eventually(lambda: app.messages, within=within)
    return time.monotonic() - since


@pytest.mark.alone  # measures how soon a message goes out
async def test_a_tenant_whose_endpoints_all_hang_leaves_slots_for_another_tenant_on_two_workers(
    database_url, emulator, shared_home
):
    # Tenant A: 20 endpoints that never answer within the timeout and hundreds of messages, i.e.
    # more sends than a worker has slots; B's one message must not wait for A's timeouts.
    async with (
        notify_hub(database_url, str(shared_home), emulator.url, **HANGING, **UNTHROTTLED) as one,
        notify_hub(database_url, str(shared_home), emulator.url, **HANGING, **UNTHROTTLED) as two,
        receiver(hang=True) as dead,
        receiver() as alive,
    ):
        tenant_a = await one.create_tenant("A")
        tenant_b = await one.create_tenant("B")
        await flood(one, tenant_a, dead.url, 200)
        await eventually(lambda: dead.holding >= 16)
        # Every slot the dispatchers give A is taken by now (and the receiver, which cannot run
        # while the test client serves a request, has seen which of them A's sender gave up).
        await asyncio.sleep(1)
        held = dead.holding
        endpoint_b = await add_endpoint(two, tenant_b, alive.url)
        sent = time.monotonic()
        await ping(two, tenant_b, endpoint_b["id"])
        delay = await delay_of_first_message(alive, sent)
        print(f"\nanother tenant's message delivered {delay:.2f} s after it was queued; A held {held} sends")
        assert delay < 1.0
        # Each worker gives one tenant at most its HUB_NOTIFY_PER_TENANT share (8 of 32 by default).
        assert held <= 16


@pytest.mark.alone  # measures how soon a message goes out
@pytest.mark.parametrize(
    "share",
    [
        {},
        # A tenant may take every slot: the claim's turns between tenants alone keep B's message in.
        {"HUB_NOTIFY_CONCURRENCY": "4", "HUB_NOTIFY_PER_TENANT": "4"},
    ],
    ids=["default-share", "whole-worker-share"],
)
async def test_a_backlog_of_one_tenant_does_not_push_another_tenants_message_out_of_the_claim(
    database_url, emulator, shared_home, share
):
    # Everything is queued before the dispatcher starts, A's hundreds first; the poll is too slow
    # to come to the rescue, so B's message goes out in the first claim or only once A's sends end.
    async with receiver(hang=True) as dead, receiver() as alive:
        async with notify_hub(
            database_url, str(shared_home), emulator.url, HUB_NOTIFY_DISPATCH="0", **UNTHROTTLED
        ) as recorder:
            tenant_a = await recorder.create_tenant("A")
            tenant_b = await recorder.create_tenant("B")
            await flood(recorder, tenant_a, dead.url, 200)
            endpoint_b = await add_endpoint(recorder, tenant_b, alive.url)
            await ping(recorder, tenant_b, endpoint_b["id"])
        async with notify_hub(
            database_url, str(shared_home), emulator.url, HUB_NOTIFY_POLL_SECONDS="30", **HANGING, **share
        ) as dispatcher:
            delay = await delay_of_first_message(alive, time.monotonic())
            print(f"\nanother tenant's message delivered {delay:.2f} s after the dispatcher started")
            assert delay < 1.0
            # Recorded once the receiver's answer is back: a moment after the message arrived.
            await eventually(settled(dispatcher, tenant_b, endpoint_b["id"], 1))


def _deliveries_counted(metrics_text: str) -> dict[str, float]:
    counted = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "hub_notification_deliveries_total":
                counted[sample.labels["status"]] = sample.value
    return counted


async def test_each_delivery_attempt_is_counted_in_metrics_by_outcome(nhub):
    before = _deliveries_counted((await nhub.request("GET", "/metrics", headers=PLATFORM)).text)
    tenant = await nhub.create_tenant()
    async with receiver(script=[500]) as app:
        endpoint = await add_endpoint(nhub, tenant, app.url)
        await ping(nhub, tenant, endpoint["id"])
        await eventually(settled(nhub, tenant, endpoint["id"], 1))
    r = await nhub.request("GET", "/metrics", headers=PLATFORM)
    assert r.status_code == 200, r.text
    after = _deliveries_counted(r.text)
    moved = {status: after.get(status, 0.0) - before.get(status, 0.0) for status in ("retrying", "delivered", "failed")}
    assert moved == {"retrying": 1.0, "delivered": 1.0, "failed": 0.0}, moved
