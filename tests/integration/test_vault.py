"""The credential vault against the real database and the API.

Ciphertexts are bound to (tenant, provider, field) and data keys to (tenant, master key id);
a wrong master key is reported by readiness and refused with 503, never a 500; nothing secret is
ever stored in plaintext.
"""

from __future__ import annotations

import secrets

import pytest

from tests.support.databases import backends
from tests.support.hub import HubClient, build_client, make_settings
from tests.support.rawdb import execute, found, fresh_database, raw_contents

WRONG_SAME_ID = "ktest1:" + "B" * 43  # the id the hub fixture uses, other key bytes
OTHER_ID = "kother:" + "C" * 43


def canary_keys(label: str) -> dict[str, str]:
    # A tag of its own per field: finding one secret's middle must not be the publishable key's.
    return {
        "secret_key": f"sk_test_Canary{label}{secrets.token_hex(8)}Sk42",
        "publishable_key": f"pk_test_Canary{label}{secrets.token_hex(8)}Pk42",
        "webhook_secret": f"whsec_Canary{label}{secrets.token_hex(8)}Wh42",
    }


async def registered(hub: HubClient, label: str):
    tenant = await hub.create_tenant(f"Tenant {label}")
    keys = canary_keys(label)
    r = await hub.register_stripe(tenant, **keys)
    assert r.status_code == 200, r.text
    return tenant, keys


def assert_vault_unavailable(r, *leaks: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "vault_unavailable" and body["status"] == 503
    for secret in leaks:
        assert secret not in r.text


def leaks_of(*key_sets: dict[str, str]) -> list[str]:
    return [k[f] for k in key_sets for f in ("secret_key", "webhook_secret")]


async def health_check(hub: HubClient, tenant):
    return await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)


async def test_health_check_decrypts_registered_credentials(hub):
    tenant, _ = await registered(hub, "Plain")
    r = await health_check(hub, tenant)
    assert r.status_code == 200 and r.json()["error"] is None, r.text


async def test_secret_key_ciphertext_copied_to_another_tenants_row_does_not_decrypt(hub, database_url):
    a, a_keys = await registered(hub, "A")
    b, b_keys = await registered(hub, "B")
    await execute(
        database_url,
        "UPDATE provider_credentials SET secret_key_ct = "
        "(SELECT secret_key_ct FROM provider_credentials WHERE tenant_id = :a) WHERE tenant_id = :b",
        a=a.id,
        b=b.id,
    )
    assert_vault_unavailable(await health_check(hub, b), *leaks_of(a_keys, b_keys))
    r = await health_check(hub, a)
    assert r.status_code == 200 and r.json()["error"] is None, "the source row still decrypts"


async def test_webhook_secret_ciphertext_copied_to_another_tenants_row_does_not_decrypt(hub, database_url):
    a, a_keys = await registered(hub, "A")
    b, b_keys = await registered(hub, "B")
    await execute(
        database_url,
        "UPDATE provider_credentials SET webhook_secret_ct = "
        "(SELECT webhook_secret_ct FROM provider_credentials WHERE tenant_id = :a) WHERE tenant_id = :b",
        a=a.id,
        b=b.id,
    )
    assert_vault_unavailable(await health_check(hub, b), *leaks_of(a_keys, b_keys))


async def test_secret_key_ciphertext_copied_into_the_webhook_secret_field_does_not_decrypt(hub, database_url):
    a, a_keys = await registered(hub, "A")
    await execute(
        database_url, "UPDATE provider_credentials SET webhook_secret_ct = secret_key_ct WHERE tenant_id = :a", a=a.id
    )
    assert_vault_unavailable(await health_check(hub, a), *leaks_of(a_keys))


