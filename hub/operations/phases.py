"""The declaration an operation gives: its phases, as methods of one object per request.

An operation is a class (subclass :class:`Operation`) made once per request with what the
request brought (the services, the principal, the body, the path's ids); the driver (hub/operations/driver.py)
calls its phases in this order, and alone opens and ends their transactions:

1. ``validate()`` -- pure: refuses bad input before anything is read or written.
2. ``load(tx, attempt)`` -- reads what the operation needs (the row it acts on, the tenant's
   provider context). Writes nothing.
3. ``look()`` then ``seen(tx)`` -- only with ``looks = True``: a provider *read* (a status that
   may lag), with no transaction open, then what it saw applied in a transaction of its own (kept
   even when ``prepare`` then refuses).
4. ``resume(tx, attempt)`` -- only when the Idempotency-Key's earlier attempt ran (it failed
   with the outcome unknown, or its worker died): find what it made (under the same ids,
   ``attempt.object_id``). Return the answer if the provider's answer already reached the row;
   otherwise keep the row for ``prepare`` and return None.
5. ``prepare(tx, attempt)`` -- transaction 1: the checks that need the rows, the hub row written
   FIRST, the in-flight marker, and (``attempt.keep_rows``) what a database outage must write
   again. With ``joined = True`` the driver has already put the key's claim in this transaction.
   Returns None to go on to the call, or the answer (nothing to ask the provider).
6. ``call()`` -- the provider write, with no transaction open, under a provider idempotency key
   derived from the row's id (``store.provider_key``).
7. ``record(tx, answer)`` -- transaction 2: the provider's answer through the one status and
   accounting rule (hub/payments/apply.py, which writes the outbox); returns the response.
   The driver stores it as the key's answer in the same transaction.
8. ``failed(tx, exc, rule)`` -- transaction 2 when the call raised a provider error: change the
   rows as ``rule.row`` says (hub/operations/policy.py); the driver does what ``rule.key`` says.

A phase never commits, rolls back or opens a session: it reads and writes through ``tx``.

An operation acts for a tenant API key (:class:`Operation`, ``who`` a ``TenantPrincipal``) or, on
the platform's own provider account, for the platform operator on one tenant's behalf
(:class:`PlatformOperation`: platform billing). Either way ``tenant_id`` is the tenant whose rows
it writes and whose Idempotency-Key scope it uses.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import PlatformPrincipal, TenantPrincipal
from hub.idempotency.attempt import Attempt
from hub.operations.policy import Rule
from hub.services import Services
from providers.base.errors import ProviderError

#: What the provider answers the call with.
Answer = TypeVar("Answer")


class Phases(Generic[Answer]):
    """One write at a provider, whoever it acts for. Subclass :class:`Operation` or :class:`PlatformOperation`."""

    #: The Idempotency-Key's scope, and the operation's name in the driver's registry.
    route: ClassVar[str]
    #: The status of a successful answer.
    status_code: ClassVar[int] = 200
    #: The key's claim is staged in ``prepare``'s transaction (the hot create paths) instead of
    #: committed on its own before the phases run.
    joined: ClassVar[bool] = False
    #: False: the route takes no Idempotency-Key (the header is ignored); the phases run under a
    #: bare attempt, whose ids are new on every request.
    keyed: ClassVar[bool] = True
    #: ``look`` reads the provider before ``prepare``.
    looks: ClassVar[bool] = False
    #: How often ``record`` runs again, in a new transaction, when its transaction meets a unique
    #: conflict (a webhook recorded the same provider object meanwhile). Not with ``joined``.
    record_retries: ClassVar[int] = 0

    def __init__(self, services: Services, tenant_id: str) -> None:
        #: The process's services, and the tenant whose rows (and Idempotency-Key) it writes.
        self.services, self.tenant_id = services, tenant_id
        #: The answer's status when a phase gives another than ``status_code`` (``prepare`` found
        #: the object already there: 200 where a creation answers 201). Unkeyed operations only:
        #: a keyed one's replays answer the status stored with the key.
        self.answered_status: int | None = None

    def validate(self) -> None:
        """Pure checks of the request."""

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        """Read what the operation needs."""

    async def look(self) -> None:
        """A provider read before ``prepare`` (no transaction open)."""

    async def seen(self, tx: AsyncSession) -> None:
        """Apply what ``look`` read."""

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> msgspec.Struct | None:
        """What an earlier attempt under the same key made: its answer, if it has one already."""
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> msgspec.Struct | None:
        raise NotImplementedError

    async def call(self) -> Answer:
        raise NotImplementedError

    async def record(self, tx: AsyncSession, answer: Answer) -> msgspec.Struct:
        raise NotImplementedError

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        """Change the rows after the provider's error, as ``rule.row`` says."""


class Operation(Phases[Answer]):
    """One write at a tenant's provider, for a tenant API key. Subclasses set ``route`` and
    ``status_code`` and the phases they need."""

    def __init__(self, services: Services, who: TenantPrincipal) -> None:
        super().__init__(services, who.tenant_id)
        #: The tenant principal the operation acts for.
        self.who = who


class PlatformOperation(Phases[Answer]):
    """One write at the platform's own provider account (platform billing), by the platform
    operator for the tenant ``tenant_id``."""

    def __init__(self, services: Services, who: PlatformPrincipal, tenant_id: str) -> None:
        super().__init__(services, tenant_id)
        self.who = who
