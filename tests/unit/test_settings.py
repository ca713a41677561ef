"""Configuration rules of docs/api.md: dev generates missing secrets once, prod refuses to start without them."""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import ConfigError, generate_vault_key_entry, load_settings, parse_vault_keys

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
KEY_B = base64.urlsafe_b64encode(bytes(range(32, 64))).decode().rstrip("=")


def _dev(home: Path, **extra: str) -> dict[str, str]:
    return {"HUB_ENV": "dev", "HUB_HOME": str(home), **extra}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dev_generates_missing_vault_key_and_platform_token_once_with_mode_0600_and_a_warning(tmp_path, caplog):
    home = tmp_path / "home"
    with caplog.at_level(logging.WARNING, logger="hub.settings"):
        first = load_settings(_dev(home))
    keys_file, token_file = home / "vault_keys", home / "platform_token"
    assert _mode(keys_file) == 0o600 and _mode(token_file) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("HUB_VAULT_KEYS" in m for m in warnings), warnings
    assert any("HUB_PLATFORM_TOKEN" in m for m in warnings), warnings
    # The warning says where, never what.
    assert first.auth.platform_token not in caplog.text
    assert keys_file.read_text().strip().split(":", 1)[1] not in caplog.text
    assert len(first.vault.active.key) == 32 and first.auth.platform_token

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hub.settings"):
        second = load_settings(_dev(home))
    assert second.vault.keys == first.vault.keys
    assert second.auth.platform_token == first.auth.platform_token
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "reusing kept secrets warns nothing"


def test_dev_home_defaults_to_dot_hub_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"HUB_ENV": "dev"})
    assert (tmp_path / ".hub" / "vault_keys").is_file()
    assert (tmp_path / ".hub" / "platform_token").is_file()
    assert settings.database.url == "sqlite+aiosqlite:///.hub/hub.db"
    assert _mode(tmp_path / ".hub") & 0o077 == 0, "the directory holding dev secrets is private"


def test_dev_uses_given_variables_and_generates_nothing_for_them(tmp_path):
    home = tmp_path / "home"
    settings = load_settings(
        _dev(
            home,
            HUB_VAULT_KEYS=f"k1:{KEY_A}",
            HUB_PLATFORM_TOKEN="hub_pt_given",
            HUB_DATABASE_URL="sqlite+aiosqlite:///x.db",
        )
    )
    assert settings.vault.active.key_id == "k1" and settings.auth.platform_token == "hub_pt_given"
    assert not (home / "vault_keys").exists() and not (home / "platform_token").exists()


def test_dev_kept_files_that_are_empty_are_an_error_not_a_silent_new_key(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "vault_keys").write_text("")
    with pytest.raises(ConfigError, match="vault_keys"):
        load_settings(_dev(home, HUB_PLATFORM_TOKEN="hub_pt_given"))


@pytest.mark.parametrize("missing", ["HUB_VAULT_KEYS", "HUB_PLATFORM_TOKEN"])
def test_prod_refuses_to_start_without_a_secret_and_names_the_variable(tmp_path, missing):
    env = {
        "HUB_ENV": "prod",
        "HUB_HOME": str(tmp_path / "home"),
        "HUB_VAULT_KEYS": f"k1:{KEY_A}",
        "HUB_PLATFORM_TOKEN": "hub_pt_given",
        "HUB_DATABASE_URL": "sqlite+aiosqlite:///x.db",
    }
    del env[missing]
    with pytest.raises(ConfigError) as exc:
        load_settings(env)
    assert missing in str(exc.value)
    other = ({"HUB_VAULT_KEYS", "HUB_PLATFORM_TOKEN"} - {missing}).pop()
    assert other not in str(exc.value), "only the missing variable is named"
    assert not (tmp_path / "home").exists(), "prod never generates secrets"


