"""``mcu-hub status``: what the running process last recorded (exit 1 if anything is stale)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.config_files import load_or_exit


def cmd_status(args: argparse.Namespace) -> int:
    """What the running process last recorded: 0 if all is fresh, 1 if anything is stale."""
    from bot.services import health
    from storage.db import Database

    config = load_or_exit(args.config)
    if (not config.storage.postgres and config.storage.path != ":memory:"
            and not Path(config.storage.path).exists()):
        print(f"no database at {config.storage.path}: mcu-hub has not run with this config",
              file=sys.stderr)
        return 1

    async def read() -> health.Report:
        db = Database(config.storage.target, config.municipality.id)
        await db.open()
        try:
            return await health.read(config, db)
        finally:
            await db.close()

    report = asyncio.run(read())
    print(f"mcu-hub status: {config.municipality.name} ({config.storage.shown})")
    print(health.plain(report))
    return 1 if report.stale else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    status = sub.add_parser(
        "status", help="health of a running bot: last polls, outbox backlog, failures; "
                       "exit 1 if anything is stale")
    status.add_argument("-c", "--config", required=True,
                        help="the config file of the running bot")
    status.set_defaults(func=cmd_status)
