"""End to end: the hub as a real process, the Wompi stand-in calling it back over HTTP.

A tenant registers its Wompi merchant and gives Wompi its events URL; a PSE payment sends the buyer
to the bank (``next_action``); the stand-in settles it and POSTs the signed ``transaction.updated``
to the hub's URL itself, retried once as Wompi retries; the payment becomes ``succeeded`` from that
event alone, and the event is stored once with two deliveries.
"""

from __future__ import annotations

import pytest

from tests.support.hub import PLATFORM
from tests.support.inbox import wait_applied
from tests.support.process import HubProcess

pytestmark = pytest.mark.e2e


async def test_a_pse_payment_is_settled_by_the_event_wompi_posts_to_the_hub(database_url, emulator, wompi, tmp_path):
    proc = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=emulator.url, HUB_WOMPI_API_BASE=wompi.url)
    try:
        async with proc.client(timeout=30) as api:
            tenant = (await api.post("/v1/tenants", json={"name": "Tienda"}, headers=PLATFORM)).json()
            admin = {"Authorization": f"Bearer {tenant['api_keys']['admin']}"}
            store = {"Authorization": f"Bearer {tenant['api_keys']['storefront']}"}
            merchant = wompi.add_merchant()
            r = await api.put("/v1/providers/wompi/credentials", json=merchant.credentials, headers=admin)
            assert r.status_code == 200, r.text
            merchant.events_url = r.json()["webhook_url"]  # pasted in Wompi's dashboard
            terms = (await api.get("/v1/providers/wompi/acceptance", headers=store)).json()
            body = {
                "amount": 2_500_000,
                "currency": "cop",
                "customer_email": "comprador@example.co",
                "acceptance_token": terms["acceptance_token"],
                "payment_method": {
                    "type": "pse",
                    "user_type": 0,
                    "user_legal_id_type": "CC",
                    "user_legal_id": "1099888777",
                    "financial_institution_code": "1",
                },
            }
            r = await api.post("/v1/payments", json=body, headers=store)  # Wompi is the sole provider
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["provider"] == "wompi" and created["next_action"]["type"] == "redirect_to_url"

            wompi.settle(created["provider_payment_id"])
            (delivery,) = wompi.wait_events(merchant, 1)
            assert delivery.status == 200, delivery
            assert wompi.resend(delivery).status == 200
            await wait_applied(database_url, tenant["id"])
            paid = (await api.get(f"/v1/payments/{created['id']}", headers=store)).json()
            assert (paid["status"], paid["next_action"]) == ("succeeded", None)
            (event,) = (await api.get("/v1/events", headers=admin)).json()["data"]
            assert (event["provider"], event["outcome"], event["deliveries"]) == ("wompi", "applied", 2)
    finally:
        proc.stop()
    assert "Traceback" not in proc.log_path.read_text(errors="replace")