async def test_a_data_key_copied_to_another_tenant_does_not_unwrap(hub, database_url):
    a, a_keys = await registered(hub, "A")
    b, b_keys = await registered(hub, "B")
    await execute(
        database_url,
        "UPDATE tenant_data_keys SET wrapped_key = "
        "(SELECT wrapped_key FROM tenant_data_keys WHERE tenant_id = :a) WHERE tenant_id = :b",
        a=a.id,
        b=b.id,
    )
    assert_vault_unavailable(await health_check(hub, b), *leaks_of(a_keys, b_keys))
    # Replacing the credentials needs the data key too: still a clean 503, nothing changed.
    r = await hub.register_stripe(b, **canary_keys("B2"))
    assert_vault_unavailable(r, *leaks_of(a_keys, b_keys))
    r = await hub.request("GET", "/v1/providers/stripe/credentials", headers=b.admin)
    assert r.json()["publishable_key"] == b_keys["publishable_key"]


@pytest.mark.parametrize("keys", [WRONG_SAME_ID, OTHER_ID], ids=["wrong-bytes-same-id", "unknown-key-id"])
async def test_a_wrong_master_key_fails_readiness_naming_vault_and_credential_routes_answer_503(
    hub, database_url, emulator, hub_home, keys
):
    tenant, tenant_keys = await registered(hub, "A")
    r = await hub.request("GET", "/health/ready")
    assert r.status_code == 200 and r.json()["checks"]["vault"] == "ok", r.text

    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url, HUB_VAULT_KEYS=keys)
    async with build_client(settings) as client:
        wrong = HubClient(client, settings)
        r = await wrong.request("GET", "/health/ready")
        assert r.status_code == 503, r.text
        assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "vault": "failing"}

        assert_vault_unavailable(await health_check(wrong, tenant), *leaks_of(tenant_keys))
        assert_vault_unavailable(await wrong.register_stripe(tenant, **canary_keys("New")), *leaks_of(tenant_keys))
        r = await wrong.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
        assert r.status_code == 200, "the masked view needs no decryption"
        assert r.json()["secret_key_hint"].endswith("Sk42")
        assert (await wrong.request("GET", "/health")).status_code == 200

    # The right key still opens everything: the failed attempts changed nothing.
    r = await health_check(hub, tenant)
    assert r.status_code == 200 and r.json()["error"] is None, r.text


@pytest.fixture(params=backends())
def fresh_url(request):
    with fresh_database(request.param) as url:
        yield url


async def test_the_raw_database_never_holds_a_stored_secret_in_plaintext(fresh_url, emulator, tmp_path):
    settings = make_settings(fresh_url, str(tmp_path / "home"), HUB_STRIPE_API_BASE=emulator.url)
    first, second = canary_keys("Raw1"), canary_keys("Raw2")
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        tenant = await hub.create_tenant("Raw")
        assert (await hub.register_stripe(tenant, **first)).status_code == 200
        # Replacing keeps the first webhook secret as the (encrypted) previous one.
        r = await hub.register_stripe(tenant, **second)
        assert r.status_code == 200, r.text
        secrets_at_rest = [*leaks_of(first, second), tenant.admin_key, tenant.storefront_key]
        # While the hub runs (SQLite: much of it still in the -wal file) and after it stops.
        running = raw_contents(fresh_url)
    stopped = raw_contents(fresh_url)

    for contents in (running, stopped):
        assert second["publishable_key"].encode() in contents, "the dump holds the tenant's rows"
        for secret in secrets_at_rest:
            # The whole secret, and its random middle (a masked hint may show the first/last chars).
            assert not found(contents, secret), "a stored secret is readable at rest"
            assert not found(contents, secret[8:-4]), "a stored secret is readable at rest"

    # The check itself can fail: canaries made the same way, put in a table deliberately, are found.
    # (Ones the hub never saw: the run's own canary check would rightly report the hub's.)
    control = canary_keys("Control")
    await execute(
        fresh_url,
        "CREATE TABLE plaintext_control (t TEXT, b "
        + ("BYTEA" if fresh_url.startswith("postgresql") else "BLOB")
        + ")",
    )
    await execute(
        fresh_url,
        "INSERT INTO plaintext_control (t, b) VALUES (:t, :b)",
        t=control["secret_key"],
        b=control["webhook_secret"].encode(),
    )
    contents = raw_contents(fresh_url)
    assert found(contents, control["secret_key"]) and found(contents, control["webhook_secret"])
