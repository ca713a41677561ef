"""``hub serve`` behind a reverse proxy: X-Forwarded-For names the client only when the peer is trusted.

The peer here is this test on 127.0.0.1, playing the proxy. Failed authentications are counted
per client address, so which address the hub saw shows in when 429 starts.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.support.hub import PLATFORM
from tests.support.process import HubProcess


async def _payments(client: httpx.AsyncClient, client_address: str, token: str | None = None) -> int:
    token = token or f"hub_st_{secrets.token_urlsafe(32)}"
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": client_address}
    return (await client.get("/v1/payments", headers=headers)).status_code


@pytest.mark.parametrize("trusted", [False, True], ids=["default", "forwarded-allow-ips"])
async def test_hub_serve_reads_forwarded_for_only_from_the_proxies_it_is_told_to_trust(database_url, tmp_path, trusted):
    proc = HubProcess(database_url, tmp_path / "home", args=("--forwarded-allow-ips", "127.0.0.1") if trusted else ())
    try:
        async with proc.client(timeout=10) as client:
            r = await client.post("/v1/tenants", json={"name": "Behind a proxy"}, headers=PLATFORM)
            assert r.status_code == 201, r.text
            storefront = r.json()["api_keys"]["storefront"]
            assert [await _payments(client, "203.0.113.1") for _ in range(30)] == [401] * 30
            assert await _payments(client, "203.0.113.1") == 429
            # A second client behind the proxy has its own count only if the proxy is trusted.
            assert await _payments(client, "203.0.113.2") == (401 if trusted else 429)
            # A valid key is served from the locked-out address either way.
            assert await _payments(client, "203.0.113.1", storefront) == 200
    finally:
        proc.stop()
    log = proc.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log
