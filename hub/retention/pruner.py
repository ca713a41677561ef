"""The pruner: an asyncio task in every worker that applies the retention rules every so often."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.background import Background
from hub.retention.rules import prune
from hub.settings import RetentionSettings

log = logging.getLogger("hub.retention")


class Pruner(Background):
    """Prunes once every ``interval_seconds`` (the first time one interval after it starts)."""

    name = "hub-retention-pruner"

    def __init__(self, engine: AsyncEngine, settings: RetentionSettings) -> None:
        super().__init__()
        self.engine, self.settings = engine, settings

    async def run(self) -> None:
        while not self.stopping:
            await self.pause(self.settings.interval_seconds)
            if self.stopping:
                return
            try:
                await prune(self.engine, self.settings, stopping=lambda: self.stopping)
            except Exception as exc:  # the database is down, say: the next interval tries again
                log.warning(
                    "retention: pruning failed (%s); trying again in %s s",
                    type(exc).__name__,
                    self.settings.interval_seconds,
                )
