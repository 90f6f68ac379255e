"""``mcu-hub migrate`` and ``backup``: the database, without running the bot."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.config_files import load_or_exit


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage.db import Database

    config = load_or_exit(args.config)

    async def migrate() -> None:
        db = Database(config.storage.target, config.municipality.id)
        await db.open()
        await db.close()

    asyncio.run(migrate())
    print(f"database {config.storage.shown} is up to date")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.db import Database

    config = load_or_exit(args.config)
    if config.storage.postgres:
        print("backup: the database is PostgreSQL; back it up with pg_dump (or its "
              "replication)", file=sys.stderr)
        return 2
    target = Path(args.path)
    if target.exists():
        print(f"{target}: exists already; choose a new file", file=sys.stderr)
        return 2

    async def backup() -> None:
        db = Database(config.storage.target, config.municipality.id)
        await db.open()
        try:
            await db.backup(str(target))
        finally:
            await db.close()

    asyncio.run(backup())
    print(f"backup written to {target}")
    return 0


def add_migrate_parser(sub: argparse._SubParsersAction) -> None:
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("-c", "--config", required=True,
                         help="path to the TOML config (its storage.path is migrated)")
    migrate.set_defaults(func=cmd_migrate)


def add_backup_parser(sub: argparse._SubParsersAction) -> None:
    backup = sub.add_parser("backup", help="an online consistent copy of the database")
    backup.add_argument("path", help="the new file to write")
    backup.add_argument("-c", "--config", required=True,
                        help="path to the TOML config (its storage.path is copied)")
    backup.set_defaults(func=cmd_backup)


def cmd_migrate_to(args: argparse.Namespace) -> int:
    from bot.config.urls import POSTGRES, check_storage_url, masked
    from storage import moving
    from storage.db import Database

    config = load_or_exit(args.config)
    try:
        url = check_storage_url(args.url)
    except ValueError as exc:
        print(f"migrate-to: {exc}", file=sys.stderr)
        return 2
    if not url.startswith(POSTGRES) or config.storage.postgres:
        print("migrate-to: copies the config's SQLite database (storage.path) into a "
              "postgresql:// URL", file=sys.stderr)
        return 2
    if not Path(config.storage.path).exists():
        print(f"migrate-to: no database at {config.storage.path}", file=sys.stderr)
        return 2

    async def move() -> list[moving.Copied] | None:
        source = await Database(config.storage.path).open()
        target = await Database(url, config.municipality.id).open()
        leader = target.leadership()
        try:
            if not await leader.try_lead():
                return None
            return await moving.copy(source, target)
        finally:
            await leader.release()
            await target.close()
            await source.close()

    copied = asyncio.run(move())
    if copied is None:
        print(f"migrate-to: a process of {config.municipality.id!r} is running on "
              f"{masked(url)}; stop it first", file=sys.stderr)
        return 1
    for entry in copied:
        print(f"{entry.table:16} {entry.rows:>9} rows  "
              + ("ok" if entry.ok else f"DIFFERS (PostgreSQL holds {entry.target})"))
    if not all(entry.ok for entry in copied):
        print("migrate-to: the copy differs from the source; run it again", file=sys.stderr)
        return 1
    print(f"copied {config.storage.path} into {masked(url)} as {config.municipality.id!r}; "
          f"now set storage.url and municipality.id in the config")
    return 0


def add_migrate_to_parser(sub: argparse._SubParsersAction) -> None:
    move = sub.add_parser("migrate-to", help="copy the SQLite database into PostgreSQL")
    move.add_argument("url", help="postgresql://USER@HOST:PORT/DATABASE")
    move.add_argument("-c", "--config", required=True,
                      help="the TOML config: its storage.path and municipality.id")
    move.set_defaults(func=cmd_migrate_to)
