"""The console's money forms: Post/Redirect/Get, and a one-time idempotency key in every form."""

from __future__ import annotations

import html
import re

from tests.support.emulator import Emulator
from tests.support.hub import HubClient, TenantHandle
from tests.support.payments import create_payment, emulator_get, stripe_tenant

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)" ?/?>')


async def signed_in(hub: HubClient, tenant: TenantHandle) -> None:
    page = await hub.request("GET", "/console/login")
    token = CSRF_FIELD.search(page.text)
    assert token
    r = await hub.request(
        "POST",
        "/console/login",
        data={"api_key": tenant.admin_key, "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


async def action_form(hub: HubClient, payment_id: str, action: str) -> dict[str, str]:
    """The hidden fields of the payment page's confirmation form, as the browser would send them."""
    page = await hub.request("GET", f"/console/payments/{payment_id}?action={action}")
    assert page.status_code == 200, page.text
    form = page.text.split(f'action="/console/payments/{payment_id}/{action}"', 1)[1].split("</form>", 1)[0]
    return {name: html.unescape(value) for name, value in HIDDEN.findall(form)}


async def paid(hub: HubClient) -> tuple[TenantHandle, str, dict]:
    tenant, sk = await stripe_tenant(hub, "Console Shop")
    r = await create_payment(hub, tenant, amount=7450, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["status"] == "succeeded"
    await signed_in(hub, tenant)
    return tenant, sk, payment


def emulator_refunds(emulator: Emulator, sk: str, intent: str) -> list[dict]:
    listing = emulator_get(emulator, sk, "/v1/refunds?limit=100")
    return [r for r in listing["data"] if r.get("payment_intent") == intent]


async def test_the_same_refund_form_posted_twice_refunds_once(hub, emulator):
    tenant, sk, payment = await paid(hub)
    pid = payment["id"]
    form = {**await action_form(hub, pid, "refund"), "amount": "5.00"}
    first = await hub.request("POST", f"/console/payments/{pid}/refund", data=form, follow_redirects=False)
    again = await hub.request("POST", f"/console/payments/{pid}/refund", data=form, follow_redirects=False)

    refunds = (await hub.request("GET", f"/v1/payments/{pid}/refunds", headers=tenant.storefront)).json()["data"]
    assert [r["amount"] for r in refunds] == [500]
    assert [r["amount"] for r in emulator_refunds(emulator, sk, payment["provider_payment_id"])] == [500]
    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["location"] == again.headers["location"] == f"/console/payments/{pid}"


async def test_after_an_action_the_page_is_a_get_with_a_one_shot_message(hub):
    _, _, payment = await paid(hub)
    pid = payment["id"]
    form = {**await action_form(hub, pid, "refund"), "amount": "5.00"}
    r = await hub.request("POST", f"/console/payments/{pid}/refund", data=form, follow_redirects=False)
    assert r.status_code == 303
    shown = await hub.request("GET", r.headers["location"])
    assert shown.status_code == 200 and "Refund requested." in shown.text
    reloaded = await hub.request("GET", r.headers["location"])
    assert reloaded.status_code == 200 and "Refund requested." not in reloaded.text
    # The resent form is answered from the stored result, and says so.
    again = await hub.request("POST", f"/console/payments/{pid}/refund", data=form, follow_redirects=False)
    assert again.status_code == 303
    replayed = await hub.request("GET", again.headers["location"])
    assert "already sent" in replayed.text and "nothing was done again" in replayed.text


async def test_every_money_form_carries_its_own_one_time_key(hub):
    tenant = await hub.create_tenant()
    assert (await hub.register_stripe(tenant)).status_code == 200
    r = await create_payment(hub, tenant, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    await signed_in(hub, tenant)
    pid = r.json()["id"]
    keys = [(await action_form(hub, pid, action)).get("idempotency_key") for action in ("capture", "cancel")]
    keys.append((await action_form(hub, pid, "capture")).get("idempotency_key"))
    assert all(keys) and len(set(keys)) == 3, keys


async def test_a_money_form_without_its_key_is_refused_and_changes_nothing(hub):
    tenant, _, payment = await paid(hub)
    pid = payment["id"]
    form = {k: v for k, v in (await action_form(hub, pid, "refund")).items() if k != "idempotency_key"}
    r = await hub.request("POST", f"/console/payments/{pid}/refund", data={**form, "amount": "1.00"})
    assert r.status_code == 422 and "Open the form again" in r.text
    refunds = (await hub.request("GET", f"/v1/payments/{pid}/refunds", headers=tenant.storefront)).json()["data"]
    assert refunds == []
