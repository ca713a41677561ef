"""The hub's hot paths against their floors, in one table (``bench/run``; ``--quick`` for a short run).

Each figure is measured against a baseline in the same run, on the same machine, with the same
load generator (wrk, 32 connections unless said otherwise):
- webhook ingest (distinct signed events over 200 payments, and all events for one payment)
  against a bare Litestar app that only verifies the Stripe signature (``bench/verify_only.py``);
- seconds from the end of that load until ``GET /v1/events`` shows no event ``pending``;
- payment creation at concurrency 1 (p50/p99) and 32 (throughput) against direct stripe-python
  ``StripeClient`` calls to the same Stripe stand-in (``bench/standin.py``);
- payment creation latency with 10,000 registered tenants against 10, on a cold cache (the first
  request of each tenant after a restart) and a warm one, and the worker's resident memory once
  every tenant's context has been used.

The hub is driven only through ``hub serve`` and its HTTP API. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import httpx

from bench import hubapi, loadgen, probe, procs, profile, signer
from bench.loadgen import Load


class Mode(NamedTuple):
    seconds: int  # per wrk figure
    tenants: int  # the "many tenants" side of the tenant figures
    cold: int  # cold-cache samples (distinct tenants, first request each after a restart)
    warm: int  # warm-cache samples


MODES = {"quick": Mode(2, 1_000, 100, 300), "full": Mode(5, 10_000, 300, 2_000)}
RATE_CEILING = 12_000  # signed events generated per second of load: more than either app answers here
PAYMENTS = 200


class Row(NamedTuple):
    figure: str
    setup: str
    hub: str
    baseline: str
    ratio: str
    target: str
    met: str


def _ratio_row(figure: str, setup: str, hub: Load, base: Load, target: float, baseline_name: str) -> Row:
    ratio = hub.rps / base.rps
    return Row(
        figure,
        setup,
        _rate(hub),
        f"{baseline_name}: {_rate(base)}",
        f"{ratio:.2f}",
        f">= {target}",
        _met(ratio >= target),
    )


def _rate(load: Load) -> str:
    text = f"{load.rps:,.0f}/s"
    if load.p50_ms:
        text += f", p50 {load.p50_ms:.1f} ms"
    if load.errors:
        text += f" ({load.errors} errors of {load.requests})"
    return text


def _drain_row(figure: str, setup: str, drained: hubapi.Drain) -> Row:
    figure += f" ({drained.events:,} events, first walk {drained.first_walk:.2f} s)"
    if drained.still_pending:
        return Row(
            figure, setup, f"{drained.still_pending} still pending at {drained.seconds:.0f} s", "", "", "<= 1 s", "no"
        )
    met = _met(drained.seconds <= 1)
    if drained.seconds > 1 and drained.first_walk > 1:
        met = "unknown: the walk alone took over 1 s"
    return Row(figure, setup, f"<= {drained.seconds:.2f} s", "", "", "<= 1 s", met)


def _cost_row(figure: str, setup: str, load: Load, before: probe.Sample, after: probe.Sample) -> Row:
    """The hub's CPU per request (its whole process tree) and the database connections it opened."""
    cpu_ms = (after.cpu - before.cpu) / max(1, load.requests) * 1000
    return Row(
        f"{figure}: CPU per request; database connections opened",
        setup,
        f"{cpu_ms:.2f} ms; {probe.opened(before, after)}",
        "",
        "",
        "",
        "",
    )


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _files(tmp: Path) -> Callable[[str, list[signer.Request]], Path]:
    def write(name: str, requests: list[signer.Request]) -> Path:
        path = tmp / f"{name}.requests"
        signer.write(path, requests)
        return path

    return write


