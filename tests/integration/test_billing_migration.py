"""The billing_* tables exist only through Alembic revision 0004, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import target_metadata


def _billing_diffs(sync_conn) -> list:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})

    def about_billing(diff) -> bool:
        flat = diff[0] if isinstance(diff, list) else diff
        return any(
            "billing_" in str(getattr(part, "name", "") or getattr(part, "table", "") or part) for part in flat[1:]
        )

    return [d for d in compare_metadata(context, target_metadata()) if about_billing(d)]


async def test_the_billing_models_match_the_migrated_schema(migrated_db):
    engine = create_async_engine(migrated_db)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_billing_diffs)
            tables = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
    finally:
        await engine.dispose()
    assert {"billing_customers", "billing_subscriptions", "billing_events"} <= tables
    assert diffs == []
