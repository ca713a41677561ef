"""Shared fixtures: the localstripe emulator, a database per backend, and the hub as an ASGI app.

Every integration test runs on SQLite and on PostgreSQL (HUB_TEST_DATABASES narrows it).
PostgreSQL databases are created by this run and dropped at its end. Every test runs under the
canary plugin: no secret the suite hands the hub may show up in a response, a log or a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.db.migrate import upgrade_to_head
from tests.support.canaries.ledger import LEDGER
from tests.support.databases import backends, create_pg_database, drop_pg_database, pg_url, truncate_all
from tests.support.emulator import Emulator
from tests.support.hub import HubClient, build_client, make_settings
from tests.support.wompi_standin import WompiStandin

pytest_plugins = ["pytester", "tests.plugins.canaries", "tests.plugins.alone", "tests.plugins.tiers"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator(tmp_path_factory.mktemp("emulator"))
    yield emu
    emu.stop()


@pytest.fixture(scope="session", params=backends())
def migrated_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per backend for the whole run (via Alembic, the only way)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'hub.db'}"
        upgrade_to_head(url)
        yield url
        return
    name = create_pg_database()
    try:
        upgrade_to_head(pg_url(name))
        yield pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture
async def database_url(migrated_db: str) -> AsyncIterator[str]:
    await truncate_all(migrated_db)
    yield migrated_db
    # What the test left in the database, read before the next test empties it.
    await LEDGER.scan_database(migrated_db)


@pytest.fixture
def hub_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HUB_HOME of the hubs the ``hub`` fixture builds: their secrets are all given, it stays empty."""
    return tmp_path_factory.mktemp("shared") / "home"


@pytest.fixture
async def hub(database_url: str, emulator: Emulator, shared_home: Path) -> AsyncIterator[HubClient]:
    """The hub on the test database, its tenant Stripe clients pointed at the emulator.

    One app per database for the run, started afresh (a new lifespan: engine, caches, limits,
    applier, dispatcher) for each test.
    """
    settings = make_settings(database_url, str(shared_home), HUB_STRIPE_API_BASE=emulator.url)
    async with build_client(settings, shared=True) as client:
        yield HubClient(client, settings)


@pytest.fixture(scope="session")
def wompi() -> Iterator[WompiStandin]:
    """The Wompi stand-in on its loopback port; transactions settle only when a test says (no sleeps)."""
    standin = WompiStandin(settle_delay=None, url_delay=0.0)
    yield standin
    standin.close()
