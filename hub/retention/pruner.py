"""The pruner: an asyncio task in every worker that applies the retention rules every so often."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.retention.rules import prune
from hub.settings import RetentionSettings

log = logging.getLogger("hub.retention")

_STOP_SECONDS = 10.0


class Pruner:
    """Prunes once every ``interval_seconds`` (the first time one interval after it starts)."""

    def __init__(self, engine: AsyncEngine, settings: RetentionSettings) -> None:
        self.engine, self.settings = engine, settings
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-retention-pruner")

    async def stop(self) -> None:
        """End at the next batch (or cancel after a bound: that batch's transaction rolls back)."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, _STOP_SECONDS)
        except TimeoutError:
            pass
        except Exception:  # the loop logs its own failures; stopping must not raise
            log.warning("retention pruner ended with an error")

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.interval_seconds)
            if self._stop.is_set():
                return
            try:
                await prune(self.engine, self.settings, stopping=self._stop.is_set)
            except Exception as exc:  # the database is down, say: the next interval tries again
                log.warning(
                    "retention: pruning failed (%s); trying again in %s s",
                    type(exc).__name__,
                    self.settings.interval_seconds,
                )
