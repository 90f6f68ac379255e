"""``mcu-hub route`` and what the router learned from corrections («Сменить блок»).

With ``-c CONFIG`` whose database exists (``storage.path``), routing uses the words the
municipality's corrections taught (``bot.domain.learning``), and ``--explain`` marks each
as «learned». ``--learned`` lists them; ``--unlearn WORD --block NAME`` takes one back
(the admin's undo; ``--relearn`` allows it again); ``--eval-history`` measures routing on
the corrected messages without and with the learned words — each message judged by words
learned from the *other* corrections only, so the gain is not the message teaching itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Config, Municipality
from bot.domain.learning import Correction, as_keywords
from bot.domain.routing import Message, Router
from bot.services import learning
from storage import corrections
from storage.db import Database


def add_arguments(parser: Any) -> None:
    parser.add_argument("--learned", action="store_true",
                        help="list the words the config's corrections taught (needs -c and "
                             "its database)")
    parser.add_argument("--unlearn", metavar="WORD",
                        help="take a learned word back (with --block); an admin's undo")
    parser.add_argument("--relearn", metavar="WORD",
                        help="allow a word taken back to be learned again (with --block)")
    parser.add_argument("--block", help="the block of --unlearn / --relearn")
    parser.add_argument("--eval-history", action="store_true",
                        help="accuracy on the corrected messages, without and with the "
                             "learned words (needs -c and its database)")


def wanted(args: Any) -> bool:
    return bool(args.learned or args.unlearn or args.relearn or args.eval_history)


def with_municipality(config: Config, document: dict[str, Any]) -> Config:
    """The routing config under the file's own municipality (corrections are per one)."""
    section = document.get("municipality") or {}
    if not isinstance(section, dict) or not section.get("name"):
        return config
    return config.model_copy(update={"municipality": Municipality(
        id=str(section.get("id", "main")), name=str(section["name"]),
        timezone=str(section.get("timezone", "Europe/Moscow")))})


def database_path(document: dict[str, Any], config_path: str | None) -> Path | None:
    """The config's database, if it exists (relative paths as the process reads them)."""
    if config_path is None:
        return None
    storage = document.get("storage") or {}
    path = Path(str(storage.get("path", "mcu-hub.sqlite3")))
    return path if path.exists() else None


async def _with_db(path: Path, work: Any) -> Any:
    db = await Database(str(path)).open()
    try:
        return await work(db)
    finally:
        await db.close()


def learned_keywords(config: Config, path: Path | None) -> dict[str, list[str]]:
    if path is None:
        return {}

    async def read(db: Database) -> dict[str, list[str]]:
        return as_keywords(await learning.learned_words(db.reader, config))
    return asyncio.run(_with_db(path, read))


def run(args: Any, config: Config, path: Path | None) -> int:
    if path is None:
        print("route: give -c CONFIG whose database (storage.path) exists; the learned "
              "words live there", file=sys.stderr)
        return 2
    if (args.unlearn or args.relearn) and not args.block:
        print("route: which block? --unlearn WORD --block ЖКХ", file=sys.stderr)
        return 2
    return asyncio.run(_with_db(path, lambda db: _run(args, config, db)))


async def _run(args: Any, config: Config, db: Database) -> int:
    name = config.municipality.id
    if args.unlearn or args.relearn:
        word = (args.unlearn or args.relearn).strip().casefold()
        async with db.tx() as conn:
            if args.unlearn:
                who = os.environ.get("USER", "")
                await corrections.unlearn(conn, name, word, args.block, datetime.now(UTC), who)
            else:
                await corrections.relearn(conn, name, word, args.block)
        verb = "taken back" if args.unlearn else "may be learned again"
        print(f"«{word}» for {args.block}: {verb} (a running mcu-hub relearns at its next "
              "correction or restart)")
        return 0
    words = await learning.learned_words(db.reader, config)
    if args.learned:
        if not words:
            print("nothing learned yet")
        for item in words:
            print(f"{item.block}: {item.word} (moved there {item.times} times, "
                  f"{item.share:.0%} of its corrections)")
        return 0
    history = await learning.history(db.reader, config)
    taken_back = await corrections.unlearned(db.reader, name)
    report, summary = evaluate_history(config, history, taken_back)
    sys.stdout.write(report)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0


def evaluate_history(config: Config, history: list[Correction],
                     taken_back: set[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    """Right blocks among the corrected messages: the config alone, then with the words
    learned from the other corrections (leave one out)."""
    plain = Router(config)
    routers: dict[tuple[tuple[str, tuple[str, ...]], ...], Router] = {}
    before = after = 0
    for number, item in enumerate(history):
        others = history[:number] + history[number + 1:]
        taught = as_keywords(learning.taught(config, others, taken_back))
        key = tuple(sorted((b, tuple(w)) for b, w in taught.items()))
        router = routers.get(key) or routers.setdefault(key, Router(config, taught))
        before += plain.route(Message(text=item.text, source="", author="")).block == item.to_block
        after += router.route(Message(text=item.text, source="", author="")).block == item.to_block
    n = len(history)
    share = (lambda k: k / n) if n else (lambda k: 0.0)
    lines = [f"corrected messages: {n}",
             f"routed right by the config alone: {before} ({share(before):.1%})",
             f"routed right with the learned words (each message left out of its own "
             f"learning): {after} ({share(after):.1%})",
             f"gain: {after - before:+d}"]
    summary = {"n": n, "before": round(share(before), 4), "after": round(share(after), 4)}
    return "\n".join(lines) + "\n", summary