def test_prod_names_every_missing_variable_at_once(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_settings({"HUB_ENV": "prod", "HUB_HOME": str(tmp_path), "HUB_VAULT_KEYS": "  "})
    assert "HUB_VAULT_KEYS" in str(exc.value) and "HUB_PLATFORM_TOKEN" in str(exc.value)


def test_prod_ignores_dev_secrets_kept_on_disk(tmp_path):
    home = tmp_path / "home"
    load_settings(_dev(home))  # leaves vault_keys and platform_token behind
    with pytest.raises(ConfigError, match="HUB_VAULT_KEYS"):
        load_settings({"HUB_ENV": "prod", "HUB_HOME": str(home), "HUB_PLATFORM_TOKEN": "hub_pt_given"})


PROD_TOKEN = "hub_pt_" + "t" * 40


def _prod(tmp_path, **extra: str | None) -> dict[str, str]:
    env = {
        "HUB_ENV": "prod",
        "HUB_HOME": str(tmp_path / "h"),
        "HUB_VAULT_KEYS": f"k1:{KEY_A}",
        "HUB_PLATFORM_TOKEN": PROD_TOKEN,
        "HUB_PUBLIC_URL": "https://hub.example.com",
        "HUB_DATABASE_URL": "postgresql+asyncpg://x/y",
    }
    env.update(extra)  # type: ignore[arg-type]
    return {k: v for k, v in env.items() if v is not None}


def test_prod_starts_with_both_variables_set(tmp_path):
    settings = load_settings(_prod(tmp_path))
    assert settings.server.env == "prod" and settings.vault.active.key == bytes(range(32))


@pytest.mark.parametrize(
    ("extra", "variable", "value"),
    [
        ({"HUB_PLATFORM_TOKEN": "a"}, "HUB_PLATFORM_TOKEN", None),
        ({"HUB_PLATFORM_TOKEN": "hub_pt_short-but-not-a"}, "HUB_PLATFORM_TOKEN", "hub_pt_short-but-not-a"),
        ({"HUB_PUBLIC_URL": None}, "HUB_PUBLIC_URL", None),
        ({"HUB_PUBLIC_URL": "http://hub.example.com"}, "HUB_PUBLIC_URL", "hub.example.com"),
        ({"HUB_PUBLIC_URL": "hub.example.com"}, "HUB_PUBLIC_URL", None),
        ({"HUB_STRIPE_API_BASE": "https://evil.example.net"}, "HUB_STRIPE_API_BASE", "evil.example.net"),
        ({"HUB_STRIPE_API_BASE": "http://10.0.0.5:12111"}, "HUB_STRIPE_API_BASE", "10.0.0.5"),
    ],
)
def test_prod_refuses_unsafe_settings_naming_the_variable_not_its_value(tmp_path, extra, variable, value):
    with pytest.raises(ConfigError) as exc:
        load_settings(_prod(tmp_path, **extra))
    assert variable in str(exc.value)
    if value is not None:
        assert value not in str(exc.value)


@pytest.mark.parametrize(
    "extra",
    [
        {"HUB_PUBLIC_URL": "http://127.0.0.1:8000"},
        {"HUB_PUBLIC_URL": "http://localhost:8000"},
        {"HUB_STRIPE_API_BASE": "http://127.0.0.1:12111"},
        {"HUB_STRIPE_API_BASE": "http://[::1]:12111"},
    ],
)
def test_prod_allows_loopback_hosts(tmp_path, extra):
    assert load_settings(_prod(tmp_path, **extra)).server.env == "prod"


def test_dev_keeps_its_lenient_defaults(tmp_path):
    settings = load_settings(
        {"HUB_HOME": str(tmp_path), "HUB_PLATFORM_TOKEN": "a", "HUB_STRIPE_API_BASE": "http://emulator.test:1"}
    )
    assert settings.server.env == "dev"


def test_unknown_hub_env_is_refused():
    with pytest.raises(ConfigError, match="HUB_ENV"):
        load_settings({"HUB_ENV": "production"})


def test_vault_keys_first_entry_is_active_and_others_only_decrypt():
    keys = parse_vault_keys(f" new:{KEY_B} , old:{KEY_A},")
    assert [k.key_id for k in keys] == ["new", "old"]
    assert keys[0].key == bytes(range(32, 64)) and keys[1].key == bytes(range(32))


def test_vault_keys_accept_padded_base64url():
    assert parse_vault_keys(f"k1:{KEY_A}=")[0].key == bytes(range(32))


@pytest.mark.parametrize(
    "raw",
    [
        "",  # nothing at all
        ",",  # only separators
        KEY_A,  # no key id
        f":{KEY_A}",  # empty key id
        f"k1:{KEY_A[:-2]}",  # too short
        f"k1:{KEY_A}AAAA",  # too long
        f"k1:{KEY_A[:-1]}!",  # not in the base64url alphabet
        f"k1:{KEY_A[:-1]}+",  # standard base64, not base64url
        f"k 1:{KEY_A}",  # space in the id
        f"{'k' * 65}:{KEY_A}",  # id longer than the column that stores it
        f"k1:{KEY_A},k1:{KEY_B}",  # the same id twice
    ],
)
def test_malformed_vault_keys_are_refused_with_a_clear_message(raw):
    with pytest.raises(ConfigError) as exc:
        parse_vault_keys(raw)
    assert "HUB_VAULT_KEYS" in str(exc.value)


@pytest.mark.parametrize(
    "raw",
    [
        f"{KEY_A}:{KEY_B[:10]}",  # id and key swapped: the key sits where the id should be
        f"k1:{KEY_A[:30]}",  # truncated key
        f"k1:{KEY_A[:-1]}!",  # bad character
        f"k1:{KEY_A}, k2:{KEY_B}x",  # second entry bad, first one fine
        f"{KEY_A}",  # bare key
        f"k1:{KEY_A},k1:{KEY_A}",  # duplicate
    ],
)
def test_malformed_vault_keys_error_never_echoes_key_material(raw):
    with pytest.raises(ConfigError) as exc:
        parse_vault_keys(raw)
    message = str(exc.value)
    for secret in (KEY_A, KEY_B, KEY_A[:30], KEY_B[:10], KEY_A[:12], KEY_B[:12]):
        assert secret not in message, message
    # No chained exception (e.g. from the base64 decoder) carries the input along either.
    assert exc.value.__cause__ is None and (exc.value.__context__ is None or exc.value.__suppress_context__)


def test_malformed_vault_keys_in_environment_stop_start_up_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="HUB_VAULT_KEYS") as exc:
        load_settings(_dev(tmp_path, HUB_VAULT_KEYS="k1:short", HUB_PLATFORM_TOKEN="hub_pt_x"))
    assert "short" not in str(exc.value)


