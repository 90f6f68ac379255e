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
        # MAX and OK are named too (issue 19)
        assert "MAX: бот «МЦУ Шиханы»" in text
        assert "канал в MAX «Администрация»" in text
        assert "городской чат в MAX «Шиханы — городской чат»" in text
        assert "Одноклассники «Администрация»" in text


async def test_a_bad_max_token_and_ok_key_are_named(tmp_path):
    async with running(tmp_path, start_bot=False) as env:
        await env.start_bot(**{"max.token": "wrong", "ok.application_secret_key": "wrong"})
        report = await eventually(lambda: _startup_message(env.control))
        assert "MAX: токен бота не принят" in report["text"]
        assert "verify.token" in report["text"]
        assert "Одноклассники «Администрация»: ключи приложения или токен группы не приняты" \
            in report["text"]


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


async def _reports(c) -> list[dict]:
    return [m for m in await c.sent(1003) if "Бот МЦУ запущен" in (m.get("text") or "")]


async def _nth_report(c, n: int):
    found = await _reports(c)
    return found[n - 1] if len(found) >= n else None


async def test_an_unreadable_staff_group_is_named_and_known_topics_still_hold(tmp_path):
    staff = -1001000000001
    async with running(tmp_path, start_bot=False) as env:
        c = env.control
        # never seen the group: the blocks' topics are unknown, and the report says where
        # their cards would go
        await c.post("tg/membership", {"chat_id": staff, "state": "left"})
        await env.start_bot(**{"telegram.topics": {}})
        report = (await eventually(lambda: _nth_report(c, 1)))["text"]
        assert "Группа МЦУ недоступна: Forbidden: bot is not a member of the supergroup chat" \
            in report
        assert "ЖКХ" in report and "общую тему" in report
        await env.stop_bot()
        # the group is back: topics are made and stored
        await c.post("tg/membership", {"chat_id": staff, "state": "member"})
        await env.start_bot(**{"telegram.topics": {}})
        await eventually(lambda: _nth_report(c, 2))
        made = max(t["message_thread_id"] for t in await c.get("tg/topics", chat_id=staff)
                   if t["name"] == "ЖКХ")
        await env.stop_bot()
        # unreadable at the next start: the stored topics still hold for the cards
        await c.post("tg/membership", {"chat_id": staff, "state": "left"})
        await env.start_bot(**{"telegram.topics": {}})
        report = (await eventually(lambda: _nth_report(c, 3)))["text"]
        assert "Группа МЦУ недоступна" in report and "общую тему" not in report
        await c.post("tg/membership", {"chat_id": staff, "state": "member"})
        await c.vk_comment(100001, 5, 500101, "Нет отопления в доме 2")
        card = await eventually(lambda: c.card(1))
        assert card["message_thread_id"] == made


async def test_a_check_that_fails_in_any_way_is_named_and_the_others_run(
        tmp_path, monkeypatch, caplog):
    from aiogram import Bot
    from aiogram.exceptions import ClientDecodeError

    real = Bot.get_chat

    async def get_chat(self, chat_id, *args, **kwargs):
        if chat_id == -1001000000003:  # a proxy answers the channel's check with a page
            raise ClientDecodeError("Failed to decode object", ValueError("Expecting value"),
                                    "<html><body><h1>502 Bad Gateway</h1></body></html>")
        return await real(self, chat_id, *args, **kwargs)

    monkeypatch.setattr(Bot, "get_chat", get_chat)
    async with running(tmp_path) as env:
        report = (await eventually(lambda: _startup_message(env.control)))["text"]
        assert ("Не удалось проверить чат -1001000000003: the answer is not the Bot API's JSON"
                in report)
        # the checks after it ran
        assert "обсуждение канала «Администрация — обсуждение»" in report
        assert "ВКонтакте «Администрация»" in report
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
