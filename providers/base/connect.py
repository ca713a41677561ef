"""Neutral connected-account (marketplace seller) types, and that part of the provider contract.

A tenant that runs a marketplace has its sellers as connected accounts at its provider (Stripe
Connect). Every method has a default that raises ``NotSupported``, so a plugin without such
accounts keeps serving payments; the hub answers 422 ``not_supported`` for these routes then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from providers.base.errors import NotSupported

if TYPE_CHECKING:  # the Provider module imports this one
    from providers.base.provider import TenantContext

AccountType = Literal["express", "standard", "custom"]
LinkKind = Literal["onboarding", "update"]
#: The longest gateway id or requirement name an account may carry (the hub's column widths).
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Short = Annotated[str, msgspec.Meta(max_length=255)]


class ConnectedAccountCreate(msgspec.Struct, frozen=True):
    type: AccountType
    country: str | None = None
    email: str | None = None
    business_type: str | None = None
    #: Carries ``hub_tenant_id`` and ``hub_account_id``.
    metadata: dict[str, str] = {}


class AccountRequirements(msgspec.Struct, frozen=True):
    """What the provider still needs of the seller, and why the account is held back, if it is."""

    currently_due: tuple[Short, ...] = ()
    eventually_due: tuple[Short, ...] = ()
    past_due: tuple[Short, ...] = ()
    #: The provider's reason the account cannot take charges or receive payouts (Stripe: values
    #: starting ``rejected.`` mean refused for good); None when nothing holds it back.
    disabled_reason: Short | None = None


class ConnectedAccountSnapshot(msgspec.Struct, frozen=True):
    """A connected account as the provider reports it now (an API answer or an event's object)."""

    provider_account_id: Ident
    type: AccountType
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    #: Whether it may receive transfers (Stripe: its ``transfers`` capability is active).
    transfers_enabled: bool
    requirements: AccountRequirements
    country: Short | None = None
    email: Short | None = None
    business_type: Short | None = None
    metadata: dict[str, str] = {}


class AccountLink(msgspec.Struct, frozen=True):
    """A single-use link where the seller gives the provider its details; it expires in minutes."""

    url: str
    #: Epoch seconds.
    expires_at: int
    kind: LinkKind


class ConnectAPI:
    """Connected accounts a provider offers (Stripe Connect)."""

    async def create_connected_account(
        self, ctx: TenantContext, data: ConnectedAccountCreate, *, idempotency_key: str
    ) -> ConnectedAccountSnapshot:
        """Create a seller's account under the tenant's platform account."""
        raise NotSupported(f"{type(self).__name__} has no connected accounts")

    async def retrieve_connected_account(
        self, ctx: TenantContext, provider_account_id: str
    ) -> ConnectedAccountSnapshot:
        """The account as the provider has it now."""
        raise NotSupported(f"{type(self).__name__} has no connected accounts")

    async def create_account_link(
        self,
        ctx: TenantContext,
        provider_account_id: str,
        *,
        kind: LinkKind,
        refresh_url: str,
        return_url: str,
        idempotency_key: str,
    ) -> AccountLink:
        """A link for the seller to onboard (or update its details). Raises ``InvalidRequest`` when
        the provider refuses that kind of link for the account (an update before onboarding)."""
        raise NotSupported(f"{type(self).__name__} has no connected accounts")
