"""A task each worker runs beside its requests (the applier, the pruner, the capture watch).

Each one is started by the app's lifespan and stopped by it: stopping lets the work under way
end (a batch, a claim) and cancels it only after a bound, so its transaction rolls back and no
connection outlives the engine. A failure inside the loop is the loop's to log and retry; stopping
never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("hub")

#: How long ``stop`` lets the work under way end before cancelling it.
STOP_SECONDS = 10.0


class Background:
    """Runs ``run`` as one asyncio task named ``name`` until ``stop``."""

    name = "hub-background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def run(self) -> None:
        raise NotImplementedError

    def stop_requested(self) -> None:
        """Called once ``stop`` is asked, for a loop waiting on something else than ``pause``."""

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if ``stop`` is asked meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def stop(self) -> None:
        """Let the work under way end (or cancel it after ``STOP_SECONDS``: its transaction rolls back)."""
        if self._task is None:
            return
        self._stop.set()
        self.stop_requested()
        try:
            await asyncio.wait_for(self._task, STOP_SECONDS)
        except TimeoutError:
            pass
        except Exception:  # the loop logs its own failures; stopping must not raise
            log.warning("%s ended with an error", self.name)
