"""Request and response Structs of the connected-account routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from hub.payments.schemas import Metadata, ProviderName
from hub.recurring.fields import Email
from hub.text import CONTROL
from providers.base.statuses import ConnectedAccountStatusName

AccountTypeName = Literal["express", "standard", "custom"]
BusinessType = Literal["individual", "company", "non_profit", "government_entity"]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, upper case")]
#: Where the provider sends the seller back: an absolute http(s) URL without spaces or control characters.
Url = Annotated[str, msgspec.Meta(min_length=10, max_length=2048, pattern=rf"^https?://[^\s{CONTROL}]+$")]
LinkType = Literal["onboarding", "update"]


class ConnectedAccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    type: AccountTypeName = "express"
    country: Country | None = None
    email: Email | None = None
    business_type: BusinessType | None = None
    metadata: Metadata = {}
    provider: ProviderName | None = None


class Requirements(msgspec.Struct):
    """What the provider still needs of the seller, and why the account is held back, if it is."""

    currently_due: list[str]
    eventually_due: list[str]
    past_due: list[str]
    disabled_reason: str | None


class ConnectedAccount(msgspec.Struct):
    id: str
    provider: str
    #: Null only while the account's creation at the provider is unfinished (a sync finishes it).
    provider_account_id: str | None
    type: AccountTypeName
    country: str | None
    email: str | None
    business_type: str | None
    status: ConnectedAccountStatusName
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    transfers_enabled: bool
    requirements: Requirements
    metadata: Metadata
    created_at: datetime
    updated_at: datetime


class ConnectedAccountList(msgspec.Struct):
    data: list[ConnectedAccount]
    has_more: bool


class LinkCreate(msgspec.Struct, forbid_unknown_fields=True):
    return_url: Url
    refresh_url: Url
    type: LinkType = "onboarding"


class AccountLink(msgspec.Struct):
    url: str
    expires_at: datetime
    #: The kind of link made: ``onboarding`` also when an ``update`` was asked for and refused.
    type: LinkType
