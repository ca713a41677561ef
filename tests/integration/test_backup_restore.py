"""Backup and restore, as docs/operations.md tells an operator to do them.

PostgreSQL: ``pg_dump -Fc`` of the live database, ``pg_restore`` into a new one. SQLite: ``hub
backup PATH`` (SQLite's online backup) while the hub serves. Either way a fresh hub on the copy,
given the same vault keys, decrypts every tenant's credentials and serves their payments; given
other keys it says the vault cannot decrypt, and nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from hub.settings import generate_vault_key_entry
from tests.support.cli import hub_env, run_hub
from tests.support.hub import HubClient, TenantHandle, build_client, make_settings
from tests.support.payments import create_payment, stripe_tenant
from tests.support.rawdb import fresh_database, libpq_url, sqlite_path


@contextlib.asynccontextmanager
async def _empty_database(backend: str) -> AsyncIterator[str]:
    """``fresh_database`` (it runs its own event loop) from a thread, beside this test's loop."""
    made = fresh_database(backend, migrate=False)
    url = await asyncio.to_thread(made.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(made.__exit__, None, None, None)


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _pg(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def _back_up_and_restore(source: str, target: str, tmp_path: Path) -> None:
    """Copy the live database ``source`` into the empty ``target`` the documented way."""
    if _backend(source) == "postgresql":
        dump = tmp_path / "hub.dump"
        _pg("pg_dump", "--format=custom", "--no-owner", "--file", str(dump), "--dbname", libpq_url(source))
        _pg("pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq_url(target), str(dump))
        return
    done = run_hub("backup", str(sqlite_path(target)), env=hub_env(source, tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    assert "backed up" in done.stdout
    again = run_hub("backup", str(sqlite_path(target)), env=hub_env(source, tmp_path / "home"))
    assert again.returncode == 1 and "exists" in again.stderr, "a backup must never overwrite a file"


async def _serves(hub: HubClient, tenant: TenantHandle, secret_key: str, payment: dict) -> None:
    creds = await hub.request("GET", "/v1/providers/stripe/credentials", headers=tenant.admin)
    assert creds.status_code == 200, creds.text
    assert creds.json()["secret_key_hint"].endswith(secret_key[-4:]) and secret_key not in creds.text
    check = await hub.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
    # The secret key decrypted and Stripe took it (``ok`` also weighs the webhook endpoint, which
    # the emulator cannot show).
    assert check.status_code == 200 and check.json()["error"] is None, check.text
    read = await hub.request("GET", f"/v1/payments/{payment['id']}", headers=tenant.admin)
    assert read.status_code == 200, read.text
    assert {k: read.json()[k] for k in ("id", "status", "amount", "amount_received")} == {
        k: payment[k] for k in ("id", "status", "amount", "amount_received")
    }
    refund = await hub.request(
        "POST", f"/v1/payments/{payment['id']}/refunds", json={"amount": 500}, headers=tenant.admin
    )
    assert refund.status_code == 201, refund.text  # a money write through the restored credentials


async def test_a_restored_backup_serves_every_tenant_only_with_the_same_vault_keys(
    hub, database_url, emulator, tmp_path
):
    tenants = []
    for name in ("Backed Co", "Restored Co"):
        tenant, secret_key = await stripe_tenant(hub, name)
        paid = await create_payment(hub, tenant, payment_method="pm_card_visa", confirm=True)
        assert paid.status_code == 201 and paid.json()["status"] == "succeeded", paid.text
        tenants.append((tenant, secret_key, paid.json()))

    async with _empty_database(_backend(database_url)) as restored:
        _back_up_and_restore(database_url, restored, tmp_path)  # while the hub above still serves

        same = make_settings(restored, str(tmp_path / "same"), HUB_STRIPE_API_BASE=emulator.url)
        async with build_client(same) as client:
            fresh = HubClient(client, same)
            ready = await client.get("/health/ready")
            assert ready.status_code == 200 and ready.json()["checks"]["vault"] == "ok", ready.text
            for tenant, secret_key, payment in tenants:
                await _serves(fresh, tenant, secret_key, payment)

        other_keys = generate_vault_key_entry()
        other = make_settings(
            restored, str(tmp_path / "other"), HUB_STRIPE_API_BASE=emulator.url, HUB_VAULT_KEYS=other_keys
        )
        async with build_client(other) as client:
            # Readiness says it first: a load balancer keeps traffic off this hub.
            ready = await client.get("/health/ready")
            assert ready.status_code == 503 and ready.json()["checks"]["vault"] == "failing", ready.text
            for tenant, secret_key, payment in tenants:
                check = await client.post("/v1/providers/stripe/health-check", headers=tenant.admin)
                assert check.status_code == 503, check.text
                problem = check.json()
                assert problem["code"] == "vault_unavailable", problem
                assert "cannot decrypt" in problem["detail"]
                assert secret_key not in check.text and other_keys.split(":")[1] not in check.text
                refund = await client.post(
                    f"/v1/payments/{payment['id']}/refunds", json={"amount": 100}, headers=tenant.admin
                )
                assert refund.status_code == 503 and refund.json()["code"] == "vault_unavailable", refund.text
        # Nothing was refunded by the hub that could not decrypt: the copy holds one refund a payment.
        async with build_client(same) as client:
            for tenant, _, payment in tenants:
                read = await client.get(f"/v1/payments/{payment['id']}", headers=tenant.admin)
                assert read.json()["amount_refunded"] == 500, read.text


def test_hub_backup_refuses_postgresql_and_a_missing_database(tmp_path):
    pg = run_hub(
        "backup",
        str(tmp_path / "copy.db"),
        env=hub_env("postgresql://postgres@127.0.0.1:5432/anything", tmp_path / "home"),
    )
    assert pg.returncode == 2 and "pg_dump" in pg.stderr, pg.stderr
    missing = run_hub(
        "backup", str(tmp_path / "copy.db"), env=hub_env(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "home")
    )
    assert missing.returncode == 1 and "no database" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "none.db").exists()
