"""What the route's work sees of its Idempotency-Key: the ids to create under, and the claim and
answer as statements of its own transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.base import new_id
from hub.errors import provider_problem
from hub.idempotency import store
from hub.operations.policy import OUTCOME_UNKNOWN
from providers.base.errors import ProviderError

__all__ = ["OUTCOME_UNKNOWN", "Attempt", "Taken", "problem_of"]


class Taken(Exception):
    """The claim staged in the work's transaction lost: the key's record already exists."""


class Attempt:
    """One request's use of its Idempotency-Key (``key`` None: the request sent none)."""

    def __init__(
        self, tenant_id: str, route: str, key: str | None = None, fingerprint: str = "", lease: timedelta | None = None
    ) -> None:
        self.tenant_id, self.route, self.key, self.fingerprint = tenant_id, route, key, fingerprint
        self.lease = lease or timedelta(0)
        #: Set once the claim holds (committed, or staged in the work's transaction).
        self.claimed: store.Claimed | None = None
        #: With a key, fixed before the claim, so the work can name its objects before writing them.
        self.seed: str | None = new_id("idem") if key is not None else None
        #: The answer stored in the work's own transaction: (status, body).
        self.settled: tuple[int, bytes] | None = None
        #: How to write again what the work's current transaction writes, should a database outage
        #: cut it off (see hub/idempotency/deferred.py); None: the key alone is written.
        self.rows: Callable[[AsyncSession], Awaitable[bool | tuple[int, bytes]]] | None = None

    def hold(self, claimed: store.Claimed) -> None:
        self.claimed, self.seed = claimed, claimed.seed

    @property
    def resumed(self) -> bool:
        """An earlier attempt with this key may have made objects under the same ids: look first."""
        return self.claimed is not None and self.claimed.resumed

    def keep_rows(self, rows: Callable[[AsyncSession], Awaitable[bool | tuple[int, bytes]]]) -> None:
        """Register how to write the current transaction's rows again, in the key's own later
        transaction, if a database outage cuts it off; ``rows`` returns False when they no
        longer carry this attempt's claim (nothing is written then), else True or the answer
        (status, body) they make, stored as the key's (not for ``secret`` routes)."""
        self.rows = rows

    def object_id(self, prefix: str) -> str:
        """The id of an object this request creates: derived from the seed with a key, new without."""
        return store.derived_id(self.seed, prefix) if self.seed is not None else new_id(prefix)

    async def join(self, session: AsyncSession) -> None:
        """Put the claim in ``session``'s transaction, flushed now so that a taken key fails before
        the work's own rows are sent; it holds once the work commits. Raises ``Taken``."""
        if self.key is None or self.claimed is not None:
            return
        claimed = store.stage(
            session, self.tenant_id, self.route, self.key, self.fingerprint, self.lease, seed=self.seed
        )
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()  # the driver's key claim lost: its run decides again (route.py)
            raise Taken from None
        self.claimed = claimed

    async def settle(self, session: AsyncSession, status_code: int, result: msgspec.Struct) -> None:
        """Store ``result`` as the key's answer in ``session``'s transaction (the work commits it)."""
        await self._settle(session, status_code, msgspec.json.encode(result))

    async def settle_error(self, session: AsyncSession, exc: ProviderError) -> None:
        """Store the problem ``exc`` answers with (a decline: the provider keeps the failed attempt)."""
        status_code, body = problem_of(exc)
        await self._settle(session, status_code, body)

    async def _settle(self, session: AsyncSession, status_code: int, body: bytes) -> None:
        if self.key is None or self.claimed is None:
            return
        await store.settle(session, self.tenant_id, self.route, self.key, self.claimed, status_code, body)
        self.settled = (status_code, body)


def problem_of(exc: ProviderError) -> tuple[int, bytes]:
    """The status and problem+json body the hub answers ``exc`` with (hub.errors, the one place)."""
    response = provider_problem(exc)
    assert isinstance(response.content, bytes) and response.status_code is not None
    return response.status_code, response.content
