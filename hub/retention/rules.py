"""The retention rules, and one pruning pass over them.

Each rule names the rows of one table that may go: finished long enough ago, and nothing still
needs them. Never pruned: a pending webhook event (or billing event), a pending notification
delivery (nor its message), an Idempotency-Key whose request is in flight, and the newest event
of each tenant's provider (the credentials view reports when the last one arrived). No payment
row references an event, a message or a key, so none of them is needed by a payment.

A pass deletes in batches of ``batch_size`` rows by primary key, each batch its own short
transaction, so the hot tables are never locked for long (SQLite's single write lock included:
an ingest waits at most one batch). On PostgreSQL the candidates are claimed ``FOR UPDATE SKIP
LOCKED`` and each table is pruned by one process at a time (a session advisory lock held on the
pruning connection, released when it returns or its process dies); on SQLite the database's
single write lock serialises the batches of every process.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, and_, delete, exists, func, not_, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.db.base import Base, utcnow
from hub.db.billing import BillingEvent
from hub.db.console import ConsoleSession
from hub.db.events import WebhookEvent
from hub.db.idempotency import IdempotencyRecord
from hub.db.notifications import NotificationAttempt, NotificationDelivery, NotificationMessage
from hub.db.vault import ProviderCredential
from hub.observability.metrics import count_pruned
from hub.settings import RetentionSettings

log = logging.getLogger("hub.retention")

#: The name ``hub prune`` prints and ``hub_pruned_rows`` labels for the signature-failure notes:
#: a column of ``provider_credentials`` set back to null, not rows deleted.
SIGNATURE_NOTES = "signature_failure_notes"

#: The least pause between two batches on SQLite (its busy handler polls every 100 ms at worst).
SQLITE_MIN_PAUSE = 0.02

Conditions = Callable[[RetentionSettings, datetime], list[ColumnElement[bool]]]


@dataclass(frozen=True)
class Rule:
    """Rows of ``model`` matching ``where`` go (or, with ``clear``, have that column set to null)."""

    name: str
    model: type[Base]
    where: Conditions
    #: Rows of other tables that go with each pruned row: (their model, their column naming it).
    children: tuple[tuple[type[Base], Any], ...] = ()
    clear: Any = None
    label: str = field(default="")
    #: What a dry run counts, when the rule depends on the rules before it having run.
    estimate: Conditions | None = None

    @property
    def table(self) -> Table:
        return cast(Table, self.model.__table__)

    @property
    def reported(self) -> str:
        """The name counts are reported under (the table's, or the notes')."""
        return self.label or self.table.name

    @property
    def key(self) -> list[Any]:
        return list(self.table.primary_key.columns)


def _name(model: type[Base]) -> str:
    return cast(Table, model.__table__).name


def _days(days: float) -> timedelta:
    return timedelta(days=days)


def _events_done(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [
        WebhookEvent.outcome.in_(("applied", "ignored")),
        WebhookEvent.received_at < now - _days(s.events_days),
        _not_newest(),
    ]


def _events_failed(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [
        WebhookEvent.outcome == "failed",
        WebhookEvent.received_at < now - _days(s.failed_events_days),
        _not_newest(),
    ]


def _not_newest() -> ColumnElement[bool]:
    """A newer event of the same tenant and provider exists: the newest one is kept (last_event_at)."""
    newer = WebhookEvent.__table__.alias("newer")
    return exists().where(
        newer.c.tenant_id == WebhookEvent.tenant_id,
        newer.c.provider == WebhookEvent.provider,
        newer.c.id > WebhookEvent.id,
    )


def _billing_done(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [BillingEvent.outcome != "pending", BillingEvent.received_at < now - _days(s.events_days)]


def _delivered(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    # updated_at is the delivery's last change: the delivery itself, or the giving up.
    return [
        NotificationDelivery.status == "delivered",
        NotificationDelivery.updated_at < now - _days(s.notifications_days),
    ]


def _delivery_failed(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [
        NotificationDelivery.status == "failed",
        NotificationDelivery.updated_at < now - _days(s.failed_notifications_days),
    ]


def _messages_done(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    # A message goes once no delivery of it is left (pending and failed ones keep it: a failed
    # delivery can be sent again).
    return [
        NotificationMessage.created_at < now - _days(s.notifications_days),
        not_(exists().where(NotificationDelivery.message_id == NotificationMessage.id)),
    ]


def _messages_done_once_deliveries_go(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    """The messages :func:`_messages_done` finds once the delivery rules above have run (a dry run)."""
    going = or_(and_(*_delivered(s, now)), and_(*_delivery_failed(s, now)))
    return [
        NotificationMessage.created_at < now - _days(s.notifications_days),
        not_(exists().where(NotificationDelivery.message_id == NotificationMessage.id, not_(going))),
    ]


def _keys_done(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    in_flight = and_(IdempotencyRecord.state == "running", IdempotencyRecord.lease_until > now)
    return [IdempotencyRecord.created_at < now - _days(s.idempotency_days), not_(in_flight)]


def _sessions_expired(_: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [ConsoleSession.expires_at < now]


def _notes_old(s: RetentionSettings, now: datetime) -> list[ColumnElement[bool]]:
    return [ProviderCredential.last_signature_failure_at < now - _days(s.signature_failures_days)]


#: In order: deliveries before the messages they keep.
RULES: tuple[Rule, ...] = (
    Rule("applied and ignored webhook events", WebhookEvent, _events_done),
    Rule("failed webhook events", WebhookEvent, _events_failed),
    Rule("handled billing events", BillingEvent, _billing_done),
    Rule(
        "delivered notifications",
        NotificationDelivery,
        _delivered,
        children=((NotificationAttempt, NotificationAttempt.delivery_id),),
    ),
    Rule(
        "failed notifications",
        NotificationDelivery,
        _delivery_failed,
        children=((NotificationAttempt, NotificationAttempt.delivery_id),),
    ),
    Rule(
        "notification messages with no delivery left",
        NotificationMessage,
        _messages_done,
        estimate=_messages_done_once_deliveries_go,
    ),
    Rule("Idempotency-Key records", IdempotencyRecord, _keys_done),
    Rule("expired console sessions", ConsoleSession, _sessions_expired),
    Rule(
        "signature-failure notes",
        ProviderCredential,
        _notes_old,
        clear=ProviderCredential.last_signature_failure_at,
        label=SIGNATURE_NOTES,
    ),
)

#: Every name a count may be reported under, in the order ``hub prune`` prints them.
TABLES: tuple[str, ...] = tuple(
    dict.fromkeys(name for r in RULES for name in (r.reported, *(_name(c) for c, _ in r.children)))
)


def lock_key(name: str) -> int:
    """The advisory lock of one table's pruning (a signed 64-bit number, the same in every process)."""
    return int.from_bytes(zlib.crc32(f"hub-retention:{name}".encode()).to_bytes(4, "big") * 2, "big", signed=True)


