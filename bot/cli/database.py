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
