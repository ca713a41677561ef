"""Benchmark: resolving a tenant's Stripe client, cached vs built per request.

Prints ratios against a baseline measured in the same run (never absolute targets):
- ``cached / fresh``: time to get a tenant's client from the bounded (tenant, version) cache,
  over the time to build a new ``StripeClient`` on the shared HTTPX pool for every request;
- ``shared pool / pool per tenant``: memory allocated for N tenants' clients when they share
  one HTTPX client, over the same N clients each with their own ``stripe.HTTPXClient``.

Run: .venv/bin/python bench/tenant_clients.py [--tenants 500] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc

import stripe

from providers.stripe.client import StripeClientFactory


def _time(fn, rounds: int) -> float:
    start = time.perf_counter()
    for i in range(rounds):
        fn(i)
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    keys = [f"sk_test_bench{n:012d}" for n in range(args.tenants)]

    factory = StripeClientFactory(api_base=None, timeout=10, max_network_retries=2, cache_size=args.tenants)
    for n, key in enumerate(keys):  # warm the cache
        factory.for_tenant(f"ten_{n}", 1, key)
    cached = _time(lambda i: factory.for_tenant(f"ten_{i % args.tenants}", 1, keys[i % args.tenants]), args.rounds)
    fresh = _time(lambda i: factory.unbound(keys[i % args.tenants]), args.rounds)
    print(
        f"client lookup, cached / fresh per request: {cached / fresh:.3f} "
        f"({args.rounds} lookups over {args.tenants} tenants)"
    )
    await factory.aclose()

    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    shared = StripeClientFactory(api_base=None, timeout=10, max_network_retries=2, cache_size=args.tenants)
    for n, key in enumerate(keys):
        shared.for_tenant(f"ten_{n}", 1, key)
    shared_bytes = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    base = tracemalloc.take_snapshot()
    pools = [stripe.HTTPXClient(timeout=10) for _ in keys]
    own = [
        stripe.StripeClient(key, http_client=pool, max_network_retries=2) for key, pool in zip(keys, pools, strict=True)
    ]
    own_bytes = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    print(f"memory for {args.tenants} tenants, shared pool / pool per tenant: {shared_bytes / own_bytes:.3f}")
    del own
    for pool in pools:
        await pool.close_async()
    await shared.aclose()


if __name__ == "__main__":
    asyncio.run(main())
