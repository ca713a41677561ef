"""Amounts as a person reads and types them: major units with the currency's own decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hub.payments.money import exponent


def major(amount: int, currency: str) -> str:
    """2000 usd -> '20.00'; 500 jpy -> '500'; 1500 kwd -> '1.500'."""
    exp = exponent(currency)
    return f"{Decimal(amount).scaleb(-exp):.{exp}f}"


def minor(text: str, currency: str) -> int | None:
    """'20.00' usd -> 2000; None when the text is not an amount with at most the currency's decimals."""
    cleaned = text.strip().replace(",", "")
    if not cleaned or len(cleaned) > 20:
        return None
    try:
        value = Decimal(cleaned).scaleb(exponent(currency))
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value() or value <= 0:
        return None
    return int(value)
