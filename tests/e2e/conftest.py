"""The hub under faults: one ``hub serve --workers 2`` on PostgreSQL, behind a proxy that can be cut.

Session-wide, shared by the fault tests (a database outage under load, a worker killed under
load): starting two workers is most of such a test's time. Each scenario makes its own tenant
and checks only that tenant's rows, so they do not see each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.reliability import Stack, hub_stack


@pytest.fixture(scope="session")
def fault_stack(emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with hub_stack(emulator, tmp_path_factory.mktemp("faults")) as stack:
        yield stack
