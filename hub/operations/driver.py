"""The one driver of writes at a provider: runs an operation's phases and alone ends their transactions.

    validate -> load -> (look -> seen) -> (resume) -> prepare -> call -> record | failed
    pure        reads    a provider read,   a retry      tx 1       no tx   tx 2, with the
                         then its own tx    with the key                     key's answer

``run`` puts an operation (hub/operations/phases.py) under its Idempotency-Key
(hub/idempotency/route.py: claim, replay, conflict, in progress, deferred writes) and runs its
phases in the request's session. The rules it keeps, for every operation alike:

- no transaction is open while the provider is called: the driver ends the one the phases before
  it used (a read, too: it must not hold SQLite's write lock or a PostgreSQL snapshot);
- an earlier attempt under the same key is resumed here, once: ``resume`` finds what it made,
  and its answer, if it reached the row, is the answer again;
- the answer is stored as the key's in the transaction that records it (``record``, or
  ``resume``/``prepare`` when nothing is asked of the provider); a provider error is handled by
  the policy table (hub/operations/policy.py) in the same kind of transaction;
- a phase that raises leaves nothing written: the transaction it had open is rolled back here,
  so a caller that shows the error (a console form) reads on from a clean session.

Every operation class is declared with :func:`declare`, which keeps it in :data:`REGISTRY` by
the HTTP route it serves; tests/unit/test_operation_driver.py checks that each write route
at a provider is declared and that its handler runs through :func:`run`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.idempotency.attempt import Attempt
from hub.idempotency.route import once
from hub.operations.phases import Phases
from hub.operations.policy import rule_for
from providers.base.errors import ProviderError

log = logging.getLogger(__name__)

#: Every declared operation, by (HTTP method, route path as the handler declares it).
REGISTRY: dict[tuple[str, str], type[Phases[Any]]] = {}

Op = TypeVar("Op", bound=type[Phases[Any]])


def declare(method: str, path: str) -> Callable[[Op], Op]:
    """Class decorator: ``cls`` is the operation behind ``method path``."""

    def register(cls: Op) -> Op:
        REGISTRY[(method, path)] = cls
        return cls

    return register


async def run(
    op: Phases[Any],
    *,
    request: Request[Any, Any, Any],
    session: AsyncSession,
    body: Any,
    route: str | None = None,
    status_code: int | None = None,
    form_key: str | None = None,
) -> Response[Any]:
    """Run ``op`` for this request; ``body`` is what the Idempotency-Key's fingerprint covers.

    ``route`` and ``status_code`` replace the operation's own where another surface runs it (the
    console's forms: their own key scope, a redirect after); ``form_key``: the key a form carries.
    """
    code = status_code if status_code is not None else op.status_code
    if not op.keyed:
        view = await _phases(op, session, Attempt(op.tenant_id, route or op.route), code)
        return Response(view, status_code=op.answered_status or code)

    async def phases(attempt: Attempt) -> msgspec.Struct:
        return await _phases(op, session, attempt, code)

    return await once(
        request,
        session,
        op.tenant_id,
        route or op.route,
        body,
        phases,
        status_code=code,
        joined=op.joined,
        services=op.services,
        form_key=form_key,
    )


async def _phases(op: Phases[Any], tx: AsyncSession, attempt: Attempt, status_code: int) -> msgspec.Struct:
    try:
        return await _steps(op, tx, attempt, status_code)
    except Exception:
        if tx.in_transaction():
            try:
                await tx.rollback()  # a phase raised: what its transaction wrote is void
            except Exception:  # the connection may be what failed; the pool discards it
                log.warning("could not roll back a failed operation's transaction")
        raise


async def _steps(op: Phases[Any], tx: AsyncSession, attempt: Attempt, status_code: int) -> msgspec.Struct:
    op.validate()
    await op.load(tx, attempt)
    if op.looks:
        await end(tx)
        await op.look()
        await op.seen(tx)
        await end(tx)
    if attempt.resumed:
        # The key's earlier attempt ran: what it made carries the same ids.
        earlier = await op.resume(tx, attempt)
        if earlier is not None:
            return await _answer(tx, attempt, status_code, earlier)
    if op.joined:
        await attempt.join(tx)
    done = await op.prepare(tx, attempt)
    if done is not None:
        return await _answer(tx, attempt, status_code, done)
    await end(tx)
    try:
        answer = await op.call()
    except ProviderError as exc:
        rule = rule_for(exc)
        await op.failed(tx, exc, rule)
        if rule.key == "settle":
            await attempt.settle_error(tx, exc)
        await end(tx)
        raise exc from None
    for retry in range(op.record_retries, -1, -1):
        try:
            return await _answer(tx, attempt, status_code, await op.record(tx, answer))
        except IntegrityError:
            if not retry:
                raise
            await tx.rollback()  # a webhook recorded the same object meanwhile: record again over it
    raise AssertionError("unreachable")


async def _answer(tx: AsyncSession, attempt: Attempt, status_code: int, view: msgspec.Struct) -> msgspec.Struct:
    await attempt.settle(tx, status_code, view)
    await end(tx)
    return view


async def end(tx: AsyncSession) -> None:
    """End the phase's transaction, if it began one (a read's too: it must not hold a lock)."""
    if tx.in_transaction():
        await tx.commit()
