"""The console's static files: a name that cannot be a file is a plain 404, never a 500.

Unauthenticated, so anyone can send these; each must answer exactly as a missing file does.
"""

from __future__ import annotations

import pytest

from tests.support.hub import HubClient

ODD_NAMES = [
    "%00",
    "console.css%00",
    "%00.css",
    "%01",
    "%0a",
    "%0d%0aSet-Cookie:%20x=1",
    "%1f",
    "%7f",
    "%ff",
    "%2e%2e/",
    "%2e%2e/%2e%2e/settings.py",
    "..%2f..%2fsettings.py",
    "%2e%2e%2froutes.py",
    "console.css/x",
    "console.css/%2e%2e/console.js",
    "a" * 300,
    "a" * 5000 + ".css",
    "%00" * 1000,
]


async def _missing(hub: HubClient) -> tuple[int, str]:
    r = await hub.request("GET", "/console/static/no-such-file.css")
    return r.status_code, r.headers["content-type"]


async def test_the_stylesheet_is_served(hub):
    r = await hub.request("GET", "/console/static/console.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ODD_NAMES, ids=lambda n: n[:30] + ("..." if len(n) > 30 else ""))
async def test_a_name_that_cannot_be_a_static_file_answers_as_a_missing_file(hub, name):
    status, content_type = await _missing(hub)
    assert status == 404
    r = await hub.request("GET", f"/console/static/{name}")
    assert (r.status_code, r.headers["content-type"]) == (status, content_type), r.text[:300]
    assert "Traceback" not in r.text and "settings" not in r.text.lower()
