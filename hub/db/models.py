"""Every table of the hub, imported in one place so Alembic and the drift test see them all."""

from hub.db.base import Base
from hub.db.billing import BillingCustomer, BillingEvent, BillingSubscription
from hub.db.connect import ConnectedAccount
from hub.db.console import ConsoleSession
from hub.db.events import WebhookEvent
from hub.db.idempotency import IdempotencyRecord
from hub.db.notifications import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEndpoint,
    NotificationMessage,
)
from hub.db.payments import CheckoutSession, Customer, Payment, Refund, Transfer, TransferReversal
from hub.db.recurring import Invoice, PaymentLink, Price, Product, SetupIntent, Subscription
from hub.db.tenants import ApiKey, AuditEntry, Tenant
from hub.db.vault import ProviderCredential, TenantDataKey

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "BillingCustomer",
    "BillingEvent",
    "BillingSubscription",
    "CheckoutSession",
    "ConnectedAccount",
    "ConsoleSession",
    "Customer",
    "IdempotencyRecord",
    "Invoice",
    "NotificationAttempt",
    "NotificationDelivery",
    "NotificationEndpoint",
    "NotificationMessage",
    "Payment",
    "PaymentLink",
    "Price",
    "Product",
    "ProviderCredential",
    "Refund",
    "SetupIntent",
    "Subscription",
    "Tenant",
    "TenantDataKey",
    "Transfer",
    "TransferReversal",
    "WebhookEvent",
]
