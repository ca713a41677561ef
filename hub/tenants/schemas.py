"""Request and response Structs of the tenant and API-key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class TenantKeys(msgspec.Struct):
    admin: str
    storefront: str


class Tenant(msgspec.Struct):
    id: str
    name: str
    status: str
    created_at: datetime
    webhook_url: str


class TenantCreated(msgspec.Struct):
    id: str
    name: str
    status: str
    created_at: datetime
    webhook_url: str
    api_keys: TenantKeys


class TenantList(msgspec.Struct):
    data: list[Tenant]
    has_more: bool


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    scope: Literal["admin", "storefront"]


class ApiKeyCreated(msgspec.Struct):
    id: str
    scope: str
    key: str
    created_at: datetime


class ApiKey(msgspec.Struct):
    id: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyList(msgspec.Struct):
    data: list[ApiKey]
