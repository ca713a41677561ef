"""Stripe's typed credentials: key formats, the test/live rule, and masked representations."""

from __future__ import annotations

import pickle

import pytest

from providers.base.errors import CredentialsFormatError, ModeMismatch
from providers.base.types import CredentialsInput
from providers.stripe.credentials import StripeCredentials, parse_credentials

PK, SK, WH = "pk_test_51Publishable0001", "sk_test_51SecretKeyValue9876", "whsec_WebhookSigningSecret01"


def parse(**over) -> StripeCredentials:
    fields = {"publishable_key": PK, "secret_key": SK, "webhook_secret": WH, **over}
    return parse_credentials(CredentialsInput(**fields))


@pytest.mark.parametrize(
    ("pk", "sk", "mode"),
    [
        (PK, SK, "test"),
        (PK, "rk_test_51Restricted00001", "test"),
        ("pk_live_51Publishable0001", "sk_live_51SkValue9876", "live"),
        ("pk_live_51Publishable0001", "rk_live_51Restrict01", "live"),
    ],
)
def test_valid_keys_parse_with_their_mode(pk, sk, mode):
    creds = parse(publishable_key=pk, secret_key=sk)
    assert creds.mode == mode and creds.publishable_key == pk and creds.secret_key == sk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("publishable_key", SK),
        ("publishable_key", "pk_demo_51Publishable0001"),
        ("publishable_key", "pk_test_1"),
        ("secret_key", PK),
        ("secret_key", WH),
        ("secret_key", "sk_test_"),
        ("secret_key", "sk_test_abc-def-ghij"),
        ("secret_key", "xsk_test_51SecretKeyValue9876"),
        ("webhook_secret", SK),
        ("webhook_secret", "whsec_"),
    ],
)
def test_wrong_format_names_the_field_and_never_echoes_the_value(field, value):
    with pytest.raises(CredentialsFormatError) as info:
        parse(**{field: value})
    assert info.value.param == field and info.value.code == "validation_error"
    assert value not in str(info.value) or len(value) <= 9


def test_format_is_checked_before_mode():
    # A malformed field is the more precise answer than a mode mix-up.
    with pytest.raises(CredentialsFormatError):
        parse(publishable_key="pk_live_51Publishable0001", secret_key="sk_test_")


@pytest.mark.parametrize(
    ("pk", "sk"), [("pk_live_51Publishable0001", SK), (PK, "sk_live_51SkValue9876"), (PK, "rk_live_51Restrict01")]
)
def test_test_and_live_mixed_is_a_mode_mismatch(pk, sk):
    with pytest.raises(ModeMismatch) as info:
        parse(publishable_key=pk, secret_key=sk)
    assert info.value.code == "mode_mismatch" and sk not in str(info.value)


def test_surrounding_whitespace_is_stripped():
    creds = parse(publishable_key=f" {PK}\n", secret_key=f"\t{SK} ", webhook_secret=f"{WH}\r\n")
    assert (creds.publishable_key, creds.secret_key, creds.webhook_secrets) == (PK, SK, (WH,))


def test_previous_webhook_secret_comes_after_the_current_one():
    raw = CredentialsInput(
        publishable_key=PK, secret_key=SK, webhook_secret=WH, previous_webhook_secret="whsec_PreviousSecret0000001"
    )
    assert parse_credentials(raw).webhook_secrets == (WH, "whsec_PreviousSecret0000001")


def test_secret_hint_shows_the_prefix_and_last_four_only():
    assert parse().secret_hint() == "sk_test_…9876"
    assert parse(secret_key="rk_test_51Restricted00001").secret_hint() == "rk_test_…0001"


def test_repr_str_and_pickle_never_show_the_secrets():
    creds = parse()
    for text in (
        repr(creds),
        str(creds),
        f"{creds}",
        repr(CredentialsInput(publishable_key=PK, secret_key=SK, webhook_secret=WH)),
    ):
        assert SK not in text and WH not in text and SK[8:] not in text
    with pytest.raises(TypeError):
        pickle.dumps(creds)
