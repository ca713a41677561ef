"""Held authorizations: ``capture_before`` shown on the payment, one ``payment.capture_expiring``
notification per hold about to lapse whatever the number of workers, and a hold Stripe canceled
because it lapsed says so (``cancellation_reason``)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from tests.support import stripe_events as se
from tests.support.hub import HubClient, build_client, make_settings
from tests.support.inbox import wait_applied
from tests.support.notifications import FAST, add_endpoint, eventually, receiver
from tests.support.payments import create_payment, stripe_tenant

SECRET = "whsec_tenantsecret00001"
CHECK = 0.05
#: Hold deadlines by payment amount: within the default 24-hour warning, or beyond it.
SOON, LATER = int(time.time()) + 3600, int(time.time()) + 48 * 3600


def holds_until(obj: dict) -> None:
    """Stripe's manual-capture charge carries ``payment_method_details.card.capture_before``; the
    emulator's does not, so the proxy adds it (amount 2500 holds beyond the warning, others within)."""
    if obj.get("object") != "payment_intent" or obj.get("capture_method") != "manual":
        return
    charges = list((obj.get("charges") or {}).get("data") or [])
    if isinstance(obj.get("latest_charge"), dict):
        charges.append(obj["latest_charge"])
    deadline = LATER if obj.get("amount") == 2500 else SOON
    for charge in charges:
        details = charge.setdefault("payment_method_details", None) or {}
        details.setdefault("card", {})["capture_before"] = deadline
        charge["payment_method_details"] = details


def iso(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def test_expiring_hold_is_announced_once_with_two_workers(database_url, stripe_proxy, tmp_path):
    stripe_proxy.rewrite(holds_until)
    env = {"HUB_STRIPE_API_BASE": stripe_proxy.url, "HUB_CAPTURE_CHECK_SECONDS": str(CHECK), **FAST}
    settings_a = make_settings(database_url, str(tmp_path / "a"), **env)
    settings_b = make_settings(database_url, str(tmp_path / "b"), **env)
    async with (
        receiver() as app,
        build_client(settings_a) as client_a,
        build_client(settings_b) as client_b,
    ):
        a, b = HubClient(client_a, settings_a), HubClient(client_b, settings_b)
        tenant, _ = await stripe_tenant(a)
        await add_endpoint(a, tenant, app.url, ["payment.capture_expiring"])
        held = {"capture_method": "manual", "payment_method": "pm_card_visa", "confirm": True}
        soon = [(await create_payment(w, tenant, **held)).json() for w in (a, b, a)]
        later = (await create_payment(b, tenant, amount=2500, **held)).json()
        auto = (await create_payment(a, tenant, payment_method="pm_card_visa", confirm=True)).json()

        for p in soon:
            assert p["status"] == "requires_capture"
            assert datetime.fromisoformat(p["capture_before"]) == iso(SOON)
        assert datetime.fromisoformat(later["capture_before"]) == iso(LATER)
        assert auto["capture_before"] is None

        await eventually(lambda: len(app.of_type("payment.capture_expiring")) >= len(soon))
        await asyncio.sleep(10 * CHECK)  # both workers check again, several times: nothing more goes out
        warned = [m.json()["data"] for m in app.of_type("payment.capture_expiring")]
        assert sorted(d["id"] for d in warned) == sorted(p["id"] for p in soon)
        assert all(datetime.fromisoformat(d["capture_before"]) == iso(SOON) for d in warned)
        # The hub's own read shows the same deadline.
        r = await b.request("GET", f"/v1/payments/{soon[0]['id']}", headers=tenant.storefront)
        assert datetime.fromisoformat(r.json()["capture_before"]) == iso(SOON)


async def test_a_hold_stripe_canceled_when_it_lapsed_says_so(hub, emulator):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    payment = r.json()
    assert payment["status"] == "requires_capture", r.text
    assert payment["cancellation_reason"] is None
    pi = se.payment_intent(
        payment["provider_payment_id"],
        "canceled",
        capture_method="manual",
        metadata={"hub_tenant_id": tenant.id, "hub_payment_id": payment["id"]},
    )
    pi["cancellation_reason"] = "automatic"
    r = await se.deliver(hub.http, tenant.id, se.encode(se.event("payment_intent.canceled", pi)), SECRET)
    assert r.status_code == 200, r.text
    await wait_applied(hub.settings.database.url, tenant.id)
    r = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.storefront)
    assert r.json()["status"] == "canceled"
    assert r.json()["cancellation_reason"] == "automatic"
