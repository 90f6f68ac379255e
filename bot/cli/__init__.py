"""``mcu-hub``: the console command. Each subcommand loads what it needs and no more."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, example_config, load_config


def _load(path: str):
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{path}: the configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(2)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.config or args.path
    if args.config and args.path and args.config != args.path:
        print(f"check-config: two files given ({args.path}, {args.config}); give one",
              file=sys.stderr)
        return 2
    if not path:
        print("check-config: which file? mcu-hub check-config -c config.toml", file=sys.stderr)
        return 2
    try:
        load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return 2
    print("OK")
    return 0


def cmd_init_config(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        print(f"{target}: exists already; choose a new file (or --force to overwrite it)",
              file=sys.stderr)
        return 2
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(example_config(), encoding="utf-8")
    except OSError as exc:
        print(f"{target}: cannot write ({exc.strerror})", file=sys.stderr)
        return 2
    print(f"wrote {target}: the example configuration, with comments.")
    print("Next: put in your tokens (the REPLACE-WITH-… values), staff, blocks and pages, "
          f"then: mcu-hub check-config -c {target}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.app import run

    config = _load(args.config)
    secrets = [config.telegram.token.get_secret_value(), config.vk.service_token.get_secret_value()]
    for community in config.vk.communities:
        secrets += [community.token.get_secret_value(), community.user_token.get_secret_value()]
    logs.setup(args.log_level, secrets, args.log_format)
    return asyncio.run(run(config))


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage.db import Database

    config = _load(args.config)

    async def migrate() -> None:
        db = Database(config.storage.path)
        await db.open()
        await db.close()

    asyncio.run(migrate())
    print(f"database {config.storage.path} is up to date")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """What the running process last recorded: 0 if all is fresh, 1 if anything is stale."""
    from bot.services import health
    from storage.db import Database

    config = _load(args.config)
    if config.storage.path != ":memory:" and not Path(config.storage.path).exists():
        print(f"no database at {config.storage.path}: mcu-hub has not run with this config",
              file=sys.stderr)
        return 1

    async def read() -> health.Report:
        db = Database(config.storage.path)
        await db.open()
        try:
            return await health.read(config, db)
        finally:
            await db.close()

    report = asyncio.run(read())
    print(f"mcu-hub status: {config.municipality.name} ({config.storage.path})")
    print(health.plain(report))
    return 1 if report.stale else 0


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.db import Database

    config = _load(args.config)
    target = Path(args.path)
    if target.exists():
        print(f"{target}: exists already; choose a new file", file=sys.stderr)
        return 2

    async def backup() -> None:
        db = Database(config.storage.path)
        await db.open()
        try:
            await db.backup(str(target))
        finally:
            await db.close()

    asyncio.run(backup())
    print(f"backup written to {target}")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.sandbox.server import serve

    logs.setup("WARNING", fmt="text")
    asyncio.run(serve(args.port, args.write_config, args.state, not args.no_rate_limits,
                      args.start))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import route, working_time

    parser = argparse.ArgumentParser(
        prog="mcu-hub",
        description="Municipal control centre (МЦУ) in Telegram and VK.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", required=True, help="path to the TOML config")
    run.add_argument("--log-level", default="INFO",
                     help="least important log lines written: DEBUG, INFO (default), "
                     "WARNING, ERROR")
    run.add_argument("--log-format", choices=["json", "text"], default="json",
                     help="one JSON object a line (default, for journald and log "
                     "collectors) or plain text")
    run.set_defaults(func=cmd_run)

    init = sub.add_parser("init-config", help="write the commented example config to a file")
    init.add_argument("path", help="the new config file, e.g. /etc/mcu-hub/config.toml")
    init.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    init.set_defaults(func=cmd_init_config)

    check = sub.add_parser("check-config", help="validate a config file: OK or its problems")
    check.add_argument("path", nargs="?", help="the config file (or give it with -c)")
    check.add_argument("-c", "--config", help="the config file, as for the other commands")
    check.set_defaults(func=cmd_check_config)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("-c", "--config", required=True,
                         help="path to the TOML config (its storage.path is migrated)")
    migrate.set_defaults(func=cmd_migrate)

    status = sub.add_parser(
        "status", help="health of a running bot: last polls, outbox backlog, failures; "
                       "exit 1 if anything is stale")
    status.add_argument("-c", "--config", required=True,
                        help="the config file of the running bot")
    status.set_defaults(func=cmd_status)

    backup = sub.add_parser("backup", help="an online consistent copy of the database")
    backup.add_argument("path", help="the new file to write")
    backup.add_argument("-c", "--config", required=True,
                        help="path to the TOML config (its storage.path is copied)")
    backup.set_defaults(func=cmd_backup)

    sandbox = sub.add_parser("sandbox", help="run the Telegram and VK stand-ins")
    sandbox.add_argument("--port", type=int, default=8081,
                         help="port on 127.0.0.1 to listen on (default: 8081)")
    sandbox.add_argument("--write-config", metavar="PATH",
                         help="write a bot config for the sandbox world")
    sandbox.add_argument("--state", metavar="PATH", help="keep the sandbox's state here")
    sandbox.add_argument("--start", metavar="ISO", help="start the clock at this moment")
    sandbox.add_argument("--no-rate-limits", action="store_true",
                         help="answer every call at once (the real services would not)")
    sandbox.set_defaults(func=cmd_sandbox)

    route.add_parser(sub)
    working_time.add_parsers(sub)
    _add_optional(sub)
    return parser


def _add_optional(sub: argparse._SubParsersAction) -> None:
    """Subcommands of features that register themselves (demo, bench)."""
    try:
        from bot.cli import demo
    except ImportError:
        return
    demo.add_parser(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
