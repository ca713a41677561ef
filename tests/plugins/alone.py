"""pytest plugin: ``@pytest.mark.alone`` tests run while no other test of the run is running.

Under pytest-xdist, several workers run tests side by side on a machine of few cores. A test that
measures time (a deadline reached under load, a message sent within a second, a fair share of
slots) judges the hub, not its neighbours, only when it has the machine to itself. Every test
holds a run-wide lock: shared for an ordinary test, exclusive for an ``alone`` one. A turnstile
taken before either keeps a waiting ``alone`` test from being starved by a stream of shared ones.

Without xdist (one process) the locks are taken all the same and cost nothing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Generator
from pathlib import Path
from typing import IO

import pytest

MARK = "alone"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARK}: runs while no other test of the run is running (it measures time)")


def _lock_dir(config: pytest.Config) -> Path:
    """A folder every worker of this run shares: the parent of the workers' own base temp folders."""
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    base = factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


class _Lock:
    def __init__(self, folder: Path) -> None:
        self._turnstile: IO[str] = open(folder / "alone.turnstile", "a")
        self._room: IO[str] = open(folder / "alone.room", "a")

    def enter(self, alone: bool) -> None:
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def leave(self) -> None:
        fcntl.flock(self._room, fcntl.LOCK_UN)


_lock: _Lock | None = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    global _lock
    if _lock is None:
        _lock = _Lock(_lock_dir(item.config))
    _lock.enter(alone=item.get_closest_marker(MARK) is not None)
    try:
        return (yield)
    finally:
        _lock.leave()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: HUB_TEST_WORKERS if set, else one worker per core this process may use."""
    raw = os.environ.get("HUB_TEST_WORKERS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else len(os.sched_getaffinity(0))
