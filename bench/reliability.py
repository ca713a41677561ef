"""Faults under load (``bench/reliability``): one line per fault tried, and what the hub lost.

The scenarios are the e2e tests' own (``tests/support/reliability.py``): ``hub serve --workers 2``
on a new PostgreSQL database reached through a TCP proxy, the tenant's Stripe at the localstripe
emulator, concurrent clients creating payments (each with an Idempotency-Key) and delivering
signed webhook events. Each fault is injected mid-load; afterwards every failed request is
retried with the same key (every unacknowledged event delivered again), and the database and the
emulator are checked against what the clients were told. Exits 1 if anything acknowledged was
lost, a request got a 5xx other than the documented 503s, or a retry made a second PaymentIntent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from pathlib import Path

from tests.support.emulator import Emulator
from tests.support.reliability import Facts, Stack, database_outage, hub_stack, worker_killed


def report(facts: Facts) -> bool:
    """Print the fault's lines; True when nothing was lost and no answer was a plain 5xx."""
    print(facts.summary())
    recovered = facts.recovered_in()
    checked = [f"{facts.acknowledged('webhook')} events acknowledged ({len(facts.lost_events)} not stored)"]
    if any(a.kind == "payment" for a in facts.load):
        paid = facts.acknowledged("payment")
        checked.insert(0, f"{paid} payments answered 2xx ({len(facts.lost_payments)} without a row)")
    print("  in the load and its retries: " + ", ".join(checked))
    if recovered is not None:
        print(f"  first 2xx {recovered:.2f} s after the fault ended; {facts.processes()}")
    print(facts.retry_summary())
    return facts.clean()


async def run(args: argparse.Namespace, stack: Stack) -> bool:
    print(
        f"hub serve --workers 2 on PostgreSQL, {args.clients} clients, Stripe = the localstripe emulator "
        f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs)"
    )
    outage = await database_outage(stack, clients=args.clients, before=args.seconds, cut=args.cut, after=args.seconds)
    ok = report(outage)
    killed = await worker_killed(stack, clients=args.clients, payments=10, before=args.seconds, after=args.seconds)
    return report(killed) and ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cut", type=float, default=3.0, help="seconds PostgreSQL stays unreachable (3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of load before and after each fault (2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-reliability-") as tmp:
        emulator = Emulator(Path(tmp))
        try:
            with hub_stack(emulator, Path(tmp)) as stack:
                ok = asyncio.run(run(args, stack))
        finally:
            emulator.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
