"""``hub serve | db upgrade | vault generate-key | vault rotate | prune | backup``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable

from hub import __version__
from hub.settings import ConfigError, Settings, generate_vault_key_entry, load_settings

log = logging.getLogger("hub.cli")


def _failure(exc: BaseException) -> str:
    """One line about a database/OS failure, without SQLAlchemy's echo of statements and parameters."""
    orig = getattr(exc, "orig", None)  # the driver's own error: its message carries no parameters
    shown = orig if isinstance(orig, BaseException) else exc
    if shown is orig or isinstance(shown, OSError):
        first = (str(shown).strip().splitlines() or [""])[0][:300]
        return f"{type(shown).__name__}: {first}" if first else type(shown).__name__
    return type(shown).__name__


def _settings() -> Settings:
    from hub.billing.settings import load_billing_settings

    try:
        settings = load_settings()
        # Billing reads its own variables in each worker; check them here too, so a bad
        # HUB_BILLING_* stops `hub serve` with one line instead of a traceback per worker.
        load_billing_settings()
        return settings
    except ConfigError as exc:
        print(f"hub: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    from hub.db.migrate import upgrade_to_head
    from hub.logging import configure_logging

    settings = _settings()
    configure_logging(settings.server.log_level, settings.server.log_format)  # shows each revision Alembic applies
    if not _upgrade(upgrade_to_head, settings.database.url):
        return 1
    print("database is at head")
    return 0


def _upgrade(upgrade: Callable[[str], None], url: str) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        upgrade(url)
    except (SQLAlchemyError, OSError) as exc:
        print(f"hub: database upgrade failed: {_failure(exc)}", file=sys.stderr)
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.db.migrate import upgrade_to_head
    from hub.logging import configure_logging

    if getattr(args, "forwarded_allow_ips", None) is not None:
        # Workers read HUB_* themselves; checked below like the variable it sets.
        os.environ["HUB_TRUSTED_PROXIES"] = args.forwarded_allow_ips
    settings = _settings()  # dev keys are generated here, once, before any worker starts
    configure_logging(settings.server.log_level, settings.server.log_format)
    if not _upgrade(upgrade_to_head, settings.database.url):
        return 1
    if settings.server.env == "dev" and not os.environ.get("HUB_PUBLIC_URL", "").strip():
        # Workers read HUB_* themselves: the webhook URLs they hand out name the port really served.
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        os.environ["HUB_PUBLIC_URL"] = f"http://{f'[{shown}]' if ':' in shown else shown}:{args.port}"
    log.info("migrations at head; serving on %s:%s with %d worker(s)", args.host, args.port, args.workers)
    trusted = settings.server.trusted_proxies
    log.info("client addresses: %s", f"X-Forwarded-For from {', '.join(trusted)}" if trusted else "the peer's")
    uvicorn.run(
        "hub.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.server.log_level.lower(),
        log_config=None,  # uvicorn's own lines go through the hub's handler (its format, its masking)
        access_log=False,
        proxy_headers=False,  # the hub reads X-Forwarded-For itself, from HUB_TRUSTED_PROXIES only
        server_header=False,
    )
    return 0


def cmd_vault_generate_key(_: argparse.Namespace) -> int:
    print(generate_vault_key_entry())
    return 0


def cmd_vault_rotate(_: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db.engine import make_engine, make_sessionmaker
    from hub.vault.keyring import Vault, VaultError
    from hub.vault.rotate import rotate

    settings = _settings()

    async def run() -> int:
        engine = make_engine(settings.database.url, settings.database.pool_size)
        try:
            async with make_sessionmaker(engine)() as session:
                count = await rotate(session, Vault(settings.vault.keys))
                await session.commit()  # the command's own unit of work (no request, no driver)
            return count
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(run())
    except VaultError as exc:
        print(f"hub: vault rotation failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"hub: vault rotation failed, nothing changed: {_failure(exc)}", file=sys.stderr)
        return 1
    active = settings.vault.active.key_id
    print(
        f"re-wrapped {count} tenant data key(s) under {active}; every data key is now wrapped by {active}, "
        "so the other HUB_VAULT_KEYS entries can be dropped"
    )
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db.engine import make_engine
    from hub.retention.rules import count, prune

    settings = _settings()

    async def run() -> dict[str, int]:
        engine = make_engine(settings.database.url)
        try:
            if args.dry_run:
                return await count(engine, settings.retention)
            return await prune(engine, settings.retention)
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        print(f"hub: pruning failed: {_failure(exc)}", file=sys.stderr)
        return 1
    verb = "would prune" if args.dry_run else "pruned"
    width = max(len(table) for table in done)
    for table, rows in done.items():
        print(f"{table:<{width}}  {verb} {rows}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    settings = _settings()
    url = make_url(settings.database.url)
    if not url.drivername.startswith("sqlite"):
        print(
            "hub: `hub backup` copies an SQLite database; back PostgreSQL up with pg_dump (docs/operations.md)",
            file=sys.stderr,
        )
        return 2
    source, target = Path(url.database or ""), Path(args.path)
    if not source.is_file():
        print(f"hub: backup failed: there is no database at {source}", file=sys.stderr)
        return 1
    if target.exists():
        print(f"hub: backup failed: {target} exists (a backup never overwrites a file)", file=sys.stderr)
        return 1
    partial = target.with_name(f".{target.name}.partial")
    try:
        # SQLite's online backup: a consistent copy while the hub keeps serving, a few pages a
        # step so that no writer waits long; the copy appears under its name only once complete.
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst, pages=1024)
            check = dst.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise sqlite3.DatabaseError("the copy fails its integrity check")
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        print(f"hub: backup failed: {_failure(exc)}", file=sys.stderr)
        return 1
    print(f"backed up {source} to {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="hub",
        description="Multi-tenant payment-gateway integration hub. Configuration comes from HUB_* variables "
        "(docs/api.md); the database is HUB_DATABASE_URL.",
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,db,vault,prune,backup}")

    serve = sub.add_parser(
        "serve",
        help="migrate the database to head once, then serve",
        description="Migrate the database to head once, then serve the hub with uvicorn. In dev, "
        "HUB_PUBLIC_URL (the base of tenants' webhook URLs) follows --host and --port unless it is set.",
        formatter_class=fmt,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        default=argparse.SUPPRESS,
        help="comma-separated addresses and networks of the reverse proxies whose X-Forwarded-For names "
        "the client ('*': every peer); overrides HUB_TRUSTED_PROXIES (default: that variable; unset, trust none)",
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database commands", description="Database commands.", formatter_class=fmt)
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="{upgrade}")
    db_sub.add_parser(
        "upgrade", help="Alembic upgrade to head", description="Alembic upgrade to head.", formatter_class=fmt
    ).set_defaults(func=cmd_db_upgrade)

    vault = sub.add_parser(
        "vault", help="credential vault commands", description="Credential vault commands.", formatter_class=fmt
    )
    vault_sub = vault.add_subparsers(dest="vault_command", required=True, metavar="{generate-key,rotate}")
    vault_sub.add_parser(
        "generate-key",
        help="print a new KEY_ID:KEY entry",
        description="Print a new KEY_ID:KEY entry for HUB_VAULT_KEYS.",
        formatter_class=fmt,
    ).set_defaults(func=cmd_vault_generate_key)
    vault_sub.add_parser(
        "rotate",
        help="re-wrap every tenant data key under the active key",
        description="Re-wrap every tenant data key under the active (first) HUB_VAULT_KEYS entry, "
        "so the other entries can be dropped.",
        formatter_class=fmt,
    ).set_defaults(func=cmd_vault_rotate)

    prune = sub.add_parser(
        "prune",
        help="delete what retention lets go, now",
        description="Delete, in small batches, the rows the HUB_RETENTION_* windows let go (what every "
        "worker also does in the background), and print per table how many went.",
        formatter_class=fmt,
    )
    prune.add_argument("--dry-run", action="store_true", help="print per table what would go; change nothing")
    prune.set_defaults(func=cmd_prune)

    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database, online",
        description="Copy the SQLite database (HUB_DATABASE_URL) to PATH with SQLite's online backup, while "
        "the hub keeps serving. PostgreSQL is backed up with pg_dump. The vault keys are not in the copy.",
        formatter_class=fmt,
    )
    backup.add_argument("path", help="the new file (never overwritten)")
    backup.set_defaults(func=cmd_backup)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve" and args.workers < 1:
        print("hub: --workers must be at least 1", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
