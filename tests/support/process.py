"""The hub as a real process (``hub serve``) on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.canaries.http import observed
from tests.support.canaries.ledger import LEDGER
from tests.support.emulator import free_port
from tests.support.hub import PLATFORM_TOKEN, VAULT_KEYS

ROOT = Path(__file__).resolve().parents[2]


class HubProcess:
    """``hub serve`` as a child process; its secrets are canaries and its output is scanned for them."""

    def __init__(
        self, database_url: str, home: Path, *, workers: int = 1, args: tuple[str, ...] = (), **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / f"hub-{self.port}.log"
        self._log = open(self.log_path, "wb")
        full_env = {
            **os.environ,
            "HUB_ENV": "dev",
            "HUB_HOME": str(home),
            "HUB_DATABASE_URL": database_url,
            "HUB_VAULT_KEYS": VAULT_KEYS,
            "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
            "HUB_PUBLIC_URL": self.url,
            "HUB_STRIPE_MAX_NETWORK_RETRIES": "0",
            "HUB_STRIPE_TIMEOUT_SECONDS": "10",
            "HUB_LOG_LEVEL": "WARNING",
            # The hub of this checkout: the `hub` script would otherwise import whichever tree the
            # virtualenv was installed from (an editable install of another checkout, say).
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
            **env,
        }
        if "HUB_STRIPE_API_BASE" in env:
            full_env.setdefault("HUB_STRIPE_EMULATOR", "localstripe")
        LEDGER.harvest_env(full_env, "a hub process")
        LEDGER.watch_file(self.log_path, f"the output of hub serve on port {self.port}")
        exe = shutil.which("hub", path=os.path.dirname(sys.executable))
        cmd = [exe] if exe else [sys.executable, "-m", "hub"]
        # Its own process group: `--workers N` forks children, and all of them must stop with it.
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--port", str(self.port), "--workers", str(workers), *args],
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"hub serve did not become ready within 60 s: {self.log()}")

    def client(self, **kw: Any) -> httpx.AsyncClient:
        """An HTTP client to this process whose requests and responses the canary ledger sees."""
        return observed(httpx.AsyncClient(base_url=self.url, **kw))

    def pids(self) -> tuple[int, set[int]]:
        """(the supervisor's pid, its serving workers' pids): ``--workers N`` forks N children, which
        uvicorn replaces when one dies. Multiprocessing's resource tracker is not a worker."""
        workers = set()
        for pid in children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            if b"resource_tracker" not in cmdline:
                workers.add(pid)
        return self.proc.pid, workers

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def children(parent: int) -> list[int]:
    """Live child processes of ``parent`` (from /proc: the kernel keeps no list of them for us)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(entry))
    return found
