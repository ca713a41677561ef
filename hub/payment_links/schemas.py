"""Request and response Structs of the payment-link routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.recurring.fields import Ref


class PaymentLinkItem(msgspec.Struct, forbid_unknown_fields=True):
    price_id: Ref
    quantity: Annotated[int, msgspec.Meta(ge=1, le=999)] = 1


class PaymentLinkCreate(msgspec.Struct, forbid_unknown_fields=True):
    line_items: Annotated[list[PaymentLinkItem], msgspec.Meta(min_length=1, max_length=20)]


class PaymentLink(msgspec.Struct):
    id: str
    provider: str
    provider_payment_link_id: str
    url: str
    active: bool
    line_items: list[PaymentLinkItem]
    created_at: datetime


class PaymentLinkList(msgspec.Struct):
    data: list[PaymentLink]
    has_more: bool
