"""The database itself refuses a status, reason or interval outside providers.base.statuses.

Whatever writes a row (the hub, a script, a hand-made fix), a value the hub does not define
cannot be stored: each such column has a CHECK constraint, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import target_metadata
from tests.support.rawdb import execute

NOW = "CURRENT_TIMESTAMP"

ROWS = [
    f"INSERT INTO tenants (id, name, status, created_at, updated_at) VALUES ('ten_c', 'C', 'active', {NOW}, {NOW})",
    "INSERT INTO customers (id, tenant_id, provider, metadata, created_at)"
    f" VALUES ('cus_c', 'ten_c', 'stripe', '{{}}', {NOW})",
    "INSERT INTO payments (id, tenant_id, provider, status, amount, currency, capture_method, amount_capturable,"
    " amount_received, amount_refunded, metadata, created_at, updated_at) VALUES ('pay_c', 'ten_c', 'stripe',"
    f" 'succeeded', 2000, 'usd', 'automatic', 0, 2000, 0, '{{}}', {NOW}, {NOW})",
    "INSERT INTO refunds (id, tenant_id, payment_id, amount, status, reason, created_at, updated_at)"
    f" VALUES ('ref_c', 'ten_c', 'pay_c', 500, 'requires_action', 'duplicate', {NOW}, {NOW})",
    "INSERT INTO subscriptions (id, tenant_id, provider, provider_subscription_id, customer_id, status, status_as_of,"
    " items, cancel_at_period_end, metadata, created_at, updated_at) VALUES ('sub_c', 'ten_c', 'stripe', 'sub_x',"
    f" 'cus_c', 'active', 0, '[]', false, '{{}}', {NOW}, {NOW})",
    "INSERT INTO invoices (id, tenant_id, provider, provider_invoice_id, customer_id, status, currency, amount_due,"
    f" amount_paid, items, created_at, updated_at) VALUES ('inv_c', 'ten_c', 'stripe', 'in_x', 'cus_c', 'open', 'usd',"
    f" 0, 0, '[]', {NOW}, {NOW})",
    "INSERT INTO setup_intents (id, tenant_id, provider, provider_setup_intent_id, customer_id, status, created_at,"
    f" updated_at) VALUES ('seti_c', 'ten_c', 'stripe', 'seti_x', 'cus_c', 'succeeded', {NOW}, {NOW})",
    "INSERT INTO billing_subscriptions (id, tenant_id, stripe_subscription_id, stripe_customer_id, status,"
    f" status_as_of, cancel_at_period_end, created_at, updated_at) VALUES ('bsub_c', 'ten_c', 'sub_b', 'cus_b',"
    f" 'trialing', 0, false, {NOW}, {NOW})",
]

#: (table, column, a value the hub defines) of every constrained column.
COLUMNS = [
    ("payments", "status", "refunded"),
    ("payments", "dispute_status", "won"),
    ("refunds", "status", "canceled"),
    ("refunds", "reason", "fraudulent"),
    ("subscriptions", "status", "incomplete_expired"),
    ("invoices", "status", "uncollectible"),
    ("setup_intents", "status", "requires_action"),
    ("billing_subscriptions", "status", "paused"),
]


@pytest.fixture
async def rows(database_url: str) -> str:
    for sql in ROWS:
        await execute(database_url, sql)
    return database_url


@pytest.mark.parametrize(("table", "column", "good"), COLUMNS, ids=[f"{t}.{c}" for t, c, _ in COLUMNS])
async def test_a_value_outside_the_enum_is_refused_by_the_database(rows: str, table: str, column: str, good: str):
    await execute(rows, f"UPDATE {table} SET {column} = :v", v=good)  # the control: a defined value is kept
    for bad in ("something_new", "", "Succeeded"):
        with pytest.raises(IntegrityError):
            await execute(rows, f"UPDATE {table} SET {column} = :v", v=bad)
    assert await execute(rows, f"SELECT {column} FROM {table}") == [(good,)]


async def test_an_insert_of_a_bad_status_is_refused_too(rows: str):
    bad = ROWS[2].replace("'pay_c'", "'pay_d'").replace("'succeeded'", "'requires_something'")
    with pytest.raises(IntegrityError):
        await execute(rows, bad)


async def test_a_price_interval_outside_the_enum_is_refused(rows: str):
    await execute(
        rows,
        "INSERT INTO products (id, tenant_id, provider, provider_product_id, name, active, metadata, created_at)"
        f" VALUES ('prod_c', 'ten_c', 'stripe', 'prod_x', 'P', true, '{{}}', {NOW})",
    )
    price = (
        "INSERT INTO prices (id, tenant_id, provider, provider_price_id, product_id, currency, unit_amount, active,"
        f" interval, created_at) VALUES (:id, 'ten_c', 'stripe', :id, 'prod_c', 'usd', 100, true, :i, {NOW})"
    )
    await execute(rows, price, id="price_ok", i="month")
    await execute(rows, price, id="price_once", i=None)  # a one-off price has none
    with pytest.raises(IntegrityError):
        await execute(rows, price, id="price_bad", i="fortnight")


async def test_the_migrated_constraints_hold_exactly_the_values_the_models_declare(database_url: str):
    # Alembic's model/migration comparison does not look at CHECK constraints: this does, so an
    # enum value added without a migration (or a migration that differs) is caught.
    def values(sqltext: str) -> set[str]:
        return set(re.findall(r"'([a-z_]+)'", sqltext))

    declared = {
        (table.name, str(c.name)): values(str(c.sqltext))
        for table in target_metadata().tables.values()
        for c in table.constraints
        if isinstance(c, sa.CheckConstraint) and str(c.name).startswith("ck_")
    }
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: sa.Connection) -> dict[tuple[str, str], set[str]]:
                inspector = sa.inspect(sync_conn)
                return {
                    (table, str(c["name"])): values(c["sqltext"])
                    for table in inspector.get_table_names()
                    for c in inspector.get_check_constraints(table)
                    if str(c["name"]).startswith("ck_")
                }

            migrated = await conn.run_sync(read)
    finally:
        await engine.dispose()
    # Each constrained column of COLUMNS, and three this module does not seed rows for: a price's
    # interval, a connected account's status and a transfer's status.
    assert set(declared) == {(table, f"ck_{table}_{column}") for table, column, _ in COLUMNS} | {
        ("prices", "ck_prices_interval"),
        ("connected_accounts", "ck_connected_accounts_status"),
        ("transfers", "ck_transfers_status"),
    }
    assert migrated == declared
