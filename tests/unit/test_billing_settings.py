"""Platform billing configuration from HUB_BILLING_* and its plan list."""

from __future__ import annotations

import json

import pytest

from hub.billing.settings import DEFAULT_PLANS, load_billing_settings
from hub.settings import ConfigError

KEY = "sk_test_platformkey0000000001"
WHSEC = "whsec_platformsecret000000001"


def test_without_a_secret_key_billing_is_disabled_with_the_default_plans():
    settings = load_billing_settings({})
    assert not settings.enabled and settings.webhook_secret is None
    assert settings.plans == DEFAULT_PLANS and settings.plan("starter") is not None


def test_keys_plans_and_emulator_base_are_read_from_the_environment():
    plans = [
        {
            "id": "pro",
            "name": "Pro",
            "price": "price_123",
            "amount": 4900,
            "currency": "eur",
            "interval": "year",
            "trial_days": 14,
        }
    ]
    settings = load_billing_settings(
        {
            "HUB_BILLING_STRIPE_SECRET_KEY": KEY,
            "HUB_BILLING_STRIPE_WEBHOOK_SECRET": WHSEC,
            "HUB_BILLING_PLANS": json.dumps(plans),
            "HUB_STRIPE_API_BASE": "http://127.0.0.1:8420/",
            "HUB_BILLING_STRIPE_MAX_NETWORK_RETRIES": "1",
            "HUB_BILLING_STRIPE_TIMEOUT_SECONDS": "7.5",
        }
    )
    assert settings.enabled and settings.secret_key == KEY and settings.webhook_secret == WHSEC
    assert settings.api_base == "http://127.0.0.1:8420"
    assert settings.max_network_retries == 1 and settings.timeout_seconds == 7.5
    (plan,) = settings.plans
    assert (plan.id, plan.price, plan.amount, plan.currency, plan.interval, plan.trial_days) == (
        "pro",
        "price_123",
        4900,
        "eur",
        "year",
        14,
    )
    assert settings.plan_for_price("price_123") is plan and settings.plan("starter") is None


def test_the_repr_never_shows_the_key_or_the_webhook_secret():
    settings = load_billing_settings({"HUB_BILLING_STRIPE_SECRET_KEY": KEY, "HUB_BILLING_STRIPE_WEBHOOK_SECRET": WHSEC})
    for text in (repr(settings), str(settings)):
        assert KEY not in text and WHSEC not in text and "enabled=True" in text


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"HUB_BILLING_STRIPE_SECRET_KEY": "pk_test_notasecret"}, "HUB_BILLING_STRIPE_SECRET_KEY"),
        ({"HUB_BILLING_STRIPE_WEBHOOK_SECRET": "secret-without-prefix"}, "HUB_BILLING_STRIPE_WEBHOOK_SECRET"),
        ({"HUB_BILLING_PLANS": "not json"}, "HUB_BILLING_PLANS"),
        ({"HUB_BILLING_PLANS": "[]"}, "HUB_BILLING_PLANS"),
        ({"HUB_BILLING_STRIPE_TIMEOUT_SECONDS": "soon"}, "HUB_BILLING_STRIPE_TIMEOUT_SECONDS"),
        # A timeout below a millisecond would fail every call; a negative retry count means nothing.
        ({"HUB_BILLING_STRIPE_TIMEOUT_SECONDS": "-5"}, "HUB_BILLING_STRIPE_TIMEOUT_SECONDS"),
        ({"HUB_BILLING_STRIPE_MAX_NETWORK_RETRIES": "-1"}, "HUB_BILLING_STRIPE_MAX_NETWORK_RETRIES"),
    ],
)
def test_bad_configuration_names_the_variable_and_not_the_value(env, names):
    with pytest.raises(ConfigError) as info:
        load_billing_settings(env)
    assert names in str(info.value)
    for value in env.values():
        assert value not in str(info.value)


def _plan(**overrides):
    plan = {"id": "pro", "name": "Pro", "price": "price_1", "amount": 100, "currency": "usd", "interval": "month"}
    plan.update(overrides)
    return plan


@pytest.mark.parametrize(
    "plans",
    [
        [_plan(), _plan()],  # the same id twice
        [_plan(id="Pro Plan")],  # not a slug
        [_plan(currency="USD")],
        [_plan(interval="fortnight")],
        [_plan(amount=-1)],
        [_plan(price="")],
        [_plan(trial_days=0)],
        [{**_plan(), "unknown": 1}],
        [{k: v for k, v in _plan().items() if k != "price"}],
    ],
)
def test_an_invalid_plan_list_stops_start_up(plans):
    with pytest.raises(ConfigError, match="HUB_BILLING_PLANS"):
        load_billing_settings({"HUB_BILLING_PLANS": json.dumps(plans)})
