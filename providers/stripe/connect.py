"""Stripe Connect: the tenant's sellers as connected accounts, their onboarding links, and
``account.*`` events read into neutral facts.

Express accounts (the default) and Custom ones are created with the ``card_payments`` and
``transfers`` capabilities requested; Standard accounts manage their own. An account's news is
believed only from an event the Connect endpoint's secret verified and that names the account
it carries (``account``): Stripe sends connected-account events only to an endpoint made with
``connect=true``, so the same event type under the account's own secret is the platform's own
account, or not Stripe at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.base.connect import (
    AccountLink,
    AccountRequirements,
    AccountType,
    ConnectedAccountCreate,
    ConnectedAccountSnapshot,
    LinkKind,
)
from providers.base.webhooks import ProviderEvent
from providers.stripe import wire
from providers.stripe.errors import stripe_errors

if TYPE_CHECKING:
    from providers.base.provider import TenantContext
    from providers.stripe.host import StripeHost

#: The events of connected accounts the hub's Connect endpoint subscribes to (``transfer.*`` and
#: ``payout.*`` are wildcards Stripe accepts in ``enabled_events``).
CONNECT_EVENTS = ("account.application.deauthorized", "account.updated", "payout.*", "transfer.*")
#: Events that carry a connected account as their object.
ACCOUNT_EVENTS = ("account.updated",)
_TYPES: tuple[AccountType, ...] = ("express", "standard", "custom")
_LINK_TYPES: dict[LinkKind, Any] = {"onboarding": "account_onboarding", "update": "account_update"}


class Requirements(wire.Wire):
    currently_due: list[str] | None = None
    eventually_due: list[str] | None = None
    past_due: list[str] | None = None
    disabled_reason: str | None = None


class Account(wire.Wire):
    id: wire.Id
    type: str | None = None
    country: str | None = None
    email: str | None = None
    business_type: str | None = None
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    capabilities: dict[str, str] = {}
    requirements: Requirements | None = None
    metadata: wire.Metadata = {}


class Link(wire.Wire):
    url: str
    expires_at: int


class ConnectEvent(wire.Event):
    #: The connected account the event is about (absent on the platform's own events).
    account: str | None = None


def account_from_stripe(obj: object) -> ConnectedAccountSnapshot:
    account = wire.decode(obj, Account)
    if account.type not in _TYPES:
        raise wire.FieldError(f"`type` of the Account: not one of {', '.join(_TYPES)}")
    req = account.requirements or Requirements()
    return ConnectedAccountSnapshot(
        provider_account_id=account.id,
        type=account.type,  # checked against _TYPES above
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        transfers_enabled=account.capabilities.get("transfers") == "active",
        requirements=AccountRequirements(
            currently_due=tuple(req.currently_due or ()),
            eventually_due=tuple(req.eventually_due or ()),
            past_due=tuple(req.past_due or ()),
            disabled_reason=req.disabled_reason,
        ),
        country=account.country,
        email=account.email,
        business_type=account.business_type,
        metadata=dict(account.metadata),
    )


def connect_event(body: object, *, via_connect: bool) -> ProviderEvent | None:
    """The facts of a connected-account event; None for an event that is not about accounts.

    ``via_connect``: the Connect endpoint's secret verified it. Only then, and only when the
    account it carries is the one it names, does it tell the hub anything; otherwise it is kept
    with no facts (it changes nothing).
    """
    if not via_connect and not _account_type(body):
        return None
    event = wire.decode(body, ConnectEvent)
    bare = ProviderEvent(provider_event_id=event.id, type=event.type, created=event.created)
    if not via_connect or event.type not in ACCOUNT_EVENTS:
        return bare
    snapshot = account_from_stripe(event.data.object)
    if event.account != snapshot.provider_account_id:
        return bare
    meta = snapshot.metadata
    return ProviderEvent(
        provider_event_id=event.id,
        type=event.type,
        created=event.created,
        hub_tenant_id=meta.get("hub_tenant_id"),
        hub_object_id=meta.get("hub_account_id"),
        connected_account=snapshot,
    )


def _account_type(body: object) -> bool:
    return isinstance(body, dict) and str(body.get("type", "")).startswith("account.")


class StripeConnect:
    """Mixed into StripeProvider; uses ``self.client(ctx)`` for the tenant's StripeClient."""

    async def create_connected_account(
        self: StripeHost, ctx: TenantContext, data: ConnectedAccountCreate, *, idempotency_key: str
    ) -> ConnectedAccountSnapshot:
        params: Any = {"type": data.type, "metadata": dict(data.metadata)}
        if data.type != "standard":
            params["capabilities"] = {"card_payments": {"requested": True}, "transfers": {"requested": True}}
        for name in ("country", "email", "business_type"):
            value = getattr(data, name)
            if value is not None:
                params[name] = value
        with stripe_errors():
            account = await self.client(ctx).v1.accounts.create_async(params, {"idempotency_key": idempotency_key})
        return account_from_stripe(account)

    async def retrieve_connected_account(
        self: StripeHost, ctx: TenantContext, provider_account_id: str
    ) -> ConnectedAccountSnapshot:
        with stripe_errors():
            account = await self.client(ctx).v1.accounts.retrieve_async(provider_account_id)
        return account_from_stripe(account)

    async def create_account_link(
        self: StripeHost,
        ctx: TenantContext,
        provider_account_id: str,
        *,
        kind: LinkKind,
        refresh_url: str,
        return_url: str,
        idempotency_key: str,
    ) -> AccountLink:
        params: Any = {
            "account": provider_account_id,
            "type": _LINK_TYPES[kind],
            "refresh_url": refresh_url,
            "return_url": return_url,
        }
        with stripe_errors():
            made = await self.client(ctx).v1.account_links.create_async(params, {"idempotency_key": idempotency_key})
        link = wire.decode(made, Link)
        return AccountLink(url=link.url, expires_at=link.expires_at, kind=kind)
