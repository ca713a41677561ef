"""HUB_NOTIFY_*: the retry schedule, the endpoint timeout, private addresses allowed in dev only, and
a tenant's share of a worker's sends."""

from __future__ import annotations

import pytest

from hub.settings import ConfigError, load_notify_settings


def test_defaults_follow_the_documented_schedule_and_allow_private_urls_only_in_dev():
    dev, prod = load_notify_settings({}, "dev"), load_notify_settings({}, "prod")
    assert dev.retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert dev.timeout_seconds == 15
    assert (dev.allow_private_urls, prod.allow_private_urls) == (True, False)


def test_variables_override_the_defaults():
    env = {
        "HUB_NOTIFY_RETRY_SCHEDULE": "0.5, 2,10",
        "HUB_NOTIFY_TIMEOUT_SECONDS": "3",
        "HUB_NOTIFY_ALLOW_PRIVATE_URLS": "1",
    }
    settings = load_notify_settings(env, "prod")
    assert (settings.retry_schedule, settings.timeout_seconds, settings.allow_private_urls) == ((0.5, 2, 10), 3, True)
    assert load_notify_settings({"HUB_NOTIFY_ALLOW_PRIVATE_URLS": "0"}, "dev").allow_private_urls is False


def test_a_tenants_share_is_a_quarter_of_the_sends_unless_set_and_never_more_than_all_of_them():
    assert load_notify_settings({}, "dev").per_tenant == 8
    assert load_notify_settings({"HUB_NOTIFY_CONCURRENCY": "100"}, "dev").per_tenant == 25
    assert load_notify_settings({"HUB_NOTIFY_CONCURRENCY": "3"}, "dev").per_tenant == 1
    assert load_notify_settings({"HUB_NOTIFY_PER_TENANT": "12"}, "dev").per_tenant == 12
    with pytest.raises(ConfigError, match="HUB_NOTIFY_PER_TENANT"):
        load_notify_settings({"HUB_NOTIFY_CONCURRENCY": "4", "HUB_NOTIFY_PER_TENANT": "5"}, "dev")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_NOTIFY_RETRY_SCHEDULE", "5,soon"),
        ("HUB_NOTIFY_RETRY_SCHEDULE", "5,-1"),
        ("HUB_NOTIFY_RETRY_SCHEDULE", "5,,6"),
        ("HUB_NOTIFY_RETRY_SCHEDULE", "inf"),
        ("HUB_NOTIFY_TIMEOUT_SECONDS", "0"),
        ("HUB_NOTIFY_ALLOW_PRIVATE_URLS", "maybe"),
        ("HUB_NOTIFY_PER_TENANT", "0"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_notify_settings({name: value}, "dev")
