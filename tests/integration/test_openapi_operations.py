"""Every operation of /schema/openapi.json describes itself and names the error codes it can answer.

Litestar alone gives each operation a summary made of its handler's name (``CreatePayment``) and
no description. The hub's document gives each one a summary in words, a one-sentence
description ending with the list of its error codes, and on each 4xx/5xx answer the codes of that
status; every code named is one ``docs/errors.md`` lists, with the same status.
"""

from __future__ import annotations

import re
from pathlib import Path

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
#: A row of docs/errors.md's tables: | 409 | `invalid_state` | …
ERRORS_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.M)
CODE = re.compile(r"`([a-z][a-z_]*)`")
ERRORS_LINE = "Error codes: "
#: Answers that are not problem+json: the readiness probe's 503 is its own body naming the check.
NOT_PROBLEMS = {("get", "/health/ready", "503")}


def documented_codes() -> dict[str, int]:
    return {code: int(status) for status, code in ERRORS_ROW.findall(ERRORS_DOC.read_text())}


def operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


async def test_every_operation_has_a_summary_in_words_and_a_one_sentence_description(hub):
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    bare = []
    for method, path, op in operations(doc):
        summary, description = op.get("summary", ""), op.get("description", "")
        sentence = description.split("\n", 1)[0]
        generated = " " not in summary or summary == op.get("operationId")
        if generated or not sentence.endswith(".") or len(sentence) < 20:
            bare.append(f"{method.upper()} {path}: summary {summary!r}, description {sentence!r}")
    assert not bare, "operations without a summary in words or a sentence (hub/openapi_operations.py):\n" + "\n".join(
        bare
    )


async def test_every_error_answer_names_its_codes_and_the_description_lists_them_all(hub):
    doc = (await hub.request("GET", "/schema/openapi.json")).json()
    known = documented_codes()
    assert len(known) > 25, "docs/errors.md's tables moved"
    wrong = []
    for method, path, op in operations(doc):
        named: set[str] = set()
        for status, answer in op["responses"].items():
            if status[:1] not in "45" or (method, path, status) in NOT_PROBLEMS:
                continue
            codes = set(CODE.findall(answer["description"]))
            if not codes:
                wrong.append(f"{method.upper()} {path} {status}: names no code ({answer['description']!r})")
            for code in sorted(codes):
                if known.get(code) != int(status):
                    wrong.append(f"{method.upper()} {path} {status}: `{code}` is {known.get(code)} in docs/errors.md")
            named |= codes
        listed = op.get("description", "").split(ERRORS_LINE, 1)
        in_description = set(CODE.findall(listed[1])) if len(listed) == 2 else set()
        if in_description != named:
            wrong.append(
                f"{method.upper()} {path}: its description lists {sorted(in_description)}, its answers {sorted(named)}"
            )
    assert not wrong, "\n".join(wrong)


async def test_the_codes_follow_what_the_route_takes(hub):
    """Spot checks of the rule: a token, a body, an object in the path, a key, the provider."""
    doc = (await hub.request("GET", "/schema/openapi.json")).json()

    def codes(method: str, path: str) -> set[str]:
        return set(CODE.findall(doc["paths"][path][method]["description"].split(ERRORS_LINE, 1)[1]))

    create = codes("post", "/v1/payments")
    assert {"unauthorized", "forbidden", "tenant_suspended", "rate_limited"} <= create
    assert {"invalid_json", "validation_error"} <= create
    assert {"idempotency_conflict", "card_declined", "amount_too_small", "provider_unavailable"} <= create
    assert "not_found" not in codes("get", "/v1/payments")
    assert "not_found" in codes("get", "/v1/payments/{payment_id}")
    assert "tenant_suspended" not in codes("get", "/v1/tenants")  # the platform operator has no tenant
    webhook = codes("post", "/v1/webhooks/{provider}/{tenant_id}")
    assert "signature_invalid" in webhook and "unauthorized" not in webhook
    assert "last_admin_key" in codes("delete", "/v1/api-keys/{key_id}")
