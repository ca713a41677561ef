"""What every payment operation starts from: the tenant's provider and client context, owned rows, views."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import StoredCredentials, TenantPrincipal
from hub.db.base import utcnow
from hub.db.payments import Customer, Payment, Refund
from hub.db.vault import ProviderCredential
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.operations.driver import end
from hub.payments import schemas
from hub.services import Services
from hub.tenancy.loader import CredentialsMissing, provider_by_name, provider_context
from providers.base.provider import Provider, TenantContext

#: Statuses in which a payment may wait for its buyer to act elsewhere (``next_action``).
AWAITING_BUYER = frozenset({"requires_action", "processing"})
#: Metadata keys the hub writes itself; a client may not set or overwrite them.
RESERVED_PREFIX = "hub_"
MAX_METADATA_KEYS = 45  # Stripe allows 50; the hub keeps room for its own keys
MAX_KEY_CHARS, MAX_VALUE_CHARS = 40, 500


def check_metadata(metadata: dict[str, str], param: str = "metadata") -> dict[str, str]:
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationFailed(f"metadata may hold at most {MAX_METADATA_KEYS} keys", param=param)
    for key, value in metadata.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValidationFailed(f"metadata keys must be 1 to {MAX_KEY_CHARS} characters", param=f"{param}.{key}")
        if "[" in key or "]" in key:
            # Stripe refuses brackets in metadata keys (its form encoding uses them for nesting).
            raise ValidationFailed("metadata keys may not contain '[' or ']'", param=param)
        if key.startswith(RESERVED_PREFIX):
            raise ValidationFailed(
                f"metadata keys starting with {RESERVED_PREFIX!r} are reserved for the hub", param=f"{param}.{key}"
            )
        if len(value) > MAX_VALUE_CHARS:
            raise ValidationFailed(
                f"metadata values must be at most {MAX_VALUE_CHARS} characters", param=f"{param}.{key}"
            )
    return dict(metadata)


async def choose_provider(session: AsyncSession, services: Services, tenant_id: str, name: str | None) -> Provider:
    """The named provider, or the tenant's only configured one."""
    if name is not None:
        return provider_by_name(services, name)
    configured = (
        (
            await session.execute(
                select(ProviderCredential.provider)
                .where(ProviderCredential.tenant_id == tenant_id)
                .order_by(ProviderCredential.provider)
            )
        )
        .scalars()
        .all()
    )
    return services.providers.get(
        default_provider(services, [n for n in configured if n in services.providers.names()])
    )


def default_provider(services: Services, usable: list[str]) -> str:
    """The provider a request naming none goes to: the tenant's only one; of several, the only one
    that declares itself a default beside others (``Capabilities.default_among_several``)."""
    if not usable:
        raise CredentialsMissing("This tenant has no provider credentials")
    if len(usable) == 1:
        return usable[0]
    candidates = [n for n in usable if services.providers.get(n).capabilities.default_among_several]
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(sorted(usable))
    raise ValidationFailed(f"This tenant has credentials for {names}: name one", param="provider")


def stored_provider(
    services: Services, who: TenantPrincipal, name: str | None
) -> tuple[Provider, StoredCredentials | None]:
    """``choose_provider`` from what the authenticating read brought: no database statement."""
    if name is not None:
        return provider_by_name(services, name), who.stored(name)
    usable = {c.provider: c for c in who.credentials if c.provider in services.providers.names()}
    name = default_provider(services, sorted(usable))
    return services.providers.get(name), usable[name]


async def tenant_context(
    session: AsyncSession, services: Services, provider: Provider, tenant_id: str
) -> TenantContext:
    ctx = await provider_context(session, services, provider, tenant_id)
    # Hold no read transaction (nor SQLite's lock) while the provider is called.
    await end(session)
    return ctx


