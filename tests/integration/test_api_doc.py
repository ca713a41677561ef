"""docs/api.md stays true: its route table names exactly the routes of the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: A route as the table writes it: `METHOD /path`.
ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")


def documented_routes(text: str) -> set[tuple[str, str]]:
    section = text.split("\n## Routes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return {(m.group(1), m.group(2)) for row in rows for m in ROUTE.finditer(row.split("|")[1])}


async def test_the_route_table_of_docs_api_md_matches_the_openapi_document(hub):
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    served = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    documented = documented_routes(DOC.read_text())
    missing = sorted(served - documented)
    stale = sorted(documented - served)
    assert not missing and not stale, (
        "docs/api.md is out of step with the routes the hub serves.\n"
        + "".join(f"  not documented in docs/api.md (add a row to its Routes table): {m} {p}\n" for m, p in missing)
        + "".join(f"  documented in docs/api.md but not served: {m} {p}\n" for m, p in stale)
    )


def test_the_table_parser_finds_every_row_and_only_rows():
    text = (
        "intro `GET /outside`\n## Routes\n| `GET /a/{id}` | x |\n| `POST /b` | `GET /in-answer` |\n"
        "prose `GET /prose`\n## Metrics\n| `GET /after` |\n"
    )
    assert documented_routes(text) == {("GET", "/a/{id}"), ("POST", "/b")}