def _key_match(rule: Rule, keys: Sequence[Any]) -> ColumnElement[bool]:
    columns = rule.key
    if len(columns) == 1:
        return cast(ColumnElement[bool], columns[0].in_([k[0] for k in keys]))
    return tuple_(*columns).in_([tuple(k) for k in keys])


def _rowcount(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def _batch(
    conn: AsyncConnection, rule: Rule, settings: RetentionSettings, now: datetime, postgres: bool
) -> tuple[int, dict[str, int]]:
    """One batch of ``rule`` in one transaction: the rows it claimed, and what it removed by table."""
    where = rule.where(settings, now)
    async with conn.begin():
        candidates = select(*rule.key).where(*where).limit(settings.batch_size)
        if postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=rule.table)
        keys = (await conn.execute(candidates)).all()
        if not keys:
            return 0, {}
        done: dict[str, int] = {}
        match = _key_match(rule, keys)
        if rule.clear is not None:
            # Keep updated_at as it was: clearing a note is not a change of the credentials.
            cleared = await conn.execute(
                update(rule.table).where(match).values({rule.clear.key: None, "updated_at": rule.table.c.updated_at})
            )
            done[rule.reported] = _rowcount(cleared)
            return len(keys), done
        # The candidates are locked (FOR UPDATE, or SQLite's write lock is held): nothing changes
        # them before they go, so they go by primary key alone.
        for child, column in rule.children:
            gone = await conn.execute(delete(child).where(column.in_([k[0] for k in keys])))
            done[_name(child)] = _rowcount(gone)
        deleted = await conn.execute(delete(rule.table).where(match))
        done[rule.reported] = _rowcount(deleted)
    return len(keys), done


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for name, n in more.items():
        into[name] = into.get(name, 0) + n
        if n:
            count_pruned(name, n)


