"""``hub serve`` as a real process: migrates once before its workers start, answers health, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import hub_env, run_hub, start_hub
from tests.support.databases import backends
from tests.support.emulator import free_port
from tests.support.rawdb import fresh_database

pytestmark = pytest.mark.e2e

STARTUP_SECONDS = 60
STOP_SECONDS = 30


@pytest.fixture(params=backends())
def empty_url(request):
    with fresh_database(request.param, migrate=False) as url:
        yield url


class Served:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.log, self.base = proc, log, f"http://127.0.0.1:{port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"Started server process \[(\d+)\]", self.text())]

    def wait_until(self, what: str, ok, seconds: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"hub serve exited with {self.proc.returncode}:\n{self.text()}"
            try:
                if ok():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{what} did not happen within {seconds} s:\n{self.text()}")

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.base + path, timeout=10, **kw)

    def stop(self) -> int:
        """SIGTERM, as a process manager would; the supervisor stops its workers and exits."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(STOP_SECONDS)

    def kill_if_running(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the group is this test's alone
            self.proc.wait(10)


def serve(tmp_path: Path, env: dict[str, str], *args: str, cwd: Path | None = None) -> Served:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start_hub("serve", "--host", "127.0.0.1", "--port", str(port), *args, env=env, log=log, cwd=cwd)
    return Served(proc, port, log)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_serve_with_two_workers_migrates_once_before_they_start_then_is_healthy_and_stops_cleanly(empty_url, tmp_path):
    served = serve(tmp_path, hub_env(empty_url, tmp_path / "home"), "--workers", "2")
    try:
        served.wait_until("/health answering 200", lambda: served.get("/health").status_code == 200)
        served.wait_until("two workers started", lambda: len(served.worker_pids()) == 2)
        r = served.get("/health/ready")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "vault": "ok"}}
        assert served.get("/health").json() == {"status": "ok"}
        for _ in range(5):
            assert served.get("/health/ready").status_code == 200

        log = served.text()
        assert log.count("Running upgrade  -> 0001") == 1, log
        assert log.index("Running upgrade  -> 0001") < log.index("Started parent process"), log
        assert log.index("Running upgrade") < log.index("Started server process"), log
        assert log.count("Context impl") == 1, "only the one upgrade sets up Alembic; probes stay quiet"
        workers = served.worker_pids()
        assert served.proc.pid not in workers and len(set(workers)) == 2

        assert served.stop() == 0, served.text()
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), "workers outlived the server"
        assert "Traceback" not in served.text(), served.text()
    finally:
        served.kill_if_running()


def test_dev_serve_generates_its_secrets_once_and_every_worker_uses_them(emulator, tmp_path):
    # What the README's first command does: no configuration at all, embedded SQLite under ./.hub.
    env = hub_env(
        None,
        tmp_path,
        HUB_HOME=None,
        HUB_VAULT_KEYS=None,
        HUB_PLATFORM_TOKEN=None,
        HUB_STRIPE_API_BASE=emulator.url,
        HUB_STRIPE_MAX_NETWORK_RETRIES="0",
    )
    served = serve(tmp_path, env, "--workers", "2", cwd=tmp_path)
    try:
        served.wait_until("/health/ready answering 200", lambda: served.get("/health/ready").status_code == 200)
        served.wait_until("two workers started", lambda: len(served.worker_pids()) == 2)
        home = tmp_path / ".hub"
        for name in ("vault_keys", "platform_token", "hub.db"):
            assert (home / name).exists(), name
        for name in ("vault_keys", "platform_token"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
        log = served.text()
        assert log.count("HUB_VAULT_KEYS is not set") == 1 and log.count("HUB_PLATFORM_TOKEN is not set") == 1, log
        token = (home / "platform_token").read_text().strip()
        assert token not in log and (home / "vault_keys").read_text().strip().split(":")[1] not in log

        admin = {"Authorization": f"Bearer {token}"}
        r = httpx.post(served.base + "/v1/tenants", json={"name": "Dev"}, headers=admin, timeout=10)
        assert r.status_code == 201, r.text
        tenant_admin = {"Authorization": f"Bearer {r.json()['api_keys']['admin']}"}
        r = httpx.put(
            served.base + "/v1/providers/stripe/credentials",
            headers=tenant_admin,
            timeout=30,
            json={
                "publishable_key": "pk_test_devserve00000001",
                "secret_key": "sk_test_devserve00000001",
                "webhook_secret": "whsec_devserve000000000001",
            },
        )
        assert r.status_code == 200, r.text
        # New connections spread over both workers: each must open the data key with the same vault key.
        for _ in range(12):
            r = httpx.post(served.base + "/v1/providers/stripe/health-check", headers=tenant_admin, timeout=30)
            assert r.status_code == 200 and r.json()["error"] is None, r.text
            assert served.get("/health/ready").status_code == 200
        assert served.stop() == 0, served.text()
    finally:
        served.kill_if_running()


@pytest.mark.parametrize(
    "missing", [("HUB_VAULT_KEYS",), ("HUB_PLATFORM_TOKEN",), ("HUB_VAULT_KEYS", "HUB_PLATFORM_TOKEN")]
)
def test_prod_serve_without_secrets_exits_non_zero_naming_the_variable(tmp_path, missing):
    port = free_port()
    env = hub_env(
        "sqlite+aiosqlite:///" + str(tmp_path / "hub.db"), tmp_path / "home", HUB_ENV="prod", **dict.fromkeys(missing)
    )
    done = run_hub("serve", "--port", str(port), env=env, timeout=60)
    assert done.returncode != 0
    for name in missing:
        assert name in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hub.db").exists() and not (tmp_path / "home").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_serve_refuses_zero_workers(tmp_path):
    done = run_hub("serve", "--workers", "0", env=hub_env("sqlite+aiosqlite:///x.db", tmp_path))
    assert done.returncode == 2 and "--workers" in done.stderr


def test_dev_serve_hands_out_webhook_urls_on_its_real_port_and_logs_json_lines_with_request_ids(tmp_path):
    import json

    env = hub_env("sqlite+aiosqlite:///" + str(tmp_path / "hub.db"), tmp_path / "home", HUB_LOG_FORMAT="json")
    assert "HUB_PUBLIC_URL" not in env
    served = serve(tmp_path, env)
    try:
        served.wait_until("/health answering 200", lambda: served.get("/health").status_code == 200)
        token = env["HUB_PLATFORM_TOKEN"]
        r = httpx.post(
            served.base + "/v1/tenants",
            json={"name": "Port"},
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "e2e-request-1"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        assert r.headers["x-request-id"] == "e2e-request-1"
        assert r.json()["webhook_url"] == f"{served.base}/v1/webhooks/stripe/{r.json()['id']}"
        served.stop()  # one worker: uvicorn re-raises the SIGTERM it handled, so the code is -15 by design

        lines = [line for line in served.text().splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]  # every line, uvicorn's and Alembic's too
        access = [e for e in entries if e["logger"] == "hub.access" and e["request_id"] == "e2e-request-1"]
        assert len(access) == 1, lines
        assert access[0]["route"] == "/v1/tenants" and access[0]["status"] == 201 and access[0]["method"] == "POST"
        assert token not in served.text()
    finally:
        served.kill_if_running()
