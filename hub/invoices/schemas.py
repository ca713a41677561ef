"""Request and response Structs of the invoice routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.payments.schemas import Currency
from hub.recurring.fields import Description, Ref
from providers.base.statuses import InvoiceStatusName

Status = InvoiceStatusName


class Line(msgspec.Struct, forbid_unknown_fields=True):
    description: Annotated[Description, msgspec.Meta(min_length=1)]
    #: Unit amount in the currency's minor unit.
    amount: int
    quantity: Annotated[int, msgspec.Meta(ge=1, le=9999)] = 1


class InvoiceCreate(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: Ref
    currency: Currency
    items: Annotated[list[Line], msgspec.Meta(min_length=1, max_length=100)]
    days_until_due: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    #: Finalize and email the hosted page now (else it stays a draft until POST .../send).
    send: bool = False


class Invoice(msgspec.Struct):
    id: str
    provider: str
    provider_invoice_id: str
    customer_id: str
    status: str
    amount_due: int
    amount_paid: int
    currency: str
    items: list[Line]
    hosted_invoice_url: str | None
    due_date: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceList(msgspec.Struct):
    data: list[Invoice]
    has_more: bool
