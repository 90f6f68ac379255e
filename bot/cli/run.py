"""``mcu-hub run``: the bot, with its logs set up (secrets redacted)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.config_files import load_or_exit


def cmd_run(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.app import run

    config = load_or_exit(args.config)
    secrets = [config.telegram.token.get_secret_value(), config.vk.service_token.get_secret_value()]
    for community in config.vk.communities:
        secrets += [community.token.get_secret_value(), community.user_token.get_secret_value()]
    logs.setup(args.log_level, secrets, args.log_format)
    return asyncio.run(run(config, args.config))


def add_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the bot")
    run.add_argument("-c", "--config", required=True, help="path to the TOML config")
    run.add_argument("--log-level", default="INFO",
                     help="least important log lines written: DEBUG, INFO (default), "
                     "WARNING, ERROR")
    run.add_argument("--log-format", choices=["json", "text"], default="json",
                     help="one JSON object a line (default, for journald and log "
                     "collectors) or plain text")
    run.set_defaults(func=cmd_run)
