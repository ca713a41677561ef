"""Secrets never leak: the credential flows at their worst, with canary secrets.

The run's canary plugin (``tests.plugins.canaries``) harvests every secret these flows send and
looks for it in every response, log record (DEBUG), output and the database, as it does for every
test. These flows add what no ordinary test does: secrets put where a careless error message would
echo them, Stripe refusing, echoing the key back and unreachable; and one more place to look, every
exception that reached the hub's error handling (text, repr, formatted traceback).

Two inputs put a secret where no field expects one (as an unknown field's name, as the value
of the ``scope`` enum). Litestar's own ValidationException quotes such input verbatim, so for
those two only the exception objects are not searched; what the hub answers and logs is.
"""

from __future__ import annotations

import logging
import traceback

import httpx

from tests.support.canaries.ledger import LEDGER, Ledger, report
from tests.support.canaries.needles import LOG
from tests.support.emulator import free_port
from tests.support.hub import PLATFORM, PLATFORM_TOKEN, HubClient, build_client, make_settings
from tests.support.stripe_mock import StripeMock, hub_over, refuses_key, stripe_error, unreachable

URL = "/v1/providers/stripe/credentials"
PK = "pk_test_51CanaryPublishable0001"
PK_LIVE = "pk_live_51CanaryPublishable0001"
SECRETS = {
    "sk": "sk_test_51CanaryQxSecretZz7777",
    "sk2": "sk_test_51CanaryQxRolledZz7778",
    "refused": "sk_test_51CanaryQxRefusedZz6666",
    "down": "rk_test_51CanaryQxUnreachZz5555",
    "live": "sk_live_51CanaryQxLiveZz4444",
    "wh": "whsec_CanaryQxWebhookZz8888",
    "wh2": "whsec_CanaryQxWebhookZz8889",
}


class Recorder:
    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []
        self.exceptions: list[BaseException] = []
        self.watch_exceptions = True

    async def on_exception(self, exc: BaseException, _scope) -> None:
        if self.watch_exceptions:
            self.exceptions.append(exc)

    def attach(self, hub: HubClient) -> None:
        hub.http.app.after_exception.append(self.on_exception)

    async def call(self, hub: HubClient, method: str, path: str, **kw) -> httpx.Response:
        r = await hub.request(method, path, **kw)
        assert r.status_code < 500 or r.status_code == 503, r.text  # never a 500
        self.responses.append(r)
        return r