class Bench:
    def __init__(self, mode: Mode, tmp: Path, stripe_url: str) -> None:
        self.mode, self.tmp, self.stripe_url = mode, tmp, stripe_url
        self.file = _files(tmp)
        self.events = mode.seconds * RATE_CEILING
        self.baselines: dict[str, Load] = {}
        self.notes: list[str] = []
        self.profiler: str | None = None
        self.profiles: list[tuple[str, list[str]]] = []

    def wrk(self, url: str, path: Path, connections: int = 32) -> Load:
        return loadgen.wrk(url, path, connections=connections, seconds=self.mode.seconds)

    def profiled_wrk(self, hub: procs.Proc, path: Path, what: str) -> Load:
        """``wrk`` with a py-spy profile of the worker meanwhile when ``--profile`` asked for one."""
        if self.profiler is None:
            return self.wrk(hub.url, path)
        out = self.tmp / f"profile-{what.replace(' ', '-').replace(',', '')}.txt"
        spy = profile.start(self.profiler, hub.worker_pid(), self.mode.seconds, out)
        try:
            return self.wrk(hub.url, path)
        finally:
            spy.wait(timeout=60)
            self.profiles.append((what, profile.summarise(out)))

    # --- baselines -----------------------------------------------------------------------------

    def sdk_baselines(self) -> None:
        self.baselines["sdk_c1"] = asyncio.run(loadgen.sdk_latency(self.stripe_url, self.mode.seconds))
        self.baselines["sdk_c32"] = asyncio.run(loadgen.sdk_throughput(self.stripe_url, self.mode.seconds))

    def verify_only_baseline(self, workers: int) -> None:
        secret = "whsec_bench" + os.urandom(8).hex()
        app = procs.verify_only(self.tmp, secret, workers).start()
        try:
            fake = [(f"pay_{n}", f"pi_{n:024d}") for n in range(PAYMENTS)]
            for name, payments in (("spread", fake), ("hot", fake[:1])):
                path = self.file(f"base-{name}", signer.deliveries("ten_bench", secret, payments, self.events))
                self.baselines[f"verify_{name}_{workers}"] = self.wrk(app.url, path)
        finally:
            app.stop()

    # --- the hub -------------------------------------------------------------------------------

    def start_hub(self, db: str, workers: int, url: str) -> procs.Proc:
        return procs.hub(self.tmp, f"hub-{db}-{workers}w", url, workers, self.stripe_url).start()

    def database(self, db: str) -> tuple[str, Callable[[], None]]:
        if db == "postgresql":
            name, url = procs.create_pg_database()
            return url, lambda: procs.drop_pg_database(name)
        path = self.tmp / f"hub-{os.urandom(4).hex()}.db"
        return f"sqlite+aiosqlite:///{path}", lambda: None

    def hub_figures(self, db: str, workers: int) -> list[Row]:
        setup = f"{'PG' if db == 'postgresql' else 'SQLite'}, {workers}w"
        url, drop = self.database(db)
        hub = self.start_hub(db, workers, url)
        try:
            spread_tenant, hot_tenant, payments, hot_payment = asyncio.run(self._ingest_setup(hub.url))
            rows = []
            for name, tenant, pays, target in (
                ("spread", spread_tenant, payments, 0.5),
                ("hot", hot_tenant, [hot_payment], 0.3),
            ):
                path = self.file(f"hub-{name}", signer.deliveries(tenant.id, tenant.webhook_secret, pays, self.events))
                before = probe.sample(hub.url, url, hub.pid)
                load = self.profiled_wrk(hub, path, f"{setup}, webhook ingest, {name}")
                ended = probe.sample(hub.url, url, hub.pid)
                drained = asyncio.run(hubapi.drain(hub.url, tenant, load.ended_at))
                empty = probe.sample(hub.url, url, hub.pid)
                label = f"{len(pays)} payments" if len(pays) > 1 else "one payment"
                base = self.baselines[f"verify_{name}_{workers}"]
                rows.append(_ratio_row(f"webhook ingest, {label}", setup, load, base, target, "verify-only"))
                rows.append(_drain_row(f"{label}: none pending after the load", setup, drained))
                rows.append(
                    Row(
                        f"{label}: events applied a second, during the load / after it until none pending",
                        setup,
                        f"{probe.rate(before, ended):,.0f}/s / {probe.rate(ended, empty):,.0f}/s",
                        "",
                        "",
                        "",
                        "",
                    )
                )
                rows.append(_cost_row(f"webhook ingest, {label}", setup, load, before, ended))
                if load.requests > self.events:
                    self.notes.append(f"{setup} {name}: wrk cycled the {self.events:,} events (duplicates sent)")
            creates = self.file("hub-create", signer.create_payments([spread_tenant.storefront], 1000))
            before = probe.sample(hub.url, url, hub.pid)
            c1 = self.wrk(hub.url, creates, connections=1)
            after = probe.sample(hub.url, url, hub.pid)
            sdk1 = self.baselines["sdk_c1"]
            for pct, hub_ms, sdk_ms in (("p50", c1.p50_ms, sdk1.p50_ms), ("p99", c1.p99_ms, sdk1.p99_ms)):
                added = hub_ms - sdk_ms
                goal, met = ("<= +2 ms", _met(added <= 2)) if pct == "p50" else ("", "")
                rows.append(
                    Row(
                        f"create payment, c=1, {pct}",
                        setup,
                        f"{hub_ms:.1f} ms" + (f" ({c1.errors} errors)" if c1.errors else ""),
                        f"direct SDK: {sdk_ms:.1f} ms",
                        f"+{added:.1f} ms",
                        goal,
                        met,
                    )
                )
            rows.append(_cost_row("create payment, c=1", setup, c1, before, after))
            before = probe.sample(hub.url, url, hub.pid)
            c32 = self.profiled_wrk(hub, creates, f"{setup}, create payment, c=32")
            after = probe.sample(hub.url, url, hub.pid)
            rows.append(_ratio_row("create payment, c=32", setup, c32, self.baselines["sdk_c32"], 0.5, "direct SDK"))
            rows.append(_cost_row("create payment, c=32", setup, c32, before, after))
            return rows
        finally:
            hub.stop()
            drop()

    async def _ingest_setup(
        self, url: str
    ) -> tuple[hubapi.Tenant, hubapi.Tenant, list[tuple[str, str]], tuple[str, str]]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            spread = await hubapi.register(http, "bench spread")
            hot = await hubapi.register(http, "bench hot")
            payments = await hubapi.gather_limited(PAYMENTS, 8, lambda _: hubapi.create_payment(http, spread))
            return spread, hot, payments, await hubapi.create_payment(http, hot)

    # --- many tenants --------------------------------------------------------------------------

    def tenant_figures(self, db: str) -> list[Row]:
        setup = f"{'PG' if db == 'postgresql' else 'SQLite'}, 1w"
        few = self._tenants(db, 10)
        many = self._tenants(db, self.mode.tenants)
        n = f"{self.mode.tenants:,}"
        rows = []
        for label, key in (("cold", "cold"), ("warm", "warm")):
            for pct in ("p50", "p99"):
                a, b = many[f"{key}_{pct}"], few[f"{key}_{pct}"]
                ratio = a / b
                target, met = ("<= 1.2", _met(ratio <= 1.2)) if pct == "p50" else ("", "")
                rows.append(
                    Row(
                        f"create payment, {n} vs 10 tenants, {label} cache, {pct}",
                        setup,
                        f"{a:.1f} ms",
                        f"10 tenants: {b:.1f} ms",
                        f"{ratio:.2f}",
                        target,
                        met,
                    )
                )
        rows.append(
            Row(
                f"worker RSS, {n} vs 10 tenants used",
                setup,
                f"{many['rss']:.0f} MiB",
                f"10 tenants: {few['rss']:.0f} MiB",
                f"{many['rss'] / few['rss']:.2f}",
                "",
                "",
            )
        )
        return rows

    def _tenants(self, db: str, count: int) -> dict[str, float]:
        url, drop = self.database(db)
        hub = self.start_hub(db, 1, url)
        try:
            start = time.monotonic()
            tenants = asyncio.run(self._register(hub.url, count))
            took = time.monotonic() - start
            self.notes.append(f"registered {count:,} tenants through the API in {took:.0f} s ({count / took:.0f}/s)")
            hub.stop()
            hub = self.start_hub(db, 1, url)  # a restart: every tenant's context is cold
            random.Random(7).shuffle(tenants)
            cold = asyncio.run(hubapi.timed_creates(hub.url, tenants[: self.mode.cold], min(count, self.mode.cold)))
            asyncio.run(self._touch(hub.url, tenants[self.mode.cold :]))
            rss = hub.rss_mib()
            warm = asyncio.run(hubapi.timed_creates(hub.url, tenants, self.mode.warm))
            self.notes.append(f"{count:,} tenants: {len(cold)} cold samples, {len(warm)} warm samples")
            return {
                "cold_p50": statistics.median(cold) * 1000,
                "cold_p99": _p99(cold) * 1000,
                "warm_p50": statistics.median(warm) * 1000,
                "warm_p99": _p99(warm) * 1000,
                "rss": rss,
            }
        finally:
            hub.stop()
            drop()

    async def _register(self, url: str, count: int) -> list[hubapi.Tenant]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            return await hubapi.gather_limited(count, 8, lambda n: hubapi.register(http, f"bench tenant {n}"))

    async def _touch(self, url: str, tenants: list[hubapi.Tenant]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            await hubapi.gather_limited(len(tenants), 8, lambda n: hubapi.create_payment(http, tenants[n]))


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def machine(dbs: list[str]) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "?",
    )
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip()
    parts = [f"{os.cpu_count()} cores ({cpu})", f"Linux {platform.release()}", f"Python {platform.python_version()}"]
    if "postgresql" in dbs:
        parts.append(f"PostgreSQL {procs.pg_version()}")
    if "sqlite" in dbs:
        parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join([*parts, wrk])


