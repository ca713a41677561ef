"""Money rules (Stripe's minimums and currency exponents): checked before any provider call."""

from __future__ import annotations

import pytest

from hub.errors import ValidationFailed
from hub.payments.money import MAXIMUM, check_amount, exponent, normalize_currency


def refused(amount: int, currency: str) -> tuple[str, str | None]:
    with pytest.raises(ValidationFailed) as info:
        check_amount(amount, currency)
    return info.value.code, info.value.param


@pytest.mark.parametrize(
    "currency,least",
    [
        ("usd", 50),
        ("eur", 50),
        ("gbp", 30),
        ("jpy", 50),
        ("krw", 50),
        ("hkd", 400),
        ("huf", 17500),
        ("dkk", 250),
        ("mxn", 1000),
        ("cop", 200000),
        ("pln", 200),
    ],
)
def test_stripe_minimum_charge_per_currency_is_enforced(currency, least):
    check_amount(least, currency)
    assert refused(least - 1, currency) == ("amount_too_small", "amount")


def test_eight_digits_is_the_maximum():
    check_amount(MAXIMUM, "usd")
    assert refused(MAXIMUM + 1, "usd") == ("amount_too_large", "amount")


@pytest.mark.parametrize("amount", [0, -100])
def test_zero_and_negative_amounts_are_too_small(amount):
    assert refused(amount, "usd") == ("amount_too_small", "amount")


def test_three_decimal_currencies_must_end_in_zero():
    check_amount(1230, "kwd")
    assert refused(1235, "kwd") == ("validation_error", "amount")
    assert exponent("bhd") == 3


@pytest.mark.parametrize("currency", ["isk", "ugx"])
def test_isk_and_ugx_must_be_whole_hundreds(currency):
    check_amount(10000, currency)
    assert refused(10050, currency) == ("validation_error", "amount")


def test_zero_decimal_currencies_have_exponent_zero():
    assert exponent("jpy") == 0 and exponent("usd") == 2


def test_currency_is_normalized_and_unknown_ones_are_unsupported():
    assert normalize_currency(" USD ") == "usd"
    with pytest.raises(ValidationFailed) as info:
        normalize_currency("xyz")
    assert (info.value.code, info.value.param, info.value.status) == ("unsupported_currency", "currency", 422)


def test_a_different_param_is_named_for_line_items():
    with pytest.raises(ValidationFailed) as info:
        check_amount(0, "usd", param="line_items.0.unit_amount")
    assert info.value.param == "line_items.0.unit_amount"
