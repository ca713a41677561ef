"""The ``hub`` commands, run as real subprocesses against the real test databases."""

from __future__ import annotations

import pytest

from hub.db.migrate import script_heads
from hub.settings import parse_vault_keys
from tests.support.cli import hub_env, run_hub
from tests.support.databases import backends
from tests.support.hub import VAULT_KEYS, HubClient, build_client, make_settings
from tests.support.rawdb import execute, fresh_database

OLD_ID = VAULT_KEYS.split(":", 1)[0]


@pytest.fixture(params=backends())
def empty_url(request):
    with fresh_database(request.param, migrate=False) as url:
        yield url


async def _heads(url: str) -> set[str]:
    return {r[0] for r in await execute(url, "SELECT version_num FROM alembic_version")}


async def test_db_upgrade_migrates_an_empty_database_to_head_and_is_repeatable(empty_url, tmp_path):
    env = hub_env(empty_url, tmp_path / "home")
    done = run_hub("db", "upgrade", env=env)
    assert done.returncode == 0, done.stderr
    assert "database is at head" in done.stdout
    assert "Running upgrade  -> 0001" in done.stderr
    assert await _heads(empty_url) == set(script_heads())
    again = run_hub("db", "upgrade", env=env)
    assert again.returncode == 0 and "Running upgrade" not in again.stderr, again.stderr


def test_db_upgrade_against_an_unreachable_database_fails_with_one_clear_line(tmp_path):
    done = run_hub("db", "upgrade", env=hub_env("postgresql+asyncpg://postgres@127.0.0.1:1/nothing", tmp_path))
    assert done.returncode == 1
    assert "hub: database upgrade failed" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_generate_key_prints_one_valid_entry_and_needs_no_configuration(tmp_path):
    env = hub_env(None, tmp_path / "home", HUB_ENV="prod", HUB_VAULT_KEYS=None, HUB_PLATFORM_TOKEN=None)
    outputs = []
    for _ in range(2):
        done = run_hub("vault", "generate-key", env=env)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 1
        (key,) = parse_vault_keys(lines[0])
        assert len(key.key) == 32 and lines[0].startswith(f"{key.key_id}:")
        outputs.append(lines[0])
    assert outputs[0] != outputs[1]
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("command", [("db", "upgrade"), ("vault", "rotate")])
def test_commands_in_prod_without_secrets_exit_non_zero_naming_the_variable(tmp_path, command):
    env = hub_env(
        "sqlite+aiosqlite:///" + str(tmp_path / "x.db"), tmp_path / "home", HUB_ENV="prod", HUB_VAULT_KEYS=None
    )
    done = run_hub(*command, env=env)
    assert done.returncode != 0
    assert "HUB_VAULT_KEYS" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "x.db").exists(), "nothing was touched"


def test_malformed_vault_keys_stop_a_command_without_echoing_key_material(tmp_path):
    fake = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6"
    env = hub_env("sqlite+aiosqlite:///" + str(tmp_path / "x.db"), tmp_path / "home", HUB_VAULT_KEYS=f"{fake}:k1")
    done = run_hub("vault", "rotate", env=env)
    assert done.returncode == 2
    assert "HUB_VAULT_KEYS" in done.stderr and fake not in done.stderr + done.stdout, done.stderr


async def _master_key_ids(url: str) -> list[str]:
    return sorted(r[0] for r in await execute(url, "SELECT master_key_id FROM tenant_data_keys"))


