"""The MAX stand-in read by an independent, maintained MAX client: maxapi (PyPI).

maxapi sends its requests as the real platform expects them (token in ``Authorization``,
JSON bodies, the upload flow with retries on ``attachment.not.ready``) and parses every
answer into its pydantic models, so a shape our sandbox gets wrong fails here even where
our own tests would agree with it. Its session takes a base URL without a path, so the
MAX sandbox is mounted at the root of its own app for these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from maxapi import Bot
from maxapi.enums.parse_mode import TextFormat
from maxapi.exceptions.max import InvalidToken, MaxApiError
from maxapi.types.attachments.buttons.callback_button import CallbackButton
from maxapi.types.input_media import InputMediaBuffer
from maxapi.types.updates import UpdateUnionAdapter
from maxapi.utils.inline_keyboard import InlineKeyboardBuilder

from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.max import MaxSandbox
from bot.sandbox.telegram import make_png

CITIZEN = 620007


class World:
    def __init__(self, sandbox: MaxSandbox, base: str, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = base
        self.http = http

    async def control(self, path: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/control/max/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def updates(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/updates", params={"marker": "1", "timeout": "0"},
                                 headers={"Authorization": world.MAX_BOT_TOKEN}) as response:
            return (await response.json())["updates"]


@pytest.fixture
async def env() -> AsyncIterator[tuple[World, Bot]]:
    sandbox = MaxSandbox(SandboxState(), rate_limits=False, prefix="")
    sandbox.processing_seconds = 0.0
    app = web.Application()
    sandbox.register(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    bot = Bot(world.MAX_BOT_TOKEN, after_input_media_delay=0.05,
              after_upload_retry_delay=0.3)
    bot.set_api_url(base)
    async with aiohttp.ClientSession() as http:
        yield World(sandbox, base, http), bot
    await bot.close_session()
    await runner.cleanup()


async def test_me_and_chats(env: tuple[World, Bot]) -> None:
    w, bot = env
    me = await bot.get_me()
    assert me.user_id == world.MAX_BOT_ID and me.is_bot
    channel = await bot.get_chat_by_id(world.MAX_CHANNEL)
    assert channel.chat_id == world.MAX_CHANNEL and channel.title == "Администрация"
    with pytest.raises(MaxApiError) as caught:
        await bot.get_chat_by_id(-5)
    assert caught.value.code == 404 and caught.value.raw["code"] == "chat.not.found"
    await bot.close_session()
    stranger = Bot("wrong-token")
    stranger.set_api_url(w.base)
    with pytest.raises(InvalidToken):
        await stranger.get_me()
    await stranger.close_session()


async def test_every_update_kind_parses(env: tuple[World, Bot]) -> None:
    w, bot = env
    sent = await w.control("message", user_id=CITIZEN, text="Яма во дворе")  # + bot_started
    await w.control("message", user_id=CITIZEN, text="Фото", chat_id=world.MAX_CITY_CHAT,
                    photo=True)
    city = await w.control("message", user_id=CITIZEN, text="Ответьте",
                           chat_id=world.MAX_CITY_CHAT, reply_to=sent["mid"])
    await w.control("edit", mid=city["mid"], text="Ответьте, пожалуйста")
    await w.control("remove", mid=city["mid"])
    kb = InlineKeyboardBuilder().row(CallbackButton(text="Принято", payload="ack"))
    answer = await bot.send_message(user_id=CITIZEN, text="Спасибо",
                                    attachments=[kb.as_markup()])
    assert answer is not None
    await w.control("callback", mid=answer.message.body.mid, user_id=CITIZEN, payload="ack")
    await w.control("user_added", chat_id=world.MAX_CITY_CHAT, user_id=CITIZEN + 1)
    await w.control("membership", chat_id=world.MAX_CITY_CHAT, state="removed")
    await w.control("membership", chat_id=world.MAX_CITY_CHAT, state="active")
    await w.control("block", user_id=CITIZEN, state="removed")
    await w.control("start", user_id=CITIZEN, payload="from-site")
    await w.control("channel_post", text="Объявление")
    updates = await w.updates()
    kinds = [u["update_type"] for u in updates]
    assert set(kinds) == {"bot_started", "message_created", "message_edited",
                          "message_removed", "message_callback", "user_added", "bot_removed",
                          "bot_added", "dialog_removed", "bot_stopped"}
    for update in updates:
        parsed = UpdateUnionAdapter.validate_python(update)  # raises on a wrong shape
        assert parsed.update_type == update["update_type"]


async def test_send_with_photo_keyboard_and_formatting(env: tuple[World, Bot]) -> None:
    w, bot = env
    w.sandbox.processing_seconds = 0.5  # maxapi must retry past attachment.not.ready
    kb = InlineKeyboardBuilder().row(CallbackButton(text="Взять", payload="take:1"))
    sent = await bot.send_message(
        chat_id=world.MAX_CHANNEL, text="**Субботник** в субботу", format=TextFormat.MARKDOWN,
        attachments=[InputMediaBuffer(make_png(64, 48), filename="photo.png"),
                     kb.as_markup()])
    assert sent is not None
    body = sent.message.body
    assert body.text == "Субботник в субботу"
    assert [a.type for a in body.attachments] == ["image", "inline_keyboard"]
    log = [e for e in w.sandbox.state.log if e["method"] == "POST /messages"]
    assert [e["status"] for e in log][-1] == 200
    assert 400 in [e["status"] for e in log]  # the first try met attachment.not.ready
    assert len([m for m in w.sandbox.messages.values() if m["chat_id"] == world.MAX_CHANNEL]) \
        == 1

    with pytest.raises(ValueError):  # maxapi refuses 4000 itself (it allows < 4000)
        await bot.send_message(chat_id=world.MAX_CHANNEL, text="я" * 4000)


async def test_edit_delete_and_answer(env: tuple[World, Bot]) -> None:
    w, bot = env
    await w.control("start", user_id=CITIZEN)
    kb = InlineKeyboardBuilder().row(CallbackButton(text="Да", payload="yes"))
    sent = await bot.send_message(user_id=CITIZEN, text="Вопрос", attachments=[kb.as_markup()])
    assert sent is not None
    mid = sent.message.body.mid
    # maxapi's edit_message always sends "attachments": [] (maxapi 1.2.3,
    # methods/edit_message.py): a text-only edit drops the keyboard, so pass it again
    edited = await bot.edit_message(mid, text="Вопрос (уточнён)", attachments=[kb.as_markup()])
    assert edited is not None and edited.success
    other = await bot.send_message(user_id=CITIZEN, text="Ещё", attachments=[kb.as_markup()])
    assert other is not None
    await bot.edit_message(other.message.body.mid, text="Ещё (правка)")
    assert w.sandbox.messages[other.message.body.mid]["attachments"] == []
    press = await w.control("callback", mid=mid, user_id=CITIZEN, payload="yes")
    answered = await bot.send_callback(press["callback_id"], notification="Принято")
    assert answered.success
    gone = await bot.delete_message(mid)
    assert gone.success
    with pytest.raises(MaxApiError) as caught:
        await bot.send_message(chat_id=-1, text="x")
    assert caught.value.code == 404


async def test_blocked_citizen_and_rate_limit_errors(env: tuple[World, Bot]) -> None:
    w, bot = env
    await w.control("start", user_id=CITIZEN)
    await w.control("block", user_id=CITIZEN, state="stopped")
    with pytest.raises(MaxApiError) as caught:
        await bot.send_message(user_id=CITIZEN, text="Ответ")
    assert caught.value.code == 403 and caught.value.raw == {
        "code": "chat.denied", "message": "error.dialog.suspended"}
    w.sandbox.rate_limits = True
    w.sandbox.requests_per_second = 1
    await bot.get_me()
    with pytest.raises(MaxApiError) as caught:
        await bot.get_me()
    assert caught.value.code == 429 and caught.value.raw["code"] == "too.many.requests"


async def test_long_polling_through_the_client(env: tuple[World, Bot]) -> None:
    w, bot = env
    await w.control("message", user_id=CITIZEN, text="Первое")
    await w.control("message", user_id=CITIZEN, text="Второе")
    raw = await bot.get_updates(marker=1, timeout=0)
    assert [UpdateUnionAdapter.validate_python(u).update_type for u in raw["updates"]] == [
        "bot_started", "message_created", "message_created"]
    later = await bot.get_updates(marker=raw["marker"], timeout=0)
    assert later["updates"] == []
