"""``mcu-hub route "text"``: show how a message would be routed, to test the rules.

Without ``-c`` it uses the sandbox world's config, so it works out of the box.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import Config, ConfigError, load_config, parse_config
from bot.domain.routing import FAST, Message, Route, Router

SANDBOX_URL = "http://127.0.0.1:8081"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``route`` subcommand to the top-level CLI's subparsers."""
    parser = subparsers.add_parser(
        "route",
        help="show the block, priority and SLA policy a message would get",
        description="Route a message with the config's rules and say which rule matched.",
    )
    parser.add_argument("text", nargs="+", help="the message text (several words are joined)")
    parser.add_argument("-c", "--config", help="config file (default: the sandbox world's config)")
    parser.add_argument(
        "--source", default="", help="where it came from, e.g. vk:100002, tg:private, portal"
    )
    parser.add_argument("--author", default="", help="who wrote it, e.g. vk:500101, tg:2001")
    parser.set_defaults(func=run)
    return parser


def _config(path: str | None) -> Config:
    if path:
        return load_config(path)
    from bot.sandbox.world import config_dict

    return parse_config(config_dict(SANDBOX_URL), environ={})


def format_route(route: Route) -> str:
    """The four lines ``route`` prints: block, priority, policy and why."""
    priority = route.priority
    if route.priority == FAST and route.fast_rule:
        priority += f" ({route.fast_rule})"
    policy = route.policy
    if route.policy_rule:
        policy += f" ({route.policy_rule})"
    return f"block: {route.block}\npriority: {priority}\npolicy: {policy}\nmatched: {route.rule}\n"


def run(args: argparse.Namespace) -> int:
    """Route ``args.text``; 2 when the config is invalid."""
    try:
        config = _config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    text = " ".join(args.text)
    route = Router(config).route(Message(text=text, source=args.source, author=args.author))
    sys.stdout.write(format_route(route))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (``python -m bot.route_cli``) until the main CLI wires it."""
    parser = argparse.ArgumentParser(prog="mcu-hub")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["route", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
