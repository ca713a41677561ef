"""Money rules checked before a provider is called: currency, exponent, Stripe's minimum and maximum.

Amounts are integers in the unit the provider's API uses (docs/api.md); the tables below are
Stripe's minimum charges and currency exponents, the rules every supported provider is held to today.
"""

from __future__ import annotations

from hub.errors import ValidationFailed

#: Currencies Stripe settles in; anything else is refused as unsupported_currency.
SUPPORTED = frozenset(
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd "
    "cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd "
    "hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad "
    "mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln "
    "pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sll sos srd std szl thb tjs tnd top try ttd twd "
    "tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw".split()
)

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
#: Sent to Stripe as two-decimal amounts that must be whole units (multiples of 100).
WHOLE_HUNDREDS = frozenset({"isk", "ugx"})

#: Stripe's minimum charge, in the API's minor units.
MINIMUM = {
    **dict.fromkeys(("usd", "eur", "aud", "cad", "nzd", "sgd", "chf", "inr"), 50),
    "gbp": 30,
    "jpy": 50,
    "krw": 50,
    "hkd": 400,
    "huf": 17500,
    "czk": 1500,
    "dkk": 250,
    "nok": 300,
    "sek": 300,
    "mxn": 1000,
    "thb": 1000,
    **dict.fromkeys(("pln", "ron", "aed", "myr"), 200),
    "cop": 200000,
}

#: Eight digits: the most Stripe accepts for most payment methods.
MAXIMUM = 99_999_999


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def normalize_currency(raw: str, *, param: str = "currency") -> str:
    currency = raw.strip().lower()
    if currency not in SUPPORTED:
        raise ValidationFailed(f"{raw!r} is not a supported currency", code="unsupported_currency", param=param)
    return currency


def check_amount(
    amount: int,
    currency: str,
    *,
    param: str = "amount",
    minimum: bool = True,
    minimums: tuple[tuple[str, int], ...] | None = None,
) -> None:
    """Refuse an amount Stripe would refuse, naming ``param``; ``currency`` is already normalized.
    ``minimums``: the provider's own minimum per currency instead of Stripe's (``Capabilities``)."""
    if amount <= 0:
        raise ValidationFailed(
            "amount must be a positive integer in the currency's minor unit", code="amount_too_small", param=param
        )
    if amount > MAXIMUM:
        raise ValidationFailed(f"amount must be at most {MAXIMUM} minor units", code="amount_too_large", param=param)
    if currency in WHOLE_HUNDREDS and amount % 100:
        raise ValidationFailed(f"{currency.upper()} amounts are two-decimal and must be a multiple of 100", param=param)
    if currency in THREE_DECIMAL and amount % 10:
        raise ValidationFailed(f"{currency.upper()} amounts must end in 0 (three-decimal currency)", param=param)
    table = MINIMUM if minimums is None else dict(minimums)
    least = table.get(currency, 1) if minimum else 1
    if amount < least:
        raise ValidationFailed(
            f"amount must be at least {least} minor units of {currency.upper()}", code="amount_too_small", param=param
        )
