"""pytest plugin: the run ends by printing the time spent per tier (unit, integration, e2e) and in all.

Test time is the sum of each test's setup, call and teardown as its reports give them; under
pytest-xdist it adds up the workers' time, so it is printed beside the wall time of the run.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest

_started = time.monotonic()
_seconds: defaultdict[str, float] = defaultdict(float)
_tests: Counter[str] = Counter()


def _tier(nodeid: str) -> str:
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.monotonic()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    tier = _tier(report.nodeid)
    _seconds[tier] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        _tests[tier] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _tests:
        return
    wall = time.monotonic() - _started
    workers = getattr(config.option, "numprocesses", None) or 1
    terminalreporter.section("time per tier")
    for tier in sorted(_seconds, key=lambda t: -_seconds[t]):
        terminalreporter.write_line(f"{tier:<12} {_tests[tier]:>5} tests  {_seconds[tier]:8.1f} s of test time")
    terminalreporter.write_line(
        f"{'all':<12} {sum(_tests.values()):>5} tests  {sum(_seconds.values()):8.1f} s of test time, "
        f"{wall:.1f} s wall time on {workers} worker(s)"
    )
