"""Connected accounts (the tenant's marketplace sellers): create, read, list, sync, onboarding links.

The account's row is written before the provider is called (with the Idempotency-Key's claim,
in one transaction), so no request leaves an account at the provider that the hub has no row
for; its id comes from the key's seed, so a retry resumes the same account under the same
provider idempotency key. A creation whose outcome is unknown keeps its row (without a provider
id) with or without a key: a retry with the key, or a sync of the row, asks the provider again
under the same provider key and lands on the same account. Another tenant's account is "not
found", never "forbidden".

What the provider reports of an account (the creation's answer, a sync, an ``account.updated``
event) reaches the row through ``apply_snapshot`` alone, newest news first: older news changes
nothing. Each change of what the API shows is announced as ``connected_account.updated``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import TenantPrincipal
from hub.connect import schemas
from hub.connect.status import account_status
from hub.db.base import utcnow
from hub.db.connect import ConnectedAccount
from hub.errors import Conflict, NotFound
from hub.idempotency import store
from hub.idempotency.attempt import Attempt
from hub.notifications.outbox import CONNECTED_ACCOUNT_UPDATED, object_changed
from hub.operations.driver import declare, end
from hub.operations.phases import Operation
from hub.operations.policy import RowFate, Rule
from hub.payments import common
from hub.recurring import objects
from hub.recurring.pages import page
from hub.services import Services
from hub.tenancy.loader import provider_by_name, provider_context
from providers.base.connect import AccountLink, ConnectedAccountCreate, ConnectedAccountSnapshot
from providers.base.errors import InvalidRequest, ProviderError
from providers.base.provider import Provider, TenantContext

ROUTE_CREATE = "connected_accounts.create"
PREFIX = "acc"
#: The notification of a change to a connected account (hub.notifications.outbox.EVENT_TYPES).
UPDATED = CONNECTED_ACCOUNT_UPDATED


def view(row: ConnectedAccount) -> schemas.ConnectedAccount:
    req = row.requirements or {}
    return schemas.ConnectedAccount(
        id=row.id,
        provider=row.provider,
        provider_account_id=row.provider_account_id,
        type=row.type,  # type: ignore[arg-type]  # written from AccountTypeName only
        country=row.country,
        email=row.email,
        business_type=row.business_type,
        status=row.status,  # type: ignore[arg-type]  # a CHECK constraint holds it to the names
        charges_enabled=row.charges_enabled,
        payouts_enabled=row.payouts_enabled,
        details_submitted=row.details_submitted,
        transfers_enabled=row.transfers_enabled,
        requirements=schemas.Requirements(
            currently_due=list(req.get("currently_due") or []),
            eventually_due=list(req.get("eventually_due") or []),
            past_due=list(req.get("past_due") or []),
            disabled_reason=req.get("disabled_reason"),
        ),
        metadata=dict(row.metadata_ or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _shown(row: ConnectedAccount) -> tuple[Any, ...]:
    return (
        row.provider_account_id,
        row.status,
        row.charges_enabled,
        row.payouts_enabled,
        row.details_submitted,
        row.transfers_enabled,
        row.requirements,
        row.email,
        row.country,
    )


def apply_snapshot(row: ConnectedAccount, snap: ConnectedAccountSnapshot, as_of: int) -> bool:
    """The provider's account as of ``as_of`` (epoch seconds) on the row; whether what the API
    shows changed. News older than what the row holds changes nothing."""
    if as_of < row.provider_updated_at:
        return False
    before = _shown(row)
    row.provider_account_id = row.provider_account_id or snap.provider_account_id
    row.type = snap.type
    row.country = snap.country or row.country
    row.email = snap.email or row.email
    row.business_type = snap.business_type or row.business_type
    row.charges_enabled = snap.charges_enabled
    row.payouts_enabled = snap.payouts_enabled
    row.details_submitted = snap.details_submitted
    row.transfers_enabled = snap.transfers_enabled
    row.requirements = {
        "currently_due": list(snap.requirements.currently_due),
        "eventually_due": list(snap.requirements.eventually_due),
        "past_due": list(snap.requirements.past_due),
        "disabled_reason": snap.requirements.disabled_reason,
    }
    row.status = account_status(snap).value
    row.provider_updated_at = as_of
    changed = _shown(row) != before
    if changed:
        row.updated_at = utcnow()
    return changed


async def announce(session: AsyncSession, row: ConnectedAccount) -> None:
    """The ``connected_account.updated`` notification, in the transaction of the change."""
    await session.flush()
    await object_changed(session, row.tenant_id, UPDATED, view(row))


def _creation(row: ConnectedAccount) -> ConnectedAccountCreate:
    return ConnectedAccountCreate(
        type=row.type,  # type: ignore[arg-type]  # written from AccountTypeName only
        country=row.country,
        email=row.email,
        business_type=row.business_type,
        metadata={**(row.metadata_ or {}), "hub_tenant_id": row.tenant_id, "hub_account_id": row.id},
    )


async def _create_at_provider(
    provider: Provider, ctx: TenantContext, row: ConnectedAccount
) -> ConnectedAccountSnapshot:
    # The same provider key on every attempt for this row: a retry lands on the same account.
    return await provider.create_connected_account(
        ctx, _creation(row), idempotency_key=store.provider_key(row.id, "connected_account")
    )


@declare("POST", "/v1/connected-accounts")
class CreateConnectedAccount(Operation[ConnectedAccountSnapshot]):
    """The row first (with the key's claim), then the provider, then its answer on the row."""

    route = ROUTE_CREATE
    status_code = 201
    joined = True

    def __init__(self, services: Services, who: TenantPrincipal, data: schemas.ConnectedAccountCreate) -> None:
        super().__init__(services, who)
        self.data = data
        self.row: ConnectedAccount | None = None

    def validate(self) -> None:
        self.metadata = common.check_metadata(self.data.metadata)

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        tenant_id = self.who.tenant_id
        self.provider = await common.choose_provider(tx, self.services, tenant_id, self.data.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, tenant_id)

    async def resume(self, tx: AsyncSession, attempt: Attempt) -> schemas.ConnectedAccount | None:
        self.row = await tx.get(ConnectedAccount, attempt.object_id(PREFIX))
        if self.row is not None and self.row.provider_account_id is not None:
            return view(self.row)  # the answer reached the row but not the key
        return None

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        if self.row is None:
            now = utcnow()
            self.row = ConnectedAccount(
                id=attempt.object_id(PREFIX),
                tenant_id=self.who.tenant_id,
                provider=self.provider.name,
                type=self.data.type,
                country=self.data.country,
                email=self.data.email,
                business_type=self.data.business_type,
                status="onboarding",
                charges_enabled=False,
                payouts_enabled=False,
                details_submitted=False,
                transfers_enabled=False,
                requirements={},
                metadata_=self.metadata,
                provider_updated_at=0,
                created_at=now,
                updated_at=now,
            )
            tx.add(self.row)

    async def call(self) -> ConnectedAccountSnapshot:
        assert self.row is not None
        self.asked_at = int(time.time())
        return await _create_at_provider(self.provider, self.ctx, self.row)

    async def record(self, tx: AsyncSession, answer: ConnectedAccountSnapshot) -> schemas.ConnectedAccount:
        assert self.row is not None
        row = await tx.get(ConnectedAccount, self.row.id)
        assert row is not None
        apply_snapshot(row, answer, self.asked_at)
        await tx.flush()
        return view(row)

    async def failed(self, tx: AsyncSession, exc: ProviderError, rule: Rule) -> None:
        # Outcome unknown: the provider may have made the account, so the row stays (with or without
        # a key) for a retry or a sync to finish under the same provider key. Refused: nothing exists.
        if rule.row is not RowFate.KEEP_FOR_RETRY:
            row = await tx.get(ConnectedAccount, self.row.id) if self.row is not None else None
            if row is not None:
                await tx.delete(row)


async def owned(session: AsyncSession, tenant_id: str, account_id: str) -> ConnectedAccount:
    return await objects.owned(session, ConnectedAccount, tenant_id, account_id)


async def locked(session: AsyncSession, tenant_id: str, account_id: str) -> ConnectedAccount:
    """The tenant's account under its row lock (PostgreSQL; SQLite serialises writers already)."""
    query = select(ConnectedAccount).where(ConnectedAccount.id == account_id, ConnectedAccount.tenant_id == tenant_id)
    row = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("No such connected account")
    return row


async def get_account(session: AsyncSession, who: TenantPrincipal, account_id: str) -> schemas.ConnectedAccount:
    row = await owned(session, who.tenant_id, account_id)
    await end(session)
    return view(row)


async def list_accounts(
    session: AsyncSession, who: TenantPrincipal, *, limit: int, starting_after: str | None, status: str | None
) -> schemas.ConnectedAccountList:
    rows, more = await page(
        session, ConnectedAccount, who.tenant_id, limit=limit, starting_after=starting_after, status=status
    )
    return schemas.ConnectedAccountList(data=[view(r) for r in rows], has_more=more)


@declare("POST", "/v1/connected-accounts/{account_id:str}/sync")
class SyncConnectedAccount(Operation[ConnectedAccountSnapshot]):
    """Read the account again from its provider. An account whose creation never finished is
    asked for again under its creation's provider key, which lands on the account if the
    provider made it, and makes it if not: either way the row and the provider agree after."""

    route = "connected_accounts.sync"
    keyed = False

    def __init__(self, services: Services, who: TenantPrincipal, account_id: str) -> None:
        super().__init__(services, who)
        self.account_id = account_id

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.row = await owned(tx, self.who.tenant_id, self.account_id)
        self.provider = provider_by_name(self.services, self.row.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        self.remote_id = self.row.provider_account_id

    async def call(self) -> ConnectedAccountSnapshot:
        self.asked_at = int(time.time())
        if self.remote_id is None:
            return await _create_at_provider(self.provider, self.ctx, self.row)
        return await self.provider.retrieve_connected_account(self.ctx, self.remote_id)

    async def record(self, tx: AsyncSession, answer: ConnectedAccountSnapshot) -> schemas.ConnectedAccount:
        row = await locked(tx, self.who.tenant_id, self.account_id)
        if apply_snapshot(row, answer, self.asked_at):
            await announce(tx, row)
        return view(row)


@declare("POST", "/v1/connected-accounts/{account_id:str}/links")
class CreateAccountLink(Operation[AccountLink]):
    """A single-use onboarding (or update) link; an ``update`` the provider refuses (an account not
    yet onboarded) falls back to ``onboarding``, and the answer's ``type`` says which was made.
    Links expire in minutes: each request makes a new one, but a retry with the same
    Idempotency-Key replays the link the first attempt made."""

    route = "connected_accounts.link"
    status_code = 201

    def __init__(self, services: Services, who: TenantPrincipal, account_id: str, data: schemas.LinkCreate) -> None:
        super().__init__(services, who)
        self.account_id, self.data = account_id, data

    async def load(self, tx: AsyncSession, attempt: Attempt) -> None:
        row = await owned(tx, self.who.tenant_id, self.account_id)
        if row.provider_account_id is None:
            raise Conflict("The account's creation at the provider is unfinished: sync it first", code="invalid_state")
        self.remote_id = row.provider_account_id
        self.provider = provider_by_name(self.services, row.provider)
        self.ctx = await provider_context(tx, self.services, self.provider, self.who.tenant_id)

    async def prepare(self, tx: AsyncSession, attempt: Attempt) -> None:
        # Nothing to write first: a link is the provider's alone. Its provider key comes from the
        # attempt, so the SDK's retries (and a retry under the same Idempotency-Key) share it.
        self.link_id = attempt.object_id("lnk")

    async def call(self) -> AccountLink:
        kinds = ["update", "onboarding"] if self.data.type == "update" else ["onboarding"]
        for kind in kinds:
            try:
                return await self.provider.create_account_link(
                    self.ctx,
                    self.remote_id,
                    kind=kind,  # type: ignore[arg-type]  # one of LinkKind
                    refresh_url=self.data.refresh_url,
                    return_url=self.data.return_url,
                    idempotency_key=store.provider_key(self.link_id, "account_link", kind),
                )
            except InvalidRequest:
                if kind != "update":
                    raise
        raise AssertionError("unreachable")

    async def record(self, tx: AsyncSession, answer: AccountLink) -> schemas.AccountLink:
        return schemas.AccountLink(
            url=answer.url, expires_at=datetime.fromtimestamp(answer.expires_at, UTC), type=answer.kind
        )
