"""Applying verified provider events to the tenant's payments, set-wise, under the payments' row locks.

This module finds the payments a batch of events is about (and refuses another tenant's); what
the news does to a payment's amounts and status is the accounting module's (``hub.payments.apply``),
the same rules the API paths and sync use. Those rules keep every piece of news by a
forward-only or newest-wins rule, so any order, and any number of repeats, of the same set of
events ends in the same payment, and all the events of one payment fold into one row update.

A batch is a handful of Core statements, whatever its size: one ``SELECT ... FOR UPDATE`` of
every payment it touches (ordered by id, so two appliers lock in the same order and never
deadlock), the refund rows of the payments whose refunds changed (one INSERT of the new ones,
one locked read, one UPDATE), one UPDATE of the payments (executed many), and the outbox: one
read of the tenants' endpoints and one INSERT per outbox table. The payments are folded in
Python as detached ``Payment`` objects: no session tracks them, nothing is flushed by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty, class_mapper

from hub.connect.apply import apply_account_event
from hub.db.base import new_id, utcnow
from hub.db.payments import Payment, Refund
from hub.notifications.outbox import News, enabled_endpoints, record_many
from hub.payments.apply import fold_events, note_refund, recount_rows, settle_status
from hub.payments.common import payment_view
from hub.payments.notify import news, publishable_keys
from hub.payments.reversals import apply_transfer_event
from hub.webhooks.recurring import apply_recurring_event
from providers.base.statuses import RefundStatus
from providers.base.webhooks import ProviderEvent

APPLIED, IGNORED = "applied", "ignored"
#: (tenant id, provider, provider payment id): the events of one payment.
GroupKey = tuple[str, str, str]
Outcome = tuple[str, str | None]

_PAYMENTS, _REFUNDS = cast(Table, Payment.__table__), cast(Table, Refund.__table__)
#: Column name -> attribute name ("metadata" is ``metadata_``), to build detached objects from rows.
_PAYMENT_ATTRS = {
    prop.columns[0].name: prop.key
    for prop in class_mapper(Payment).iterate_properties
    if isinstance(prop, ColumnProperty)
}
_REFUND_ATTRS = {
    prop.columns[0].name: prop.key
    for prop in class_mapper(Refund).iterate_properties
    if isinstance(prop, ColumnProperty)
}
#: What a batch writes back: every column but the key. Each row was read under its lock, so a
#: column the fold left alone is written with the value it already has; a fixed list of "what
#: folding may change" silently dropped every column added later (a hold's deadline, why it ended).
_WRITTEN = tuple((column, attr) for column, attr in _PAYMENT_ATTRS.items() if column != "id")
_UPDATE_PAYMENT = update(_PAYMENTS).where(_PAYMENTS.c.id == bindparam("b_id"))
_UPDATE_REFUND = update(_REFUNDS).where(_REFUNDS.c.id == bindparam("b_id"))


async def apply_events(
    session: AsyncSession, tenant_id: str, provider: str, events: Sequence[ProviderEvent]
) -> list[Outcome]:
    """Apply events of one tenant and provider; (outcome, payment id) for each, in order."""
    groups: dict[GroupKey, list[ProviderEvent]] = {}
    for event in events:
        if event.provider_payment_id is not None:
            groups.setdefault((tenant_id, provider, event.provider_payment_id), []).append(event)
    results = await apply_groups(session, groups)
    out: list[Outcome] = []
    seen: dict[GroupKey, int] = {}
    for event in events:
        if event.provider_payment_id is None:
            out.append((IGNORED, None))
            continue
        key = (tenant_id, provider, event.provider_payment_id)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(results[key][n])
    return out


async def apply_groups(
    session: AsyncSession, groups: Mapping[GroupKey, Sequence[ProviderEvent]]
) -> dict[GroupKey, list[Outcome]]:
    """Apply each group's events to its payment; the (outcome, payment id) of each event, in order.

    ``ignored`` for an event not about a payment its tenant owns (or stamped for another tenant).
    Every payment is locked once and written once, whatever the number of events and groups.
    """
    ours = {
        key: [e for e in events if e.hub_tenant_id is None or e.hub_tenant_id == key[0]]
        for key, events in groups.items()
    }
    found = await _locked_payments(session, {k: v for k, v in ours.items() if v})
    folded: list[tuple[Payment, str, str | None, list[ProviderEvent]]] = []
    due: list[Payment] = []
    due_ids: set[str] = set()
    for key, payment in found.items():
        before_status, before_dispute = payment.status, payment.dispute_status
        if payment.provider_payment_id is None:
            payment.provider_payment_id = key[2]  # found by the id the hub stamped (see _locked_payments)
        if fold_events(payment, ours[key]):
            due.append(payment)
            due_ids.add(payment.id)
        folded.append((payment, before_status, before_dispute, ours[key]))
    if due:
        await _refunds(session, due, {p.id: ours_events for p, _, _, ours_events in folded})
    now = utcnow()
    for payment, *_ in folded:
        if payment.id not in due_ids:
            settle_status(payment)
        payment.updated_at = now
    if folded:
        await session.execute(
            _UPDATE_PAYMENT,
            [{"b_id": p.id, **{column: getattr(p, attr) for column, attr in _WRITTEN}} for p, *_ in folded],
        )
        await _announce(session, [(p, news(p, status, dispute)) for p, status, dispute, _ in folded])
    results: dict[GroupKey, list[Outcome]] = {}
    for key, events in groups.items():
        target = found.get(key)
        if target is None:
            results[key] = [(IGNORED, None)] * len(events)
            continue
        applied = {id(e) for e in ours[key]}
        results[key] = [(APPLIED, target.id) if id(e) in applied else (IGNORED, None) for e in events]
    return results


def is_recurring(event: ProviderEvent) -> bool:
    """News of a subscription, an invoice, a saved payment method's setup or a connected account:
    applied one event at a time, in the order they were stored."""
    return (
        event.subscription is not None
        or event.invoice is not None
        or event.setup_intent is not None
        or event.connected_account is not None
        or event.transfer is not None
    )


async def apply_recurring(session: AsyncSession, tenant_id: str, provider: str, event: ProviderEvent) -> Outcome:
    """(outcome, hub object id) of one subscription, invoice, setup, connected-account or transfer event."""
    if event.connected_account is not None:
        return await apply_account_event(session, tenant_id, provider, event)
    if event.transfer is not None:
        return await apply_transfer_event(session, tenant_id, event)
    return await apply_recurring_event(session, tenant_id, provider, event) or (IGNORED, None)


def _locator(events: Sequence[ProviderEvent], tenant_id: str) -> ProviderEvent | None:
    # The event that can find the payment even before its provider id was written (see below).
    return next((e for e in events if e.hub_payment_id and e.hub_tenant_id == tenant_id), None)


async def _locked_payments(
    session: AsyncSession, groups: Mapping[GroupKey, Sequence[ProviderEvent]]
) -> dict[GroupKey, Payment]:
    """Each group's payment, every one locked by one ``SELECT ... FOR UPDATE`` ordered by id.

    A payment is found by its provider id, or, for a payment row written before the provider id
    came back (a crash in between), by the hub id an event's object names when the hub stamped
    it for this tenant and the row has no provider id yet. FOR UPDATE serialises every event of
    one payment across workers on PostgreSQL (SQLite serialises writers already; the clause is
    not rendered there).
    """
    if not groups:
        return {}
    stamped: dict[tuple[str, str, str], GroupKey] = {}
    for key in sorted(groups):
        locator = _locator(groups[key], key[0])
        if locator is not None and locator.hub_payment_id is not None:
            stamped.setdefault((key[0], key[1], locator.hub_payment_id), key)
    c = _PAYMENTS.c
    # Broad enough for the index on (provider, provider_payment_id); the exact match is made below.
    by_provider_id = and_(
        c.provider.in_(sorted({k[1] for k in groups})),
        c.provider_payment_id.in_(sorted({k[2] for k in groups})),
        c.tenant_id.in_(sorted({k[0] for k in groups})),
    )
    where = by_provider_id
    if stamped:
        where = or_(by_provider_id, and_(c.id.in_(sorted({s[2] for s in stamped})), c.provider_payment_id.is_(None)))
    rows = (await session.execute(select(_PAYMENTS).where(where).order_by(c.id).with_for_update())).mappings().all()
    found: dict[GroupKey, Payment] = {}
    unnamed: list[tuple[tuple[str, str, str], Payment]] = []
    for row in rows:
        payment = Payment(**{_PAYMENT_ATTRS[name]: value for name, value in row.items()})
        if payment.provider_payment_id is None:
            unnamed.append(((payment.tenant_id, payment.provider, payment.id), payment))
        else:
            key = (payment.tenant_id, payment.provider, payment.provider_payment_id)
            if key in groups:
                found[key] = payment
    for stamp, payment in unnamed:
        named = stamped.get(stamp)
        if named is not None and named not in found:
            found[named] = payment
    return found


async def _refunds(
    session: AsyncSession, due: Sequence[Payment], events: Mapping[str, Sequence[ProviderEvent]]
) -> None:
    """Record the refund events of the ``due`` payments and recount them, in a few statements for all.

    A refund the hub knows already (it made it, or earlier news told of it) keeps its row, moved
    forward; another's refund (a row of another payment under the same provider refund id) is
    left alone, as ``hub.payments.apply.record_refund`` does.
    """
    now = utcnow()
    news_of = [(p, e) for p in due for e in events[p.id] if e.refund is not None]
    if news_of:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(_REFUNDS).on_conflict_do_nothing(index_elements=["tenant_id", "provider_refund_id"])
        await session.execute(
            statement,
            [
                {
                    "id": new_id("ref"),
                    "tenant_id": p.tenant_id,
                    "payment_id": p.id,
                    "provider_refund_id": e.refund.provider_refund_id,
                    "amount": e.refund.amount,
                    "status": RefundStatus(e.refund.status),
                    "status_at": e.created,
                    "reason": e.refund.reason,
                    "reversed_transfer": e.refund.transfer_reversal is not None,
                    "created_at": now,
                    "updated_at": now,
                }
                for p, e in news_of
                if e.refund is not None
            ],
        )
    rows = (
        await session.execute(
            select(_REFUNDS)
            .where(_REFUNDS.c.payment_id.in_(sorted(p.id for p in due)))
            .order_by(_REFUNDS.c.id)
            .with_for_update()
        )
    ).mappings()
    refunds: dict[str, list[Refund]] = {}
    for mapping in rows:
        refund = Refund(**{_REFUND_ATTRS[name]: value for name, value in mapping.items()})
        refunds.setdefault(refund.payment_id, []).append(refund)
    changed: dict[str, Refund] = {}
    for payment, event in news_of:
        assert event.refund is not None
        row = next(
            (r for r in refunds.get(payment.id, ()) if r.provider_refund_id == event.refund.provider_refund_id), None
        )
        if row is None:
            continue  # another payment's refund
        before = (row.status, row.status_at, row.amount, row.reversed_transfer)
        note_refund(row, event.refund, event.created)
        if (row.status, row.status_at, row.amount, row.reversed_transfer) != before:
            changed[row.id] = row
    if changed:
        await session.execute(
            _UPDATE_REFUND,
            [
                {
                    "b_id": r.id,
                    "status": r.status,
                    "status_at": r.status_at,
                    "amount": r.amount,
                    "reversed_transfer": r.reversed_transfer,
                    "updated_at": now,
                }
                for r in changed.values()
            ],
        )
    for payment in due:
        recount_rows(payment, refunds.get(payment.id, ()))


async def _announce(session: AsyncSession, changes: Sequence[tuple[Payment, list[str]]]) -> None:
    """The outbox messages of the payments' changes: one read of endpoints, one INSERT per table."""
    changes = [(p, types) for p, types in changes if types]
    if not changes:
        return
    endpoints = await enabled_endpoints(session, [p.tenant_id for p, _ in changes])
    changes = [(p, types) for p, types in changes if endpoints.get(p.tenant_id)]
    if not changes:
        return
    keys = await publishable_keys(session, {(p.tenant_id, p.provider) for p, _ in changes})
    items: list[News] = []
    for payment, types in changes:
        data: Any = payment_view(payment, keys.get((payment.tenant_id, payment.provider)))
        items += [News(payment.tenant_id, t, data, endpoints[payment.tenant_id], payment.id) for t in types]
    await record_many(session, items)