async def _claim(conn: AsyncConnection, name: str) -> bool:
    got = (await conn.execute(select(func.pg_try_advisory_lock(lock_key(name))))).scalar_one()
    await conn.commit()
    return bool(got)


async def _release(conn: AsyncConnection) -> None:
    try:
        await conn.execute(select(func.pg_advisory_unlock_all()))
        await conn.commit()
    except Exception:  # the connection is in doubt: drop it, which ends its session and its locks
        await conn.invalidate()
        raise


async def prune(
    engine: AsyncEngine, settings: RetentionSettings, *, stopping: Callable[[], bool] = lambda: False
) -> dict[str, int]:
    """Prune every rule, batch after batch; the rows removed by table (``TABLES``).

    A table another process is pruning (PostgreSQL) is left to it this time. ``stopping`` is asked
    between batches: a worker shutting down ends its pass there.
    """
    postgres = engine.dialect.name == "postgresql"
    done: dict[str, int] = dict.fromkeys(TABLES, 0)
    now = utcnow()
    for table, rules in _by_table().items():
        async with engine.connect() as conn:
            if postgres and not await _claim(conn, table):
                log.debug("retention: %s is being pruned by another process", table)
                continue
            try:
                for rule in rules:
                    while not stopping():
                        started = time.monotonic()
                        claimed, removed = await _batch(conn, rule, settings, now, postgres)
                        _add(done, removed)
                        if claimed < settings.batch_size:  # the last batch: nothing more is old enough
                            break
                        if not postgres:
                            # SQLite's writers wait for its one lock by polling it: pause as long
                            # as the batch took, so that one waiting gets in before the next batch.
                            await asyncio.sleep(max(time.monotonic() - started, SQLITE_MIN_PAUSE))
            finally:
                if postgres:
                    await _release(conn)
    pruned = {k: v for k, v in done.items() if v}
    if pruned:
        log.info("retention: pruned %s", ", ".join(f"{n} from {t}" for t, n in pruned.items()))
    return done


def _by_table() -> dict[str, list[Rule]]:
    tables: dict[str, list[Rule]] = {}
    for rule in RULES:
        tables.setdefault(rule.table.name, []).append(rule)
    return tables


async def count(engine: AsyncEngine, settings: RetentionSettings) -> dict[str, int]:
    """What :func:`prune` would remove now, by table; changes nothing."""
    done: dict[str, int] = dict.fromkeys(TABLES, 0)
    now = utcnow()
    async with engine.connect() as conn:
        for rule in RULES:
            where = (rule.estimate or rule.where)(settings, now)
            n = (await conn.execute(select(func.count()).select_from(rule.table).where(*where))).scalar_one()
            done[rule.reported] += int(n)
            for child, column in rule.children:
                keys = select(*rule.key).where(*where).scalar_subquery()
                table = cast(Table, child.__table__)
                found = await conn.execute(select(func.count()).select_from(table).where(column.in_(keys)))
                done[_name(child)] += int(found.scalar_one())
        await conn.rollback()
    return done
