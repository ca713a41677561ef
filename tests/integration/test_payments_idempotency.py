"""Idempotency-Key (docs/api.md): one payment and one PaymentIntent per key, whatever the races and retries."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.payments import (
    Recorder,
    create_payment,
    emulator_intents,
    recorded_hub,
    stripe_error,
    stripe_tenant,
)


async def test_same_key_and_body_replays_the_first_answer_and_creates_one_payment_intent(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    first = await create_payment(hub, tenant, idempotency_key="order-1", metadata={"order": "1"})
    second = await create_payment(hub, tenant, idempotency_key="order-1", metadata={"order": "1"})
    # The first response again: its status (201) and its very body, marked as a replay.
    assert first.status_code == second.status_code == 201, second.text
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(emulator_intents(emulator, sk, hub_tenant_id=tenant.id)) == 1


async def test_same_key_with_a_different_body_is_a_conflict_and_creates_nothing(hub, emulator):
    tenant, sk = await stripe_tenant(hub)
    assert (await create_payment(hub, tenant, idempotency_key="order-2", amount=2000)).status_code == 201
    r = await create_payment(hub, tenant, idempotency_key="order-2", amount=2001)
    assert r.status_code == 409 and r.json()["code"] == "idempotency_conflict"
    assert len(emulator_intents(emulator, sk, hub_tenant_id=tenant.id)) == 1


async def test_the_same_key_at_two_tenants_makes_two_payments(hub, emulator):
    a, _ = await stripe_tenant(hub, "A")
    b, _ = await stripe_tenant(hub, "B")
    ra = await create_payment(hub, a, idempotency_key="shared")
    rb = await create_payment(hub, b, idempotency_key="shared")
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]


async def test_bad_idempotency_keys_are_refused(hub):
    tenant, _ = await stripe_tenant(hub)
    r = await create_payment(hub, tenant, idempotency_key="k" * 256)
    assert r.status_code == 422 and r.json()["param"] == "Idempotency-Key"


async def test_two_workers_racing_with_one_key_create_one_payment_intent(database_url, emulator, tmp_path):
    # Two app instances on one database stand for two worker processes; the emulator has no
    # Idempotency-Key support, so only the hub's unique constraint can keep this to one.
    recorder = Recorder(emulator.url, delay=0.3)
    async with (
        recorded_hub(database_url, str(tmp_path / "a"), emulator.url, recorder) as one,
        recorded_hub(database_url, str(tmp_path / "b"), emulator.url, recorder) as two,
    ):
        tenant, sk = await stripe_tenant(one)
        r1, r2 = await asyncio.gather(
            create_payment(one, tenant, idempotency_key="race"), create_payment(two, tenant, idempotency_key="race")
        )
        codes = sorted([r1.status_code, r2.status_code])
        assert codes in ([201, 201], [201, 409]), (r1.text, r2.text)
        winner = r1 if r1.status_code == 201 and "idempotent-replayed" not in r1.headers else r2
        loser = r2 if winner is r1 else r1
        if loser.status_code == 409:
            assert loser.json()["code"] == "idempotency_in_progress"
            # Once the winner is done, the same request replays its answer.
            again = await create_payment(two, tenant, idempotency_key="race")
            assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
            assert again.content == winner.content
        else:
            assert loser.content == winner.content and loser.headers["idempotent-replayed"] == "true"
        assert recorder.calls("POST", "/v1/payment_intents") == 1
        intents = emulator_intents(emulator, sk, hub_tenant_id=tenant.id)
        assert [pi["metadata"]["hub_payment_id"] for pi in intents] == [winner.json()["id"]]


async def test_stripe_gets_a_key_derived_from_tenant_and_idempotency_key(database_url, emulator, tmp_path):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        a, _ = await stripe_tenant(hub, "A")
        b, _ = await stripe_tenant(hub, "B")
        await create_payment(hub, a, idempotency_key="k-1")
        await create_payment(hub, b, idempotency_key="k-1")
        await create_payment(hub, a, idempotency_key="k-2")
    keys = recorder.idempotency_keys("POST", "/v1/payment_intents")
    assert len(keys) == 3 and len(set(keys)) == 3
    sent = [k for k in keys if k is not None]
    assert len(sent) == 3 and not any("k-1" in k or a.id in k for k in sent)  # derived, not the client's key verbatim


async def test_a_retry_after_stripe_failed_reuses_the_payment_and_the_stripe_key(database_url, emulator, tmp_path):
    # Stripe answers 500 to the first creation: its outcome is unknown, so the row stays and a
    # retry with the same key asks Stripe again under the same Stripe idempotency key (which,
    # at real Stripe, returns the PaymentIntent if the first attempt had made one).
    failures = {"left": 1}

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path == "/v1/payment_intents" and failures["left"]:
            failures["left"] -= 1
            return stripe_error(500, "api_error", "Something went wrong on Stripe's end.")
        return None

    recorder = Recorder(emulator.url, answer=answer)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, sk = await stripe_tenant(hub)
        first = await create_payment(hub, tenant, idempotency_key="retry-me")
        assert first.status_code == 503 and first.json()["code"] == "provider_unavailable", first.text
        payment_id = first.json()["payment_id"]
        second = await create_payment(hub, tenant, idempotency_key="retry-me")
        assert second.status_code == 201 and "idempotent-replayed" not in second.headers, second.text
        assert second.json()["id"] == payment_id and second.json()["provider_payment_id"]
    keys = recorder.idempotency_keys("POST", "/v1/payment_intents")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(emulator_intents(emulator, sk, hub_payment_id=payment_id)) == 1


async def test_a_stripe_refusal_stores_nothing_and_frees_the_key(database_url, emulator, tmp_path):
    refuse = {"left": 1}

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v1/payment_intents" and refuse["left"]:
            refuse["left"] -= 1
            return stripe_error(
                400,
                "invalid_request_error",
                "No such PaymentMethod: 'pm_nope'",
                code="resource_missing",
                param="payment_method",
            )
        return None

    recorder = Recorder(emulator.url, answer=answer)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, _ = await stripe_tenant(hub)
        r = await create_payment(hub, tenant, idempotency_key="fix-and-retry")
        assert r.status_code == 400, r.text
        assert (r.json()["code"], r.json()["param"], r.json()["provider_code"]) == (
            "provider_error",
            "payment_method",
            "resource_missing",
        )
        assert (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"] == []
        r = await create_payment(hub, tenant, idempotency_key="fix-and-retry", amount=3000)
        assert r.status_code == 201, r.text


async def test_a_declined_creation_replays_its_decline_and_asks_stripe_once(database_url, emulator, tmp_path):
    # The decline is the first answer: Stripe keeps the failed PaymentIntent, so the same key and
    # body answer the same 402 again instead of trying the card a second time.
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path), emulator.url, recorder) as hub:
        tenant, sk = await stripe_tenant(hub)
        body = {"payment_method": "pm_card_chargeCustomerFail", "confirm": True, "idempotency_key": "declined-1"}
        first = await create_payment(hub, tenant, **body)
        assert first.status_code == 402 and first.json()["code"] == "card_declined", first.text
        again = await create_payment(hub, tenant, **body)
        assert (again.status_code, again.content) == (402, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"].startswith("application/problem+json")
        assert recorder.calls("POST", "/v1/payment_intents") == 1
        assert len(emulator_intents(emulator, sk, hub_payment_id=first.json()["payment_id"])) == 1


async def test_a_finished_key_still_replays_after_the_tenants_credentials_are_removed(hub):
    tenant, _ = await stripe_tenant(hub)
    first = await create_payment(hub, tenant, idempotency_key="before-removal")
    assert first.status_code == 201, first.text
    r = await hub.request("DELETE", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert r.status_code == 204, r.text
    again = await create_payment(hub, tenant, idempotency_key="before-removal")
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    # Another body with the key is still a conflict; without a key, the missing credentials speak.
    other = await create_payment(hub, tenant, idempotency_key="before-removal", amount=2001)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert (await create_payment(hub, tenant)).json()["code"] == "credentials_missing"
