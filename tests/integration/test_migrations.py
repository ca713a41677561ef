"""Migrations are the only way the schema is made, they agree with the models, and they go both ways."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

import migrations
from hub.db.migrate import MIGRATION_LOCK_KEY, alembic_config, script_heads, target_metadata, upgrade_to_head
from tests.support.cli import hub_env, start_hub
from tests.support.databases import PG_HOST, PG_PORT, PG_USER, backends
from tests.support.hub import build_client, make_settings
from tests.support.rawdb import fresh_database

ROOT = Path(__file__).resolve().parents[2]


def _drift(url: str, metadata: sa.MetaData) -> list:
    async def run() -> list:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn) -> list:
                    ctx = MigrationContext.configure(
                        sync_conn, opts={"compare_type": True, "compare_server_default": True}
                    )
                    return compare_metadata(ctx, metadata)

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _state(url: str) -> tuple[set[str], set[str]]:
    """(tables, alembic heads) of the database."""

    async def run():
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def read(sync_conn):
                    tables = set(sa.inspect(sync_conn).get_table_names())
                    return tables, set(MigrationContext.configure(sync_conn).get_current_heads())

                return await conn.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _model_tables() -> set[str]:
    return set(target_metadata().tables)


def test_models_and_migrations_agree(migrated_db):
    diff = _drift(migrated_db, target_metadata())
    assert diff == [], f"models and migrations drifted apart: {diff}"


def test_the_drift_check_sees_a_new_table_a_new_column_and_a_changed_type(migrated_db):
    changed = sa.MetaData(naming_convention=target_metadata().naming_convention)
    for table in target_metadata().tables.values():
        table.to_metadata(changed)
    changed.tables["tenants"].append_column(sa.Column("drift_probe", sa.String(10), nullable=True))
    changed.tables["tenants"].c.name.type = sa.String(99)
    sa.Table("drift_probe_table", changed, sa.Column("id", sa.Integer, primary_key=True))

    ops = [d[0] if isinstance(d, tuple) else d[0][0] for d in _drift(migrated_db, changed)]
    assert {"add_table", "add_column", "modify_type"} <= set(ops), ops


@pytest.fixture(params=backends())
def empty_url(request):
    with fresh_database(request.param, migrate=False) as url:
        yield url


def test_upgrade_each_step_then_downgrade_each_step_to_base_then_upgrade_again(empty_url):
    cfg = alembic_config(empty_url)
    revisions = [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    assert revisions[0] == "0001"
    for rev in revisions:
        command.upgrade(cfg, rev)
        assert _state(empty_url)[1] == {rev}
    tables, heads = _state(empty_url)
    assert heads == set(script_heads()) and _model_tables() <= tables

    for rev in reversed(revisions[:-1]):
        command.downgrade(cfg, "-1")
        assert _state(empty_url)[1] == {rev}
    command.downgrade(cfg, "base")
    tables, heads = _state(empty_url)
    assert heads == set() and tables <= {"alembic_version"}, f"left behind after downgrade: {tables}"

    upgrade_to_head(empty_url)
    tables, heads = _state(empty_url)
    assert heads == set(script_heads()) and _model_tables() <= tables
    assert _drift(empty_url, target_metadata()) == []


def test_upgrade_to_head_twice_is_a_no_op(empty_url):
    upgrade_to_head(empty_url)
    upgrade_to_head(empty_url)
    assert _state(empty_url)[1] == set(script_heads())


@pytest.mark.skipif("postgresql" not in backends(), reason="PostgreSQL not selected")
def test_concurrent_upgrades_on_postgresql_wait_for_each_other_and_all_succeed(tmp_path):
    # Several `hub serve` processes (or machines) starting together against one database.
    with fresh_database("postgresql", migrate=False) as url:
        name = url.rsplit("/", 1)[1]

        async def hold_lock(release: threading.Event, held: threading.Event) -> None:
            conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
                held.set()
                while not release.is_set():
                    await asyncio.sleep(0.05)
            finally:
                await conn.close()

        release, held = threading.Event(), threading.Event()
        holder = threading.Thread(target=lambda: asyncio.run(hold_lock(release, held)))
        holder.start()
        procs = []
        try:
            assert held.wait(10)
            env = hub_env(url, tmp_path / "home")
            procs = [start_hub("db", "upgrade", env=env, log=tmp_path / f"upgrade-{n}.log") for n in range(3)]
            time.sleep(4)
            assert [p.poll() for p in procs] == [None] * 3, "an upgrade ran while another held the migration lock"
            assert _state(url)[1] == set()
        finally:
            release.set()
            holder.join(10)
            for p in procs:
                try:
                    p.wait(90)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        logs = [(tmp_path / f"upgrade-{n}.log").read_text() for n in range(3)]
        assert [p.returncode for p in procs] == [0, 0, 0], logs
        assert _state(url)[1] == set(script_heads())
        assert sum(log.count("Running upgrade  -> 0001") for log in logs) == 1, logs


def test_the_schema_is_made_only_by_migrations():
    offenders = []
    for top in ("hub", "providers", "migrations", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            source = path.read_text()
            if ".create_all(" in source or ".drop_all(" in source:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"schema made outside Alembic in {offenders}"


def test_concurrent_upgrades_of_one_sqlite_file_all_succeed(tmp_path):
    # Two `hub serve` processes started together on the embedded default.
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    env = hub_env(url, tmp_path / "home")
    procs = [start_hub("db", "upgrade", env=env, log=tmp_path / f"upgrade-{n}.log") for n in range(4)]
    for p in procs:
        p.wait(120)
    logs = [(tmp_path / f"upgrade-{n}.log").read_text() for n in range(4)]
    assert [p.returncode for p in procs] == [0] * 4, logs
    assert sum(log.count("Running upgrade  -> 0001") for log in logs) == 1, logs
    assert _state(url)[1] == set(script_heads())
    assert _drift(url, target_metadata()) == []


def test_a_revision_that_fails_half_way_leaves_nothing_behind(empty_url, tmp_path):
    upgrade_to_head(empty_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(migrations.__file__).parent, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = script_heads()
    (scripts / "versions" / "9999_broken.py").write_text(
        '"""a revision that fails after its first statement"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = '9999'\ndown_revision = {head!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n"
        "    op.create_table('half_made', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    op.add_column('tenants', sa.Column('half_column', sa.String(10)))\n"
        "    op.execute('SELECT no_such_function_anywhere()')\n\n\n"
        "def downgrade():\n    pass\n"
    )
    cfg = alembic_config(empty_url)
    cfg.set_main_option("script_location", str(scripts))
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises; the state below is the point
        command.upgrade(cfg, "head")
    tables, heads = _state(empty_url)
    assert heads == set(script_heads()) and "half_made" not in tables
    assert _drift(empty_url, target_metadata()) == [], "the failed revision left a change behind"


async def test_readiness_names_migrations_until_the_database_is_at_head(empty_url, tmp_path):
    settings = make_settings(empty_url, str(tmp_path / "home"))
    for target in (None, "0001", "head"):
        if target:
            await asyncio.to_thread(command.upgrade, alembic_config(empty_url), target)
        async with build_client(settings) as client:
            r = await client.get("/health/ready")
        checks = r.json()["checks"]
        assert checks["database"] == "ok"
        if target == "head":
            assert r.status_code == 200 and checks["migrations"] == "ok", r.text
        else:
            assert r.status_code == 503 and checks["migrations"] == "failing", r.text