def test_generated_key_entry_is_a_valid_vault_keys_entry_and_unique():
    a, b = generate_vault_key_entry(), generate_vault_key_entry()
    assert a != b
    (key,) = parse_vault_keys(a)
    assert len(key.key) == 32 and a.startswith(f"{key.key_id}:")


def test_master_key_and_settings_reprs_never_show_secrets(tmp_path):
    settings = load_settings(_dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}", HUB_PLATFORM_TOKEN="hub_pt_given"))
    text = repr(settings) + str(settings.vault.active) + repr(settings.vault)
    assert "hub_pt_given" not in text and KEY_A not in text and repr(bytes(range(32))) not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_LOG_LEVEL", "LOUD"),
        ("HUB_STRIPE_TIMEOUT_SECONDS", "soon"),
        ("HUB_STRIPE_TIMEOUT_SECONDS", "0"),
        ("HUB_STRIPE_MAX_NETWORK_RETRIES", "-1"),
        ("HUB_TENANT_CONTEXT_CACHE_SIZE", "0"),
        ("HUB_TENANT_CONTEXT_CACHE_SIZE", "many"),
        ("HUB_TENANT_CONTEXT_TTL_SECONDS", "1.5"),  # changes must reach every worker within a second
        ("HUB_TENANT_CONTEXT_TTL_SECONDS", "-1"),
        ("HUB_APPLIER", "yes"),
        ("HUB_APPLIER_POLL_SECONDS", "0"),
        ("HUB_APPLIER_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_optional_values_are_refused_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(_dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}", HUB_PLATFORM_TOKEN="hub_pt_x", **{name: value}))