async def owned_payment(session: AsyncSession, tenant_id: str, payment_id: str) -> Payment:
    """The tenant's payment; another tenant's is 'not found', never 'forbidden'."""
    payment = (
        await session.execute(select(Payment).where(Payment.id == payment_id, Payment.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound("No such payment")
    return payment


def remote_id(payment: Payment) -> str:
    """The provider's id of a payment the provider knows; one it never answered for cannot be operated on."""
    if payment.provider_payment_id is None:
        raise Conflict("The payment was never created at its provider", code="invalid_state")
    return payment.provider_payment_id


def remote_customer_id(customer: Customer) -> str:
    """The provider's id of a customer; one whose creation never reached the provider cannot be used."""
    if customer.provider_customer_id is None:
        raise Conflict(
            "The customer was never created at its provider: retry its creation with the same Idempotency-Key",
            code="invalid_state",
        )
    return customer.provider_customer_id


async def owned_customer(session: AsyncSession, tenant_id: str, customer_id: str, provider: str) -> Customer:
    customer = (
        await session.execute(
            select(Customer).where(
                Customer.id == customer_id,
                Customer.tenant_id == tenant_id,
                Customer.provider == provider,
                # A customer whose creation at the provider never completed cannot be charged.
                Customer.provider_customer_id.is_not(None),
            )
        )
    ).scalar_one_or_none()
    if customer is None:
        raise NotFound("No such customer", param="customer_id")
    return customer


async def publishable_keys(session: AsyncSession, tenant_id: str) -> dict[str, str]:
    rows = await session.execute(
        select(ProviderCredential.provider, ProviderCredential.publishable_key).where(
            ProviderCredential.tenant_id == tenant_id
        )
    )
    return {name: key for name, key in rows.all()}


def new_payment(payment_id: str, tenant_id: str, provider: str, **fields: object) -> Payment:
    """A payment row written before its provider is called: not yet known there, its in-flight
    marker saying its creation runs (``fields``: the request's amount, currency and so on)."""
    now = utcnow()
    return Payment(
        id=payment_id,
        tenant_id=tenant_id,
        provider=provider,
        status="requires_payment_method",
        pending_op="create",
        pending_since=now,
        amount_capturable=0,
        amount_received=0,
        amount_refunded=0,
        amount_transferred=0,
        created_at=now,
        updated_at=now,
        **fields,
    )


def amount_transferred(p: Payment) -> int:
    """What connected accounts still hold of the payment: its transfers less reversals, or for a
    destination charge ``seller_holds``."""
    if p.transfer_to is not None:
        return seller_holds(p, p.amount_refund_reversed or 0)
    return p.amount_transferred or 0


def seller_holds(p: Payment, reversed_: int) -> int:
    """What the seller of a destination charge still holds when refunds of ``reversed_`` took its
    share back: its share (the amount received less the tenant's fee) in proportion to what those
    refunds left, rounded down. Stripe reverses the transfer and refunds the fee in proportion to
    each such refund, so seller and tenant each give back their part of it and neither is left
    below nothing; a refund that reversed nothing leaves the whole share with the seller."""
    received = p.amount_received
    share = max(0, received - (p.application_fee_amount or 0))
    if received <= 0:
        return 0
    return share * max(0, received - reversed_) // received


def payment_view(p: Payment, publishable_key: str | None) -> schemas.Payment:
    transferred = amount_transferred(p)
    return schemas.Payment(
        id=p.id,
        provider=p.provider,
        provider_payment_id=p.provider_payment_id,
        status=p.status,
        amount=p.amount,
        currency=p.currency,
        capture_method=p.capture_method,
        amount_capturable=p.amount_capturable,
        amount_received=p.amount_received,
        amount_refunded=p.amount_refunded,
        client_secret=p.client_secret,
        publishable_key=publishable_key,
        metadata=dict(p.metadata_ or {}),
        created_at=p.created_at,
        updated_at=p.updated_at,
        customer_id=p.customer_id,
        description=p.description,
        last_error_code=p.last_error_code,
        decline_code=p.decline_code,
        payment_method_type=p.payment_method_type,
        next_action=(
            schemas.NextAction(type="redirect_to_url", url=p.next_action_url)
            if p.next_action_url and p.status in AWAITING_BUYER
            else None
        ),
        capture_before=p.capture_before,
        cancellation_reason=p.cancellation_reason,
        amount_transferred=transferred,
        platform_amount=p.amount_received - p.amount_refunded - transferred,
    )


def refund_view(r: Refund) -> schemas.Refund:
    return schemas.Refund(
        id=r.id,
        payment_id=r.payment_id,
        provider_refund_id=r.provider_refund_id,
        amount=r.amount,
        status=r.status,
        reason=r.reason,
        created_at=r.created_at,
    )


def customer_view(c: Customer) -> schemas.Customer:
    return schemas.Customer(
        id=c.id,
        provider=c.provider,
        provider_customer_id=c.provider_customer_id,
        email=c.email,
        name=c.name,
        metadata=dict(c.metadata_ or {}),
        created_at=c.created_at,
    )
