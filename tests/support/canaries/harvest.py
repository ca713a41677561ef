"""Where the suite hands the hub a secret: request bodies, headers and URLs, settings, environments, source.

Harvesting at the boundary (every request an observed client sends the hub, every settings object
or environment a hub is built from) covers a test that invents its own key; harvesting the test
tree's literals covers a key that reaches the hub some other way (a browser, a subprocess).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import httpx

#: Stripe secret and restricted keys, and webhook signing secrets, as they are written anywhere; Wompi
#: private keys, events and integrity secrets.
SECRET_SHAPE = re.compile(
    r"\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z]+|\bwhsec_[0-9A-Za-z+/=_-]+"
    r"|\bprv_(?:test|prod)_[0-9A-Za-z_-]{8,}|\b(?:test|prod)_(?:events|integrity)_[0-9A-Za-z_-]{8,}"
)
#: The same in source code, less the head of an f-string (``f"sk_test_Canary{label}…"``): a
#: fragment, not a secret; the whole value is harvested when a test sends it.
SOURCE_SHAPE = re.compile(
    r"\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z]+(?![0-9A-Za-z{])|\bwhsec_[0-9A-Za-z+/=_-]+(?![0-9A-Za-z+/=_{-])"
    r"|\bprv_(?:test|prod)_[0-9A-Za-z_-]{8,}(?![0-9A-Za-z_{-])"
    r"|\b(?:test|prod)_(?:events|integrity)_[0-9A-Za-z_-]{8,}(?![0-9A-Za-z_{-])"
)
#: Request fields that carry a provider secret whatever its shape (FakePay's ``fsk_…``, a key sent
#: in the wrong field to test validation).
SECRET_FIELDS = frozenset({"secret_key", "webhook_secret", "private_key", "events_secret", "integrity_secret"})
#: Publishable keys: public by design, shown by the hub's masked credential view and in payments.
#: Only a value sent in this field is taken as public, and never one shaped like a secret.
PUBLIC_FIELDS = frozenset({"publishable_key", "public_key"})
#: The variables a hub process or the CLI reads its own secrets from.
SECRET_VARIABLES = ("HUB_PLATFORM_TOKEN", "HUB_BILLING_STRIPE_SECRET_KEY", "HUB_BILLING_STRIPE_WEBHOOK_SECRET")


def request_text(request: httpx.Request) -> str:
    """URL, headers and body of a request, decoded as far as a server would decode them."""
    try:
        body = request.content.decode("utf-8", "replace")
    except httpx.RequestNotRead:  # a streamed upload: nothing the tests send
        body = ""
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    return "\n".join([unquote_plus(str(request.url)), headers, body, unquote_plus(body)])


def request_fields(request: httpx.Request) -> Iterator[tuple[str, str]]:
    """Every (name, string value) pair of a JSON or form body, at any depth."""
    try:
        content = request.content
    except httpx.RequestNotRead:
        return
    kind = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in kind:
        yield from parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True)
        return
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # hostile bodies (5,000-deep JSON) are the hub's to refuse
        return
    yield from _walk(body)


def _walk(root: Any) -> Iterator[tuple[str, str]]:
    """Iterative, so a body nested as deep as the JSON decoder allows does not exhaust the stack."""
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, name = stack.pop()
        if isinstance(node, dict):
            stack.extend((value, str(key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, name) for value in node)
        elif isinstance(node, str):
            yield name, node


def secrets_in_request(request: httpx.Request) -> tuple[set[str], set[str]]:
    """(secrets, public values) a request hands the hub."""
    found = set(SECRET_SHAPE.findall(request_text(request)))
    public: set[str] = set()
    for name, value in request_fields(request):
        if name in SECRET_FIELDS:
            found.add(value)
        elif name in PUBLIC_FIELDS and not SECRET_SHAPE.search(value):
            public.add(value)
    return found - public, public


def vault_keys(raw: str) -> Iterator[tuple[str, bytes | None]]:
    """The key part of each ``KEY_ID:BASE64URL`` entry, with its bytes when it decodes."""
    for entry in raw.split(","):
        _, _, encoded = entry.strip().partition(":")
        encoded = encoded.strip()
        if not encoded:
            continue
        try:
            key: bytes | None = base64.urlsafe_b64decode(encoded.rstrip("=") + "=" * (-len(encoded.rstrip("=")) % 4))
        except ValueError:
            key = None
        yield encoded, key


def secrets_in_env(env: Mapping[str, str | None]) -> Iterator[tuple[str, str, bytes | None]]:
    """(variable, value, raw bytes) of each secret an environment gives a hub process."""
    for name in SECRET_VARIABLES:
        if env.get(name):
            yield name, str(env[name]), None
    for encoded, key in vault_keys(env.get("HUB_VAULT_KEYS") or ""):
        yield "HUB_VAULT_KEYS", encoded, key


def secrets_in_source(path: Path) -> set[str]:
    """Stripe-secret-shaped literals written in a test module or support file."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return set()
    return set(SOURCE_SHAPE.findall(text))


#: What the hub itself issues and shows by contract: tenant API keys once at creation, a notification
#: endpoint's signing secret at creation and rotation (and again on an idempotent replay), the console
#: showing either once. Found in a response, such a value is harvested for every other place.
ISSUED_SHAPE = re.compile(r"\bhub_(?:ad|st)_[\w-]+|\bwhsec_[0-9A-Za-z+/=_-]+")
