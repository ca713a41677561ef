"""The console in a real browser: headless Chromium (Debian's package) driven by Playwright.

Against a running ``hub serve`` and the emulator: sign in; register credentials, first with a
wrong key (its error next to the field), then right; create a payment through the API; capture
and refund it in the console; see the events; every form control labelled; sign out; a form
post without the CSRF token refused. The Sellers page, against the Stripe proxy's Connect
stand-in: a seller listed with what is due, and an onboarding link made for it. A screenshot of
each page is saved under the test's temporary folder, or under ``HUB_CONSOLE_SCREENSHOTS`` when
that is set.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, async_playwright, expect

from tests.support.canaries.ledger import LEDGER
from tests.support.hub import PLATFORM
from tests.support.process import HubProcess
from tests.support.stripe_proxy import StripeProxy

pytestmark = pytest.mark.e2e

PK = "pk_test_consolePublishable01"
SK = "sk_test_consoleSecretKey0001"
WH = "whsec_consoleWebhookSecret01"

#: Every visible form control must have an accessible name (a <label>, aria-label or aria-labelledby).
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
    return !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
  })
  .map(el => el.outerHTML.slice(0, 120))"""


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is required: scripts/test installs it (apt-get install chromium)"
    return found


@pytest.fixture
def hub_process(database_url, emulator, tmp_path) -> Iterator[HubProcess]:
    proc = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=emulator.url)
    yield proc
    proc.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        await b.close()


