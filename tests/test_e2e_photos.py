"""Photos both ways and notes, through the real process (issue 17, items 1 and 4).

An executor's album is one draft, shown on the card, and reaches the citizen with the
answer: as photo attachments of the VK reply comment (uploaded with the admin's user
token), of a VK community message (with the community's token), as a Telegram album
replying to the citizen. The coordinator sees the citizen's photos under the card in one
tap. A reply to the card by anyone but the assignee is a note.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import world
from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Saratov"))
COORDINATOR, EXECUTOR = 1004, 1005  # 1005: ЖКХ
GROUP = world.VK_ADMIN


async def _card_after(c, number: int, predicate):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None

    return await eventually(check, timeout=15)


async def _assigned(c, number: int = 1) -> dict:
    card = await eventually(lambda: c.card(number))
    await c.press(card, COORDINATOR, button(card, "Назначить"))
    card = await _card_after(c, number, lambda m: "Исполнитель ЖКХ" in str(m["reply_markup"]))
    await c.press(card, COORDINATOR, button(card, "Исполнитель ЖКХ"))
    return await _card_after(c, number, lambda m: "назначено" in m["text"])


async def _album_answer(c, card: dict, caption: str, photos: int) -> dict:
    await c.tg_message(STAFF_GROUP, EXECUTOR, caption, photo=[
        _png(n) for n in range(photos)] if photos > 1 else True,
        reply_to_message_id=card["message_id"])
    return await _card_after(c, card_number(card), lambda m: f"Фото к ответу: {photos}"
                             in m["text"] and "на согласовании" in m["text"])


def card_number(card: dict) -> int:
    from bot.sandbox.client import card_number as number

    found = number(card["text"])
    assert found is not None
    return found


def _png(n: int) -> str:
    import base64

    from bot.sandbox.telegram import make_png

    return base64.b64encode(make_png(40 + n, 30, (10 * n, 120, 200))).decode()


async def test_an_album_answer_is_one_draft_and_the_vk_comment_carries_its_photos(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        made = await c.vk_comment(GROUP, 17, 500101,
                                  "Третий день нет отопления в доме 5 по ул. Ленина")
        card = await _assigned(c)
        card = await _album_answer(c, card, "Отопление включили, фото прилагаю.", photos=3)
        assert "Отопление включили" in card["text"]  # the later photos' empty captions kept it
        await c.press(card, COORDINATOR, button(card, "Согласовать"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])

        post = next(p for p in await c.wall(GROUP) if p["id"] == 17)
        replies = [m for m in post["comments"]
                   if m.get("reply_to_comment") == made["comment_id"]]
        assert len(replies) == 1
        assert "Отопление включили" in replies[0]["text"]
        attached = replies[0].get("attachments") or []
        assert [a["type"] for a in attached] == ["photo"] * 3
        assert all(a["photo"]["owner_id"] == -GROUP for a in attached)
        # the uploads went with the admin's user token, the comment with the community's
        uploads = await c.log(method="photos.saveWallPhoto")
        assert len(uploads) == 3 and all(e["status"] == 200 for e in uploads)


async def test_a_telegram_reply_carries_the_album(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        asked = await c.tg_message(CITY_CHAT, 2001, "Нет отопления в доме 3 на ул. Мира")
        card = await _assigned(c)
        card = await _album_answer(c, card, "Отопление дали, вот фото счётчика.", photos=2)
        await c.press(card, COORDINATOR, button(card, "Согласовать"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])
        album = [m for m in await c.sent(CITY_CHAT) if m.get("media_group_id")]
        assert len(album) == 2
        assert {m["reply_to_message_id"] for m in album} == {asked["message_id"]}
        assert "Отопление дали" in album[0]["text"]
        texts = [m for m in await c.sent(CITY_CHAT) if not m.get("media_group_id")
                 and "Отопление дали" in (m.get("text") or "")]
        assert not texts  # the text is the album's caption, not a second message


async def test_a_vk_message_answer_carries_its_photo(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.post("vk/message", {"group_id": GROUP, "from_id": 500222,
                                    "text": "Когда починят свет в подъезде дома 5?"})
        card = await _assigned(c)
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Лампы заменили.", photo=True,
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "Фото к ответу: 1" in m["text"])
        await c.press(card, COORDINATOR, button(card, "Согласовать"))
        await _card_after(c, 1, lambda m: "ответ опубликован" in m["text"])
        sent = await c.get("vk/messages", group_id=GROUP)
        answers = [m for m in sent if "Лампы заменили" in m["text"]]
        assert len(answers) == 1
        assert [a["type"] for a in answers[0]["attachments"]] == ["photo"]
        assert await c.log(method="photos.saveMessagesPhoto")


async def test_the_coordinator_sees_the_citizens_photos_under_the_card(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(CITY_CHAT, 2001, "Смотрите, какая яма у школы", photo=[
            _png(1), _png(2)])
        card = await _card_after(c, 1, lambda m: "Фото (2)" in str(m["reply_markup"]))
        assert "Фото жителя: 2" in card["text"]
        await c.press(card, COORDINATOR, button(card, "Фото (2)"))

        async def shown():
            album = [m for m in await c.sent(STAFF_GROUP) if m.get("media_group_id")]
            return album if len(album) == 2 else None

        album = await eventually(shown)
        assert {m["reply_to_message_id"] for m in album} == {card["message_id"]}
        assert {m["message_thread_id"] for m in album} == {card["message_thread_id"]}


async def test_a_reply_by_someone_else_is_a_note_not_the_answer(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(GROUP, 18, 500102, "Не вывозят мусор с ул. Ленина")
        card = await _assigned(c)
        await c.tg_message(STAFF_GROUP, COORDINATOR, "Уточните, какой дом?",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "Заметок: 1" in m["text"])
        assert "назначено" in card["text"] and "на согласовании" not in card["text"]
        assert "заметка: Уточните, какой дом?" in card["text"]
        # an album by someone else is one note, not one a photo
        await c.tg_message(STAFF_GROUP, COORDINATOR, "Вот так было в прошлом году",
                           photo=[_png(1), _png(2), _png(3)],
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "Заметок: 2" in m["text"])

        async def acked():
            return [m for m in await c.sent(STAFF_GROUP) if "Это заметка" in m["text"]]

        assert await eventually(acked)
        # the assignee's reply is the answer
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Дом 7, вывезут завтра.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        assert "Заметок: 2" in card["text"] and "Фото к ответу" not in card["text"]
        wall = next(p for p in await c.wall(GROUP) if p["id"] == 18)
        assert not [m for m in wall["comments"] if m["from_id"] == -GROUP]


async def _prompt(c, words: str, after: int) -> dict:
    async def asked():
        return next((m for m in await c.sent(STAFF_GROUP)
                     if m["message_id"] > after and words in (m.get("text") or "")), None)

    return await eventually(asked)


async def _last(c) -> int:
    return max((m["message_id"] for m in await c.sent(STAFF_GROUP)), default=0)


async def test_someone_elses_reply_to_an_interim_or_a_return_prompt_is_a_note(tmp_path):
    """The bot asks one person (the executor for the interim text, the coordinator for the
    return's reason); a reply to that question by anyone else — an album too — is one
    note: the draft, the state and the answer stay as they were."""
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(GROUP, 20, 500104, "Не вывозят мусор у дома 9 по ул. Мира")
        card = await _assigned(c)
        await c.press(card, EXECUTOR, button(card, "Промежуточный ответ"))
        card = await _card_after(c, 1, lambda m: "Завтра" in str(m["reply_markup"]))
        await c.press(card, EXECUTOR, button(card, "Завтра"))
        card = await _card_after(c, 1, lambda m: "черновик" in m["text"])
        after = await _last(c)
        await c.press(card, EXECUTOR, button(card, "Изменить текст"))
        prompt = await _prompt(c, "новый текст", after)
        await c.tg_message(STAFF_GROUP, COORDINATOR, "Контейнеры на балансе УК, не наши",
                           photo=[_png(1), _png(2)], reply_to_message_id=prompt["message_id"])
        card = await _card_after(c, 1, lambda m: "Заметок: 1" in m["text"])
        assert "черновик" in card["text"] and "Контейнеры на балансе" not in card["text"].split(
            "История")[0]
        # the executor's own reply is the new interim text
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Мусор вывезем завтра вечером.",
                           reply_to_message_id=prompt["message_id"])
        card = await _card_after(c, 1, lambda m: "Мусор вывезем" in m["text"])
        await c.press(card, EXECUTOR, button(card, "Отправить жителю"))
        card = await _card_after(c, 1, lambda m: "Ответ готов" in str(m["reply_markup"]))

        await c.tg_message(STAFF_GROUP, EXECUTOR, "Мусор вывезли.",
                           reply_to_message_id=card["message_id"])
        card = await _card_after(c, 1, lambda m: "на согласовании" in m["text"])
        after = await _last(c)
        await c.press(card, COORDINATOR, button(card, "На доработку"))
        prompt = await _prompt(c, "причину возврата", after)
        await c.tg_message(STAFF_GROUP, EXECUTOR, "Уже всё сделано, проверьте",
                           reply_to_message_id=prompt["message_id"])
        card = await _card_after(c, 1, lambda m: "Заметок: 2" in m["text"])
        assert "на согласовании" in card["text"] and "Мусор вывезли" in card["text"]
        await asyncio.sleep(1.0)  # the album's second photo made no third note
        card = await c.card(1)
        assert "Заметок: 2" in card["text"] and "на согласовании" in card["text"]

        async def acked():
            found = [m for m in await c.sent(STAFF_GROUP) if "Это заметка" in m["text"]]
            return found if len(found) >= 2 else None

        assert len(await eventually(acked)) == 2
        # the coordinator's own reply is the reason
        await c.tg_message(STAFF_GROUP, COORDINATOR, "Приложите фото площадки",
                           reply_to_message_id=prompt["message_id"])
        await _card_after(c, 1, lambda m: "на доработке" in m["text"])


async def test_kill_9_while_publishing_an_answer_with_photos_publishes_it_once(tmp_path):
    """The real process killed twice: between two photo uploads, and while the comment
    request hangs at VK after all its photos are uploaded. Each answer appears once, with
    all its photos; an upload remembered before the kill is not made again."""
    import aiohttp

    from tests.test_crash import GROUP as CRASH_GROUP
    from tests.test_crash import make

    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        posts = (71, 72)
        try:
            await p.start()
            for n, post in enumerate(posts):
                await c.vk_comment(CRASH_GROUP, post, 530001 + n,
                                   f"Не работает фонтан в парке {n}")
            for n in range(len(posts)):
                number = n + 1

                async def card_with(word: str, number: int = number) -> dict | None:
                    card = await c.card(number)
                    return card if card and word in str(card["reply_markup"]) else None

                card = await eventually(lambda: card_with("Взять"), timeout=20)
                await c.press(card, COORDINATOR, button(card, "Взять"))
                card = await eventually(lambda: card_with("Ответ готов"), timeout=20)
                await c.tg_message(STAFF_GROUP, COORDINATOR, f"Фонтан {n} починили.",
                                   photo=[_png(k) for k in range(3)],
                                   reply_to_message_id=card["message_id"])
                await eventually(lambda number=number: _card_after(
                    c, number, lambda m: "Фото к ответу: 3" in m["text"]), timeout=20)

            async def saved(at_least: int) -> bool:
                done = [e for e in await c.log(method="photos.saveWallPhoto")
                        if e["status"] == 200]
                return len(done) >= at_least

            # 1: the comment hangs at VK once all three photos are up; the kill lands there
            await c.fault(platform="vk", method="wall.createComment", kind="timeout", count=1)
            card = await c.card(1)
            await c.press(card, COORDINATOR, button(card, "Согласовать"))

            async def held() -> bool:
                return any(e["status"] == 504 for e in await c.log(method="wall.createComment"))

            await eventually(held, timeout=20, interval=0.01)
            assert await saved(3)
            await p.kill9()
            await p.start()
            await eventually(lambda: _one_reply(p, posts[0]), timeout=30)
            uploads_after_first = len(await c.log(method="photos.saveWallPhoto"))
            assert uploads_after_first == 3  # remembered: none uploaded again

            # 2: killed right after the first photo of the second answer is saved
            card = await c.card(2)
            await c.press(card, COORDINATOR, button(card, "Согласовать"))
            await eventually(lambda: saved(4), timeout=20, interval=0.001)
            await p.kill9()
            await p.start()
            await eventually(lambda: _one_reply(p, posts[1]), timeout=30)
            await asyncio.sleep(1.0)
            for post in posts:
                replies = await _replies(p, post)
                assert len(replies) == 1, post
                assert [a["type"] for a in replies[0]["attachments"]] == ["photo"] * 3
            # at most the upload the kill cut is made again
            assert len(await c.log(method="photos.saveWallPhoto")) <= 3 + 3 + 1
            await p.stop()
            assert p.integrity() == "ok"
        finally:
            await p.stop()
            await p.sandbox.stop()


async def _replies(p, post: int) -> list[dict]:
    wall = p.sandbox.vk.walls.get(-world.VK_ADMIN)
    if wall is None:
        return []
    return [m for m in wall.comments.values()
            if m["post_id"] == post and m["from_id"] == -world.VK_ADMIN and not m["deleted"]]


async def _one_reply(p, post: int) -> bool:
    return len(await _replies(p, post)) == 1


async def test_a_vk_citizens_photo_is_shown_under_the_card_from_its_address(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        photo = {"id": 456, "owner_id": 500103, "album_id": -7, "date": 1, "sizes": [
            {"type": "s", "width": 75, "height": 56, "url": "https://sun9-1.userapi.com/s.jpg"},
            {"type": "x", "width": 604, "height": 453,
             "url": "https://sun9-1.userapi.com/x.jpg"}]}
        await c.vk_comment(GROUP, 19, 500103, "Нет отопления в подъезде, фото батареи",
                           attachments=[{"type": "photo", "photo": photo}])
        card = await _card_after(c, 1, lambda m: "Фото (1)" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Фото (1)"))

        async def shown():
            return [m for m in await c.sent(STAFF_GROUP) if m.get("file_id")
                    and m.get("reply_to_message_id") == card["message_id"]]

        assert len(await eventually(shown)) == 1
        calls = await c.log(method="sendPhoto")
        assert calls[-1]["params"]["photo"] == "https://sun9-1.userapi.com/x.jpg"


async def test_help_tells_what_an_answer_is_and_what_a_note_is(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(EXECUTOR, EXECUTOR, "/help")

        async def helped():
            return [m for m in await c.sent(EXECUTOR) if "заметка" in (m.get("text") or "")]

        text = (await eventually(helped))[0]["text"]
        assert "назначенного исполнителя" in text and "альбом до 10 фото" in text
