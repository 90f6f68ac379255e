"""The Telegram stand-in refuses what Telegram refuses when a bot delivers a lot.

Edits and forum topics share the per-chat budget with sends (tdlib/td#2592), repeated
floods wait longer, the General topic is not a thread, nginx answers HTML, a 200 can be
unreadable, an album can fail half-way, and an edit tells the bot's own message from
someone else's — all through the unmodified aiogram client.
"""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InputMediaPhoto

from bot.sandbox.telegram import RateLimiter, make_png
from tests.sandbox.test_tg_api import CHANNEL, CITY, STAFF, TgWorld, keyboard, tg

__all__ = ["tg"]  # the fixture


async def test_edits_and_topics_share_the_group_budget(tg: TgWorld) -> None:
    tg.sandbox.limiter = RateLimiter(per_chat_rate=1e9, burst=1000)  # the 20/min window only
    first = await tg.bot.send_message(STAFF, "карточка", reply_markup=keyboard("take"))
    for n in range(9):
        await tg.bot.send_message(STAFF, f"карточка {n}")
    for n in range(8):
        await tg.bot.edit_message_text(f"правка {n}", chat_id=STAFF,
                                       message_id=first.message_id)
    topic = await tg.bot.create_forum_topic(STAFF, "Благоустройство")  # a service message
    await tg.bot.edit_forum_topic(STAFF, topic.message_thread_id, name="Двор")
    with pytest.raises(TelegramRetryAfter) as err:  # the 21st call of the minute
        await tg.bot.edit_message_reply_markup(chat_id=STAFF, message_id=first.message_id,
                                               reply_markup=keyboard("done"))
    assert 55 <= err.value.retry_after <= 60
    with pytest.raises(TelegramRetryAfter):
        await tg.bot.create_forum_topic(STAFF, "Ещё одна")
    # another group is not held back; nor is answering a button press
    await tg.bot.send_message(CITY, "в городской чат")


async def test_private_chat_edits_twenty_a_minute(tg: TgWorld) -> None:
    tg.sandbox.limiter = RateLimiter(per_chat_rate=1e9, burst=1000)
    msg = await tg.bot.send_message(1004, "лично")
    for n in range(20):
        await tg.bot.edit_message_text(f"правка {n}", chat_id=1004, message_id=msg.message_id)
    with pytest.raises(TelegramRetryAfter):
        await tg.bot.edit_message_text("двадцать первая", chat_id=1004,
                                       message_id=msg.message_id)


async def test_repeated_floods_wait_longer_until_obeyed(tg: TgWorld) -> None:
    for n in range(3):
        await tg.bot.send_message(CITY, f"сообщение {n}")
    waits = []
    for _ in range(4):  # a bot that ignores retry_after
        with pytest.raises(TelegramRetryAfter) as err:
            await tg.bot.send_message(CITY, "ещё")
        waits.append(err.value.retry_after)
    assert waits == [1, 2, 4, 8]
    assert tg.sandbox.limiter.cap >= 1800  # real edit floods reach minutes
    await asyncio.sleep(waits[-1] + 0.1)  # obeyed: the chat is open again
    await tg.bot.send_message(CITY, "вовремя")


async def test_the_general_topic_is_not_a_thread(tg: TgWorld) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: message thread not found"):
        await tg.bot.send_message(STAFF, "в General", message_thread_id=1)
    msg = await tg.bot.send_message(STAFF, "в General")  # without a thread id
    assert msg.message_thread_id is None and not msg.is_topic_message
    assert (await tg.bot.send_message(STAFF, "в тему", message_thread_id=2)).is_topic_message


async def test_nginx_html_pages_and_unreadable_answers(tg: TgWorld) -> None:
    tg.state.add_fault(platform="tg", kind="html502", method="sendMessage", count=1)
    with pytest.raises(ClientDecodeError) as err:
        await tg.bot.send_message(CITY, "502")
    assert not isinstance(err.value, TelegramAPIError)
    assert "<title>502 Bad Gateway</title>" in str(err.value)
    assert await tg.sent(CITY) == []  # the server behind nginx never saw it

    tg.state.add_fault(platform="tg", kind="html504", method="sendMessage", count=1)
    with pytest.raises(ClientDecodeError, match="504 Gateway Time-out"):
        await tg.bot.send_message(CITY, "504")
    tg.state.add_fault(platform="tg", kind="garbage", method="sendMessage", count=1)
    with pytest.raises(ClientDecodeError, match="Failed to decode object"):
        await tg.bot.send_message(CITY, "200")
    # both were carried out: the bot cannot know it from the answer
    assert [m["text"] for m in await tg.sent(CITY)] == ["504", "200"]
    statuses = [e["status"] for e in tg.state.log if e["method"] == "sendMessage"]
    assert statuses == [502, 504, 200]
    assert (await tg.bot.send_message(CITY, "снова")).message_id == 3


async def test_an_album_can_fail_half_way_and_keep_what_went(tg: TgWorld) -> None:
    tg.state.add_fault(platform="tg", kind="album_partial", method="sendMediaGroup", sent=2,
                       count=1)
    media = [InputMediaPhoto(media=BufferedInputFile(make_png(100 + n, 80), f"{n}.png"),
                             caption="Субботник" if n == 0 else None) for n in range(4)]
    with pytest.raises(TelegramServerError):
        await tg.bot.send_media_group(CHANNEL, media)
    kept = await tg.sent(CHANNEL)
    assert [m["kind"] for m in kept] == ["media_group", "media_group"]
    assert kept[0]["text"] == "Субботник"
    assert len({m["media_group_id"] for m in kept}) == 1


async def test_an_edit_tells_the_bots_message_from_anyone_elses(tg: TgWorld) -> None:
    own = await tg.bot.send_message(STAFF, "карточка", reply_markup=keyboard("take"))
    person = await tg.control("message", chat_id=STAFF, from_id=1004, text="сотрудник")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await tg.bot.edit_message_reply_markup(chat_id=STAFF, message_id=person["message_id"])
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await tg.bot.edit_message_reply_markup(chat_id=STAFF, message_id=own.message_id + 5)
    for service in (1, 2):  # the forum's creation, a topic's creation: service messages
        with pytest.raises(TelegramBadRequest, match="message can't be edited"):
            await tg.bot.edit_message_reply_markup(chat_id=STAFF, message_id=service)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.bot.edit_message_reply_markup(chat_id=STAFF, message_id=own.message_id,
                                               reply_markup=keyboard("take"))
    assert (await tg.sent(STAFF))[0]["edits"] == 0  # nothing was touched
    # in a channel an admin with can_edit_messages may edit other admins' posts: there the
    # answer does not tell whose a post is
    post = await tg.control("channel_post", chat_id=CHANNEL, text="Пост вручную")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.bot.edit_message_reply_markup(chat_id=CHANNEL, message_id=post["message_id"])
