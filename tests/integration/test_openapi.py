"""The OpenAPI document is complete enough for a client generator, and a generated client works."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.hub import PLATFORM_TOKEN
from tests.support.process import HubProcess

UNAUTHENTICATED = {"/health", "/health/ready", "/v1/webhooks/{provider}/{tenant_id}", "/v1/platform/billing/webhook"}
#: Signed and deduplicated by event id; sync re-reads the provider and creates nothing.
NO_IDEMPOTENCY = {
    "/v1/webhooks/{provider}/{tenant_id}",
    "/v1/platform/billing/webhook",
    "/v1/payments/{payment_id}/sync",
    "/v1/subscriptions/{subscription_id}/sync",
    "/v1/connected-accounts/{account_id}/sync",
}


@pytest.fixture
async def doc(hub) -> dict:
    r = await hub.request("GET", "/schema/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


async def test_the_document_names_the_package_version_and_the_bearer_scheme(doc):
    assert doc["info"]["version"] == version("payment-hub")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert {"param", "decline_code", "payment_id"} <= set(problem["properties"])


async def test_every_route_with_a_token_declares_the_scheme_and_its_401_and_403(doc):
    seen = 0
    for path, method, op in _operations(doc):
        if path in UNAUTHENTICATED:
            assert "security" not in op and "401" not in op["responses"], (method, path)
            continue
        seen += 1
        assert op.get("security") == [{"bearer": []}], (method, path)
        assert {"401", "403", "429"} <= set(op["responses"]), (method, path, sorted(op["responses"]))
    assert seen >= 20


async def test_every_creating_post_takes_an_idempotency_key(doc):
    posts = [(path, op) for path, method, op in _operations(doc) if method == "POST" and path not in NO_IDEMPOTENCY]
    assert len(posts) >= 10
    for path, op in posts:
        headers = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(headers) == 1 and headers[0]["schema"]["maxLength"] == 255, path
        assert "409" in op["responses"], path


async def test_every_error_answer_is_problem_json_never_litestars_own_shape(doc):
    errors = 0
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            if status[0] in "45":
                errors += 1
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
        if "{" in path and not path.startswith("/health"):
            assert "404" in op["responses"], (method, path)
    assert errors > 50
    assert "ValidationException" not in str(doc)


@pytest.mark.parametrize("page", ["/schema", "/schema/scalar"])
async def test_the_schema_pages_are_browsable(hub, page):
    r = await hub.request("GET", page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (page, r.status_code)
    assert "<html" in r.text.lower() and "<title>Payment hub</title>" in r.text


def _generate(doc_path: Path, out: Path) -> Path:
    exe = shutil.which("openapi-python-client", path=os.path.dirname(sys.executable))
    assert exe, "openapi-python-client is in the test extras: pip install -e '.[test]'"
    config = out.parent / "generator.yaml"
    config.write_text("post_hooks: []\npackage_name_override: generated_hub_client\n")
    done = subprocess.run(
        [
            exe,
            "generate",
            "--path",
            str(doc_path),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return out


async def test_a_client_generated_from_the_document_creates_and_reads_a_tenant(
    hub, database_url, tmp_path, monkeypatch
):
    doc_path = tmp_path / "openapi.json"
    doc_path.write_bytes((await hub.request("GET", "/schema/openapi.json")).content)
    package = _generate(doc_path, tmp_path / "generated_hub_client")
    monkeypatch.syspath_prepend(str(package.parent))
    client_mod = importlib.import_module("generated_hub_client.client")
    create = importlib.import_module("generated_hub_client.api.platform_tenants.v1_tenants_create")
    read = importlib.import_module("generated_hub_client.api.platform_tenants.v1_tenants_tenant_id_get")
    models = importlib.import_module("generated_hub_client.models")

    # Over real HTTP to `hub serve`: the app's database connections belong to the loop that serves it.
    proc = HubProcess(database_url, tmp_path / "home")
    try:
        await _generated_calls(client_mod, create, read, models, proc.url)
    finally:
        proc.stop()


async def _generated_calls(client_mod, create, read, models, base_url: str) -> None:
    async with client_mod.AuthenticatedClient(base_url=base_url, token=PLATFORM_TOKEN) as api:
        made = await create.asyncio_detailed(
            client=api, body=models.TenantCreate(name="Generated"), idempotency_key="gen-1"
        )
        assert made.status_code == 201, made.content
        tenant = made.parsed
        assert isinstance(tenant, models.TenantCreated) and tenant.name == "Generated"
        got = await read.asyncio(client=api, tenant_id=tenant.id)
        assert isinstance(got, models.Tenant) and got.id == tenant.id

        missing = await read.asyncio(client=api, tenant_id="ten_doesnotexist")
        assert isinstance(missing, models.Problem) and missing.status == 404 and missing.code == "not_found"
    async with client_mod.AuthenticatedClient(base_url=base_url, token="hub_pt_wrong") as stranger:
        refused = await read.asyncio(client=stranger, tenant_id=tenant.id)
        assert isinstance(refused, models.Problem) and refused.status == 401