def table(rows: list[Row]) -> str:
    head = Row("figure", "setup", "hub", "baseline", "ratio", "target", "met")
    lines = [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 s per figure, 1,000 tenants (about 4 minutes); without it 5 s and 10,000",
    )
    parser.add_argument("--db", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--no-tenants", action="store_true", help="skip the 10 vs many tenants figures")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the worker with py-spy during the ingest and c=32 create loads, summarised by layer",
    )
    args = parser.parse_args()
    mode_name = "quick" if args.quick else "full"
    mode = MODES[mode_name]
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    workers = [int(w) for w in args.workers.split(",")]
    started, load_before = time.monotonic(), os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    print(f"benchmark ({mode_name}): logs under {tmp}", file=sys.stderr)
    standin = procs.standin(tmp).start()
    try:
        bench = Bench(mode, tmp, standin.url)
        if args.profile:
            bench.profiler = profile.available()
            if bench.profiler is None:
                bench.notes.append("--profile: py-spy is not installed (pip install py-spy); no profile taken")
        bench.sdk_baselines()
        for w in workers:
            bench.verify_only_baseline(w)
        rows = []
        for db in dbs:
            for w in workers:
                print(f"... {db}, {w} worker(s)", file=sys.stderr)
                rows += bench.hub_figures(db, w)
        if not args.no_tenants:
            print("... tenants", file=sys.stderr)
            rows += bench.tenant_figures(dbs[0])
    finally:
        standin.stop()
        for path in tmp.glob("*.requests"):  # tens of MB each; the logs stay
            path.unlink()
    print(f"Machine: {machine(dbs)}; load average {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after\n")
    print(
        f"Mode: {mode_name} ({mode.seconds} s per wrk figure, wrk -t2 -c32 unless c=1; "
        f"{mode.tenants:,} tenants); took {time.monotonic() - started:.0f} s\n"
    )
    print(table(rows))
    print()
    for note in bench.notes:
        print(f"- {note}")
    for what, lines in bench.profiles:
        print(f"\nProfile of the worker ({what}), share of CPU samples by layer:")
        for line in lines:
            print(f"- {line}")


if __name__ == "__main__":
    main()
