"""Deliveries verified while an INSERT is in flight share the next one (hub/webhooks/inbox.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.webhooks.inbox import Batcher, Values, firsts


def delivery(event_id: str) -> dict[str, Any]:
    return {"tenant_id": "ten_1", "provider": "stripe", "provider_event_id": event_id}


class Store:
    """A fake write: records each batch; the first waits for ``release``; ``bad`` events raise."""

    def __init__(self, *, bad: frozenset[str] = frozenset(), outage: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.bad, self.outage = bad, outage

    async def write(self, engine: Any, batch: list[Values]) -> list[bool]:
        ids = [v["provider_event_id"] for v in batch]
        self.batches.append(ids)
        if len(self.batches) == 1:
            await self.release.wait()
        if self.outage:
            raise ConnectionRefusedError("database gone")
        if any(i in self.bad for i in ids):
            raise ValueError("a row the database refuses")
        return [not i.startswith("dup") for i in ids]


async def started(batcher: Batcher, *ids: str) -> list[asyncio.Task[bool]]:
    tasks = [asyncio.create_task(batcher.store(delivery(i))) for i in ids]
    await asyncio.sleep(0)
    return tasks


async def test_a_delivery_alone_is_written_at_once_and_those_arriving_meanwhile_share_the_next_insert():
    store = Store()
    batcher = Batcher(object(), store.write)  # type: ignore[arg-type]
    first = await started(batcher, "evt_1")
    await asyncio.sleep(0)
    assert store.batches == [["evt_1"]]  # no window waited for
    rest = await started(batcher, "evt_2", "dup_3", "evt_4")
    assert not any(t.done() for t in first + rest)  # nobody answered before its row is written
    store.release.set()
    assert await asyncio.gather(*first, *rest) == [True, True, False, True]
    assert store.batches == [["evt_1"], ["evt_2", "dup_3", "evt_4"]]
    assert batcher.writer is None and not batcher.waiting


async def test_a_delivery_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored():
    store = Store(bad=frozenset({"evt_bad"}))
    batcher = Batcher(object(), store.write)  # type: ignore[arg-type]
    first = await started(batcher, "evt_1")
    await asyncio.sleep(0)
    rest = await started(batcher, "evt_2", "evt_bad", "evt_3")
    store.release.set()
    results = await asyncio.gather(*first, *rest, return_exceptions=True)
    assert results[:2] == [True, True] and results[3] is True
    assert isinstance(results[2], ValueError)
    # The batch, then each of its deliveries alone.
    assert store.batches[1:] == [["evt_2", "evt_bad", "evt_3"], ["evt_2"], ["evt_bad"], ["evt_3"]]


async def test_a_database_outage_fails_every_delivery_of_the_batch_without_retrying_them():
    store = Store(outage=True)
    batcher = Batcher(object(), store.write)  # type: ignore[arg-type]
    first = await started(batcher, "evt_1")
    await asyncio.sleep(0)
    rest = await started(batcher, "evt_2", "evt_3")
    store.release.set()
    for task in first + rest:
        with pytest.raises(ConnectionRefusedError):
            await task
    assert store.batches == [["evt_1"], ["evt_2", "evt_3"]]


async def test_a_request_that_went_away_does_not_stop_the_others_of_its_batch():
    store = Store()
    batcher = Batcher(object(), store.write)  # type: ignore[arg-type]
    first = await started(batcher, "evt_1")
    await asyncio.sleep(0)
    gone, kept = await started(batcher, "evt_2", "evt_3")
    gone.cancel()
    store.release.set()
    assert await asyncio.gather(*first, kept) == [True, True]
    assert store.batches == [["evt_1"], ["evt_2", "evt_3"]]  # its row is written all the same


def test_only_the_first_delivery_of_an_event_in_a_batch_is_inserted():
    batch = [delivery("evt_1"), delivery("evt_2"), delivery("evt_1"), {**delivery("evt_1"), "tenant_id": "ten_2"}]
    assert firsts(batch) == [0, 1, 3]