async def run_flows(hub: HubClient, rec: Recorder, mock: StripeMock | None) -> None:
    tenant = await hub.create_tenant("Canary Co")
    a = tenant.admin
    json_headers = {**a, "content-type": "application/json"}

    r = await rec.call(
        hub,
        "PUT",
        URL,
        json={"publishable_key": PK, "secret_key": SECRETS["sk"], "webhook_secret": SECRETS["wh"]},
        headers=a,
    )
    assert r.status_code == 200, r.text
    assert (await rec.call(hub, "GET", URL, headers=a)).status_code == 200
    assert (await rec.call(hub, "POST", "/v1/providers/stripe/health-check", headers=a)).json()["error"] is None
    r = await rec.call(
        hub,
        "PUT",
        URL,
        json={"publishable_key": PK, "secret_key": SECRETS["sk2"], "webhook_secret": SECRETS["wh2"]},
        headers=a,
    )
    assert r.status_code == 200, r.text

    # Bad input of every kind, carrying secrets in the places a careless error message would echo.
    bad = [
        {"publishable_key": SECRETS["sk"], "secret_key": SECRETS["sk"]},
        {"publishable_key": PK, "secret_key": SECRETS["wh"]},
        {"publishable_key": PK, "secret_key": SECRETS["sk"], "webhook_secret": SECRETS["sk"]},
        {"publishable_key": PK_LIVE, "secret_key": SECRETS["sk"]},
        {"publishable_key": PK, "secret_key": SECRETS["live"]},
        {"publishable_key": PK, "secret_key": [SECRETS["sk"]]},
        {"publishable_key": PK, "secret_key": SECRETS["sk"] + "!" * 600},
    ]
    for body in bad:
        r = await rec.call(hub, "PUT", URL, json=body, headers=a)
        assert r.status_code == 422, r.text
    for raw in (b'{"secret_key": "%s"' % SECRETS["sk"].encode(), b'{"%s": }' % SECRETS["wh"].encode()):
        assert (await rec.call(hub, "PUT", URL, content=raw, headers=json_headers)).status_code == 400
    for token in (SECRETS["sk"], SECRETS["wh"]):
        r = await rec.call(hub, "GET", URL, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    assert (await rec.call(hub, "GET", f"/v1/tenants/{SECRETS['sk']}", headers=PLATFORM)).status_code == 404

    if mock is not None:
        mock.handler = refuses_key  # echoes the whole key back, worse than real Stripe
        r = await rec.call(hub, "PUT", URL, json={"publishable_key": PK, "secret_key": SECRETS["refused"]}, headers=a)
        assert r.status_code == 422 and r.json()["code"] == "invalid_credentials"
        r = await rec.call(hub, "POST", "/v1/providers/stripe/health-check", headers=a)
        assert r.json()["ok"] is False
        mock.handler = stripe_error(400, "invalid_request_error", f"Bad key {SECRETS['sk2']} / {SECRETS['wh2']}")
        r = await rec.call(hub, "PUT", URL, json={"publishable_key": PK, "secret_key": SECRETS["refused"]}, headers=a)
        assert r.status_code in (400, 422), r.text
        mock.handler = unreachable
        r = await rec.call(hub, "PUT", URL, json={"publishable_key": PK, "secret_key": SECRETS["down"]}, headers=a)
        assert r.status_code == 503
        assert (await rec.call(hub, "POST", "/v1/providers/stripe/health-check", headers=a)).json()["ok"] is False

    assert (await rec.call(hub, "DELETE", URL, headers=a)).status_code == 204

    # Framework-echoed input (see the module docstring): responses and logs only.
    rec.watch_exceptions = False
    body = {"publishable_key": PK, "secret_key": SECRETS["sk"], SECRETS["live"]: SECRETS["wh"]}
    assert (await rec.call(hub, "PUT", URL, json=body, headers=a)).status_code == 422
    r = await rec.call(hub, "POST", "/v1/api-keys", json={"scope": SECRETS["sk"]}, headers=a)
    assert r.status_code == 422
    rec.watch_exceptions = True


def assert_no_canary(rec: Recorder, responses_before: int) -> None:
    """No secret in an exception the hub handled; and the run's canary check covered these flows."""
    ledger = Ledger()  # the exceptions are this test's own place to look
    for name, value in SECRETS.items():
        ledger.harvest(value, f"SECRETS[{name!r}]")
    for exc in rec.exceptions:
        text = str(exc) + repr(exc) + "".join(traceback.format_exception(exc)) + repr(getattr(exc, "extra", ""))
        ledger.check(text, LOG, f"exception {type(exc).__name__}")
    found = ledger.take(ledger.current)
    assert not found, report(found)
    # Responses, log records and the database: the plugin harvested every secret sent and saw every answer.
    assert all(value in LEDGER.canaries for value in SECRETS.values())
    assert PLATFORM_TOKEN in LEDGER.canaries
    assert LEDGER.counts["responses"] >= responses_before + len(rec.responses)


async def test_no_secret_leaks_through_the_credential_flows_with_stripe_refusing_and_unreachable(
    database_url, hub_home, caplog
):
    caplog.set_level(logging.DEBUG)
    mock, rec = StripeMock(), Recorder()
    responses_before = LEDGER.counts["responses"]
    async with hub_over(mock, database_url, str(hub_home), HUB_LOG_LEVEL="DEBUG") as hub:
        rec.attach(hub)
        await run_flows(hub, rec, mock)
    assert len(rec.exceptions) >= 15  # the hook really saw the failures
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG really was on
    # The plugin's line per Stripe call reached the capture: the hub's process logging really was searched.
    # (stripe-python's own logger is held at WARNING: it would log every request and retry at INFO.)
    assert any(r.name == "providers.stripe" and r.levelno == logging.DEBUG for r in caplog.records)
    assert_no_canary(rec, responses_before)


async def test_no_secret_leaks_over_a_real_http_stack_at_the_emulator_or_a_closed_port(
    database_url, hub_home, emulator, caplog
):
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    responses_before = LEDGER.counts["responses"]
    settings = make_settings(database_url, str(hub_home), HUB_STRIPE_API_BASE=emulator.url, HUB_LOG_LEVEL="DEBUG")
    async with build_client(settings) as client:
        hub = HubClient(client, settings)
        rec.attach(hub)
        await run_flows(hub, rec, None)
    closed = make_settings(
        database_url, str(hub_home), HUB_STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}", HUB_LOG_LEVEL="DEBUG"
    )
    async with build_client(closed) as client:
        hub = HubClient(client, closed)
        rec.attach(hub)
        tenant = await hub.create_tenant()
        r = await rec.call(
            hub,
            "PUT",
            URL,
            json={"publishable_key": PK, "secret_key": SECRETS["down"], "webhook_secret": SECRETS["wh"]},
            headers=tenant.admin,
        )
        assert r.status_code == 503
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG really was on
    assert_no_canary(rec, responses_before)


def test_the_hubs_masking_log_handler_and_the_hosts_handlers_survive_app_creation(database_url, hub_home):
    # Litestar's default logging config replaced the root handlers: the hub's masking filter (and
    # e.g. pytest's capture) silently went away once the app was built.
    root = logging.getLogger()
    host_handler = logging.NullHandler()
    root.addHandler(host_handler)
    try:
        from hub.app import create_app
        from hub.logging import MaskSecrets

        create_app(make_settings(database_url, str(hub_home)))
        assert host_handler in root.handlers
        assert any(isinstance(f, MaskSecrets) for h in root.handlers for f in h.filters)
    finally:
        root.removeHandler(host_handler)
