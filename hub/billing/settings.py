"""Platform billing configuration, read from ``HUB_BILLING_*`` (and ``HUB_STRIPE_API_BASE``).

Kept apart from ``hub.settings.Settings`` on purpose: the tenant side never sees the
platform's own Stripe key, and billing never needs the vault or tenant credentials.
Without ``HUB_BILLING_STRIPE_SECRET_KEY`` billing is disabled and its routes answer 503.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import msgspec

from hub.settings import ConfigError, env_number
from providers.base.statuses import Interval

_PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CURRENCY = re.compile(r"^[a-z]{3}$")
INTERVALS = tuple(Interval)
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


class BillingPlan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A plan the platform sells. ``price`` is the Stripe recurring Price (or legacy Plan) id."""

    id: str
    name: str
    price: str
    amount: int
    currency: str
    interval: str
    trial_days: int | None = None


# Plan ids, not Price ids: Stripe lets the platform choose a Plan's id, and a Plan id is
# accepted wherever a Price id is, so these can be created as written (see docs/billing.md).
DEFAULT_PLANS: tuple[BillingPlan, ...] = (
    BillingPlan(
        id="starter", name="Starter", price="hub_starter_monthly", amount=2900, currency="usd", interval="month"
    ),
    BillingPlan(id="growth", name="Growth", price="hub_growth_monthly", amount=9900, currency="usd", interval="month"),
)


class BillingSettings(msgspec.Struct, frozen=True):
    secret_key: str | None = None
    webhook_secret: str | None = None
    plans: tuple[BillingPlan, ...] = DEFAULT_PLANS
    api_base: str | None = None
    timeout_seconds: float = 20.0
    max_network_retries: int = 2

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    def plan(self, plan_id: str) -> BillingPlan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def plan_for_price(self, price: str | None) -> BillingPlan | None:
        return next((p for p in self.plans if p.price == price), None) if price else None

    def __repr__(self) -> str:  # the key and the signing secret never reach a log line
        return (
            f"BillingSettings(enabled={self.enabled}, webhook_secret_set={bool(self.webhook_secret)}, "
            f"plans={[p.id for p in self.plans]!r}, api_base={self.api_base!r})"
        )

    __str__ = __repr__


def parse_plans(raw: str) -> tuple[BillingPlan, ...]:
    """Parse and check ``HUB_BILLING_PLANS`` (a JSON list of plans)."""
    try:
        plans = msgspec.json.decode(raw.encode(), type=tuple[BillingPlan, ...])
    except msgspec.DecodeError as exc:
        raise ConfigError(f"HUB_BILLING_PLANS is not a JSON list of plans: {exc}") from None
    if not plans:
        raise ConfigError("HUB_BILLING_PLANS holds no plan")
    seen: set[str] = set()
    for plan in plans:
        where = f"HUB_BILLING_PLANS plan {plan.id!r}"
        if not _PLAN_ID.match(plan.id):
            raise ConfigError(f"{where}: id must be 1-64 chars of a-z, 0-9, '_' or '-'")
        if plan.id in seen:
            raise ConfigError(f"{where} is listed twice")
        seen.add(plan.id)
        if not plan.name.strip() or not plan.price.strip():
            raise ConfigError(f"{where}: name and price must not be empty")
        if plan.amount < 0:
            raise ConfigError(f"{where}: amount must be a non-negative integer in minor units")
        if not _CURRENCY.match(plan.currency):
            raise ConfigError(f"{where}: currency must be a lowercase ISO code such as 'usd'")
        if plan.interval not in INTERVALS:
            raise ConfigError(f"{where}: interval must be one of {', '.join(INTERVALS)}")
        if plan.trial_days is not None and not 1 <= plan.trial_days <= 730:
            raise ConfigError(f"{where}: trial_days must be between 1 and 730")
    return plans


def load_billing_settings(environ: Mapping[str, str] | None = None) -> BillingSettings:
    env = os.environ if environ is None else environ
    secret_key = env.get("HUB_BILLING_STRIPE_SECRET_KEY", "").strip() or None
    webhook_secret = env.get("HUB_BILLING_STRIPE_WEBHOOK_SECRET", "").strip() or None
    # Messages name the variable and the expected prefix, never the value.
    if secret_key and not secret_key.startswith(SECRET_KEY_PREFIXES):
        raise ConfigError("HUB_BILLING_STRIPE_SECRET_KEY must start with sk_test_, sk_live_, rk_test_ or rk_live_")
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        raise ConfigError("HUB_BILLING_STRIPE_WEBHOOK_SECRET must start with whsec_")
    plans_raw = env.get("HUB_BILLING_PLANS", "").strip()

    return BillingSettings(
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        plans=parse_plans(plans_raw) if plans_raw else DEFAULT_PLANS,
        api_base=(env.get("HUB_STRIPE_API_BASE", "").strip().rstrip("/") or None),
        timeout_seconds=env_number(env, "HUB_BILLING_STRIPE_TIMEOUT_SECONDS", 20.0, float, 0.001),
        max_network_retries=env_number(env, "HUB_BILLING_STRIPE_MAX_NETWORK_RETRIES", 2, int, 0),
    )
