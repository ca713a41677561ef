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
run ends with one summary line. Under pytest-xdist each worker keeps its own ledger and hands its
figures and any finding left outside a test to the controller, which adds them up and fails the run.
Values the hub issues itself and shows by contract (tenant API keys, notification signing secrets)
are looked for everywhere but in responses (``Ledger.observe_response``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from hub.logging import QUIET_LOGGERS
from tests.support.canaries.ledger import LEDGER, SESSION, Finding, report
from tests.support.canaries.logs import CanaryHandler

HANDLER = CanaryHandler(LEDGER)
_found: list[Finding] = []
_left_over: list[Finding] = []
_harvested_files: set[Path] = set()
_from_workers: list[dict[str, Any]] = []


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
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports for the run
        workeroutput["canaries"] = {
            "harvested": len(LEDGER.canaries),
            "found": len(_found),
            "counts": dict(LEDGER.counts),
            "cost": dict(LEDGER.cost),
            "left_over": [f"{finding.test}: {finding}" for finding in _left_over],
        }
    if _left_over or any(w["left_over"] for w in _from_workers):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: a worker is done; keep what its canary ledger saw."""
    figures = getattr(node, "workeroutput", {}).get("canaries")
    if figures is not None:
        _from_workers.append(figures)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    left_over = [f"{finding.test}: {finding}" for finding in _left_over]
    left_over += [line for w in _from_workers for line in w["left_over"]]
    if left_over:
        terminalreporter.section("canary secrets found outside a test's report", red=True)
        for line in left_over:
            terminalreporter.write_line(line)
    counts, cost = Counter(LEDGER.counts), Counter(LEDGER.cost)
    harvested, found = len(LEDGER.canaries), len(_found) + len(left_over)
    for w in _from_workers:
        counts.update(w["counts"])
        cost.update(w["cost"])
        harvested = max(harvested, w["harvested"])
        found += w["found"]
    workers = f" over {len(_from_workers)} workers" if _from_workers else ""
    terminalreporter.write_line(
        f"canary secrets: {harvested} harvested{workers}, {found} found in {counts['responses']} responses, "
        f"{counts['log records']} log records, {counts['database scans']} database scans"
    )
    by_cost = ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in sorted(cost.items(), key=lambda kv: -kv[1]))
    terminalreporter.write_line(
        f"canary secrets: also {counts['outputs']} process and test outputs; "
        f"harvesting and scanning took {sum(cost.values()):.2f} s ({by_cost})"
    )
