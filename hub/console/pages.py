"""What the console's pages show: plain dicts for the templates, amounts in major units, messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.console.money import major, minor
from hub.credentials import schemas as credential_schemas
from hub.credentials import service as credentials
from hub.db.events import WebhookEvent
from hub.db.ids import well_formed_id
from hub.db.pages import newest_first
from hub.errors import HubError
from hub.payments import schemas
from hub.payments.refunds import REFUNDABLE
from hub.payments.service import CANCELABLE
from hub.payments.status import STATUSES
from hub.services import Services
from hub.tenancy.loader import CredentialsMissing
from providers.base.errors import ProviderError
from providers.base.statuses import PaymentStatus, RefundStatus

#: The buttons follow the payments module's own rules, so the console never offers what the API refuses.
PAYMENT_STATUSES = STATUSES

#: What a shop owner reads for the provider's error codes (the code itself is shown beside it).
_MESSAGES = {
    "invalid_credentials": (
        "Stripe did not accept this key. Copy it again from the Stripe Dashboard (Developers > API keys)."
    ),
    "mode_mismatch": "The publishable key and the secret key must both be test keys or both be live keys.",
    "provider_unavailable": "Stripe could not be reached. Try again in a moment.",
    "card_declined": "The card was declined.",
}


#: Payment statuses as a shop owner says them (the API's words stay in the filter's values).
STATUS_LABELS: dict[str, str] = {
    PaymentStatus.REQUIRES_PAYMENT_METHOD: "Awaiting a payment method",
    PaymentStatus.REQUIRES_CONFIRMATION: "Awaiting confirmation",
    PaymentStatus.REQUIRES_ACTION: "Awaiting the customer",
    PaymentStatus.PROCESSING: "Processing",
    PaymentStatus.REQUIRES_CAPTURE: "Authorised, awaiting capture",
    PaymentStatus.SUCCEEDED: "Paid",
    PaymentStatus.CANCELED: "Canceled",
    PaymentStatus.FAILED: "Failed",
    PaymentStatus.PARTIALLY_REFUNDED: "Partially refunded",
    PaymentStatus.REFUNDED: "Refunded",
}
REFUND_LABELS: dict[str, str] = {
    RefundStatus.PENDING: "Pending",
    RefundStatus.REQUIRES_ACTION: "Awaiting the customer",
    RefundStatus.SUCCEEDED: "Refunded",
    RefundStatus.FAILED: "Failed",
    RefundStatus.CANCELED: "Canceled",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def when(value: datetime | None) -> str:
    """Every time on every page: one format, in UTC, saying so (naive times are the database's UTC)."""
    if value is None:
        return "never"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def object_link(object_id: str | None) -> str | None:
    """The console page of the object an event is about: payments have one; other objects do not."""
    if well_formed_id(object_id, "pay"):
        return f"/console/payments/{object_id}"
    return None


def register_filters(engine: Any) -> None:
    """The template filters the console's pages use (``TemplateConfig.engine_callback``)."""
    engine.engine.filters.update(when=when, status_label=status_label)


def check_result(check: credential_schemas.HealthCheck) -> dict[str, Any]:
    """The health-check as the Stripe page shows it: the key, then the webhook's advice."""
    return {
        "ok": check.ok,
        "key_ok": check.error is None,
        "latency_ms": check.latency_ms,
        "error": _MESSAGES.get(check.error, check.error) if check.error else None,
        "mode": check.mode,
        "advice": [{"message": a.message, "repair": a.repair} for a in check.webhook.advice],
        "can_repair": any(a.repair for a in check.webhook.advice),
    }


def check_failed(message: str) -> dict[str, Any]:
    return {"ok": False, "key_ok": False, "latency_ms": None, "error": message, "mode": None, "advice": []}


def error_message(exc: HubError | ProviderError) -> str:
    if isinstance(exc, ProviderError):
        return _MESSAGES.get(exc.code, exc.message)
    return _MESSAGES.get(exc.code, exc.detail)


def declined(problem: Any) -> str:
    """The message for a problem+json answer replayed from the idempotency store (a decline)."""
    refused = "The payment provider refused this."
    if not isinstance(problem, dict):
        return refused
    code, detail = problem.get("code"), problem.get("detail")
    return _MESSAGES.get(str(code), str(detail or refused))


async def credentials_or_none(
    session: AsyncSession, services: Services, who: TenantPrincipal, provider: str
) -> credential_schemas.CredentialsView | None:
    try:
        return await credentials.get_credentials(session, services, who, provider)
    except CredentialsMissing:
        return None


def payment_row(p: schemas.Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "provider": p.provider,
        "provider_label": p.provider.replace("_", " ").capitalize(),
        "status": p.status,
        "status_label": status_label(p.status),
        "amount": major(p.amount, p.currency),
        "currency": p.currency.upper(),
        "created_at": when(p.created_at),
        "description": p.description,
        "customer_id": p.customer_id,
    }


def payment_detail(p: schemas.Payment) -> dict[str, Any]:
    return {
        **payment_row(p),
        "provider_payment_id": p.provider_payment_id,
        "payment_method_type": p.payment_method_type,
        "capture_method": p.capture_method,
        "amount_capturable": major(p.amount_capturable, p.currency),
        "amount_received": major(p.amount_received, p.currency),
        "amount_refunded": major(p.amount_refunded, p.currency),
        "updated_at": when(p.updated_at),
        "metadata": sorted(p.metadata.items()),
        "can_capture": p.status == "requires_capture",
        "can_cancel": p.status in CANCELABLE,
        "can_refund": p.status in REFUNDABLE and p.amount_refunded < p.amount_received,
        "amount_transferred": major(p.amount_transferred, p.currency),
        "platform_amount": major(p.platform_amount, p.currency),
        "has_transfers": p.amount_transferred > 0,
        "can_release": p.status in REFUNDABLE and p.platform_amount > 0,
        "capture_before": when(p.capture_before) if p.capture_before else None,
    }


def transfer_row(t: schemas.Transfer, sellers: dict[str, str]) -> dict[str, Any]:
    return {
        "id": t.id,
        "seller": sellers.get(t.connected_account_id, t.connected_account_id),
        "amount": major(t.amount, t.currency),
        "amount_reversed": major(t.amount_reversed, t.currency),
        "status": t.status.replace("_", " "),
        "created_at": when(t.created_at),
    }


def refund_row(r: schemas.Refund, currency: str) -> dict[str, Any]:
    return {
        "id": r.id,
        "amount": major(r.amount, currency),
        "status": r.status,
        "status_label": REFUND_LABELS.get(r.status, r.status),
        "created_at": when(r.created_at),
    }


def parse_amount(text: str, currency: str) -> int | None:
    return minor(text, currency)


def example(p: schemas.Payment) -> str:
    return major(p.amount, p.currency)


def _event_row(e: WebhookEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "provider_event_id": e.provider_event_id,
        "provider_label": e.provider.replace("_", " ").capitalize(),
        "type": e.type,
        "received_at": when(e.received_at),
        "deliveries": e.deliveries,
        "outcome": e.outcome,
        "reason": getattr(e, "reason", None),
        "payment_id": e.payment_id,
        "link": object_link(e.payment_id),
    }


async def payment_events(session: AsyncSession, tenant_id: str, payment_id: str) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(WebhookEvent)
            .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.payment_id == payment_id)
            .order_by(WebhookEvent.id.desc())
            .limit(50)
        )
    ).scalars()
    return [_event_row(e) for e in rows]


async def events(
    session: AsyncSession, tenant_id: str, starting_after: str | None, limit: int = 50
) -> tuple[list[dict[str, Any]], bool]:
    q = select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
    rows, more = await newest_first(session, q, WebhookEvent.id, limit=limit, starting_after=starting_after)
    return [_event_row(e) for e in rows], more