def test_the_applier_runs_in_every_worker_unless_hub_applier_is_0(tmp_path):
    base = _dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}", HUB_PLATFORM_TOKEN="hub_pt_x")
    assert load_settings(base).applier.enabled is True
    assert load_settings({**base, "HUB_APPLIER": "1"}).applier.enabled is True
    assert load_settings({**base, "HUB_APPLIER": "0"}).applier.enabled is False
    tuned = load_settings({**base, "HUB_APPLIER_POLL_SECONDS": "0.5", "HUB_APPLIER_MAX_ATTEMPTS": "3"}).applier
    assert (tuned.poll_seconds, tuned.max_attempts) == (0.5, 3)


def test_retention_is_on_by_default_with_its_windows_and_each_is_configurable(tmp_path):
    base = _dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}", HUB_PLATFORM_TOKEN="hub_pt_x")
    kept = load_settings(base).retention
    assert kept.enabled is True and (kept.interval_seconds, kept.batch_size) == (3600.0, 1000)
    assert (kept.events_days, kept.failed_events_days) == (30, 90)
    assert (kept.notifications_days, kept.failed_notifications_days) == (30, 90)
    assert (kept.idempotency_days, kept.signature_failures_days) == (7, 7)
    tuned = load_settings({**base, "HUB_RETENTION": "0", "HUB_RETENTION_EVENTS_DAYS": "14"}).retention
    assert tuned.enabled is False and tuned.events_days == 14
    # A stored response is promised for 24 hours: a shorter window is refused.
    with pytest.raises(ConfigError, match="HUB_RETENTION_IDEMPOTENCY_DAYS must be a finite number of at least 1"):
        load_settings({**base, "HUB_RETENTION_IDEMPOTENCY_DAYS": "0.5"})
    with pytest.raises(ConfigError, match="HUB_RETENTION_BATCH_SIZE"):
        load_settings({**base, "HUB_RETENTION_BATCH_SIZE": "0"})


def test_dev_home_that_cannot_hold_files_is_a_clear_error_naming_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="HUB_VAULT_KEYS") as exc:
        load_settings(_dev(blocker / "home"))
    assert str(blocker) in str(exc.value)


def test_processes_starting_together_in_dev_all_end_up_with_the_same_generated_secrets(tmp_path):
    code = (
        "from hub.settings import load_settings; s = load_settings(); "
        "print(s.vault.active.key_id, len(s.auth.platform_token))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_ENV": "dev", "HUB_HOME": str(tmp_path / "home"), "HUB_DATABASE_URL": "sqlite+aiosqlite:///x"})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    assert len({out for out, _ in results}) == 1, results
    assert sum(err.count("HUB_VAULT_KEYS is not set") for _, err in results) == 1
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["platform_token", "vault_keys"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/hub", "postgresql+asyncpg://u:p@db:5432/hub"),
        ("postgresql://u:p@db/hub", "postgresql+asyncpg://u:p@db/hub"),
        ("postgresql+psycopg://u@db/hub", "postgresql+asyncpg://u@db/hub"),
        ("postgresql+psycopg2://u@db/hub", "postgresql+asyncpg://u@db/hub"),
        ("postgresql+asyncpg://u@db/hub", "postgresql+asyncpg://u@db/hub"),
        ("postgresql://u@db/hub?sslmode=require", "postgresql+asyncpg://u@db/hub?ssl=require"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
    ],
)
def test_database_urls_of_the_usual_spellings_are_normalised_to_the_async_drivers(tmp_path, given, expected):
    settings = load_settings(_dev(tmp_path, HUB_DATABASE_URL=given, HUB_VAULT_KEYS=f"k1:{KEY_A}"))
    assert settings.database.url == expected


