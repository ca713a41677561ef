"""``bench/run --profile``: a py-spy profile of the hub's worker during a load, summarised by layer.

py-spy samples the worker's Python stacks from outside (``--nonblocking``: the worker is not
paused) for the load's duration; idle samples (the loop waiting) are left out, so the shares
are of the CPU the worker spent. Each sample counts once for the layer of its innermost frame
(self) and once for every layer anywhere on its stack (inclusive).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: Layers by where a frame's file lives; the first match wins (hub's own packages by module).
LAYERS = (
    ("hub.webhooks", "hub/webhooks/"),
    ("hub.payments", "hub/payments/"),
    ("hub.auth", "hub/auth/"),
    ("hub.boundary", "hub/boundary/"),
    ("hub.observability", "hub/observability/"),
    ("hub.operations/idempotency", "hub/operations/"),
    ("hub.operations/idempotency", "hub/idempotency/"),
    ("hub.tenancy", "hub/tenancy/"),
    ("hub (other)", "hub/"),
    ("providers", "providers/"),
    ("stripe-python", "stripe/"),
    ("httpx/httpcore/anyio", "httpx/"),
    ("httpx/httpcore/anyio", "httpcore/"),
    ("httpx/httpcore/anyio", "anyio/"),
    ("aiohttp", "aiohttp/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("asyncpg", "asyncpg/"),
    ("aiosqlite/sqlite3", "aiosqlite/"),
    ("aiosqlite/sqlite3", "sqlite3/"),
    ("litestar", "litestar/"),
    ("uvicorn/httptools", "uvicorn/"),
    ("msgspec", "msgspec/"),
    ("greenlet", "greenlet"),
    ("logging", "logging/"),
    ("asyncio", "asyncio/"),
)


def available() -> str | None:
    """The py-spy executable, or None when it is not installed (``pip install py-spy``)."""
    return shutil.which("py-spy") or (str(p) if (p := Path(sys.executable).with_name("py-spy")).exists() else None)


def start(exe: str, pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    argv = [exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250"]
    argv += ["--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _layer(frame: str) -> str:
    # A raw frame is "function (path/to/file.py:line)".
    where = frame.rsplit("(", 1)[-1]
    for name, marker in LAYERS:
        if where.startswith(marker) or "/" + marker in where:
            return name
    return "other (stdlib, C)"


def summarise(raw: Path) -> list[str]:
    """Lines of ``layer: self %, inclusive %`` from py-spy's raw (collapsed stacks) output."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return ["no profile written (py-spy may need ptrace permission)"]
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        layers = [_layer(f) for f in frames]
        if not layers:
            continue
        total += n
        own[layers[-1]] += n
        for name in set(layers):
            anywhere[name] += n
    if not total:
        return ["no samples"]
    return [
        f"{name}: self {own[name] / total:.0%}, inclusive {anywhere[name] / total:.0%}"
        for name, _ in sorted(anywhere.items(), key=lambda kv: -own[kv[0]])
    ]
