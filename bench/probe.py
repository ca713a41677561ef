"""What the hub does during a load, read from outside it: the applier's progress, new database
connections, and the worker's CPU time.

- Events applied: ``webhook_events`` rows no longer ``pending``, counted in the hub's database
  before the load, when it ends and when no event is pending; events/s during and after the burst.
- Connections opened: the hub's own counter ``hub_db_connections_opened_total`` (``/metrics``,
  summed over the workers by prometheus-client's multiprocess mode), before and after the load.
- CPU: user + system time of the hub's process tree (``/proc/<pid>/stat``) per request.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import NamedTuple

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.procs import PLATFORM_TOKEN, _tree

_TICK = os.sysconf("SC_CLK_TCK")


class Sample(NamedTuple):
    at: float  # time.monotonic()
    applied: int  # events no longer pending
    connections: float  # database connections the hub's pools have opened so far
    cpu: float  # seconds of CPU of the hub's process tree


def cpu_seconds(root_pid: int) -> float:
    total = 0
    for pid in _tree(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICK


def sample(hub_url: str, database_url: str, root_pid: int) -> Sample:
    return asyncio.run(_sample(hub_url, database_url, root_pid))


async def _sample(hub_url: str, database_url: str, root_pid: int) -> Sample:
    cpu = cpu_seconds(root_pid)  # before the probe's own requests make the hub do anything
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(hub_url + "/metrics", headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
        r.raise_for_status()
    connections = sum(
        float(line.split()[-1]) for line in r.text.splitlines() if line.startswith("hub_db_connections_opened_total")
    )
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            applied = int(
                (
                    await conn.execute(text("SELECT count(*) FROM webhook_events WHERE outcome <> 'pending'"))
                ).scalar_one()
            )
    finally:
        await engine.dispose()
    return Sample(time.monotonic(), applied, connections, cpu)


def opened(before: Sample, after: Sample) -> int:
    """Database connections the hub opened between two samples."""
    return round(after.connections - before.connections)


def rate(before: Sample, after: Sample) -> float:
    """Events applied a second between two samples."""
    seconds = after.at - before.at
    return (after.applied - before.applied) / seconds if seconds > 0 else 0.0
