"""The load: wrk (one real load generator for the hub and the verify-only baseline) and the
direct stripe-python baseline for payment creation."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import stripe

LUA = Path(__file__).with_name("requests.lua")


class Load(NamedTuple):
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus answers other than 2xx/3xx
    ended_at: float  # time.monotonic() when the load stopped


def wrk(url: str, requests_file: Path, *, connections: int, seconds: int) -> Load:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (bench/run installs it with apt-get)")
    threads = min(2, connections)
    argv = [exe, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    out = subprocess.run(
        [*argv, url, "--", str(requests_file), str(threads)], capture_output=True, text=True, timeout=seconds + 60
    )
    ended = time.monotonic()
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    r: dict[str, Any] = json.loads(line[6:])
    errors = sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        errors=errors,
        ended_at=ended,
    )


def direct_client(stripe_url: str, http: stripe.HTTPXClient) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_benchdirect0000000000", base_addresses={"api": stripe_url}, http_client=http, max_network_retries=0
    )


async def direct_create(client: stripe.StripeClient) -> stripe.PaymentIntent:
    params: Any = {"amount": 2000, "currency": "usd", "capture_method": "automatic", "metadata": {"order": "bench"}}
    return await client.v1.payment_intents.create_async(params, {"idempotency_key": str(uuid.uuid4())})


async def sdk_latency(stripe_url: str, seconds: float) -> Load:
    """Direct ``StripeClient`` creates at concurrency 1: p50/p99 of each call."""
    http = stripe.HTTPXClient()
    try:
        return await _latency(direct_client(stripe_url, http), seconds)
    finally:
        await http.close_async()


async def _latency(client: stripe.StripeClient, seconds: float) -> Load:
    await direct_create(client)  # connection and SDK warm-up, as wrk's first requests warm the hub
    times: list[float] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        start = time.perf_counter()
        await direct_create(client)
        times.append(time.perf_counter() - start)
    times.sort()
    return Load(
        rps=len(times) / seconds,
        p50_ms=statistics.median(times) * 1000,
        p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        requests=len(times),
        errors=0,
        ended_at=time.monotonic(),
    )


async def sdk_throughput(stripe_url: str, seconds: float, concurrency: int = 32) -> Load:
    """Direct ``StripeClient`` creates from ``concurrency`` tasks at once: calls per second."""
    http = stripe.HTTPXClient()
    try:
        return await _throughput(direct_client(stripe_url, http), seconds, concurrency)
    finally:
        await http.close_async()


async def _throughput(client: stripe.StripeClient, seconds: float, concurrency: int) -> Load:
    await asyncio.gather(*(direct_create(client) for _ in range(concurrency)))
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop:
            await direct_create(client)
            done += 1

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - start
    return Load(rps=done / elapsed, p50_ms=0, p99_ms=0, requests=done, errors=0, ended_at=time.monotonic())
