"""The inbox: a delivery is acknowledged once stored (pending) and applied off the request path.

An ingest-only hub (HUB_APPLIER=0) stores events and applies none, so each test sees exactly
what ingest leaves behind; a second hub on the same database, with its applier, then applies
them, as another worker would.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from hub.db.base import new_id
from tests.support import stripe_events as se
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.inbox import pending_count, wait_applied
from tests.support.payment_rows import count_rows, insert_payment, payment_row
from tests.support.rawdb import execute

SECRET = "whsec_tenantAsecret0001"


@asynccontextmanager
async def hub_app(database_url: str, home: Path, emulator_url: str, **env: str) -> AsyncIterator[HubClient]:
    settings = make_settings(database_url, str(home), HUB_STRIPE_API_BASE=emulator_url, **env)
    async with build_client(settings, shared=True) as client:  # built once for these settings
        yield HubClient(client, settings)


@pytest.fixture
async def ingest(database_url, emulator, shared_home) -> AsyncIterator[HubClient]:
    async with hub_app(database_url, shared_home / "ingest", emulator.url, HUB_APPLIER="0") as client:
        yield client


@pytest.fixture
async def tenant(ingest) -> TenantHandle:
    t = await ingest.create_tenant("A")
    assert (await ingest.register_stripe(t, webhook_secret=SECRET)).status_code == 200
    return t


@asynccontextmanager
async def applier(database_url: str, home: Path, emulator_url: str, **env: str) -> AsyncIterator[HubClient]:
    """A worker with its applier running; it drains what is pending from the moment it starts."""
    async with hub_app(database_url, home / "applier", emulator_url, **env) as client:
        yield client


async def send(hub: HubClient, tenant: TenantHandle, evt: dict) -> None:
    r = await se.deliver(hub.http, tenant.id, se.encode(evt), SECRET)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True}


async def listed(hub: HubClient, tenant: TenantHandle) -> dict[str, dict]:
    r = await hub.request("GET", "/v1/events?limit=100", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return {e["provider_event_id"]: e for e in r.json()["data"]}


async def new_payment(database_url: str, tenant: TenantHandle) -> tuple[str, str]:
    pi_id = "pi_" + new_id("x")[2:]
    return await insert_payment(database_url, tenant_id=tenant.id, provider_payment_id=pi_id, amount=2000), pi_id


def succeeded(tenant: TenantHandle, payment_id: str, pi_id: str) -> dict:
    meta = {"hub_tenant_id": tenant.id, "hub_payment_id": payment_id}
    return se.event(
        "payment_intent.succeeded", se.payment_intent(pi_id, "succeeded", amount_received=2000, metadata=meta)
    )


async def test_an_event_is_pending_until_an_applier_applies_it(ingest, tenant, database_url, emulator, shared_home):
    payment_id, pi_id = await new_payment(database_url, tenant)
    evt = succeeded(tenant, payment_id, pi_id)
    await send(ingest, tenant, evt)
    shown = (await listed(ingest, tenant))[evt["id"]]
    assert (shown["outcome"], shown["payment_id"], shown["reason"]) == ("pending", None, None)
    assert (await payment_row(database_url, payment_id))["status"] == "requires_payment_method"

    async with applier(database_url, shared_home, emulator.url):
        await wait_applied(database_url, tenant.id)
    shown = (await listed(ingest, tenant))[evt["id"]]
    assert (shown["outcome"], shown["payment_id"], shown["deliveries"]) == ("applied", payment_id, 1)
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_received"]) == ("succeeded", 2000)


async def test_a_stored_event_wakes_the_applier_at_once(database_url, emulator, shared_home):
    # The safety-net poll is an hour: only the wake-up of the ingest path can apply this in time.
    async with hub_app(database_url, shared_home, emulator.url, HUB_APPLIER_POLL_SECONDS="3600") as hub:
        await hub.http.get("/health")  # the applier's first pass (of an empty inbox) is done by now
        t = await hub.create_tenant("A")
        assert (await hub.register_stripe(t, webhook_secret=SECRET)).status_code == 200
        payment_id, pi_id = await new_payment(database_url, t)
        await send(hub, t, succeeded(t, payment_id, pi_id))
        await wait_applied(database_url, t.id)
    assert (await payment_row(database_url, payment_id))["status"] == "succeeded"


async def test_duplicate_deliveries_are_counted_and_applied_once(ingest, tenant, database_url, emulator, shared_home):
    payment_id, pi_id = await new_payment(database_url, tenant)
    paid = succeeded(tenant, payment_id, pi_id)
    refunded = se.event("refund.updated", se.refund(pi_id, "re_dup1", 500))
    for evt in (paid, refunded, paid, refunded, refunded):
        await send(ingest, tenant, evt)
    assert await pending_count(database_url, tenant.id) == 2
    async with applier(database_url, shared_home, emulator.url):
        await wait_applied(database_url, tenant.id)
        for evt in (paid, refunded):  # and once more after it was applied
            await send(ingest, tenant, evt)
    shown = await listed(ingest, tenant)
    assert {k: (v["outcome"], v["deliveries"]) for k, v in shown.items()} == {
        paid["id"]: ("applied", 3),
        refunded["id"]: ("applied", 4),
    }
    assert await count_rows(database_url, "refunds") == 1
    row = await payment_row(database_url, payment_id)
    assert (row["status"], row["amount_received"], row["amount_refunded"]) == ("partially_refunded", 2000, 500)


def life_of_a_payment(tenant: TenantHandle, payment_id: str, pi_id: str) -> list[dict]:
    meta = {"hub_tenant_id": tenant.id, "hub_payment_id": payment_id}
    return [
        se.event("payment_intent.requires_action", se.payment_intent(pi_id, "requires_action", metadata=meta)),
        se.event("payment_intent.processing", se.payment_intent(pi_id, "processing", metadata=meta)),
        succeeded(tenant, payment_id, pi_id),
        se.event("refund.created", se.refund(pi_id, "re_" + pi_id[3:], 700, status="pending")),
        se.event("refund.updated", se.refund(pi_id, "re_" + pi_id[3:], 700)),
        se.event("charge.dispute.created", se.dispute(pi_id)),
    ]


async def test_events_of_one_payment_in_any_order_fold_into_the_same_final_payment(
    ingest, tenant, database_url, emulator, shared_home
):
    # Several orders, each on its own payment, all pending together: one applier batch folds them.
    orders = list(itertools.islice(itertools.permutations(range(6)), 0, 720, 90))
    payments = []
    for order in orders:
        payment_id, pi_id = await new_payment(database_url, tenant)
        life = life_of_a_payment(tenant, payment_id, pi_id)
        for n in order:
            await send(ingest, tenant, life[n])
        payments.append(payment_id)
    assert await pending_count(database_url, tenant.id) == 6 * len(orders)
    async with applier(database_url, shared_home, emulator.url):
        await wait_applied(database_url, tenant.id)
    for payment_id, order in zip(payments, orders, strict=True):
        row = await payment_row(database_url, payment_id)
        final = (row["status"], row["amount_received"], row["amount_refunded"], row["dispute_status"])
        assert final == ("partially_refunded", 2000, 700, "needs_response"), order
    assert await count_rows(database_url, "refunds", "WHERE status = 'succeeded'") == len(orders)
    assert {e["outcome"] for e in (await listed(ingest, tenant)).values()} == {"applied"}


async def test_a_poison_event_is_failed_after_the_bounded_attempts_and_blocks_no_other(
    ingest, tenant, database_url, emulator, shared_home
):
    good_id, good_pi = await new_payment(database_url, tenant)
    poison_id, poison_pi = await new_payment(database_url, tenant)
    unreadable_id, unreadable_pi = await new_payment(database_url, tenant)
    good = succeeded(tenant, good_id, good_pi)
    poison = se.event("refund.updated", se.refund(poison_pi, "re_poison1", 500))
    unreadable = succeeded(tenant, unreadable_id, unreadable_pi)
    for evt in (poison, unreadable, good):
        await send(ingest, tenant, evt)
    # As a newer hub version might have stored them during a rolling deploy: a status this version
    # does not know (it fails mid-apply, after the refund row was written), and bytes it cannot decode.
    stored = msgspec.msgpack.encode(
        {
            "provider_event_id": poison["id"],
            "type": "refund.updated",
            "created": 1,
            "provider_payment_id": poison_pi,
            "status": "on_hold",
            "refund": {"provider_refund_id": "re_poison1", "amount": 500, "status": "succeeded"},
        }
    )
    await execute(
        database_url, "UPDATE webhook_events SET payload = :p WHERE provider_event_id = :e", p=stored, e=poison["id"]
    )
    await execute(
        database_url,
        "UPDATE webhook_events SET payload = :p WHERE provider_event_id = :e",
        p=b"\xc1",
        e=unreadable["id"],
    )

    async with applier(database_url, shared_home, emulator.url, HUB_APPLIER_MAX_ATTEMPTS="3"):
        await wait_applied(database_url, tenant.id)
    shown = await listed(ingest, tenant)
    assert shown[good["id"]]["outcome"] == "applied"
    assert (await payment_row(database_url, good_id))["status"] == "succeeded"
    for bad, payment_id in ((poison, poison_id), (unreadable, unreadable_id)):
        assert shown[bad["id"]]["outcome"] == "failed"
        assert shown[bad["id"]]["reason"].startswith("Not applied after 3 attempts"), shown[bad["id"]]
        assert (await payment_row(database_url, payment_id))["status"] == "requires_payment_method"
    attempts = await execute(database_url, "SELECT attempts FROM webhook_events WHERE outcome = 'failed'")
    assert sorted(attempts) == [(3,), (3,)]
    # The poison's group rolled back whole: the refund it wrote before failing is gone.
    assert await count_rows(database_url, "refunds") == 0


def _with(obj: dict, **fields) -> dict:
    return {**obj, **fields}


UNREADABLE = {
    "amount_not_a_number": lambda pi: se.event("payment_intent.succeeded", _with(pi, amount="abc")),
    "received_a_huge_float": lambda pi: se.event("payment_intent.succeeded", _with(pi, amount_received=1e300)),
    "received_beyond_bounds": lambda pi: se.event("payment_intent.succeeded", _with(pi, amount_received=2**60)),
    "metadata_a_list": lambda pi: se.event("payment_intent.succeeded", _with(pi, metadata=[1, 2])),
    "event_id_of_5000_characters": lambda pi: se.event("payment_intent.succeeded", pi, id="evt_" + "x" * 4996),
    "created_a_string": lambda pi: _with(se.event("payment_intent.succeeded", pi), created="yesterday"),
    "refund_without_an_id": lambda pi: se.event("refund.updated", _with(se.refund(pi["id"], "re_1", 5), id=None)),
    "status_an_object": lambda pi: se.event("payment_intent.succeeded", _with(pi, status={"a": 1})),
    "nul_in_the_payment_id": lambda pi: se.event("payment_intent.succeeded", _with(pi, id=pi["id"] + "\x00")),
    "nul_in_the_event_id_and_type": lambda pi: se.event("payment_intent.succ\x00", pi, id="evt_\x00nul"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
async def test_a_signed_event_the_hub_cannot_read_is_kept_as_failed_with_a_reason_and_answered_200(
    ingest, tenant, database_url, case
):
    payment_id, pi_id = await new_payment(database_url, tenant)
    evt = UNREADABLE[case](se.payment_intent(pi_id, "succeeded", amount_received=2000))
    for _ in range(2):
        await send(ingest, tenant, evt)
    [shown] = (await listed(ingest, tenant)).values()
    assert shown["outcome"] == "failed" and shown["reason"], shown
    assert shown["deliveries"] == 2 and shown["type"] == evt["type"].replace("\x00", "?")
    assert "abc" not in shown["reason"] and "1e+300" not in shown["reason"]  # names the field, not the value
    assert (await payment_row(database_url, payment_id))["status"] == "requires_payment_method"
    assert await pending_count(database_url, tenant.id) == 0
