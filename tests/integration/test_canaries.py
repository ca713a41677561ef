"""The canary detector can fail: a harvested secret put in a log record, a response and a database
row is reported in each, with the place named and the secret masked.

Each test keeps its own ledger and builds its secret at run time, so the run's own canary check
(which knows neither) is not what these tests trip.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.canaries.http import observed
from tests.support.canaries.ledger import Ledger, report
from tests.support.canaries.logs import CanaryHandler
from tests.support.rawdb import execute

ROOT = Path(__file__).resolve().parents[2]
URL = "http://hub.test/v1/providers/stripe/credentials"


def runtime_secret() -> str:
    return "sk_" + "test_" + "51Proof" + secrets.token_hex(12)


@pytest.fixture
def proof_logger() -> Iterator[tuple[logging.Logger, Ledger]]:
    ledger = Ledger()
    logger = logging.getLogger("tests.canaries.proof")
    handler = CanaryHandler(ledger)
    logger.addHandler(handler)
    logger.propagate = False  # the run's own handler sees none of it
    logger.setLevel(logging.DEBUG)
    yield logger, ledger
    logger.removeHandler(handler)
    logger.propagate = True


async def test_a_secret_sent_to_the_hub_and_echoed_in_a_response_header_or_body_is_reported():
    ledger, secret = Ledger(), runtime_secret()

    def stripe_echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, headers={"x-debug": secret[2:20]}, json={"detail": "bad"}, request=request)

    async with observed(httpx.AsyncClient(transport=httpx.MockTransport(stripe_echo)), ledger) as client:
        await client.put(URL, json={"publishable_key": "pk_test_51ProofPublic", "secret_key": secret})
        assert ledger.canaries[secret].source == "sent to PUT /v1/providers/stripe/credentials"
        (finding,) = ledger.take(ledger.current)
        assert finding.where == "the response to PUT /v1/providers/stripe/credentials (422)"
        assert secret not in report([finding]) and "sk_test_…" in report([finding])

        echo = httpx.Response(200, text=f"key={secret}", request=httpx.Request("GET", URL))
        assert [f.canary.value for f in ledger.observe_response(echo)] == [secret]


def test_a_secret_in_a_log_message_its_arguments_or_an_attached_traceback_is_reported(proof_logger):
    logger, ledger = proof_logger
    secret = runtime_secret()
    ledger.harvest(secret, "a proof")
    logger.debug("clean line")
    logger.info("Stripe refused %s", secret[-16:])  # a 16-character tail: a partial leak
    try:
        raise ValueError(f"bad key {secret}")
    except ValueError:
        logger.exception("while checking the key")
    logger.warning("request", extra={"fields": {"key": secret[:16]}})
    found = ledger.take(ledger.current)
    assert {f.where for f in found} == {
        "a log record of tests.canaries.proof (INFO)",
        "a log record of tests.canaries.proof (ERROR)",
        "a log record of tests.canaries.proof (WARNING)",
    }
    assert ledger.counts["log records"] == 4


def test_fifteen_characters_of_a_secret_are_not_a_leak_sixteen_are(proof_logger):
    logger, ledger = proof_logger
    secret = runtime_secret()
    ledger.harvest(secret, "a proof")
    logger.info("tail %s", secret[-15:])
    assert ledger.take(ledger.current) == []
    logger.info("tail %s", secret[-16:])
    assert len(ledger.take(ledger.current)) == 1


async def test_a_secret_in_a_database_row_is_reported_with_its_table(database_url):
    ledger, secret = Ledger(), runtime_secret()
    ledger.harvest(secret, "a proof")
    assert await ledger.scan_database(database_url) == []  # the test database holds no such thing
    tenant_id = "ten_proof" + secrets.token_hex(4)
    await execute(
        database_url,
        "INSERT INTO tenants (id, name, status, created_at, updated_at) "
        "VALUES (:id, :name, 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        id=tenant_id,
        name=f"Shop {secret[3:]}",
    )
    (finding,) = await ledger.scan_database(database_url)
    assert re.search(r"\btable tenants\b", finding.where), finding.where
    assert ledger.counts["database scans"] == 2
    await execute(database_url, "DELETE FROM tenants WHERE id = :id", id=tenant_id)


LEAKING_TEST = """
import logging

SECRET = "{secret}"

def test_leaks():
    logging.getLogger("inner").warning("the key is %s", SECRET)

def test_clean():
    logging.getLogger("inner").warning("nothing to see")
"""

# Logs the secret once each test's report is made, when no test is running.
LEAKING_BETWEEN_TESTS = """
import logging

def pytest_runtest_logfinish(nodeid, location):
    logging.getLogger("inner").warning("between tests the key is %s", "{secret}")
"""


def inner_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return pytester.runpytest_subprocess("-p", "tests.plugins.canaries", "-p", "no:cacheprovider", *args)


def test_the_plugin_turns_the_leaking_test_into_an_error_and_ends_the_run_with_the_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(test_inner=LEAKING_TEST.format(secret="sk_test_" + "51InnerRunLeak0123456789"))
    result = inner_run(pytester, monkeypatch)
    result.assert_outcomes(passed=2, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks*",
            "*sk_test_…89 (32 chars), written in test_inner.py: found in a log record of inner (WARNING)*",
            "canary secrets: * harvested, 1 found in 0 responses, * log records, 0 database scans",
        ]
    )


def test_a_secret_leaked_outside_any_test_fails_the_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    pytester.makepyfile(test_inner='SECRET = "sk_test_51BetweenTestsLeak0123456"\n\n\ndef test_clean():\n    pass\n')
    pytester.makeconftest(LEAKING_BETWEEN_TESTS.format(secret="sk_test_" + "51BetweenTestsLeak0123456"))
    result = inner_run(pytester, monkeypatch)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*canary secrets found outside a test's report*",
            "*sk_test_…56 (33 chars)*found in a log record of inner (WARNING)*",
        ]
    )


def test_under_xdist_the_controller_reports_and_fails_on_what_any_worker_found(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    # Both kinds in one run (starting workers is most of its time): a leak in a test, one between tests.
    pytester.makepyfile(test_inner=LEAKING_TEST.format(secret="sk_test_" + "51InnerRunLeak0123456789"))
    pytester.makeconftest(LEAKING_BETWEEN_TESTS.format(secret="sk_test_" + "51InnerRunLeak0123456789"))
    result = inner_run(pytester, monkeypatch, "-n", "2")
    result.assert_outcomes(passed=2, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks*",
            "*canary secrets found outside a test's report*",
            "*sk_test_…89 (32 chars)*found in a log record of inner (WARNING)*",
            "canary secrets: * harvested over 2 workers, * found in 0 responses, * log records, 0 database scans",
        ]
    )
