"""The canary ledger's rules: what is harvested, what counts as found, what the contract may show.

Values are built at run time so the run's own canary check, which harvests the test tree's
key-shaped literals, is not what these tests exercise.
"""

from __future__ import annotations

import base64
import json

import httpx

from tests.support.canaries.ledger import Ledger
from tests.support.canaries.needles import DATABASE, LOG, RESPONSE

SK = "sk_" + "test_51RuleAccountAbc" + "SecretPart0042"
PK = "pk_" + "test_51RuleAccountAbc" + "PublicPart0042"
URL = "http://hub.test/v1/providers/stripe/credentials"


def put(body: dict) -> httpx.Request:
    return httpx.Request("PUT", URL, json=body)


def test_secrets_in_the_credential_fields_and_anywhere_key_shaped_are_harvested_publishable_keys_are_not():
    ledger = Ledger()
    fake_key = "fsk_" + "fakepay_provider_secret_1"
    whsec = "whsec_" + "RuleWebhookSecret0001"
    ledger.harvest_request(put({"publishable_key": PK, "secret_key": fake_key, "webhook_secret": whsec}))
    ledger.harvest_request(httpx.Request("GET", f"http://hub.test/v1/tenants/{SK}"))
    assert set(ledger.canaries) == {fake_key, whsec, SK}
    assert PK in ledger.public


def test_a_piece_shared_with_a_publishable_key_is_not_a_leak_the_rest_of_the_secret_is():
    ledger = Ledger()
    ledger.harvest_request(put({"publishable_key": PK, "secret_key": SK}))
    view = json.dumps({"publishable_key": PK, "secret_key_hint": SK[:8] + "…" + SK[-4:]})
    assert ledger.check(view, RESPONSE, "the masked view") == []
    assert len(ledger.check(f"refused {SK[10:]}", RESPONSE, "an echo")) == 1


def test_a_secret_sent_in_the_publishable_field_stays_a_secret():
    ledger = Ledger()
    ledger.harvest_request(put({"publishable_key": SK, "secret_key": SK}))
    assert SK in ledger.canaries and SK not in ledger.public


def test_short_and_filler_values_are_not_harvested():
    ledger = Ledger()
    assert ledger.harvest("sk_" + "test_x", "a format test") is None
    ledger.harvest("sk_" + "test_" + "x" * 40, "a length test")
    assert ledger.check("x" * 200, LOG, "filler") == []


def test_what_the_hub_issues_may_be_in_its_answers_and_nowhere_else():
    ledger = Ledger()
    issued = "whsec_" + base64.b64encode(b"notification signing secret!").decode()
    created = httpx.Response(
        201, json={"id": "ne_1", "secret": issued}, request=httpx.Request("POST", "http://hub.test/v1/x")
    )
    assert ledger.observe_response(created) == []
    assert ledger.observe_response(created) == []  # an idempotent replay shows it again
    assert len(ledger.check(f"signing with {issued}", LOG, "a log line")) == 1
    assert len(ledger.check(issued.encode().hex(), DATABASE, "a bytea")) == 1


def test_a_vault_key_is_found_as_text_hex_and_raw_bytes():
    ledger = Ledger()
    ledger.harvest_env({"HUB_VAULT_KEYS": "k1:" + base64.urlsafe_b64encode(bytes(range(40, 72))).decode()}, "a test")
    (canary,) = ledger.canaries.values()
    assert canary.raw == bytes(range(40, 72))
    assert len(ledger.check(b"\x00page" + bytes(range(44, 62)) + b"\x00", DATABASE, "a page")) == 1
    assert len(ledger.check(bytes(range(44, 62)).hex(), DATABASE, "a hex dump")) == 1
    assert len(ledger.check(canary.value[5:25], LOG, "a log line")) == 1


def test_a_leak_is_named_after_the_secret_it_matches_best_not_every_secret_sharing_a_stretch_with_it():
    ledger = Ledger()
    first, second = ("sk_" + "test_51SharedStretchQx" + tail for tail in ("FirstKey0001", "SecondKey002"))
    ledger.harvest(first, "one")
    ledger.harvest(second, "two")
    assert [f.canary.value for f in ledger.check(f"path={first}", LOG, "a record")] == [first]
    assert {f.canary.value for f in ledger.check(f"{first} {second}", LOG, "a record")} == {first, second}


def test_key_shaped_literals_of_the_test_tree_are_harvested_the_head_of_an_f_string_is_not(tmp_path):
    source = tmp_path / "test_x.py"
    whole, head = "sk_" + "test_51LiteralKey000001", "sk_" + "test_Canary"
    source.write_text(f'KEY = "{whole}"\nMADE = f"{head}{{label}}Sk42"\n')
    ledger = Ledger()
    ledger.harvest_files([source])
    assert list(ledger.canaries) == [whole]
