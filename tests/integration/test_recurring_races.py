"""Two workers racing with one Idempotency-Key on a recurring route make one Stripe object."""

from __future__ import annotations

import asyncio

from tests.support.payments import Recorder, recorded_hub, stripe_tenant
from tests.support.recurring import emulator_objects, new_customer, post


async def test_two_workers_racing_with_one_key_create_one_subscription(database_url, emulator, tmp_path):
    # Two app instances on one database stand for two worker processes; the emulator has no
    # Idempotency-Key support, so only the claim's unique constraint can keep this to one.
    recorder = Recorder(emulator.url, delay=0.3)
    async with (
        recorded_hub(database_url, str(tmp_path / "a"), emulator.url, recorder) as one,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, recorder) as two,
    ):
        tenant, sk = await stripe_tenant(one)
        product = (await post(one, tenant, "/v1/products", {"name": "Membership"})).json()
        price = (
            await post(
                one,
                tenant,
                "/v1/prices",
                {"product_id": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "week"}},
            )
        ).json()
        member = await new_customer(one, tenant)
        body = {"customer_id": member["id"], "items": [{"price_id": price["id"]}], "payment_method": "pm_card_visa"}
        r1, r2 = await asyncio.gather(
            post(one, tenant, "/v1/subscriptions", body, key="race"),
            post(two, tenant, "/v1/subscriptions", body, key="race"),
        )
        codes = sorted([r1.status_code, r2.status_code])
        assert codes in ([201, 201], [201, 409]), (r1.text, r2.text)
        winner = r1 if r1.status_code == 201 and "idempotent-replayed" not in r1.headers else r2
        loser = r2 if winner is r1 else r1
        if loser.status_code == 409:
            assert loser.json()["code"] == "idempotency_in_progress"
            # What is left of the winner's lease, at most 5 s (docs/errors.md).
            assert 1 <= int(loser.headers["retry-after"]) <= 5
            again = await post(two, tenant, "/v1/subscriptions", body, key="race")
            assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
            assert again.json() == winner.json()
        else:
            assert loser.json() == winner.json() and loser.headers["idempotent-replayed"] == "true"
        assert recorder.calls("POST", "/v1/subscriptions") == 1
        subs = emulator_objects(emulator, sk, "/v1/subscriptions", hub_tenant_id=tenant.id)
        assert [s["metadata"]["hub_subscription_id"] for s in subs] == [winner.json()["id"]]
