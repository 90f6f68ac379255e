"""``mcu-hub region-report``: the regional centre's view of every municipality sharing
the PostgreSQL database — ranked, with a chart and a workbook; ``--send`` puts it in
the regional curator's Telegram chat (a systemd timer runs it on a schedule; a period
goes out once)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path


def cmd_region_report(args: argparse.Namespace) -> int:
    from bot.config.loading import ConfigError
    from bot.config.region import load_region

    try:
        config = load_region(args.config, dict(os.environ))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 2
    if args.send and config.telegram is None:
        print(f"{args.config}: telegram: --send needs the curator's [telegram] chat_id and "
              "token", file=sys.stderr)
        return 2
    from bot.render import Renderer

    render = Renderer(config.region.tz)
    text, stem, png, xlsx, caption, key = asyncio.run(_report(config, render, args.period))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.png").write_bytes(png)
    (out / f"{stem}.xlsx").write_bytes(xlsx)
    print(text)
    print(f"\n{out / stem}.png, {out / stem}.xlsx")
    if args.send:
        sent = asyncio.run(_send(config, key, text, caption, png, xlsx, f"{stem}.xlsx"))
        print("sent to the curator's chat" if sent else "this period was sent already")
    return 0


async def _report(config, render, kind: str):  # type: ignore[no-untyped-def]
    """The text, the files' stem, the chart, the workbook, the caption, the period's key."""
    from bot.services import region

    period, rows = await region.collect(config, kind, datetime.now(UTC))
    text = region.text(render, config, kind, period, rows)
    last = period.end - timedelta(seconds=1)
    title = render.text("region.j2:chart_title", region=config.region.name,
                        first=period.start, last=last)
    png, xlsx = await region.files(render, rows, title)
    caption = render.text("region.j2:caption", region=config.region.name,
                          first=period.start, last=last)
    stem = f"region-{kind}-{period.first_day.isoformat()}"
    return text, stem, png, xlsx, caption, f"{kind}:{period.first_day}"


async def _send(config, key: str, text: str, caption: str, png: bytes,  # type: ignore[no-untyped-def]
                xlsx: bytes, name: str) -> bool:
    """The report to the curator's chat once a period: the mark is set before sending and
    taken back if Telegram refuses, so a timer firing twice sends once."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import BufferedInputFile

    from bot.domain.limits import TG_TEXT_MAX
    from storage import cursors
    from storage.db import Database

    db = await Database(config.storage.url, REGION).open()
    mark = f"region-report:{key}"
    try:
        async with db.tx() as conn:
            if not await cursors.claim(conn, mark):
                return False
        bot = Bot(config.telegram.token.get_secret_value(), session=AiohttpSession(
            api=TelegramAPIServer.from_base(config.telegram.api_base.rstrip("/"))))
        try:
            chat = config.telegram.chat_id
            for part in _parts(text, TG_TEXT_MAX):
                await bot.send_message(chat, part)
            await bot.send_photo(chat, BufferedInputFile(png, "chart.png"), caption=caption)
            await bot.send_document(chat, BufferedInputFile(xlsx, name), caption=caption)
        except BaseException:
            async with db.tx() as conn:
                await cursors.drop(conn, mark)
            raise
        finally:
            await bot.session.close()
        return True
    finally:
        await db.close()


# the regional view's own marks in the shared database: a key no municipality can have
REGION = "~region"


def _parts(text: str, limit: int) -> list[str]:
    """Whole lines, at most ``limit`` characters a message."""
    parts, current = [], ""
    for line in text.splitlines():
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    return [*parts, current] if current else parts


def add_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("region-report",
                            help="every municipality of the shared database, ranked")
    report.add_argument("--period", choices=["week", "month"], default="week",
                        help="the last full week, or the last 30 days")
    report.add_argument("-c", "--config", required=True,
                        help="the region's TOML: storage.url, [[municipalities]], [telegram]")
    report.add_argument("--out", default=".", help="where the chart and the workbook go")
    report.add_argument("--send", action="store_true",
                        help="also to the regional curator's Telegram chat (once a period)")
    report.set_defaults(func=cmd_region_report)
