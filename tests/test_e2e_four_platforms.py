"""Publishing to four platforms through the real process (issue 19): «Администрация» posts
to its VK wall, the Telegram channel, the MAX channel and the OK group — each post once
on each, 5/5/2 over three working days, across a kill -9; a text too long for MAX is
refused there with the reason and published on the others."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.sandbox import world
from storage.db import Database
from storage.posts import queued as queued_posts
from tests.harness import eventually, follow_backend, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo(world.TIMEZONE)
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
PRESS = 1007
ROOT = Path(__file__).resolve().parent.parent


def _day(ms_or_iso: int | str) -> datetime:
    if isinstance(ms_or_iso, int):
        return datetime.fromtimestamp(ms_or_iso / 1000, TZ)
    return datetime.fromisoformat(ms_or_iso).astimezone(TZ)


async def _everywhere(c) -> dict[str, list[tuple[str, datetime]]]:
    """(first line, local time) of each post on each of the four targets, oldest first."""
    wall = sorted(await c.wall(world.VK_ADMIN), key=lambda p: p["id"])
    channel = await c.sent(world.CHANNEL)
    max_channel = [m for m in await c.max_channel() if m["sender"]["is_bot"]]
    ok = await c.ok_feed()
    return {
        "vk": [(p["text"].split("\n")[0], _day(p["date_iso"])) for p in wall],
        "tg": [(m["text"].split("\n")[0], _day(m["date"])) for m in channel],
        "max": [(m["body"]["text"].split("\n")[0], _day(m["timestamp"])) for m in max_channel],
        "ok": [(next(x["text"] for x in t["media"] if x["type"] == "text").split("\n")[0],
                _day(t["created_ms"])) for t in ok],
    }


def _per_day(moments: list[datetime]) -> list[int]:
    days: dict = {}
    for moment in moments:
        days[moment.date()] = days.get(moment.date(), 0) + 1
    return list(days.values())


async def test_twelve_posts_on_four_platforms_5_5_2_across_kill_9(tmp_path):
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        c = env.control
        path = world.write_config(tmp_path / "bot.toml", env.sandbox.base_url,
                                  str(tmp_path / "bot.sqlite3"))
        follow_backend(path, tmp_path / "bot.sqlite3")
        config = load_config(path)
        app = App(config, clock=FakeClock(MONDAY))
        await app.db.open()
        for n in range(1, 13):
            await app.publishing.queue("Администрация", f"Новость {n}\nТекст новости {n}.")
        await app.db.close()
        await app.bot.session.close()
        await app._close_clients()

        db = Database(config.storage.target, config.municipality.id)  # as the bot sees it
        await db.open()
        log = (tmp_path / "bot.log").open("w")
        processes: list[asyncio.subprocess.Process] = []

        async def start() -> None:
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "-c", str(path),
                cwd=str(ROOT), stdout=log, stderr=log))

        async def on_all(count: int) -> bool:
            seen = await _everywhere(c)
            return all(len(posts) >= count for posts in seen.values())

        async def next_slot() -> datetime | None:
            planned = [p.planned_at for p in await queued_posts(db.reader, "Администрация")
                       if p.planned_at]
            return min(planned) if planned else None

        try:
            await start()
            for n in range(1, 13):
                slot = await eventually(next_slot, timeout=20)
                await c.set_clock(slot + timedelta(seconds=20))
                if n == 7:
                    # kill -9 while post 7 is on its way to the four platforms
                    await eventually(lambda: _any_has(c, 7), timeout=20, interval=0.02)
                    processes[-1].kill()
                    await processes[-1].wait()
                    await start()
                await eventually(lambda n=n: on_all(n), timeout=30)
            await asyncio.sleep(2)  # anything doubled would show by now
            seen = await _everywhere(c)
            for platform, posts in seen.items():
                assert [title for title, _ in posts] == [
                    f"Новость {n}" for n in range(1, 13)], platform  # each once, in order
                dates = [moment for _, moment in posts]
                assert _per_day(dates) == [5, 5, 2], platform
                assert [d.date() for d in dates[::5]] == [
                    (MONDAY + timedelta(days=i)).date() for i in range(3)], platform
        finally:
            for proc in processes:
                if proc.returncode is None:
                    proc.kill()
                    with contextlib.suppress(Exception):
                        await proc.wait()
            log.close()
            await db.close()


async def _any_has(c, count: int) -> bool:
    return any(len(posts) >= count for posts in (await _everywhere(c)).values())


async def _reply(c, chat: int, words: str):
    async def check():
        for m in await c.sent(chat):
            if words in (m.get("text") or ""):
                return m
        return None

    return await eventually(check)


async def test_too_long_for_max_is_refused_there_and_published_on_the_others(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        text = "Отчёт за год\n" + "Администрация сообщает. " * 165  # 3,982: signed, over 4,000
        assert 3950 < len(text) < 4000
        await c.tg_message(PRESS, PRESS, "/post Администрация\n" + text)
        preview = await _reply(c, PRESS, "Предпросмотр")
        assert "Не выйдет — канал в MAX: Текст длиннее 4000 символов" in preview["text"]
        reply = await env.app.publishing.queue("Администрация", text, by=PRESS)
        await env.app.publishing.publish_now(reply.post_id)
        done = await _reply(c, PRESS, "опубликован")
        assert "канал в MAX: не опубликован — Текст длиннее 4000 символов" in done["text"]
        assert "https://vk.com/wall-100001_" in done["text"]
        assert "https://ok.ru/group/" in done["text"]
        seen = await _everywhere(c)
        assert {k: len(v) for k, v in seen.items()} == {"vk": 1, "tg": 1, "max": 0, "ok": 1}
        # nothing was sent to MAX and cut to fit
        assert [e for e in await c.log(platform="max") if e["method"] == "POST /messages"] == []
