"""Payment rows the way the hub writes them, for tests of the webhook side.

A PaymentIntent is created at the emulator with the hub's metadata (``hub_tenant_id``,
``hub_payment_id``) and the hub's Payment row is inserted beside it, as the payments service
does after Stripe answers. Also small reads of the database for assertions.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.base import new_id, utcnow
from hub.db.payments import Payment


async def create_intent(
    emulator_url: str,
    secret_key: str,
    *,
    amount: int,
    metadata: dict[str, str],
    capture_method: str = "automatic",
    payment_method: str | None = None,
) -> dict[str, Any]:
    data = {"amount": str(amount), "currency": "usd", "capture_method": capture_method}
    data.update({f"metadata[{k}]": v for k, v in metadata.items()})
    if payment_method:
        data["payment_method"] = payment_method
    async with httpx.AsyncClient(base_url=emulator_url, auth=(secret_key, ""), timeout=10) as http:
        r = await http.post("/v1/payment_intents", data=data)
        r.raise_for_status()
        return r.json()


async def insert_payment(
    database_url: str,
    *,
    tenant_id: str,
    provider_payment_id: str | None,
    amount: int,
    payment_id: str | None = None,
    status: str = "requires_payment_method",
    capture_method: str = "automatic",
    currency: str = "usd",
) -> str:
    payment_id = payment_id or new_id("pay")
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            now = utcnow()
            await conn.execute(
                insert(Payment).values(
                    id=payment_id,
                    tenant_id=tenant_id,
                    provider="stripe",
                    provider_payment_id=provider_payment_id,
                    status=status,
                    amount=amount,
                    currency=currency,
                    capture_method=capture_method,
                    amount_capturable=0,
                    amount_received=0,
                    amount_refunded=0,
                    client_secret=None,
                    metadata={},
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        await engine.dispose()
    return payment_id


async def hub_payment(
    database_url: str,
    emulator_url: str,
    tenant_id: str,
    *,
    amount: int = 2000,
    capture_method: str = "automatic",
    secret_key: str = "sk_test_tenantkey00000001",
    payment_method: str | None = None,
) -> tuple[str, str]:
    """(hub payment id, PaymentIntent id) of a new payment of ``tenant_id``."""
    payment_id = new_id("pay")
    pi = await create_intent(
        emulator_url,
        secret_key,
        amount=amount,
        capture_method=capture_method,
        metadata={"hub_tenant_id": tenant_id, "hub_payment_id": payment_id},
        payment_method=payment_method,
    )
    await insert_payment(
        database_url,
        tenant_id=tenant_id,
        provider_payment_id=pi["id"],
        amount=amount,
        payment_id=payment_id,
        capture_method=capture_method,
    )
    return payment_id, pi["id"]


async def payment_row(database_url: str, payment_id: str) -> dict[str, Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(Payment.__table__).where(Payment.__table__.c.id == payment_id))).one()
            return dict(row._mapping)
    finally:
        await engine.dispose()


async def count_rows(database_url: str, table: str, where: str = "") -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(f'SELECT count(*) FROM "{table}" {where}'))).scalar_one())
    finally:
        await engine.dispose()


async def table_snapshot(
    database_url: str, *tables: str, ignoring: dict[str, set[str]] | None = None
) -> dict[str, list[tuple]]:
    """Every row of ``tables``, sorted: compare before/after to prove nothing was written.

    ``ignoring`` names columns (per table) a test allows to change, e.g. a diagnostic timestamp.
    """
    skip = ignoring or {}
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            snapshot = {}
            for t in tables:
                rows = (await conn.execute(text(f'SELECT * FROM "{t}"'))).mappings().all()
                kept = skip.get(t, set())
                snapshot[t] = sorted(tuple(repr(v) for k, v in r.items() if k not in kept) for r in rows)
            return snapshot
    finally:
        await engine.dispose()


__all__ = ["count_rows", "create_intent", "hub_payment", "insert_payment", "payment_row", "table_snapshot"]
