"""The provider boundary: a second plugin, installed through the entry-point group, serves a tenant
through the same routes with no change to hub/."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.base.registry import ENTRY_POINT_GROUP
from tests.support.payments import Recorder, create_payment, recorded_hub, stripe_tenant


@pytest.fixture
def fakepay_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the test plugin as a distribution would: a dist-info with an entry_points.txt on sys.path."""
    site = tmp_path / "site"
    dist = site / "hub_fakepay-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-fakepay\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nfakepay = tests.plugins.fakepay:FakePayProvider\n")
    monkeypatch.syspath_prepend(str(site))


SALT = "fsalt_canary0123456789"


async def register_fakepay(hub, tenant):
    r = await hub.request(
        "PUT",
        "/v1/providers/fakepay/credentials",
        headers=tenant.admin,
        json={"publishable_key": "fpk_shop1", "secret_key": "fsk_secret0001", "account_salt": SALT},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_second_provider_serves_a_tenant_through_the_same_routes(
    fakepay_installed, database_url, emulator, tmp_path
):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path / "home"), emulator.url, recorder) as hub:
        tenant = await hub.create_tenant("Fake shop")
        view = await register_fakepay(hub, tenant)
        assert view["provider"] == "fakepay" and view["secret_key_hint"] == "fsk_…0001"
        assert view["account_salt_set"] is True and SALT not in str(view)
        r = await create_payment(
            hub,
            tenant,
            amount=5000,
            capture_method="manual",
            payment_method="fake_visa",
            confirm=True,
            idempotency_key="fp-1",
            metadata={"order": "9"},
        )
        assert r.status_code == 201, r.text
        payment = r.json()
        assert (payment["provider"], payment["status"], payment["publishable_key"]) == (
            "fakepay",
            "requires_capture",
            "fpk_shop1",
        )
        assert payment["provider_payment_id"].startswith("fp_")
        again = await create_payment(
            hub,
            tenant,
            amount=5000,
            capture_method="manual",
            payment_method="fake_visa",
            confirm=True,
            idempotency_key="fp-1",
            metadata={"order": "9"},
        )
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == payment
        r = await hub.request(
            "POST", f"/v1/payments/{payment['id']}/capture", json={"amount": 4000}, headers=tenant.storefront
        )
        assert r.status_code == 200 and (r.json()["status"], r.json()["amount_received"]) == ("succeeded", 4000)
        r = await hub.request(
            "POST", f"/v1/payments/{payment['id']}/refunds", json={"amount": 1000}, headers=tenant.admin
        )
        assert r.status_code == 201 and r.json()["provider_refund_id"].startswith("fr_")
        r = await hub.request("POST", f"/v1/payments/{payment['id']}/sync", headers=tenant.storefront)
        assert (r.json()["status"], r.json()["amount_refunded"]) == ("partially_refunded", 1000)
        r = await create_payment(hub, tenant, payment_method="fake_declined", confirm=True)
        assert r.status_code == 402 and r.json()["decline_code"] == "do_not_honor"
        listed = (await hub.request("GET", "/v1/payments", headers=tenant.storefront)).json()["data"]
        assert {p["provider"] for p in listed} == {"fakepay"} and len(listed) == 2
        assert recorder.requests == []  # Stripe never heard of this tenant


async def test_a_tenant_with_two_providers_names_the_one_it_wants(fakepay_installed, database_url, emulator, tmp_path):
    async with recorded_hub(database_url, str(tmp_path / "home"), emulator.url, Recorder(emulator.url)) as hub:
        tenant, _ = await stripe_tenant(hub)
        await register_fakepay(hub, tenant)
        r = await create_payment(hub, tenant)
        assert r.status_code == 422 and r.json()["param"] == "provider"
        r = await create_payment(hub, tenant, provider="fakepay")
        assert r.status_code == 201 and r.json()["provider"] == "fakepay"
        r = await create_payment(hub, tenant, provider="stripe")
        assert (
            r.status_code == 201 and r.json()["provider"] == "stripe" and r.json()["publishable_key"].startswith("pk_")
        )
        r = await create_payment(hub, tenant, provider="nopay")
        assert r.status_code == 404 and r.json()["param"] == "provider"


async def test_operations_a_plugin_does_not_offer_are_422_not_supported_and_change_nothing(
    fakepay_installed, database_url, emulator, tmp_path
):
    recorder = Recorder(emulator.url)
    async with recorded_hub(database_url, str(tmp_path / "home"), emulator.url, recorder) as hub:
        tenant = await hub.create_tenant("Fake shop")
        await register_fakepay(hub, tenant)
        r = await hub.request("POST", "/v1/customers", json={"name": "Ana"}, headers=tenant.storefront)
        assert r.status_code == 201, r.text
        customer = r.json()
        r = await hub.request("PATCH", f"/v1/customers/{customer['id']}", json={"name": "Bo"}, headers=tenant.admin)
        assert r.status_code == 422 and r.json()["code"] == "not_supported", r.text
        r = await hub.request("POST", "/v1/setup-intents", json={"customer_id": customer["id"]}, headers=tenant.admin)
        assert r.status_code == 422 and r.json()["code"] == "not_supported", r.text
        r = await hub.request("POST", "/v1/products", json={"name": "Gym"}, headers=tenant.admin)
        assert r.status_code == 422 and r.json()["code"] == "not_supported", r.text
        got = (await hub.request("GET", f"/v1/customers/{customer['id']}", headers=tenant.admin)).json()
        assert got["name"] == "Ana"
        assert (await hub.request("GET", "/v1/products", headers=tenant.admin)).json()["data"] == []
        assert recorder.requests == []


async def test_the_core_follows_what_a_plugin_declares(fakepay_installed, database_url, emulator, tmp_path):
    """Capabilities, credential fields and redirects, with a plugin the hub has no code for."""
    async with recorded_hub(database_url, str(tmp_path / "home"), emulator.url, Recorder(emulator.url)) as hub:
        tenant = await hub.create_tenant("Fake shop")
        body = {"publishable_key": "fpk_shop1", "secret_key": "fsk_secret0001"}
        r = await hub.request("PUT", "/v1/providers/fakepay/credentials", json=body, headers=tenant.admin)
        assert r.status_code == 422 and r.json()["param"] == "account_salt", r.text
        r = await hub.request(
            "PUT",
            "/v1/providers/fakepay/credentials",
            json={**body, "account_salt": SALT, "x": "1"},
            headers=tenant.admin,
        )
        assert r.status_code == 422 and r.json()["param"] == "x", r.text
        await register_fakepay(hub, tenant)
        r = await create_payment(hub, tenant, payment_method={"type": "card", "token": "t"})
        assert (r.status_code, r.json()["code"], r.json()["param"]) == (422, "not_supported", "payment_method.type")
        r = await create_payment(hub, tenant, payment_method={"type": "fakewallet"}, idempotency_key="w-1")
        assert r.status_code == 201, r.text
        wallet = r.json()
        assert (wallet["status"], wallet["payment_method_type"]) == ("requires_action", "fakewallet")
        assert wallet["next_action"] == {
            "type": "redirect_to_url",
            "url": f"https://wallet.fake.example/{wallet['provider_payment_id']}",
        }
        got = (await hub.request("GET", f"/v1/payments/{wallet['id']}", headers=tenant.storefront)).json()
        assert got["next_action"] == wallet["next_action"]
