"""What a shop owner reads in the console: amounts in major units, words for statuses, one time
format with its zone, which order a payment is, links only where they lead somewhere."""

from __future__ import annotations

import re

from tests.integration.test_console_actions import action_form, signed_in
from tests.support.payments import create_payment, stripe_tenant

WHEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


async def test_a_refund_over_the_refundable_amount_is_told_in_major_units(hub):
    tenant, _ = await stripe_tenant(hub, "Console Shop")
    r = await create_payment(hub, tenant, amount=7450, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    await signed_in(hub, tenant)
    pid = r.json()["id"]
    form = {**await action_form(hub, pid, "refund"), "amount": "80.00"}
    page = await hub.request("POST", f"/console/payments/{pid}/refund", data=form, follow_redirects=True)
    assert "at most 74.50 USD" in page.text, page.text
    # As a number of its own: the page's random ids and tokens may hold those digits.
    assert not re.search(r"(?<![\w.-])7450(?![\w.-])", page.text), page.text


async def test_the_payment_shows_its_order_customer_and_a_status_in_words_escaped(hub):
    tenant, _ = await stripe_tenant(hub, "Console Shop")
    customer = await hub.request("POST", "/v1/customers", json={"email": "ann@shop.example"}, headers=tenant.admin)
    assert customer.status_code in (200, 201), customer.text
    r = await create_payment(
        hub,
        tenant,
        amount=7450,
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
        customer_id=customer.json()["id"],
        description="Order <b>#1042</b>",
        metadata={"order_id": "1042", "note": "<script>x</script>"},
    )
    assert r.status_code == 201, r.text
    payment = r.json()
    await signed_in(hub, tenant)
    for path in ("/console/payments", f"/console/payments/{payment['id']}"):
        page = (await hub.request("GET", path)).text
        assert "Order &lt;b&gt;#1042&lt;/b&gt;" in page and "<b>#1042" not in page, path
        assert customer.json()["id"] in page, path
        assert "Authorised, awaiting capture" in page, path
        assert ">requires_capture<" not in page, path
        assert WHEN.search(page), path
    detail = (await hub.request("GET", f"/console/payments/{payment['id']}")).text
    assert "order_id" in detail and "1042" in detail
    assert "&lt;script&gt;x&lt;/script&gt;" in detail and "<script>x" not in detail


async def test_every_time_on_the_pages_is_one_format_with_utc(hub):
    tenant, _ = await stripe_tenant(hub, "Console Shop")
    r = await create_payment(hub, tenant, amount=7450, payment_method="pm_card_visa", confirm=True)
    assert r.status_code == 201, r.text
    await signed_in(hub, tenant)
    form = {**await action_form(hub, r.json()["id"], "refund"), "amount": "1.00"}
    await hub.request("POST", f"/console/payments/{r.json()['id']}/refund", data=form)
    for path in ("/console/payments", f"/console/payments/{r.json()['id']}", "/console/api-keys", "/console/stripe"):
        page = (await hub.request("GET", path)).text
        times = re.findall(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d)?(?: UTC)?", page)
        assert times and all(WHEN.fullmatch(t) for t in times), (path, times)


async def test_the_webhook_secret_hint_says_what_the_form_asks(hub):
    tenant = await hub.create_tenant()
    await signed_in(hub, tenant)
    page = (await hub.request("GET", "/console/stripe")).text
    hint = re.search(r'<small id="webhook_secret_hint">(.*?)</small>', page, re.S)
    assert hint
    assert "Let the hub create the webhook" in hint.group(1), hint.group(1)


def test_only_payments_link_to_payment_pages():
    from hub.console import pages
    from hub.db.ids import new_id

    payment = new_id("pay")
    assert pages.object_link(payment) == f"/console/payments/{payment}"
    assert pages.object_link(new_id("sub")) is None
    assert pages.object_link(new_id("inv")) is None
    assert pages.object_link(None) is None
    assert pages.object_link('pay_"><script>') is None  # only an id the hub made becomes a link
