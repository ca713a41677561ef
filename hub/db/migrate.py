"""Run Alembic programmatically: upgrade to head, and tell whether a database is at head."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)
VERSION_TABLE = "alembic_version"

#: PostgreSQL advisory lock taken for the whole upgrade: several ``hub serve`` processes (or
#: machines) starting together against one database migrate one after the other, and the later
#: ones find the schema at head instead of failing half-way through a duplicate CREATE TABLE.
MIGRATION_LOCK_KEY = int.from_bytes(b"hub:migr", "big") & 0x7FFF_FFFF_FFFF_FFFF


def target_metadata() -> MetaData:
    """The metadata Alembic autogenerates against: the tenant side and the billing tables."""
    from hub.db.models import Base

    return Base.metadata


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    # ConfigParser interpolation would choke on a % in a password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(url: str) -> None:
    """Upgrade synchronously (runs its own event loop); call before any worker starts."""
    command.upgrade(alembic_config(url), "head")


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def database_heads(conn: AsyncConnection) -> frozenset[str]:
    """The revisions the database is at (empty before the first upgrade).

    Reads Alembic's version table directly: a MigrationContext would log its set-up at INFO on
    every readiness probe.
    """

    def _heads(sync_conn: Connection) -> frozenset[str]:
        if not inspect(sync_conn).has_table(VERSION_TABLE):
            return frozenset()
        return frozenset(r[0] for r in sync_conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")))

    return await conn.run_sync(_heads)
