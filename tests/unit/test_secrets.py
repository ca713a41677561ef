"""The one masking function the hub's logs, its error bodies and the Stripe plugin share."""

from __future__ import annotations

import pytest

from providers.base.secrets import mask_secrets


@pytest.mark.parametrize(
    "secret",
    [
        "sk_test_51AbcDefGhiJkl",
        "sk_live_51AbcDefGhiJkl",
        "rk_test_51AbcDefGhiJkl",
        "rk_live_51AbcDefGhiJkl",
        "pk_test_51AbcDefGhiJkl",
        "pk_live_51AbcDefGhiJkl",
        "whsec_AbC/dEf+GhI=jKl",
        "hub_ad_AbCdEfGhIjKl-mn",
        "hub_st_AbCdEfGhIjKl_mn",
        "hub_pt_AbCdEfGhIjKl-mn",
        "pub_test_AbCdEfGhIjKl",
        "prv_prod_AbCdEfGhIjKl_mn",
        "test_events_AbCdEfGhIjKl",
        "prod_integrity_AbCdEfGhIjKl",
    ],
)
def test_every_kind_of_secret_keeps_only_its_first_eight_characters(secret):
    masked = mask_secrets(f"key={secret}, then more")
    assert masked == f"key={secret[:8]}…, then more"
    assert secret[8:] not in masked


@pytest.mark.parametrize("text", ["pay_01abc", "pi_3MtwBwLkdIwHu7ix", "risk_test_value", "a hub_xx_token", "", None])
def test_ids_and_ordinary_text_pass_unchanged(text):
    assert mask_secrets(text) == (text or "")
