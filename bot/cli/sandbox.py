"""``mcu-hub sandbox``: the Telegram and VK stand-ins, on their own."""

from __future__ import annotations

import argparse
import asyncio


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.sandbox.server import serve

    logs.setup("WARNING", fmt="text")
    asyncio.run(serve(args.port, args.write_config, args.state, not args.no_rate_limits,
                      args.start))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
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