class Pages:
    """Saves a screenshot of each page visited and checks its form controls are labelled."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder = page, folder
        folder.mkdir(parents=True, exist_ok=True)

    async def seen(self, name: str) -> None:
        await self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        LEDGER.observe_page(await self.page.content(), f"the console page {name} ({self.page.url})")
        unlabelled = await self.page.evaluate(UNLABELLED)
        assert unlabelled == [], f"unlabelled controls on {name}: {unlabelled}"


async def test_a_tenant_admin_connects_stripe_and_captures_and_refunds_in_the_browser(
    hub_process: HubProcess, browser: Browser, tmp_path: Path
):
    async with hub_process.client(timeout=30) as api:
        r = await api.post("/v1/tenants", json={"name": "Console Shop"}, headers=PLATFORM)
        assert r.status_code == 201, r.text
        tenant = r.json()
    admin_key = tenant["api_keys"]["admin"]
    storefront = {"Authorization": f"Bearer {tenant['api_keys']['storefront']}"}

    context = await browser.new_context(base_url=hub_process.url, viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    shots = Pages(page, Path(os.environ.get("HUB_CONSOLE_SCREENSHOTS") or tmp_path / "screens"))

    # Sign in.
    await page.goto("/console/login")
    await shots.seen("login")
    await page.get_by_label("API key").fill(admin_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await shots.seen("payments-empty")

    # Stripe: a wrong secret key first, its error next to the field; nothing secret echoed back.
    await page.get_by_role("link", name="Stripe").click()
    await page.get_by_label("Publishable key").fill(PK)
    await page.get_by_label("Secret key").fill("sk_live_consoleSecretKey0001")
    await page.get_by_label("Webhook signing secret").fill(WH)
    await page.get_by_role("button", name="Save").click()
    error = page.locator("#secret_key_error")
    await expect(error).to_be_visible()
    await expect(page.get_by_label("Secret key")).to_have_attribute(
        "aria-describedby", "secret_key_hint secret_key_error"
    )
    assert "sk_live_consoleSecretKey0001" not in await page.content()
    await shots.seen("stripe-error")

    await page.get_by_label("Publishable key").fill(PK)
    await page.get_by_label("Secret key").fill(SK)
    await page.get_by_label("Webhook signing secret").fill(WH)
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Saved. Stripe accepted the keys.")).to_be_visible()
    await page.get_by_role("button", name="Check connection").click()
    await expect(page.get_by_text("Stripe accepted the key")).to_be_visible()
    # The emulator has no webhook endpoints to read: the page says so in words, with the fix.
    await expect(page.locator("ul.advice li").first).to_be_visible()
    html = await page.content()
    assert SK not in html and WH not in html and "sk_test_…0001" in html
    await shots.seen("stripe")

    # A payment made through the API, authorised for manual capture.
    async with hub_process.client(timeout=30) as api:
        r = await api.post(
            "/v1/payments",
            headers=storefront,
            json={
                "amount": 2000,
                "currency": "usd",
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
        )
        assert r.status_code == 201, r.text
        payment = r.json()
    assert payment["status"] == "requires_capture"

    await page.get_by_role("link", name="Payments").click()
    await page.get_by_role("link", name=payment["id"]).click()
    await expect(page.get_by_text("20.00 USD").first).to_be_visible()
    await page.get_by_role("button", name="Capture").click()
    await page.get_by_label("Amount").fill("15.00")
    await shots.seen("payment-confirm-capture")
    await page.get_by_role("button", name="Confirm capture").click()
    await expect(page.get_by_text("Payment captured.")).to_be_visible()

    await page.get_by_role("button", name="Refund").click()
    await page.get_by_label("Amount").fill("5.00")
    await page.get_by_role("button", name="Confirm refund").click()
    await expect(page.get_by_text("Refund requested.")).to_be_visible()
    await shots.seen("payment")

    async with hub_process.client(timeout=30) as api:
        body = (await api.get(f"/v1/payments/{payment['id']}", headers=storefront)).json()
    assert body["amount_received"] == 1500 and body["amount_refunded"] == 500

    await page.get_by_role("link", name="Events").click()
    await expect(page.get_by_role("heading", name="Stripe events")).to_be_visible()
    await shots.seen("events")
    await page.get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("button", name="Create key")).to_be_visible()
    await shots.seen("api-keys")
    await page.get_by_role("link", name="Notifications").click()
    await page.get_by_label("Endpoint URL").fill("https://shop.example/hooks/payments")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.get_by_label("Signing secret")).to_have_value(re.compile(r"^whsec_"))
    await shots.seen("notifications")

    # CSRF: a form post from this very browser session, without the token, is refused.
    status = await page.evaluate(
        """async () => (await fetch('/console/api-keys', {method: 'POST',
            headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'scope=admin'})).status"""
    )
    assert status == 403

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.goto("/console/payments")
    await expect(page).to_have_url(f"{hub_process.url}/console/login")
    await context.close()


async def _signed_in_with_a_payment(
    hub_process: HubProcess, browser: Browser, viewport: ViewportSize, emulator: Any = None, **payment: object
) -> tuple[Page, dict, dict[str, str]]:
    """A tenant with Stripe keys and one payment made through the API; a browser signed in to its console.
    With ``emulator``, the emulator sends the tenant's webhooks to the hub (so the Events page has rows)."""
    async with hub_process.client(timeout=30) as api:
        r = await api.post("/v1/tenants", json={"name": "Console Shop"}, headers=PLATFORM)
        assert r.status_code == 201, r.text
        tenant = r.json()
        admin = {"Authorization": f"Bearer {tenant['api_keys']['admin']}"}
        r = await api.put(
            "/v1/providers/stripe/credentials",
            json={"publishable_key": PK, "secret_key": SK, "webhook_secret": WH},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        if emulator is not None:
            emulator.register_webhook(WIDTHS_WEBHOOK, tenant["webhook_url"], WH)
        body = {"amount": 7450, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True, **payment}
        r = await api.post("/v1/payments", json=body, headers=admin)
        assert r.status_code == 201, r.text
    context = await browser.new_context(base_url=hub_process.url, viewport=viewport)
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_label("API key").fill(tenant["api_keys"]["admin"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page, r.json(), admin


async def test_reloading_the_page_after_a_refund_does_not_refund_again(hub_process: HubProcess, browser: Browser):
    page, payment, admin = await _signed_in_with_a_payment(hub_process, browser, {"width": 1100, "height": 900})
    await page.goto(f"/console/payments/{payment['id']}")
    await page.get_by_role("button", name="Refund").click()
    await page.get_by_label("Amount").fill("5.00")
    await page.get_by_role("button", name="Confirm refund").click()
    await expect(page.get_by_text("Refund requested.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Refunds")).to_be_visible()
    async with hub_process.client(timeout=30) as api:
        refunds = (await api.get(f"/v1/payments/{payment['id']}/refunds", headers=admin)).json()["data"]
    assert [r["amount"] for r in refunds] == [500]
    await expect(page.get_by_text("Refund requested.")).to_have_count(0)  # the message was shown once


async def test_the_schema_page_renders_offline_from_the_hub_alone(hub_process: HubProcess, browser: Browser):
    context = await browser.new_context(base_url=hub_process.url)
    elsewhere: list[str] = []

    async def offline(route: Route) -> None:
        if route.request.url.startswith(hub_process.url):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await context.route("**/*", offline)
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto("/schema")
    await expect(page.get_by_role("heading", name="Payment hub").first).to_be_visible(timeout=20_000)
    await expect(page.get_by_text("storefront: payments").first).to_be_visible()
    assert elsewhere == []
    assert [m for m in refused if "script" in m] == []
    await context.close()


WIDTHS_WEBHOOK = "console-widths"
#: How far the page itself is wider than the window (0: only tables scroll, inside their box).
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
#: How far the widest table is wider than the box that shows it (0: it is seen whole, unscrolled).
TABLE_HIDDEN = """() => Math.max(0, ...Array.from(document.querySelectorAll('table'))
  .map(t => t.scrollWidth - (t.parentElement.classList.contains('table-scroll') ? t.parentElement : t).clientWidth))"""


async def test_the_tables_fit_a_phone_and_a_laptop(hub_process: HubProcess, browser: Browser, emulator):
    try:
        page, payment, _ = await _signed_in_with_a_payment(
            hub_process,
            browser,
            {"width": 375, "height": 800},
            emulator,
            description="Order 1042: two nights, breakfast included, late check-out",
            metadata={"order_id": "1042"},
        )
        await _fits(page, payment)
    finally:
        # The emulator keeps endpoints for its whole life: point this one at nothing listening.
        emulator.register_webhook(WIDTHS_WEBHOOK, "http://127.0.0.1:9/gone", "whsec_gone000000000000000")


async def _fits(page: Page, payment: dict) -> None:
    await page.goto("/console/payments")
    await expect(page.get_by_role("link", name=payment["id"])).to_be_attached()
    assert await page.evaluate(OVERFLOW) <= 0
    # On a phone the payments table is wider than the screen: it scrolls in its own box.
    box = page.locator(".table-scroll", has=page.get_by_role("link", name=payment["id"]))
    assert await box.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    await page.goto(f"/console/payments/{payment['id']}")
    assert await page.evaluate(OVERFLOW) <= 0
    await page.set_viewport_size({"width": 1280, "height": 800})
    for _ in range(40):  # the emulator's webhooks arrive in their own time
        await page.goto("/console/events")
        if await page.locator("tbody tr").count():
            break
        await page.wait_for_timeout(250)
    await expect(page.locator("tbody tr").first).to_be_visible()
    assert (await page.evaluate(OVERFLOW), await page.evaluate(TABLE_HIDDEN)) == (0, 0)
    await page.goto("/console/payments")
    assert await page.evaluate(OVERFLOW) <= 0


async def test_a_release_to_a_seller_is_confirmed_in_the_browser_and_shown(
    database_url, emulator, browser: Browser, tmp_path: Path
):
    """Behind the Stripe proxy (its Connect stand-in): a captured payment released in part to an
    onboarded seller from the payment's page, with the same confirmation step as a refund."""
    proxy = StripeProxy(emulator.url)
    proc = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=proxy.url)
    try:
        async with proc.client(timeout=30) as api:
            r = await api.post("/v1/tenants", json={"name": "Market"}, headers=PLATFORM)
            tenant = r.json()
            admin = {"Authorization": f"Bearer {tenant['api_keys']['admin']}"}
            r = await api.put(
                "/v1/providers/stripe/credentials",
                json={"publishable_key": PK, "secret_key": SK, "webhook_secret": WH},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            r = await api.post("/v1/connected-accounts", json={"email": "maker@example.com"}, headers=admin)
            assert r.status_code == 201, r.text
            account = r.json()
            proxy.connect.finish_onboarding(account["provider_account_id"])
            r = await api.post(f"/v1/connected-accounts/{account['id']}/sync", headers=admin)
            assert r.json()["transfers_enabled"], r.text
            body = {"amount": 10000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
            payment = (await api.post("/v1/payments", json=body, headers=admin)).json()
        context = await browser.new_context(base_url=proc.url, viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        shots = Pages(page, tmp_path / "screens")
        await page.goto("/console/login")
        await page.get_by_label("API key").fill(tenant["api_keys"]["admin"])
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"/console/payments/{payment['id']}")
        await page.get_by_role("button", name="Release to a seller").click()
        await page.get_by_label("Seller", exact=True).select_option(account["id"])
        await page.get_by_label("Amount").fill("85.00")
        await shots.seen("payment-confirm-release")
        await page.get_by_role("button", name="Confirm release").click()
        await expect(page.get_by_text("Transfer sent to the seller.")).to_be_visible()
        transfers = page.get_by_role("table").filter(has_text="Reversed")
        await expect(transfers.get_by_text("85.00 USD")).to_be_visible()
        await expect(transfers.get_by_text("maker@example.com", exact=False)).to_be_visible()
        await shots.seen("payment-released")
        async with proc.client(timeout=30) as api:
            shown = (await api.get(f"/v1/payments/{payment['id']}", headers=admin)).json()
        assert (shown["amount_transferred"], shown["platform_amount"]) == (8500, 1500)
        assert proxy.connect.count("transfer") == 1
    finally:
        proc.stop()
        proxy.close()


async def test_the_sellers_page_makes_an_onboarding_link_for_a_seller(database_url, emulator, tmp_path, browser):
    """Against the Stripe proxy, whose Connect stand-in plays Stripe's connected accounts."""
    proxy = StripeProxy(emulator.url)
    hub = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=proxy.url)
    try:
        async with hub.client(timeout=30) as api:
            r = await api.post("/v1/tenants", json={"name": "Market"}, headers=PLATFORM)
            tenant = r.json()
            admin = {"Authorization": f"Bearer {tenant['api_keys']['admin']}"}
            creds = {"publishable_key": PK, "secret_key": SK, "webhook_secret": WH}
            assert (await api.put("/v1/providers/stripe/credentials", json=creds, headers=admin)).status_code == 200
            seller = {"email": "ana@example.com"}
            r = await api.post("/v1/connected-accounts", json=seller, headers=admin)
            assert r.status_code == 201, r.text
        context = await browser.new_context(base_url=hub.url, viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        shots = Pages(page, Path(os.environ.get("HUB_CONSOLE_SCREENSHOTS") or tmp_path / "screens"))
        await page.goto("/console/login")
        await page.get_by_label("API key").fill(tenant["api_keys"]["admin"])
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Sellers").click()
        row = page.get_by_role("row", name=re.compile("ana@example.com"))
        await expect(row).to_contain_text("onboarding")
        await expect(row).to_contain_text("external_account")
        await shots.seen("sellers")
        await row.get_by_role("button", name=re.compile("Create onboarding link")).click()
        await expect(page.get_by_text("Onboarding link created")).to_be_visible()
        link = page.get_by_role("link", name="Open the onboarding link")
        await expect(link).to_have_attribute("href", re.compile(r"^https://connect\.stripe\.com/"))
        await shots.seen("sellers-link")
        assert proxy.connect.count("account_link", SK) == 1
        await context.close()
    finally:
        hub.stop()
        proxy.close()


async def test_a_tenant_admin_connects_wompi_in_the_browser_and_sees_its_payments(
    database_url, emulator, wompi, browser: Browser, tmp_path: Path
):
    proc = HubProcess(database_url, tmp_path / "home", HUB_STRIPE_API_BASE=emulator.url, HUB_WOMPI_API_BASE=wompi.url)
    try:
        async with proc.client(timeout=30) as api:
            r = await api.post("/v1/tenants", json={"name": "Tienda"}, headers=PLATFORM)
            assert r.status_code == 201, r.text
            tenant = r.json()
        merchant = wompi.add_merchant()
        context = await browser.new_context(base_url=proc.url, viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        shots = Pages(page, Path(os.environ.get("HUB_CONSOLE_SCREENSHOTS") or tmp_path / "screens"))
        await page.goto("/console/login")
        await page.get_by_label("API key").fill(tenant["api_keys"]["admin"])
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Wompi").click()
        await expect(page.get_by_label("Events URL", exact=True)).to_have_value(
            re.compile(f"/v1/webhooks/wompi/{tenant['id']}$")
        )
        await page.get_by_label("Public key").fill(merchant.public_key)
        await page.get_by_label("Private key").fill(merchant.private_key)
        await page.get_by_label("Events secret").fill(merchant.events_secret)
        await page.get_by_label("Integrity secret").fill(merchant.integrity_secret)
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("Saved. Wompi accepted the keys.")).to_be_visible()
        await page.get_by_role("button", name="Check connection").click()
        await expect(page.get_by_text("Wompi accepted the keys (test mode")).to_be_visible()
        html = await page.content()
        assert not any(s in html for s in (merchant.private_key, merchant.events_secret, merchant.integrity_secret))
        await shots.seen("wompi")

        storefront = {"Authorization": f"Bearer {tenant['api_keys']['storefront']}"}
        async with proc.client(timeout=30) as api:
            terms = (await api.get("/v1/providers/wompi/acceptance", headers=storefront)).json()
            body = {
                "amount": 2_500_000,
                "currency": "cop",
                "customer_email": "comprador@example.co",
                "acceptance_token": terms["acceptance_token"],
                "payment_method": {"type": "nequi", "phone_number": "3991111111"},
            }
            r = await api.post("/v1/payments", json=body, headers=storefront)
            assert r.status_code == 201 and r.json()["provider"] == "wompi", r.text
        await page.get_by_role("link", name="Payments").click()
        await expect(page.get_by_role("cell", name="Wompi")).to_be_visible()
        await shots.seen("payments-wompi")
    finally:
        proc.stop()
