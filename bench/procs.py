"""The processes a benchmark run starts (the Stripe stand-in, the verify-only baseline, ``hub serve``)
and the PostgreSQL database it creates and drops. Everything listens on 127.0.0.1 only, each
process in its own process group so its workers stop with it."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PLATFORM_TOKEN = "bench-platform-token-" + secrets.token_hex(16)
VAULT_KEYS = "bench:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    def __init__(self, name: str, argv: list[str], logdir: Path, ready_path: str, env: dict[str, str] | None = None):
        self.name, self.argv, self.env = name, argv, {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_path = ready_path
        self.log_path = logdir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = self.log_path.open("ab")
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.proc = subprocess.Popen(
            argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within 90 s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pid(self) -> int:
        """The serving worker: the largest process of the tree (the supervisor of several is small)."""
        return max(_tree(self.pid), key=_rss_kib)

    def rss_mib(self) -> float:
        """Largest resident set among this process and its descendants (the serving worker)."""
        assert self.proc is not None
        return max(_rss_kib(pid) for pid in _tree(self.proc.pid)) / 1024


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def standin(logdir: Path) -> Proc:
    return Proc("standin", [sys.executable, "-m", "bench.standin", "--port", "{port}"], logdir, "/v1/balance")


def verify_only(logdir: Path, secret: str, workers: int) -> Proc:
    argv = [sys.executable, "-m", "bench.verify_only", "--port", "{port}", "--workers", str(workers)]
    return Proc(f"verify-only-{workers}w", argv, logdir, "/", env={"BENCH_WEBHOOK_SECRET": secret})


def hub(logdir: Path, name: str, database_url: str, workers: int, stripe_url: str) -> Proc:
    hub_exe = str(Path(sys.executable).with_name("hub"))
    proc = Proc(name, [hub_exe, "serve", "--port", "{port}", "--workers", str(workers)], logdir, "/health/ready")
    home = logdir / f"{name}-home"
    home.mkdir(exist_ok=True)
    shared = logdir / f"{name}-metrics"  # /metrics sums the workers' counters (prometheus-client)
    shared.mkdir(exist_ok=True)
    proc.env.update(
        {
            "HUB_ENV": "dev",
            "HUB_HOME": str(home),
            "HUB_DATABASE_URL": database_url,
            "HUB_VAULT_KEYS": VAULT_KEYS,
            "HUB_PLATFORM_TOKEN": PLATFORM_TOKEN,
            "HUB_PUBLIC_URL": proc.url,
            "HUB_STRIPE_API_BASE": stripe_url,
            "HUB_STRIPE_MAX_NETWORK_RETRIES": "0",
            "HUB_LOG_LEVEL": "WARNING",
            # The benchmark is one client sending as fast as it can: lift the per-key limit.
            "HUB_RATE_LIMIT_PER_KEY": "1000000",
            # A pool as large as wrk's 32 connections: no connection opened per request under load.
            "HUB_DATABASE_POOL_SIZE": "32",
            "PROMETHEUS_MULTIPROC_DIR": str(shared),
        }
    )
    return proc


def _pg(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def create_pg_database() -> tuple[str, str]:
    """A new empty database; returns (name, SQLAlchemy URL)."""
    name = "bench_" + secrets.token_hex(6)
    _pg(f'CREATE DATABASE "{name}"')
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version() -> str:
    import asyncio

    import asyncpg

    async def run() -> str:
        conn = await asyncpg.connect(PG_DSN)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return asyncio.run(run())
