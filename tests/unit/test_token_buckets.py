"""The in-process per-key limit: a token bucket of 2N refilled at N a second, one per identity."""

from __future__ import annotations

from hub.boundary.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def buckets(rate: float, capacity: float, max_entries: int = 100) -> tuple[TokenBuckets, Clock]:
    b, clock = TokenBuckets(rate, capacity, max_entries), Clock()
    b._clock = clock
    return b, clock


def test_a_burst_of_the_capacity_passes_and_the_next_waits_for_one_token():
    b, _ = buckets(rate=3, capacity=6)
    assert [b.take("k") for _ in range(6)] == [None] * 6
    wait = b.take("k")
    assert wait is not None and abs(wait - 1 / 3) < 1e-9


def test_tokens_come_back_at_the_rate_never_past_the_capacity():
    b, clock = buckets(rate=3, capacity=6)
    for _ in range(6):
        b.take("k")
    clock.now += 1.0  # three tokens
    assert [b.take("k") for _ in range(3)] == [None] * 3 and b.take("k") is not None
    clock.now += 3600  # idle for long: full again, not more
    assert [b.take("k") for _ in range(6)] == [None] * 6 and b.take("k") is not None


def test_identities_do_not_share_a_bucket_and_the_least_recently_used_is_dropped_past_the_bound():
    b, _ = buckets(rate=1, capacity=1, max_entries=2)
    assert b.take("a") is None and b.take("a") is not None
    assert b.take("b") is None  # another key: its own bucket
    b.take("c")  # a third identity: "a", the least recently used, is dropped...
    assert b.take("a") is None  # ...and starts full again
