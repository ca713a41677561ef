"""Request and response Structs of the catalogue routes (products and their prices)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.payments.schemas import Currency, Metadata, ProviderName
from hub.recurring.fields import Description, Name, Ref
from providers.base.statuses import IntervalName

Interval = IntervalName


class ProductCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description | None = None
    metadata: Metadata = {}
    provider: ProviderName | None = None


class Product(msgspec.Struct):
    id: str
    provider: str
    provider_product_id: str
    name: str
    description: str | None
    active: bool
    metadata: Metadata
    created_at: datetime


class ProductList(msgspec.Struct):
    data: list[Product]
    has_more: bool


class Recurring(msgspec.Struct, forbid_unknown_fields=True):
    interval: Interval
    # Stripe's bound: at most one year between charges (e.g. 12 months, 52 weeks).
    interval_count: Annotated[int, msgspec.Meta(ge=1, le=365)] = 1


class PriceCreate(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Ref
    currency: Currency
    unit_amount: int
    recurring: Recurring | None = None


class Price(msgspec.Struct):
    id: str
    provider: str
    provider_price_id: str
    product_id: str
    currency: str
    unit_amount: int
    recurring: Recurring | None
    active: bool
    created_at: datetime


class PriceList(msgspec.Struct):
    data: list[Price]
    has_more: bool
