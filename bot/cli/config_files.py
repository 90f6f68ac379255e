"""``mcu-hub init-config`` and ``check-config``: the config file a newcomer writes first,
and reading it for the other commands (its problems, each on a line; exit 2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Config, ConfigError, example_config, load_config


def load_or_exit(path: str) -> Config:
    """The config, or its problems on stderr and exit code 2."""
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init-config", help="write the commented example config to a file")
    init.add_argument("path", help="the new config file, e.g. /etc/mcu-hub/config.toml")
    init.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    init.set_defaults(func=cmd_init_config)

    check = sub.add_parser("check-config", help="validate a config file: OK or its problems")
    check.add_argument("path", nargs="?", help="the config file (or give it with -c)")
    check.add_argument("-c", "--config", help="the config file, as for the other commands")
    check.set_defaults(func=cmd_check_config)
