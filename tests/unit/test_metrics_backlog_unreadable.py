"""A scrape whose database cannot be read still answers the process's own figures."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hub.observability import backlog
from hub.observability.metrics import render


class _Unreachable:
    url = "postgresql+asyncpg://hub@db.invalid/hub"

    def execution_options(self, **_: Any) -> _Unreachable:
        return self

    def connect(self) -> Any:
        raise ConnectionRefusedError("the database is down")


async def test_an_unreadable_backlog_is_left_out_and_said_once_in_the_log(caplog):
    with caplog.at_level(logging.WARNING, logger="hub.observability"):
        found = await backlog.read(_Unreachable(), ["stripe"])  # type: ignore[arg-type]
    assert found == []
    (line,) = [r.getMessage() for r in caplog.records if r.name == "hub.observability"]
    assert line == "metrics: the backlog could not be read (ConnectionRefusedError)"
    body, _ = render(found)
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert "hub_http_requests" in names and not any(n.startswith("hub_webhook_events_pending") for n in names)
