"""Models and migrations agree on every backend (autogenerate finds no difference)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import target_metadata


async def test_migrations_and_models_agree(migrated_db):
    engine = create_async_engine(migrated_db)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), target_metadata()))
    finally:
        await engine.dispose()
    assert diff == []
