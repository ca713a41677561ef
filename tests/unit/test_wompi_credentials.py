"""Wompi's four credentials: formats, one environment for all four, nothing secret in a repr."""

from __future__ import annotations

import pickle

import pytest

from providers.base.errors import CredentialsFormatError, ModeMismatch
from providers.base.types import CredentialsInput
from providers.wompi.credentials import parse_credentials

PUB, PRV = "pub_test_Canary0PublicKey01", "prv_test_Canary0PrivateKey1"
EVENTS, INTEGRITY = "test_events_Canary0Events01", "test_integrity_Canary0Integrity1"


def raw(**change: str) -> CredentialsInput:
    fields = {"public_key": PUB, "private_key": PRV, "events_secret": EVENTS, "integrity_secret": INTEGRITY, **change}
    return CredentialsInput(
        publishable_key=fields["public_key"],
        secret_key=fields["private_key"],
        webhook_secret=fields["events_secret"],
        extra={"integrity_secret": fields["integrity_secret"]},
    )


def test_four_test_credentials_parse_with_a_hint_and_nothing_secret_shown():
    creds = parse_credentials(raw())
    assert (creds.mode, creds.public_key, creds.private_key) == ("test", PUB, PRV)
    assert creds.events_secrets == (EVENTS,) and creds.integrity_secret == INTEGRITY
    assert creds.secret_hint() == "prv_test_…Key1"
    for shown in (repr(creds), str(creds)):
        assert PRV not in shown and EVENTS not in shown and INTEGRITY not in shown
    with pytest.raises(TypeError):
        pickle.dumps(creds)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_key", "pk_test_Canary0PublicKey01"),
        ("private_key", "prv_live_Canary0PrivateKey1"),
        ("events_secret", "whsec_Canary0Events01"),
        ("integrity_secret", ""),
    ],
)
def test_a_malformed_field_is_named(field, value):
    with pytest.raises(CredentialsFormatError) as caught:
        parse_credentials(raw(**{field: value}))
    assert caught.value.param == field and (not value or value not in caught.value.message)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("private_key", "prv_prod_Canary0PrivateKey1"),
        ("events_secret", "prod_events_Canary0Events01"),
        ("integrity_secret", "prod_integrity_Canary0Integrity1"),
    ],
)
def test_sandbox_and_production_credentials_never_mix(field, value):
    with pytest.raises(ModeMismatch) as caught:
        parse_credentials(raw(**{field: value}))
    assert caught.value.param == field


def test_a_previous_events_secret_verifies_during_its_roll_over():
    creds = parse_credentials(
        CredentialsInput(
            publishable_key=PUB,
            secret_key=PRV,
            webhook_secret=EVENTS,
            previous_webhook_secret="test_events_Canary0Previous1",
            extra={"integrity_secret": INTEGRITY},
        )
    )
    assert creds.events_secrets == (EVENTS, "test_events_Canary0Previous1")
