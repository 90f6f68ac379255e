"""At start the bot tells its admins what it is connected to and what is missing."""

from __future__ import annotations

import pytest

from tests.harness import eventually, running

pytestmark = pytest.mark.e2e


async def _startup_message(c):
    for m in await c.sent(1003):  # 1003 is the admin in the sandbox world
        if "Бот МЦУ запущен" in (m.get("text") or ""):
            return m
    return None


async def test_admin_gets_the_start_up_report(tmp_path):
    async with running(tmp_path) as env:
        report = await eventually(lambda: _startup_message(env.control))
        text = report["text"]
        assert "группа МЦУ «МЦУ — штаб»" in text
        assert "Администрация" in text and "Всё в порядке" in text


async def test_missing_topics_are_created_and_cards_go_there(tmp_path):
    async with running(tmp_path, **{"telegram.topics": {}}) as env:
        c = env.control
        report = await eventually(lambda: _startup_message(c))
        assert "создана тема «ЖКХ»" in report["text"]
        topics = await c.get("tg/topics", chat_id=-1001000000001)
        made = {t["name"]: t["message_thread_id"] for t in topics}
        await c.vk_comment(100001, 5, 500101, "Нет отопления в доме 2")
        card = await eventually(lambda: c.card(1))
        assert card["message_thread_id"] == max(
            tid for name, tid in made.items() if name == "ЖКХ")


async def test_a_bad_vk_token_is_named(tmp_path):
    async with running(tmp_path, start_bot=False) as env:
        await env.start_bot(**{"vk.communities": [
            {"id": 100001, "name": "Администрация", "token": "vk1.a.wrong",
             "user_token": "vk1.a.wrong-too", "longpoll": False},
            {"id": 100002, "name": "Глава", "token": "vk1.a.sandbox-community-100002"}]})
        report = await eventually(lambda: _startup_message(env.control))
        assert "ВКонтакте «Администрация»: токен сообщества не принят" in report["text"]
