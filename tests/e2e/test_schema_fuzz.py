"""Schemathesis over the hub's own OpenAPI document, with each scope, against ``hub serve``.

Every operation of ``/schema/openapi.json`` gets generated requests (the coverage phase's
boundary and invalid values, then a fixed number of fuzzed ones), sent as the platform operator,
a tenant admin, a tenant storefront and a caller without credentials. No answer may be a server
error: a 5xx is accepted only as a documented answer about something outside the hub (503
``provider_unavailable`` or ``billing_disabled``), never a 500. Each answer
must also use a status and content type the document declares, and problem+json for errors.

The hub runs as a real process (its own event loop, uvicorn in front, as deployed) on SQLite and
on PostgreSQL, over data made through its API (tests/support/fuzz_world.py), with tenant Stripe
calls going through the Stripe proxy (tests/support/stripe_proxy.py, which plays Connect) to the
emulator. The run is derandomized and seeded: one commit sends the same
requests every time. What it found is kept as exact inputs in
tests/integration/test_schema_fuzz_findings.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from schemathesis import Case, openapi

from tests.support.billing import PLATFORM_SECRET_KEY, PLATFORM_WEBHOOK_SECRET
from tests.support.databases import truncate_all
from tests.support.emulator import Emulator
from tests.support.fuzz_schema import CHECKS, build_document, fuzz_config
from tests.support.fuzz_world import SCOPES, World, billing_plans, build_world, caller_session
from tests.support.process import HubProcess
from tests.support.stripe_proxy import StripeProxy
from tests.support.wompi_standin import WompiStandin

# One worker runs the module: its served hub and schema are module fixtures.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("schema-fuzz")]

DOCUMENT, REQUIRED_SCOPES = build_document()


@pytest.fixture(scope="module")
def served(
    migrated_db: str, emulator: Emulator, wompi: WompiStandin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One ``hub serve`` per database for every scope's run."""
    asyncio.run(truncate_all(migrated_db))
    home: Path = tmp_path_factory.mktemp("fuzzed-hub")
    proxy = StripeProxy(emulator.url)
    proc = HubProcess(
        migrated_db,
        home,
        HUB_STRIPE_API_BASE=proxy.url,
        HUB_WOMPI_API_BASE=wompi.url,
        HUB_RATE_LIMIT_PER_KEY="100000",  # the run is one client sending as fast as it can
        HUB_NOTIFY_DISPATCH="0",  # generated endpoint URLs must not be called
        # Platform billing on, over the emulator as the platform's own account.
        HUB_BILLING_STRIPE_SECRET_KEY=PLATFORM_SECRET_KEY,
        HUB_BILLING_STRIPE_WEBHOOK_SECRET=PLATFORM_WEBHOOK_SECRET,
        HUB_BILLING_PLANS=billing_plans(emulator.url),
    )
    try:
        world = build_world(proc.url, wompi)
        assert requests.get(f"{proc.url}/schema/openapi.json", timeout=30).json() == DOCUMENT
        yield world
    finally:
        proc.stop()
        proxy.close()
    assert "Traceback" not in proc.log_path.read_text(errors="replace"), proc.log()


@pytest.fixture(scope="module")
def callers(served: World) -> Iterator[dict[str, requests.Session]]:
    sessions = {scope: caller_session(scope, served.token(scope)) for scope in SCOPES}
    yield sessions
    for session in sessions.values():
        session.close()


def _run_as(scope: str) -> Callable[..., None]:
    schema = openapi.from_dict(DOCUMENT, config=fuzz_config(scope, REQUIRED_SCOPES))

    @schema.parametrize()
    def run(case: Case, served: World, callers: dict[str, requests.Session]) -> None:
        served.resolve(case)
        response = case.call(base_url=served.base_url, session=callers[scope])
        try:
            case.validate_response(response, checks=CHECKS)
        finally:
            served.restore(case.method, case.path, response.status_code)

    return run


test_as_the_platform_operator = _run_as("platform")
test_as_a_tenant_admin = _run_as("admin")
test_as_a_tenant_storefront = _run_as("storefront")
test_without_credentials = _run_as("anonymous")
