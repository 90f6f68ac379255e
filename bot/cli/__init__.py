"""``mcu-hub``: the console command. Each subcommand has its module here and loads what it
needs and no more: ``run``, ``config_files`` (init-config, check-config), ``database``
(migrate, backup), ``status``, ``sandbox``, ``route``, ``working_time`` (deadline,
calendar), ``demo``."""

from __future__ import annotations

import argparse
import sys

from bot.cli import (
    config_files,
    database,
    demo,
    region,
    route,
    run,
    sandbox,
    status,
    working_time,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcu-hub",
        description="Municipal control centre (МЦУ) in Telegram and VK.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # in the order --help lists them
    run.add_parser(sub)
    config_files.add_parser(sub)
    database.add_migrate_parser(sub)
    status.add_parser(sub)
    database.add_backup_parser(sub)
    database.add_migrate_to_parser(sub)
    region.add_parser(sub)
    sandbox.add_parser(sub)
    route.add_parser(sub)
    working_time.add_parsers(sub)
    demo.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
