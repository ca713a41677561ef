"""Tenants choose the URLs the hub calls: in prod only https, never the hub's own network, checked
when the endpoint is registered and again on the resolved address at every connection."""

from __future__ import annotations

import ipaddress

import pytest

from hub.notifications.network import BlockedAddress, forbidden, guarded_client
from tests.support.notifications import add_endpoint, eventually, notify_hub, receiver, settled
from tests.support.rawdb import execute

BASE = "/v1/notification-endpoints"
# HUB_NOTIFY_ALLOW_PRIVATE_URLS defaults to 0 there; prod also wants an https public URL.
PROD = {"HUB_ENV": "prod", "HUB_PUBLIC_URL": "https://hub.test"}


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # https only in prod
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://224.0.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://localhost/hooks",  # a name that resolves to loopback
    ],
)
async def test_prod_refuses_to_register_an_endpoint_on_the_hubs_own_network(database_url, emulator, shared_home, url):
    async with notify_hub(database_url, str(shared_home), emulator.url, **PROD) as hub:
        tenant = await hub.create_tenant()
        r = await hub.request("POST", BASE, json={"url": url}, headers=tenant.admin)
        assert r.status_code == 422, r.text
        assert (r.json()["code"], r.json()["param"]) == ("validation_error", "url")
        assert (await hub.request("GET", BASE, headers=tenant.admin)).json()["data"] == []


async def test_allow_private_urls_lifts_the_address_rule_in_prod(database_url, emulator, shared_home):
    async with notify_hub(
        database_url, str(shared_home), emulator.url, **PROD, HUB_NOTIFY_ALLOW_PRIVATE_URLS="1"
    ) as hub:
        tenant = await hub.create_tenant()
        r = await hub.request("POST", BASE, json={"url": "https://10.0.0.1/hooks"}, headers=tenant.admin)
        assert r.status_code == 201, r.text
        r = await hub.request("POST", BASE, json={"url": "http://10.0.0.1/hooks"}, headers=tenant.admin)
        assert r.status_code == 422  # https stays required in prod


async def test_the_address_is_checked_again_when_connecting(database_url, emulator, shared_home):
    """A name that pointed elsewhere at registration and resolves to loopback now is never called."""
    async with receiver() as app:
        url = f"https://localhost:{app.port}/hooks"
        async with notify_hub(database_url, str(shared_home), emulator.url) as dev:
            tenant = await dev.create_tenant()
            endpoint = await add_endpoint(dev, tenant, url)
        async with notify_hub(database_url, str(shared_home), emulator.url, **PROD) as prod:
            r = await prod.request("POST", f"{BASE}/{endpoint['id']}/test", headers=tenant.admin)
            assert r.status_code == 202
            [delivery] = await eventually(settled(prod, tenant, endpoint["id"], 1, "failed"))
    assert (delivery["last_error"], delivery["last_status_code"]) == ("blocked_address", None)
    assert app.connections == 0


async def test_the_guarded_client_connects_only_to_checked_addresses():
    async with receiver() as app:
        url = f"http://localhost:{app.port}/hooks"
        async with guarded_client(timeout=5, allow_private=False, max_connections=2) as client:
            with pytest.raises(BlockedAddress):
                await client.post(url, content=b"{}")
            with pytest.raises(BlockedAddress):
                await client.post(f"http://[::ffff:127.0.0.1]:{app.port}/hooks", content=b"{}")
        assert app.connections == 0
        async with guarded_client(timeout=5, allow_private=True, max_connections=2) as client:
            assert (await client.post(url, content=b"{}")).status_code == 200
        assert app.connections == 1


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.251", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_which_addresses_are_refused(address, refused):
    assert forbidden(ipaddress.ip_address(address)) is refused


async def test_redirects_are_not_followed_and_answers_are_read_only_in_part(database_url, emulator, shared_home):
    async with receiver() as target, receiver(reply=b"x" * 100_000) as app:
        app.location = target.url
        async with notify_hub(database_url, str(shared_home), emulator.url, HUB_NOTIFY_RETRY_SCHEDULE="0") as hub:
            tenant = await hub.create_tenant()
            endpoint = await add_endpoint(hub, tenant, app.url)
            app.script = [302]
            r = await hub.request("POST", f"{BASE}/{endpoint['id']}/test", headers=tenant.admin)
            await eventually(settled(hub, tenant, endpoint["id"], 1))
        rows = await execute(
            database_url,
            "SELECT status_code, error, response_excerpt FROM notification_attempts ORDER BY attempted_at",
        )
    assert r.status_code == 202
    assert target.messages == []
    assert [(code, error) for code, error, _ in rows] == [(302, "redirect"), (200, None)]
    assert all(len(excerpt) <= 256 for _, _, excerpt in rows)
