"""docs/api.md stays true: its route table names exactly the routes of the OpenAPI document."""

from __future__ import annotations

import ast
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


README = DOC.parents[1] / "README.md"
#: The modules that read the hub's configuration from the environment.
SETTINGS_MODULES = [
    *sorted((DOC.parents[1] / "hub" / "settings").glob("*.py")),
    DOC.parents[1] / "hub" / "billing" / "settings.py",
]
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def variables_read() -> set[str]:
    """Every string literal of the settings modules that is a whole variable name (``"HUB_…"``)."""
    names: set[str] = set()
    for module in SETTINGS_MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"HUB_[A-Z0-9_]+", node.value)
            ):
                names.add(node.value)
    return names


def configuration_table(text: str, heading: str) -> set[str]:
    """The variables named in the first column of the table under ``heading``."""
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {m.group(1) for row in rows for m in VARIABLE.finditer(row.split("|")[1])}


def test_every_variable_the_settings_read_is_in_docs_api_md_and_the_readme():
    read = variables_read()
    assert len(read) > 20, f"the settings modules moved: {SETTINGS_MODULES}"
    api = configuration_table(DOC.read_text(), "## Configuration (environment variables)")
    readme = configuration_table(README.read_text(), "## Configuration")
    assert not read - api, f"read by the hub but not in docs/api.md's configuration table: {sorted(read - api)}"
    assert not read - readme, f"read by the hub but not in the README's configuration table: {sorted(read - readme)}"


def test_the_readme_and_docs_api_md_list_the_same_variables():
    api = configuration_table(DOC.read_text(), "## Configuration (environment variables)")
    readme = configuration_table(README.read_text(), "## Configuration")
    assert api == readme, f"only in docs/api.md: {sorted(api - readme)}; only in the README: {sorted(readme - api)}"


def test_the_variable_tables_are_read_by_their_first_column_only():
    text = (
        "intro\n## Configuration\n| `HUB_A` / `HUB_B` | `HUB_NOT_A_ROW` |\n| --- | --- |\n"
        "prose `HUB_C`\n## Next\n| `HUB_D` |\n"
    )
    assert configuration_table(text, "## Configuration") == {"HUB_A", "HUB_B"}


def _properties(schema: dict, components: dict, depth: int = 0) -> set[str]:
    """The property names of a response schema, and of the objects and lists of objects it holds."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    names: set[str] = set()
    for key in ("oneOf", "anyOf", "allOf"):
        for option in schema.get(key, []):
            names |= _properties(option, components, depth)
    for name, value in schema.get("properties", {}).items():
        names.add(name)
        if depth < 3:
            names |= _properties(value.get("items", value), components, depth + 1)
    return names


#: A field name in an answer; not a value (`"status": "ok"`, `"admin"|"storefront"`).
FIELD = re.compile(r'(?<!: )(?<!\|)"([a-z_]+)"')
#: Keys the table names inside a map the schema leaves open (`{"checks": {str: str}}`).
MAP_KEYS = {("GET", "/health/ready"): {"database", "migrations", "vault"}}
#: An answer that names a shape instead of spelling it (`Payment`, `[Tenant]`) or points elsewhere.
_BY_NAME = re.compile(r"\b[A-Z][a-z]+[A-Za-z]*\b(?![\"`])|see \[|…|endpoint without|the endpoint|the health-check")


async def test_the_fields_docs_api_md_spells_out_are_the_fields_the_api_returns(hub):
    """Where a row of the route table spells out an answer's fields, it names them all and only them."""
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    components = doc["components"]["schemas"]
    section = DOC.read_text().split("\n## Routes\n", 1)[1].split("\n## ", 1)[0]
    wrong = []
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        cells = re.split(r"(?<!\\)\|", row)
        route = ROUTE.search(cells[1])
        answer = cells[3].split("->", 1)[-1].split(";", 1)[0]
        named = set(FIELD.findall(answer))
        if route is None or not named or _BY_NAME.search(answer):
            continue
        method, path = route.groups()
        operation = doc["paths"][path][method.lower()]
        returned: set[str] = set()
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values() if status.startswith("2") else ():
                returned |= _properties(content["schema"], components)
        returned |= MAP_KEYS.get((method, path), set())
        if named != returned:
            wrong.append(
                f"{method} {path}: not returned {sorted(named - returned)}, not named {sorted(returned - named)}"
            )
    payment = DOC.read_text().split("`Payment`: ", 1)[1].split("}`", 1)[0]
    spelled = set(FIELD.findall(payment))
    if spelled != set(components["Payment"]["properties"]):
        wrong.append(f"Payment: {sorted(spelled ^ set(components['Payment']['properties']))}")
    assert not wrong, "docs/api.md's answers differ from the OpenAPI document:\n" + "\n".join(wrong)
