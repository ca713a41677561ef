from tests.support.hub import PLATFORM


async def test_tenant_can_be_created_and_registers_stripe_keys_checked_at_the_emulator(hub):
    tenant = await hub.create_tenant()
    r = await hub.register_stripe(tenant)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "test" and body["secret_key_hint"].endswith("0001")
    r = await hub.request("GET", f"/v1/tenants/{tenant.id}", headers=PLATFORM)
    assert r.status_code == 200 and "api_keys" not in r.json()
    r = await hub.request("GET", "/health/ready")
    assert r.status_code == 200, r.text
