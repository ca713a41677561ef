"""The localstripe emulator as a child process on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_dir / f"localstripe-{self.port}.log", "wb")
        exe = shutil.which("localstripe", path=os.path.dirname(sys.executable)) or shutil.which("localstripe")
        cmd = [exe] if exe else [sys.executable, "-m", "localstripe"]
        self.proc = subprocess.Popen(
            [*cmd, "--port", str(self.port), "--from-scratch"], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.proc.returncode}; see {self._log.name}")
            try:
                if httpx.get(f"{self.url}/v1/balance", auth=("sk_test_probe", ""), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("localstripe did not start within 30 s")

    def register_webhook(self, name: str, url: str, secret: str, events: list[str] | None = None) -> None:
        # Stripe-style form: localstripe reads events[0], events[1]... as a list.
        data = {"url": url, "secret": secret, **{f"events[{i}]": e for i, e in enumerate(events or [])}}
        httpx.post(f"{self.url}/_config/webhooks/{name}", data=data, timeout=5).raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()