async def test_rotate_rewraps_every_data_key_so_the_hub_runs_with_only_the_new_key(
    hub, database_url, emulator, hub_home, tmp_path
):
    tenants = []
    for n in range(3):
        tenant = await hub.create_tenant(f"Rotating {n}")
        assert (await hub.register_stripe(tenant, secret_key=f"sk_test_rotate{n}000000000001")).status_code == 200
        tenants.append(tenant)
    assert await _master_key_ids(database_url) == [OLD_ID] * 3

    new_entry = run_hub("vault", "generate-key", env=hub_env(None, tmp_path)).stdout.strip()
    new_id = new_entry.split(":", 1)[0]

    def hub_with(keys: str):
        settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url, HUB_VAULT_KEYS=keys)
        return settings, build_client(settings)

    # Before rotation the new key alone cannot open anything (so the check below can fail).
    _, client = hub_with(new_entry)
    async with client:
        r = await client.get("/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["vault"] == "failing"

    done = run_hub("vault", "rotate", env=hub_env(database_url, tmp_path, HUB_VAULT_KEYS=f"{new_entry},{VAULT_KEYS}"))
    assert done.returncode == 0, done.stderr
    assert f"re-wrapped 3 tenant data key(s) under {new_id}" in done.stdout
    assert new_entry.split(":", 1)[1] not in done.stdout + done.stderr
    assert await _master_key_ids(database_url) == [new_id] * 3

    settings, client = hub_with(new_entry)
    async with client:
        only_new = HubClient(client, settings)
        r = await only_new.request("GET", "/health/ready")
        assert r.status_code == 200, r.text
        for tenant in tenants:
            r = await only_new.request("POST", "/v1/providers/stripe/health-check", headers=tenant.admin)
            assert r.status_code == 200 and r.json()["error"] is None, r.text
        r = await only_new.register_stripe(
            tenants[0], secret_key="sk_test_rotatedagain0000001", webhook_secret="whsec_rotatedagain0000000001"
        )
        assert r.status_code == 200, r.text

    # The old key alone no longer opens anything.
    _, client = hub_with(VAULT_KEYS)
    async with client:
        r = await client.get("/health/ready")
        assert r.status_code == 503 and r.json()["checks"]["vault"] == "failing"

    again = run_hub("vault", "rotate", env=hub_env(database_url, tmp_path, HUB_VAULT_KEYS=new_entry))
    assert again.returncode == 0 and "re-wrapped 0 tenant data key(s)" in again.stdout, again.stderr


async def test_rotate_without_the_old_key_fails_and_changes_nothing(hub, database_url, tmp_path):
    for n in range(2):
        tenant = await hub.create_tenant(f"Stuck {n}")
        assert (await hub.register_stripe(tenant)).status_code == 200
    before = await execute(
        database_url, "SELECT tenant_id, master_key_id, wrapped_key FROM tenant_data_keys ORDER BY tenant_id"
    )
    new_entry = run_hub("vault", "generate-key", env=hub_env(None, tmp_path)).stdout.strip()

    done = run_hub("vault", "rotate", env=hub_env(database_url, tmp_path, HUB_VAULT_KEYS=new_entry))
    assert done.returncode == 1
    assert "nothing changed" in done.stderr and repr(OLD_ID) in done.stderr, done.stderr
    assert new_entry.split(":", 1)[1] not in done.stderr + done.stdout
    after = await execute(
        database_url, "SELECT tenant_id, master_key_id, wrapped_key FROM tenant_data_keys ORDER BY tenant_id"
    )
    assert [(*tuple(r[:2]), bytes(r[2])) for r in after] == [(*tuple(r[:2]), bytes(r[2])) for r in before]
    r = await hub.request("GET", "/health/ready")
    assert r.status_code == 200


def test_rotate_against_an_unmigrated_database_fails_cleanly(tmp_path):
    with fresh_database("sqlite", migrate=False) as url:
        done = run_hub("vault", "rotate", env=hub_env(url, tmp_path))
    assert done.returncode == 1
    assert "vault rotation failed" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_malformed_billing_plan_list_stops_serve_with_one_line_before_any_worker(tmp_path):
    env = hub_env(
        "sqlite+aiosqlite:///" + str(tmp_path / "x.db"),
        tmp_path / "home",
        HUB_BILLING_STRIPE_SECRET_KEY="sk_test_platformbilling0001",
        HUB_BILLING_PLANS="[not json",
    )
    done = run_hub("serve", "--port", "1", env=env)
    assert done.returncode == 2
    assert "HUB_BILLING_PLANS" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "sk_test_platformbilling0001" not in done.stderr + done.stdout
    assert not (tmp_path / "x.db").exists(), "nothing was touched"


def test_version_prints_the_package_version(tmp_path):
    from importlib.metadata import version

    done = run_hub("--version", env=hub_env(None, tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hub {version('payment-hub')}"


@pytest.mark.parametrize("command", [(), ("serve",), ("db",), ("db", "upgrade"), ("vault",), ("vault", "rotate")])
def test_every_command_has_help_and_serve_shows_its_defaults(tmp_path, command):
    done = run_hub(*command, "--help", env=hub_env(None, tmp_path))
    assert done.returncode == 0, done.stderr
    assert "usage: hub" in done.stdout
    if command == ("serve",):
        assert "(default: 127.0.0.1)" in done.stdout and "(default: 8000)" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root:hunter2@127.0.0.1/hub", "got a mysql:// URL"),
        ("not a url hunter2", "not a URL"),
    ],
)
def test_a_wrong_database_url_is_one_line_saying_what_is_expected(tmp_path, url, says):
    done = run_hub("db", "upgrade", env=hub_env(url, tmp_path / "home"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "postgresql://" in lines[0], done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_plain_postgres_url_reaches_the_async_driver(tmp_path, scheme):
    # Port 1: nothing listens, so the driver itself must be the one that fails to connect.
    done = run_hub("db", "upgrade", env=hub_env(f"{scheme}://postgres@127.0.0.1:1/nothing", tmp_path))
    assert done.returncode == 1
    assert "hub: database upgrade failed" in done.stderr, done.stderr
    assert "psycopg" not in done.stderr and "NoSuchModuleError" not in done.stderr, done.stderr
