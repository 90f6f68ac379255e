"""Publishing through the real process (issue 7): the planner's days, the press secretary's
commands, failures in the platform's words, and kill -9 without a lost or doubled post."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.sandbox import world
from storage.posts import queued as queued_posts
from tests.harness import button, eventually, follow_backend, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo(world.TIMEZONE)
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)  # a working Monday, a normal week after it
ADMIN_VK, HEAD_VK, CHANNEL = world.VK_ADMIN, world.VK_HEAD, world.CHANNEL
PRESS, CITIZEN, ADMIN = 1007, 2001, 1003
ROOT = Path(__file__).resolve().parent.parent


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(TZ)


async def next_slot(env, page: str) -> datetime | None:
    queue = await queued_posts(env.app.db.reader, page)
    planned = [post.planned_at for post in queue if post.planned_at]
    return min(planned) if planned else None


async def walk_the_plan(env, page: str, group: int, channel: bool, count: int) -> None:
    """Move the sandbox clock to each next planned slot and wait for the post to appear."""
    c = env.control
    for expected in range(1, count + 1):
        slot = await eventually(lambda: next_slot(env, page))
        await c.set_clock(slot + timedelta(seconds=20))
        await env.app.clock.sync(c.session)  # what its follower does within a second; sooner

        async def arrived(expected: int = expected) -> bool:
            on_wall = len(await c.wall(group)) >= expected
            return on_wall and (not channel or len(await c.sent(CHANNEL)) >= expected)

        await eventually(arrived, timeout=15)


def by_day(moments: list[datetime]) -> list[int]:
    days: dict = {}
    for moment in moments:
        days[moment.date()] = days.get(moment.date(), 0) + 1
    return list(days.values())


async def test_twelve_posts_go_5_5_2_over_three_working_days(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        for n in range(1, 13):
            await env.app.publishing.queue("Администрация", f"Новость {n}\nТекст новости {n}.")
        await walk_the_plan(env, "Администрация", ADMIN_VK, channel=True, count=12)

        wall = sorted(await c.wall(ADMIN_VK), key=lambda p: p["id"])
        channel = await c.sent(CHANNEL)
        for posts, text_of, date_of in (
            (wall, lambda p: p["text"], lambda p: local(p["date_iso"])),
            (channel, lambda m: m["text"], lambda m: local(m["date"])),
        ):
            assert [text_of(p).split("\n")[0] for p in posts] == [
                f"Новость {n}" for n in range(1, 13)]  # in queue order, each exactly once
            dates = [date_of(p) for p in posts]
            assert by_day(dates) == [5, 5, 2]
            assert [d.date() for d in dates[::5]] == [
                (MONDAY + timedelta(days=i)).date() for i in range(3)]
            assert all(9 <= d.hour < 18 for d in dates)
            assert all(b - a >= timedelta(minutes=60) for a, b in pairwise(dates))
        assert all(p["from_group"] and "#Шиханы" in p["text"] for p in wall)

        # Wednesday has only two: at 12:00 the press secretary is warned, once
        await c.set_clock(MONDAY + timedelta(days=2, hours=4, minutes=1))

        async def warned():
            return [m for m in await c.sent(PRESS) if "План на сегодня: 2 из 5" in m["text"]]

        assert len(await eventually(warned)) == 1
        # and every post's links went to the press secretary? (no author: all press staff)
        links = [m for m in await c.sent(PRESS) if "опубликован" in m["text"]]
        assert len(links) == 12
        assert "https://vk.com/wall-100001_" in links[0]["text"]
        assert "https://t.me/c/1000000003/" in links[0]["text"]


async def test_seven_posts_for_the_head_five_this_week_two_next(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        for n in range(1, 8):
            await env.app.publishing.queue("Глава", f"Глава: новость {n}")
        await walk_the_plan(env, "Глава", HEAD_VK, channel=False, count=7)
        wall = sorted(await env.control.wall(HEAD_VK), key=lambda p: p["id"])
        assert [p["text"].split("\n")[0] for p in wall] == [
            f"Глава: новость {n}" for n in range(1, 8)]
        dates = [local(p["date_iso"]) for p in wall]
        next_monday = (MONDAY + timedelta(days=7)).date()
        assert sum(1 for d in dates if d.date() < next_monday) == 5
        assert sum(1 for d in dates if next_monday <= d.date()) == 2
        assert len({d.date() for d in dates}) == 7  # spread: one a day, no burst


async def _reply(c, chat: int, words: str, after: int = 0):
    async def check():
        for m in await c.sent(chat):
            if m["message_id"] > after and words in (m.get("text") or ""):
                return m
        return None

    return await eventually(check)


async def test_press_secretary_commands_through_the_chat(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control

        # a citizen cannot post
        await c.tg_message(CITIZEN, CITIZEN, "/post Администрация\nМоя реклама")
        await _reply(c, CITIZEN, "для пресс-секретаря")

        # /post with text: a preview with the three buttons, then «В очередь»
        await c.tg_message(PRESS, PRESS, "/post Администрация\nСубботник\n"
                                         "В субботу — общегородской субботник.")
        preview = await _reply(c, PRESS, "Предпросмотр")
        assert "<b>" not in preview["text"] and "Субботник" in preview["text"]
        assert "ориентировочно 23.11 09:00" in preview["text"]
        for word in ("В очередь", "Изменить", "Отмена"):
            button(preview, word)
        await c.press(preview, PRESS, button(preview, "В очередь"))
        queued = await _reply(c, PRESS, "в очереди «Администрация»")
        assert "23.11 09:00" in queued["text"]

        # 5,000 characters: too long for the channel and MAX — the preview says so before
        # anything is queued (VK and OK take it whole); nothing is cut
        await c.tg_message(PRESS, PRESS, "/post Администрация\n" + "слово " * 833)
        refusal = await _reply(c, PRESS, "Не выйдет — Telegram-канал", after=queued["message_id"])
        assert "4096" in refusal["text"] and "Не выйдет — канал в MAX" in refusal["text"]

        # an album with a long caption: the preview says the text goes separately
        long_text = "Фотоотчёт с субботника\n" + "Спасибо всем, кто пришёл. " * 60
        await c.tg_message(PRESS, PRESS, "/post Администрация\n" + long_text, photo=[1, 2, 3])
        album = await _reply(c, PRESS, "Фото: 3")
        assert "фото уйдут без подписи" in album["text"]
        await c.press(album, PRESS, button(album, "В очередь"))
        await _reply(c, PRESS, "в очереди", after=album["message_id"])

        # /queue: publish the album now
        await c.tg_message(PRESS, PRESS, "/queue")
        view = await _reply(c, PRESS, "Очередь публикаций")
        assert "Субботник" in view["text"] and "Фотоотчёт" in view["text"]
        album_id = int(album["text"].split("№")[1].split("<")[0].split()[0])
        await c.press(view, PRESS, button(view, f"▶️ №{album_id}"))
        done = await _reply(c, PRESS, f"Пост №{album_id} «Фотоотчёт", after=view["message_id"])
        assert "https://vk.com/wall-100001_" in done["text"]
        assert "https://t.me/c/1000000003/" in done["text"]
        (post,) = await c.wall(ADMIN_VK)
        assert [a["type"] for a in post["attachments"]] == ["photo"] * 3
        assert post["text"].startswith("Фотоотчёт с субботника")
        channel = await c.sent(CHANNEL)
        assert [m["kind"] for m in channel] == ["media_group"] * 3 + ["text"]
        assert channel[-1]["text"].startswith("Фотоотчёт с субботника")

        # a poll, queued and published now
        await c.tg_message(PRESS, PRESS, "/poll Администрация\nГде залить каток?\n"
                                         "У школы\nВ парке")
        poll = await _reply(c, PRESS, "Предпросмотр опроса")
        await c.press(poll, PRESS, button(poll, "В очередь"))
        await _reply(c, PRESS, "в очереди", after=poll["message_id"])
        await c.tg_message(PRESS, PRESS, "/queue")
        view = await _reply(c, PRESS, "Очередь публикаций", after=poll["message_id"])
        poll_id = int(poll["text"].split("№")[1].split("<")[0].split()[0])
        await c.press(view, PRESS, button(view, f"▶️ №{poll_id}"))
        await _reply(c, PRESS, f"Пост №{poll_id} «Опрос", after=view["message_id"])
        vk_poll = next(p for p in await c.wall(ADMIN_VK) if p["poll"])
        assert vk_poll["poll"]["question"] == "Где залить каток?"
        tg_poll = (await c.sent(CHANNEL))[-1]
        assert tg_poll["poll"]["question"] == "Где залить каток?"

        # /plan: today's plan against the quota (2 published, the subbotnik planned)
        await c.tg_message(PRESS, PRESS, "/plan")
        plan = await _reply(c, PRESS, "План публикаций")
        assert "опубликовано 2, в плане 1 — 3 из 5" in plan["text"]

        # a citizen's message was never taken for an appeal
        assert await c.cards() == []
        # our own pacing kept the user token under VK's 3 requests a second
        assert [e for e in await c.log() if e["platform"] == "vk" and e["status"] == 6] == []


async def test_guided_post_with_a_time_edited_then_queued(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(PRESS, PRESS, "/post")
        pick = await _reply(c, PRESS, "Выберите страницу")
        await c.press(pick, PRESS, button(pick, "Глава"))
        await _reply(c, PRESS, "Пост для «Глава»")
        await c.tg_message(PRESS, PRESS, "25.11 15:00\nВстреча с жителями\nГлава проведёт приём.")
        first = await _reply(c, PRESS, "Предпросмотр")
        assert "25.11 15:00 (фиксированное)" in first["text"]
        assert "ВКонтакте «Глава»" in first["text"] and "club" not in first["text"]

        await c.press(first, PRESS, button(first, "Изменить"))
        await _reply(c, PRESS, "Пришлите исправленный")
        await c.tg_message(PRESS, PRESS, "Встреча с жителями\nГлава проведёт приём в ДК.")
        second = await _reply(c, PRESS, "приём в ДК")
        assert "25.11 15:00 (фиксированное)" in second["text"]  # the time stayed
        await c.press(second, PRESS, button(second, "В очередь"))
        await _reply(c, PRESS, "в очереди «Глава»: выйдет 25.11 15:00")

        queue = await queued_posts(env.app.db.reader, "Глава")
        assert [p.text for p in queue] == ["Встреча с жителями\nГлава проведёт приём в ДК."]
        first_now = next(m for m in await c.sent(PRESS) if m["message_id"] == first["message_id"])
        assert not (first_now["reply_markup"] or {}).get("inline_keyboard")  # spent


async def test_permanent_failure_is_reported_in_the_platforms_words(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.fault(platform="vk", kind="vk_error", code=214, method="wall.post", count=1)
        reply = await env.app.publishing.queue("Глава", "Новость главы", by=PRESS)
        await env.app.publishing.publish_now(reply.post_id)
        for person in (PRESS, ADMIN):
            notice = await _reply(c, person, "не опубликован")
            assert "Access to adding post denied" in notice["text"]
            assert "214" in notice["text"]
            assert "Что это значит" in notice["text"]
        assert await c.wall(HEAD_VK) == []


async def test_kill_9_while_publishing_loses_nothing_and_doubles_nothing(tmp_path):
    """The real process killed with SIGKILL halfway through six posts, then restarted."""
    async with running(tmp_path, clock=MONDAY, start_bot=False) as env:
        c = env.control
        path = world.write_config(tmp_path / "bot.toml", env.sandbox.base_url,
                                  str(tmp_path / "bot.sqlite3"))
        follow_backend(path, tmp_path / "bot.sqlite3")
        config = load_config(path)
        app = App(config, clock=FakeClock(MONDAY))
        await app.db.open()
        for n in range(1, 7):  # fixed at now: all due at once (the press secretary's call)
            await app.publishing.queue("Глава", f"Срочно {n}", when=MONDAY)
        await app.db.close()
        await app.bot.session.close()

        log = (tmp_path / "bot.log").open("w")
        processes = []

        async def start() -> asyncio.subprocess.Process:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "-c", str(path),
                cwd=str(ROOT), stdout=log, stderr=log)
            processes.append(proc)
            return proc

        try:
            proc = await start()
            await eventually(lambda: _count(c, 2), timeout=30, interval=0.02)
            proc.kill()  # SIGKILL: no clean-up at all
            await proc.wait()
            at_kill = len(await c.wall(HEAD_VK))
            proc = await start()
            await eventually(lambda: _count(c, 6), timeout=30)
            await asyncio.sleep(2)  # anything doubled would show by now
            texts = [p["text"].split("\n")[0] for p in await c.wall(HEAD_VK)]
            assert sorted(texts) == sorted(f"Срочно {n}" for n in range(1, 7)), texts
            assert at_kill < 6, "the kill came too late to test anything"
        finally:
            for proc in processes:
                if proc.returncode is None:
                    proc.kill()
                    with contextlib.suppress(Exception):
                        await proc.wait()
            log.close()


async def _count(c, n: int) -> bool:
    return len(await c.wall(HEAD_VK)) >= n
