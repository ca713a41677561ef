"""The hub as a real process (``hub serve``) on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.emulator import free_port
from tests.support.hub import PLATFORM_TOKEN, VAULT_KEYS

#: The checkout these tests belong to. The console script imports ``hub`` from wherever the package
#: was installed (an editable install of another checkout, say); the process must run this code.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


class HubProcess:
    def __init__(self, database_url: str, home: Path, *, workers: int = 1, **env: str) -> None:
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
            "PYTHONPATH": os.pathsep.join(p for p in (str(SOURCE_ROOT), os.environ.get("PYTHONPATH")) if p),
            **env,
        }
        if "HUB_STRIPE_API_BASE" in env:
            full_env.setdefault("HUB_STRIPE_EMULATOR", "localstripe")
        exe = shutil.which("hub", path=os.path.dirname(sys.executable))
        cmd = [exe] if exe else [sys.executable, "-m", "hub"]
        # Its own process group: `--workers N` forks children, and all of them must stop with it.
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--port", str(self.port), "--workers", str(workers)],
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
