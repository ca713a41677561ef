"""Notification endpoints of a tenant: create, read, delete, rotate the secret, ping, deliveries, retry.

Every query is scoped by the caller's tenant: another tenant's endpoint or delivery is 'not found'.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.auth.principal import TenantPrincipal
from hub.db.base import utcnow
from hub.db.ids import well_formed_id
from hub.db.notifications import NotificationDelivery, NotificationEndpoint
from hub.db.pages import newest_first
from hub.db.tenants import Tenant
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.idempotency.attempt import Attempt
from hub.notifications import keys, network, outbox, schemas, signing
from hub.services import Services
from hub.tenancy.loader import vault_unavailable
from hub.vault.keyring import VaultError

#: How long a rotated-out secret keeps signing (both signatures are sent meanwhile).
OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20
ROUTE_CREATE = "notification_endpoints.create"
SUBSCRIBABLE = frozenset({"*", *(t for t in outbox.EVENT_TYPES if t != outbox.PING)})


def _view(e: NotificationEndpoint) -> schemas.Endpoint:
    return schemas.Endpoint(
        id=e.id,
        url=e.url,
        enabled_events=list(e.enabled_events),
        status=e.status,
        description=e.description,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _created(e: NotificationEndpoint, secret: str) -> schemas.EndpointCreated:
    return schemas.EndpointCreated(**msgspec.structs.asdict(_view(e)), secret=secret)


def delivery_view(d: NotificationDelivery) -> schemas.Delivery:
    return schemas.Delivery(
        id=d.id,
        endpoint_id=d.endpoint_id,
        message_id=d.message_id,
        type=d.type,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


async def _owned(
    session: AsyncSession, who: TenantPrincipal, endpoint_id: str, *, lock: bool = False
) -> NotificationEndpoint:
    if not well_formed_id(endpoint_id):
        raise NotFound("No such notification endpoint")
    q = select(NotificationEndpoint).where(
        NotificationEndpoint.id == endpoint_id, NotificationEndpoint.tenant_id == who.tenant_id
    )
    endpoint = (await session.execute(q.with_for_update() if lock else q)).scalar_one_or_none()
    if endpoint is None:
        raise NotFound("No such notification endpoint")
    return endpoint


def _events(requested: list[str]) -> list[str]:
    unknown = [e for e in requested if e not in SUBSCRIBABLE]
    if unknown:
        raise ValidationFailed(
            f"unknown event type {unknown[0]!r}; use '*' or any of {', '.join(sorted(SUBSCRIBABLE - {'*'}))}",
            param="enabled_events",
        )
    return sorted(set(requested))


async def create_endpoint(
    session: AsyncSession,
    services: Services,
    who: TenantPrincipal,
    data: schemas.EndpointCreate,
    attempt: Attempt | None = None,
) -> schemas.EndpointCreated:
    """The endpoint with its secret; ``attempt`` (the Idempotency-Key) fixes its id, so a retry
    after a failure finds the endpoint the first attempt may have stored."""
    attempt = attempt or Attempt(who.tenant_id, ROUTE_CREATE)
    events = _events(data.enabled_events)
    if data.description is not None and not data.description.isprintable():
        raise ValidationFailed("description may not hold control characters", param="description")
    url = data.url.strip()
    settings = services.settings
    try:
        await network.check_url(
            url, https_only=settings.server.env == "prod", allow_private=settings.notify.allow_private_urls
        )
    except network.UnusableUrl as exc:
        raise ValidationFailed(str(exc), param="url") from None
    if attempt.resumed:
        earlier = await session.get(NotificationEndpoint, attempt.object_id("nep"))
        if earlier is not None and earlier.tenant_id == who.tenant_id:
            return await _shown_again(session, services, earlier)
    # Counted under the tenant row's lock (FOR NO KEY UPDATE: the tenant's other writes, whose
    # foreign keys take KEY SHARE on it, go on), so concurrent creations on PostgreSQL take turns
    # instead of all counting 19; SQLite's BEGIN IMMEDIATE already made this transaction the writer.
    await session.execute(select(Tenant.id).where(Tenant.id == who.tenant_id).with_for_update(key_share=True))
    count = await session.scalar(
        select(func.count()).select_from(NotificationEndpoint).where(NotificationEndpoint.tenant_id == who.tenant_id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"A tenant may have at most {MAX_ENDPOINTS} notification endpoints", code="too_many_endpoints")
    try:
        sealer = await keys.sealer(session, services.vault, who.tenant_id)
    except VaultError:
        raise vault_unavailable() from None
    secret = signing.new_secret()
    now = utcnow()
    endpoint = NotificationEndpoint(
        id=attempt.object_id("nep"),
        tenant_id=who.tenant_id,
        url=url,
        description=data.description,
        enabled_events=events,
        status="enabled",
        created_at=now,
        updated_at=now,
    )
    endpoint.secret = keys.seal(sealer, endpoint.id, secret)
    session.add(endpoint)
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action="notification_endpoint.created",
        target=endpoint.id,
        details={"enabled_events": events},
    )
    await session.flush()  # committed before the key stores its answer (hub/idempotency/route.py)
    return _created(endpoint, secret)


async def _shown_again(
    session: AsyncSession, services: Services, endpoint: NotificationEndpoint
) -> schemas.EndpointCreated:
    """An endpoint an earlier attempt with the key stored but never answered with: show its secret."""
    try:
        current = (await keys.endpoint_keys(session, services.vault, endpoint, utcnow()))[0]
    except (VaultError, LookupError):
        raise vault_unavailable() from None
    return _created(endpoint, current.reveal())


#: The two kinds of row listed a page at a time.
M = TypeVar("M", NotificationEndpoint, NotificationDelivery)


async def _page(
    session: AsyncSession,
    model: type[M],
    *where: ColumnElement[bool],
    limit: int,
    starting_after: str | None,
) -> tuple[list[M], bool]:
    rows, more = await newest_first(
        session, select(model).where(*where), model.id, limit=limit, starting_after=starting_after
    )
    return rows, more


async def list_endpoints(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None
) -> schemas.EndpointList:
    rows, more = await _page(
        session,
        NotificationEndpoint,
        NotificationEndpoint.tenant_id == who.tenant_id,
        limit=limit,
        starting_after=starting_after,
    )
    return schemas.EndpointList(data=[_view(e) for e in rows], has_more=more)


async def get_endpoint(session: AsyncSession, who: TenantPrincipal, endpoint_id: str) -> schemas.Endpoint:
    endpoint = await _owned(session, who, endpoint_id)
    return _view(endpoint)


async def delete_endpoint(session: AsyncSession, who: TenantPrincipal, endpoint_id: str) -> None:
    endpoint = await _owned(session, who, endpoint_id, lock=True)
    await session.delete(endpoint)
    audit.record(
        session, tenant_id=who.tenant_id, actor=who.actor, action="notification_endpoint.deleted", target=endpoint.id
    )
    await session.flush()  # committed by the request's unit of work


async def rotate_secret(
    session: AsyncSession, services: Services, who: TenantPrincipal, endpoint_id: str
) -> schemas.SecretRotated:
    endpoint = await _owned(session, who, endpoint_id, lock=True)
    try:
        sealer = await keys.sealer(session, services.vault, who.tenant_id)
    except VaultError:
        raise vault_unavailable() from None
    secret = signing.new_secret()
    now = utcnow()
    # The old secret keeps signing beside the new one while receivers switch over.
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + OVERLAP
    endpoint.secret = keys.seal(sealer, endpoint.id, secret)
    endpoint.updated_at = now
    audit.record(
        session,
        tenant_id=who.tenant_id,
        actor=who.actor,
        action="notification_endpoint.secret_rotated",
        target=endpoint.id,
    )
    await session.flush()  # committed by the request's unit of work
    return schemas.SecretRotated(secret=secret, previous_secret_expires_at=now + OVERLAP)


async def send_ping(session: AsyncSession, who: TenantPrincipal, endpoint_id: str) -> schemas.PingSent:
    endpoint = await _owned(session, who, endpoint_id)
    data = {"endpoint_id": endpoint.id}
    message = outbox.record(session, who.tenant_id, outbox.PING, data, [(endpoint.id, ["*"])])
    assert message is not None  # a ping goes to its endpoint whatever it subscribed to
    await session.flush()
    delivery_id = await session.scalar(
        select(NotificationDelivery.id).where(
            NotificationDelivery.endpoint_id == endpoint.id, NotificationDelivery.message_id == message.id
        )
    )
    assert delivery_id is not None
    return schemas.PingSent(message_id=message.id, delivery_id=delivery_id)


async def list_deliveries(
    session: AsyncSession, who: TenantPrincipal, endpoint_id: str, *, limit: int, starting_after: str | None
) -> schemas.DeliveryList:
    endpoint = await _owned(session, who, endpoint_id)
    rows, more = await _page(
        session,
        NotificationDelivery,
        NotificationDelivery.endpoint_id == endpoint.id,
        NotificationDelivery.tenant_id == who.tenant_id,
        limit=limit,
        starting_after=starting_after,
    )
    return schemas.DeliveryList(data=[delivery_view(d) for d in rows], has_more=more)


async def retry_delivery(
    session: AsyncSession, who: TenantPrincipal, endpoint_id: str, delivery_id: str
) -> schemas.Delivery:
    """Send the delivery again now; past the retry schedule that is one more attempt."""
    endpoint = await _owned(session, who, endpoint_id)
    if not well_formed_id(delivery_id):
        raise NotFound("No such delivery")
    delivery = (
        await session.execute(
            select(NotificationDelivery)
            .where(
                NotificationDelivery.id == delivery_id,
                NotificationDelivery.endpoint_id == endpoint.id,
                NotificationDelivery.tenant_id == who.tenant_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if delivery is None:
        raise NotFound("No such delivery")
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.claim_token = None
    session.sync_session.info[outbox.WAKE] = True
    await session.flush()  # committed by the request's unit of work
    return delivery_view(delivery)


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    """Deliveries by status across tenants, for the operator's metrics."""
    rows = await session.execute(
        select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
    )
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    counts.update({status: int(n) for status, n in rows.all()})
    return counts
