"""Handlers receive the process's services by dependency injection; only one accessor reads app.state."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.testing import TestClient

import hub
from hub.health.controllers import ready

HUB = Path(hub.__file__).parent
#: The one module that stores the services on the app and reads them back (for middleware and guards).
ACCESSOR = HUB / "services.py"
STATE = re.compile(r"\bapp\.state\b|\bstate\.services\b|\bstate\.limits\b")


def test_no_module_under_hub_reads_app_state_but_the_one_accessor():
    offenders = [
        f"{path.relative_to(HUB.parent)}:{number}: {line.strip()}"
        for path in sorted(HUB.rglob("*.py"))
        if path != ACCESSOR
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if STATE.search(line)
    ]
    assert offenders == [], "\n".join(offenders)
    assert STATE.search(ACCESSOR.read_text()), "the accessor itself is where app.state is read"


class _FailingEngine:
    def connect(self) -> Any:
        raise RuntimeError("this engine was injected by the test")


def test_a_handler_gets_its_services_by_injection():
    # No lifespan ran, so app.state holds no services: the handler can only have what it is given.
    given = SimpleNamespace(engine=_FailingEngine())
    app = Litestar(route_handlers=[ready], dependencies={"services": Provide(lambda: given, sync_to_thread=False)})
    with TestClient(app) as client:
        r = client.get("/health/ready")
    assert r.status_code == 503, r.text
    assert r.json() == {
        "status": "unavailable",
        "checks": {"database": "failing", "migrations": "failing", "vault": "failing"},
    }
