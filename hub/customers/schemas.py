"""Request and response Structs of the customer and saved-payment-method routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.payments.schemas import Customer, Metadata, ProviderName
from hub.recurring.fields import Email, Ref
from hub.text import PLAIN

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PLAIN)]


class CustomerCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email | None = None
    name: Name | None = None
    metadata: Metadata = {}
    provider: ProviderName | None = None


class CustomerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Absent fields stay as they are; ``metadata`` replaces the customer's whole set."""

    email: Email | None = None
    name: Name | None = None
    metadata: Metadata | None = None


class CustomerList(msgspec.Struct):
    data: list[Customer]
    has_more: bool


class SetupIntentCreate(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: Ref


class SetupIntent(msgspec.Struct):
    id: str
    provider: str
    provider_setup_intent_id: str
    customer_id: str
    status: str
    client_secret: str | None
    publishable_key: str | None
    created_at: datetime


class Card(msgspec.Struct):
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


class PaymentMethod(msgspec.Struct, omit_defaults=True):
    id: str
    type: str
    card: Card | None = None


class PaymentMethodList(msgspec.Struct):
    data: list[PaymentMethod]


__all__ = [
    "Card",
    "Customer",
    "CustomerCreate",
    "CustomerList",
    "CustomerUpdate",
    "PaymentMethod",
    "PaymentMethodList",
    "SetupIntent",
    "SetupIntentCreate",
]
