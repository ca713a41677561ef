"""pytest plugin: the run ends by printing the time spent per tier (unit, integration, e2e) and in all,
then the slowest test files.

Test time is the sum of each test's setup, call and teardown as its reports give them; under
pytest-xdist it adds up the workers' time, so it is printed beside the wall time of the run.
A file's time counts its module and session fixtures too, in the test that set them up or tore
them down; the files are where to look first when the run gets slower.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest

SLOWEST_FILES = 10

_started = time.monotonic()
_seconds: defaultdict[str, float] = defaultdict(float)
_tests: Counter[str] = Counter()
_file_seconds: defaultdict[str, float] = defaultdict(float)
_file_tests: Counter[str] = Counter()


def _tier(nodeid: str) -> str:
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def slowest_files(seconds: dict[str, float], tests: dict[str, int], count: int = SLOWEST_FILES) -> list[str]:
    """The ``count`` files of most test time, slowest first: seconds, tests, seconds a test, path."""
    ranked = sorted(seconds, key=lambda f: (-seconds[f], f))[:count]
    return [
        f"{seconds[f]:8.1f} s {tests.get(f, 0):>5} tests {seconds[f] / max(tests.get(f, 0), 1):6.2f} s/test  {f}"
        for f in ranked
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.monotonic()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    tier, file = _tier(report.nodeid), _file(report.nodeid)
    _seconds[tier] += report.duration
    _file_seconds[file] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        _tests[tier] += 1
        _file_tests[file] += 1


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
    terminalreporter.section(f"{SLOWEST_FILES} slowest test files (setup, call and teardown)")
    for line in slowest_files(_file_seconds, _file_tests):
        terminalreporter.write_line(line)
