"""pytest plugin: the whole run uses canary secrets, and none may appear where the hub shows or keeps data.

Harvested (``tests.support.canaries.harvest``): every secret a request to the hub carries (Stripe
keys and webhook secrets in credential bodies and console forms, anything key-shaped in a URL,
header or body), the vault keys, platform token and billing secrets of each hub's settings or
environment, the secrets the Stripe stand-ins create, and every key-shaped literal of the test tree.

Looked for, in every test: each response an observed client gets from the hub (body and headers),
each log record of every logger with the root at DEBUG (read first, before the hub's own masking
handler), what hub processes and the CLI write, what the test wrote to stdout/stderr, and the
test database once the test is done with it (before the next test empties it).

A test where one is found gets an error at teardown naming the secret (masked) and the place; the
run ends with one summary line. Values the hub issues itself and shows by contract (tenant API keys,
notification signing secrets) are looked for everywhere but in responses (``Ledger.observe_response``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from pathlib import Path

import pytest

from hub.logging import QUIET_LOGGERS
from tests.support.canaries.ledger import LEDGER, SESSION, Finding, report
from tests.support.canaries.logs import CanaryHandler

HANDLER = CanaryHandler(LEDGER)
_found: list[Finding] = []
_left_over: list[Finding] = []
_harvested_files: set[Path] = set()


def _harvest_files(paths: list[Path]) -> None:
    fresh = [p for p in paths if p not in _harvested_files]
    _harvested_files.update(fresh)
    LEDGER.harvest_files(fresh)


def debug_everywhere() -> None:
    """Root at DEBUG; the loggers the hub holds quiet at every level stay as the hub holds them."""
    logging.getLogger().setLevel(logging.DEBUG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def pytest_configure(config: pytest.Config) -> None:
    HANDLER.install_first()
    debug_everywhere()
    # create_app reads the platform's billing secrets from the environment when a test gives none.
    LEDGER.harvest_env(dict(os.environ), "the test run's environment")


def pytest_sessionstart(session: pytest.Session) -> None:
    tests = session.config.rootpath / "tests"
    _harvest_files(sorted(tests.rglob("*.py")) if tests.is_dir() else [])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _harvest_files(sorted({Path(item.path) for item in items}))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    LEDGER.current = item.nodeid
    HANDLER.install_first()
    logging.getLogger().setLevel(logging.DEBUG)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        LEDGER.scan_watched()  # the output files of the processes this test started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    rep = yield
    assert isinstance(rep, pytest.TestReport)
    for stream, text in (("stdout", rep.capstdout), ("stderr", rep.capstderr)):
        if text:
            LEDGER.observe_output(text, f"the test's own {stream} ({call.when})")
    if call.when == "teardown":
        findings = LEDGER.take(item.nodeid)
        LEDGER.current = SESSION
        if findings:
            _found.extend(findings)
            earlier = f"{rep.longrepr}\n\n" if rep.failed and rep.longrepr else ""
            rep.outcome = "failed"
            rep.longrepr = earlier + report(findings)
    return rep


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    LEDGER.scan_watched()
    for test in list(LEDGER.findings):
        _left_over.extend(LEDGER.take(test))
    if _left_over:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _left_over:
        terminalreporter.section("canary secrets found outside a test's report", red=True)
        for finding in _left_over:
            terminalreporter.write_line(f"{finding.test}: {finding}")
    terminalreporter.write_line(LEDGER.summary(len(_found) + len(_left_over)))
    terminalreporter.write_line(
        f"canary secrets: also {LEDGER.counts['outputs']} process and test outputs; "
        f"harvesting and scanning took {sum(LEDGER.cost.values()):.2f} s ({LEDGER.costs()})"
    )