@pytest.mark.parametrize(
    "given", ["mysql://root:hunter2@db/hub", "hunter2", "postgresql+pg8000://u:hunter2@db/hub", "http://x"]
)
def test_an_unsupported_database_url_is_one_clear_error_that_never_echoes_it(tmp_path, given):
    with pytest.raises(ConfigError) as err:
        load_settings(_dev(tmp_path, HUB_DATABASE_URL=given, HUB_VAULT_KEYS=f"k1:{KEY_A}"))
    message = str(err.value)
    assert "HUB_DATABASE_URL" in message and "postgresql://" in message and "sqlite:///" in message
    assert "hunter2" not in message


def test_log_format_defaults_to_text_in_dev_and_json_in_prod_and_refuses_others(tmp_path):
    dev = load_settings(_dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}"))
    assert dev.server.log_format == "text"
    prod = load_settings(
        {
            "HUB_ENV": "prod",
            "HUB_HOME": str(tmp_path),
            "HUB_VAULT_KEYS": f"k1:{KEY_A}",
            "HUB_PLATFORM_TOKEN": "p" * 40,
            "HUB_PUBLIC_URL": "https://hub.example",
            "HUB_DATABASE_URL": "sqlite+aiosqlite:///x.db",
        }
    )
    assert prod.server.log_format == "json"
    assert load_settings(_dev(tmp_path, HUB_LOG_FORMAT="JSON")).server.log_format == "json"
    with pytest.raises(ConfigError, match="HUB_LOG_FORMAT"):
        load_settings(_dev(tmp_path, HUB_LOG_FORMAT="xml"))


def test_the_emulator_option_is_explicit_and_checked(tmp_path):
    assert load_settings(_dev(tmp_path, HUB_STRIPE_API_BASE="http://127.0.0.1:8420")).stripe.emulator is None
    chosen = load_settings(
        _dev(tmp_path, HUB_STRIPE_API_BASE="http://127.0.0.1:8420", HUB_STRIPE_EMULATOR="localstripe")
    )
    assert chosen.stripe.emulator == "localstripe"
    with pytest.raises(ConfigError, match="HUB_STRIPE_EMULATOR"):
        load_settings(_dev(tmp_path, HUB_STRIPE_EMULATOR="stripe-mock"))
    with pytest.raises(ConfigError, match="HUB_STRIPE_API_BASE"):
        load_settings(_dev(tmp_path, HUB_STRIPE_EMULATOR="localstripe"))


def test_tenant_context_cache_defaults_and_given_values(tmp_path):
    base = _dev(tmp_path, HUB_VAULT_KEYS=f"k1:{KEY_A}", HUB_PLATFORM_TOKEN="hub_pt_x")
    default = load_settings(base).cache
    assert (default.tenant_context_entries, default.tenant_context_ttl_seconds) == (10_000, 1.0)
    given = load_settings(
        {**base, "HUB_TENANT_CONTEXT_CACHE_SIZE": "50", "HUB_TENANT_CONTEXT_TTL_SECONDS": "0.25"}
    ).cache
    assert (given.tenant_context_entries, given.tenant_context_ttl_seconds) == (50, 0.25)


def test_trusted_proxies_default_to_none_and_take_addresses_networks_or_a_lone_star(tmp_path):
    def trusted(raw: str | None) -> tuple[str, ...]:
        extra = {} if raw is None else {"HUB_TRUSTED_PROXIES": raw}
        return load_settings(_dev(tmp_path / "home", **extra)).server.trusted_proxies

    assert trusted(None) == () and trusted(" ") == ()
    # Normalised: a network written with host bits is the network, an IPv6 address its short form.
    assert trusted("10.0.0.5, 172.16.3.9/12,,0:0:0:0:0:0:0:1") == ("10.0.0.5", "172.16.0.0/12", "::1")
    assert trusted(" * ") == ("*",)
    for bad, entry in (("proxy.internal", 1), ("10.0.0.1, *", 2), ("10.0.0.1,10.0.0.0/33", 2)):
        with pytest.raises(ConfigError, match=f"HUB_TRUSTED_PROXIES entry {entry} is not an IP address"):
            trusted(bad)
