"""Acceptance of issue 17: the coordinator's Monday, played through the real process.

Fifty messages come in over the weekend (VK comments, the city chat, private messages to
the bot, and three the coordinator forwards from ПОС on Monday morning); one coordinator
and two executors work through them. What is counted is what people would notice:

- the coordinator's presses per message, from new to published, on average ≤ 3;
- the private messages the coordinator gets that morning, ≤ 10 (gathered notices);
- no overdue message reaches the manager or the curator before the ladder says so;
- ``/find ленина`` finds «ул. Ленина»; ``/inbox`` lists what is overdue with working-time ages;
- ten of the weekend's messages carry photos (VK comments' photos, Telegram photos and
  albums); the coordinator opens them from the card (one press each, counted); six answers
  go with photos or an album, and every photo the executor sent is in what the citizen
  got: the VK reply comment's attachments (their bytes), the Telegram reply's album (its
  files) — counted one by one, not just present;
- two citizens thank after their answers («Спасибо!» on the VK wall, «👍» in the city
  chat): both are recorded, the loop closes, nothing reopens and nobody is told.

Rate limits: the sandbox's are off and the bot's windows shrunk (``rate_scale``) so that
50 cards and their edits take seconds, not the staff group's 20 messages a minute; what
is measured here is presses and messages, not time (``benchmarks/`` measure time).
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import world
from bot.sandbox.telegram import make_png
from storage import incidents as repo
from tests.harness import CITY_CHAT, STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
MONDAY = datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
TUESDAY = MONDAY + timedelta(days=1)
HEAD, CURATOR, MANAGER, COORDINATOR, HOUSING, ROADS = 1001, 1002, 1003, 1004, 1005, 1006
STREETS = ["Ленина", "Мира", "Садовой", "Советской", "Школьной"]
HOUSING_TEXTS = ["Нет отопления в доме {n} по ул. {s}", "Течёт труба в подвале дома {n} на {s}",
                 "Не вывозят мусор у дома {n}, улица {s}", "Не горит свет в подъезде дома {n}"]
ROADS_TEXTS = ["Огромная яма на дороге у дома {n} по улице {s}",
               "Не чистят снег на тротуаре у дома {n}", "Сломан светофор у дома {n} на {s}"]
UNANSWERED = 3  # left to go overdue: the ladder's part of the day
GROUP = world.VK_ADMIN  # the VK community whose post 17 the weekend's comments are under
# the citizens' photos (number → how many): VK comments 1 4 10 13, city chat 2 5 11 14,
# private messages 3 6
CITIZEN_PHOTOS = {1: 1, 4: 2, 10: 1, 13: 1, 2: 2, 5: 1, 11: 3, 14: 1, 3: 1, 6: 2}
# the answers sent with photos (number → how many): VK 1 4 16, city chat 2 11, private 3
ANSWER_PHOTOS = {1: 3, 4: 1, 16: 4, 2: 2, 11: 1, 3: 2}
THANKS = {22: "Спасибо!", 20: "👍"}  # VK comment 22, city chat 20: after their answers


def _text(i: int) -> tuple[str, int]:
    """The i-th citizen's message and whose block it is."""
    street = STREETS[i % len(STREETS)]
    if i % 3 == 2:
        return ROADS_TEXTS[i % len(ROADS_TEXTS)].format(n=i + 2, s=street), ROADS
    return HOUSING_TEXTS[i % len(HOUSING_TEXTS)].format(n=i + 2, s=street), HOUSING


def _png(k: int) -> bytes:
    """A distinct small image (its size and colour follow ``k``)."""
    return make_png(40 + k, 30 + k % 7, (10 * k % 250, 120, 200))


def _vk_photo(owner: int, k: int) -> dict:
    url = f"https://sun9-1.userapi.com/c{owner}/{k}.jpg"
    return {"type": "photo", "photo": {"id": 700 + k, "owner_id": owner, "album_id": -7,
                                       "date": 1, "sizes": [
                                           {"type": "s", "width": 75, "height": 56, "url": url},
                                           {"type": "x", "width": 604, "height": 453,
                                            "url": url}]}}


class Day:
    """The test's people: presses and what they see, counted."""

    def __init__(self, env):
        self.env = env
        self.c = env.control
        self.presses: Counter[tuple[int, int]] = Counter()  # (who, incident) → presses
        self.other_presses: Counter[int] = Counter()  # not on a card: registering forwards
        self.owner: dict[int, int] = {}  # incident → its executor
        self.morning = 0  # the coordinator's last message before Monday 08:30
        self.source: dict[int, dict] = {}  # incident → where the citizen wrote (ids)
        self.answer_photos: dict[int, list[bytes]] = {}  # incident → the executor's images
        self.answer_files: dict[int, list[str]] = {}  # incident → their Telegram file ids

    async def card_with(self, number: int, words: str):
        card = await self.c.card(number)
        if card and (words in card["text"] or words in str(card.get("reply_markup"))):
            return card
        return None

    async def press(self, number: int, who: int, label: str, then: str) -> dict:
        card = await eventually(lambda: self.card_with(number, label), timeout=30)
        await self.c.press(card, who, button(card, label))
        self.presses[(who, number)] += 1
        return await eventually(lambda: self.card_with(number, then), timeout=30)

    async def state(self, number: int) -> str:
        incident = await repo.get(self.env.app.db.reader, number)
        return incident.state if incident else ""

    async def stored(self, n: int) -> bool:
        return await repo.count(self.env.app.db.reader) >= n

    async def private(self, who: int, since: int = 0) -> list[dict]:
        return [m for m in await self.c.sent(who) if m["message_id"] > since]

    async def last_id(self, chat: int) -> int:
        return max((m["message_id"] for m in await self.c.sent(chat)), default=0)

    async def ask(self, who: int, command: str, words: str) -> dict:
        after = await self.last_id(who)
        await self.c.tg_message(who, who, command)

        async def answered():
            return next((m for m in await self.private(who, after)
                         if words in (m.get("text") or "")), None)

        return await eventually(answered, timeout=20)

    async def overdue_told(self, who: int) -> int:
        """The gathered «Просрочено: N» messages (the morning digest's «просрочено»
        figures are not escalation)."""
        return sum("Просрочено: " in (m.get("text") or "") for m in await self.c.sent(who))

    async def at(self, moment: datetime) -> None:
        """Move the clock; the bot follows within a second, its jobs tick every few."""
        await self.c.set_clock(moment)
        await eventually(lambda: self._followed(moment), timeout=10)

    async def _followed(self, moment: datetime) -> bool:
        return self.env.app.clock.now() >= moment - timedelta(seconds=1)

    # -- the day's parts ---------------------------------------------------------------

    async def weekend(self) -> None:
        """47 messages from VK, the city chat and private messages, Saturday to Monday."""
        c = self.c
        for i in range(47):
            await c.set_clock(SATURDAY + timedelta(hours=i))
            text, executor = _text(i)
            photos = CITIZEN_PHOTOS.get(i + 1, 0)
            if i % 3 == 0:
                extra = {"attachments": [_vk_photo(500201 + i, k) for k in range(photos)]}
                made = await c.vk_comment(GROUP, 17, 500201 + i, text, **extra)
                self.source[i + 1] = {"vk": made["comment_id"], "from": 500201 + i}
            else:
                chat, author = (CITY_CHAT, 2001 + i) if i % 3 == 1 else (2050 + i, 2050 + i)
                extra = {"photo": [base64.b64encode(_png(100 + i * 3 + k)).decode()
                                   for k in range(photos)]} if photos else {}
                made = await c.tg_message(chat, author, text, **extra)
                self.source[i + 1] = {"chat": chat, "from": author,
                                      "ids": made.get("message_ids") or [made["message_id"]]}
            await eventually(lambda n=i + 1: self.stored(n), timeout=20)
            self.owner[i + 1] = executor

    async def forwards(self) -> None:
        """Three from ПОС, forwarded by the coordinator and registered (one press each)."""
        for n, street in enumerate(("Садовой", "Мира", "Ленина")):
            after = await self.last_id(COORDINATOR)
            await self.c.tg_message(COORDINATOR, COORDINATOR,
                                    f"Течёт крыша в доме {n + 3} по ул. {street}",
                                    forward_from={"name": f"Житель с ПОС {n + 1}"})
            ask = await eventually(lambda after=after: self.said(
                COORDINATOR, "Откуда это сообщение", after), timeout=20)
            await self.c.press(ask, COORDINATOR, button(ask, "ПОС"))
            self.other_presses[COORDINATOR] += 1
            await eventually(lambda n=48 + n: self.stored(n), timeout=20)
            self.owner[48 + n] = HOUSING

    async def said(self, who: int, words: str, after: int = 0) -> dict | None:
        return next((m for m in await self.private(who, after)
                     if words in (m.get("text") or "")), None)

    async def answer_and_approve(self, moment: datetime, numbers: list[int]) -> None:
        """The executors answer by replying to the cards; the coordinator, told once,
        approves them on the cards five minutes later."""
        await self.at(moment)
        for number in numbers:
            card = await eventually(lambda n=number: self.c.card(n))
            text = f"Работы по сообщению {number} выполнены, проверено."
            photos = ANSWER_PHOTOS.get(number, 0)
            if not photos:
                await self.c.tg_message(STAFF_GROUP, self.owner[number], text,
                                        reply_to_message_id=card["message_id"])
                await eventually(lambda n=number: self.card_with(n, "на согласовании"),
                                 timeout=30)
                continue
            images = [_png(number * 10 + k) for k in range(photos)]
            sent = await self.c.tg_message(
                STAFF_GROUP, self.owner[number], text + " Фото прилагаю.",
                photo=[base64.b64encode(image).decode() for image in images],
                reply_to_message_id=card["message_id"])
            self.answer_photos[number] = images
            ids = set(sent.get("message_ids") or [sent["message_id"]])
            self.answer_files[number] = [m["file_id"] for m in await self.c.get(
                "tg/messages", chat_id=STAFF_GROUP) if m["message_id"] in ids]
            await eventually(lambda n=number, k=photos: self.card_with(
                n, f"Фото к ответу: {k}"), timeout=30)
            assert "на согласовании" in (await self.c.card(number))["text"]
        await eventually(lambda: self.said(COORDINATOR, "согласования", self.morning),
                         timeout=20)
        await self.at(moment + timedelta(minutes=5))
        for number in numbers:
            if number in CITIZEN_PHOTOS:  # the citizen's photos first, under the card
                await self.see_photos(number)
            if number < 48:
                await self.press(number, COORDINATOR, "Согласовать", "ответ опубликован")
            else:  # ПОС: the coordinator pastes the answer and says so
                await self.press(number, COORDINATOR, "Согласовать", "Опубликовано вручную")
                await self.press(number, COORDINATOR, "Опубликовано вручную",
                                 "ответ опубликован")

    async def see_photos(self, number: int) -> None:
        """«Фото (N)» on the card: the citizen's photos come under it, in the group."""
        count = CITIZEN_PHOTOS[number]
        card = await eventually(lambda: self.card_with(number, f"Фото ({count})"), timeout=30)
        await self.c.press(card, COORDINATOR, button(card, f"Фото ({count})"))
        self.presses[(COORDINATOR, number)] += 1

        async def shown():
            under = [m for m in await self.c.sent(STAFF_GROUP) if m.get("file_id")
                     and m.get("reply_to_message_id") == card["message_id"]]
            return under if len(under) >= count else None

        assert len(await eventually(shown, timeout=30)) == count

    async def published_photos(self, number: int) -> tuple[list[str], list[str]]:
        """What the executor sent and what the citizen got, each photo as a fingerprint:
        the image's bytes on VK (read from the photo's address), the file on Telegram."""
        where = self.source[number]
        if "vk" in where:
            post = next(p for p in await self.c.wall(GROUP) if p["id"] == 17)
            replies = [m for m in post["comments"] if m["from_id"] == -GROUP
                       and m.get("reply_to_comment") == where["vk"]]
            assert len(replies) == 1, (number, replies)
            assert f"сообщению {number} выполнены" in replies[0]["text"]
            got = []
            for attached in replies[0].get("attachments") or []:
                assert attached["type"] == "photo"
                url = attached["photo"]["sizes"][-1]["url"]
                async with self.c.session.get(url) as response:
                    assert response.status == 200, url
                    got.append(hashlib.md5(await response.read()).hexdigest())
            return [hashlib.md5(image).hexdigest() for image in
                    self.answer_photos[number]], got
        answer = [m for m in await self.c.sent(where["chat"])
                  if m["message_id"] > max(where["ids"]) and m.get("file_id")
                  and (where["chat"] != CITY_CHAT
                       or m.get("reply_to_message_id") in where["ids"])]
        if len(answer) > 1:  # an album: one group, its caption the answer's text
            assert len({m.get("media_group_id") for m in answer}) == 1, answer
        assert f"сообщению {number} выполнены" in answer[0]["text"], answer
        return self.answer_files[number], [m["file_id"] for m in answer]

    async def thank(self, number: int, words: str) -> None:
        """The citizen's word after the answer, where they wrote: under the bot's reply
        comment on VK, in reply to the bot's answer in the city chat."""
        where = self.source[number]
        if "vk" in where:
            post = next(p for p in await self.c.wall(GROUP) if p["id"] == 17)
            ours = next(m for m in post["comments"] if m["from_id"] == -GROUP
                        and m.get("reply_to_comment") == where["vk"])
            await self.c.vk_comment(GROUP, 17, where["from"], words,
                                    reply_to_comment=ours["id"])
        else:
            ours = next(m for m in await self.c.sent(where["chat"])
                        if m.get("reply_to_message_id") in where["ids"])
            await self.c.tg_message(where["chat"], where["from"], words,
                                    reply_to_message_id=ours["message_id"])

    async def thanked(self, number: int) -> bool:
        events = await repo.events(self.env.app.db.reader, number)
        return any(e.action == "thanks" for e in events)

    async def all_published(self, numbers: list[int]) -> bool | None:
        return all([await self.state(n) == "published" for n in numbers]) or None


async def test_the_coordinators_monday(tmp_path):
    async with running(tmp_path, clock=SATURDAY, rate_limits=False, rate_scale=0.01) as env:
        day = Day(env)
        await day.weekend()

        # -- Monday 08:30: three from ПОС; each assigned in one press --------------------
        await day.at(MONDAY)
        day.morning = await day.last_id(COORDINATOR)
        await day.forwards()
        assert await repo.count(env.app.db.reader) == 50
        for number in range(1, 51):
            name = "Исполнитель ЖКХ" if day.owner[number] == HOUSING else "Исполнитель дорог"
            if number in CITIZEN_PHOTOS:  # both on the new card: the photos, one-press
                card = await eventually(lambda n=number: day.card_with(n, "Фото ("))
                labels = str(card["reply_markup"])
                assert f"👷 {name}" in labels, labels
                assert f"Фото ({CITIZEN_PHOTOS[number]})" in labels, labels
                assert f"Фото жителя: {CITIZEN_PHOTOS[number]}" in card["text"]
            await day.press(number, COORDINATOR, name, "назначено")

        # -- 09:00: the executors promise dates for ten (their presses, not his) --------
        await day.at(MONDAY.replace(hour=9, minute=0))
        promised = [n for n in range(1, 48) if n % 5 == 0][:10]
        for number in promised:
            who = day.owner[number]
            await day.press(number, who, "Промежуточный ответ", "Завтра")
            await day.press(number, who, "Завтра", "черновик")
            await day.press(number, who, "Отправить жителю", "обещано выполнить")

        # -- 09:31: the first-reply deadline of the weekend's messages: one alert -------
        await day.at(MONDAY.replace(hour=9, minute=31))
        alert = await eventually(lambda: day.said(COORDINATOR, "Без первого ответа",
                                                  day.morning), timeout=20)
        assert f"Без первого ответа: {50 - len(promised)}" in alert["text"]

        # -- two waves of answers, each approved on the cards ---------------------------
        answered = [n for n in range(1, 51) if n not in (7, 8, 9)]
        assert len(answered) == 50 - UNANSWERED
        await day.answer_and_approve(MONDAY.replace(hour=9, minute=45), answered[:25])
        await day.answer_and_approve(MONDAY.replace(hour=10, minute=40), answered[25:])
        await eventually(lambda: day.all_published(answered), timeout=60)

        # -- every photo the executors sent is in what the citizens got -----------------
        sent_total = published_total = 0
        for number in ANSWER_PHOTOS:
            sent, got = await eventually(lambda n=number: day.published_photos(n),
                                         timeout=30)
            assert len(sent) == ANSWER_PHOTOS[number]
            assert Counter(got) == Counter(sent), (number, sent, got)
            sent_total += len(sent)
            published_total += len(got)
        print(f"photos sent by the executors: {sent_total}, in the published answers: "
              f"{published_total} ({len(ANSWER_PHOTOS)} answers)")

        # -- two thank-yous after the answers: recorded, nothing reopens ----------------
        await day.at(MONDAY.replace(hour=10, minute=50))
        for number, words in THANKS.items():
            await day.thank(number, words)
        for number in THANKS:
            await eventually(lambda n=number: day.thanked(n), timeout=20)
            await eventually(lambda n=number: day.card_with(n, "поблагодарил"), timeout=30)
            assert await day.state(number) == "closed"  # the loop closes, not reopened
            actions = [e.action for e in await repo.events(env.app.db.reader, number)]
            assert actions.count("thanks") == 1 and "citizen_reply" not in actions
        assert await repo.count(env.app.db.reader) == 50  # no new message made of them
        for person in (COORDINATOR, HOUSING, ROADS, MANAGER, CURATOR):
            told = [m for m in await c_sent(day, person) if "снова написал" in m]
            assert not told, (person, told)

        # -- what the coordinator did: presses per message, from new to published ------
        pressed = sum(day.presses[(COORDINATOR, n)] for n in answered)
        average = pressed / len(answered)
        with_registration = (pressed + day.other_presses[COORDINATOR]) / len(answered)
        print(f"coordinator presses per published message: {average:.2f} "
              f"({with_registration:.2f} with registering the ПОС forwards)")
        assert average <= 3 and with_registration <= 3

        # -- search and the inbox, late morning ------------------------------------------
        await day.at(MONDAY.replace(hour=11, minute=0))
        found = await day.ask(COORDINATOR, "/find ленина", "Найдено")
        assert "Ленина" in found["text"] and "№1 ·" in found["text"]
        inbox = await day.ask(COORDINATOR, "/inbox", "Входящие")
        assert "Ждут согласования: 0" in inbox["text"]

        # -- the morning's private messages to the coordinator ---------------------------
        got = await day.private(COORDINATOR, day.morning)
        print(f"private messages to the coordinator, 08:30–11:00: {len(got)}: "
              + "; ".join((m.get("text") or "").split("\n")[0][:40] for m in got))
        assert len(got) <= 10, [m["text"][:60] for m in got]

        await _the_ladder(day)


async def c_sent(day: Day, who: int) -> list[str]:
    return [m.get("text") or "" for m in await day.c.sent(who)]


async def _the_ladder(day: Day) -> None:
    """The three unanswered are overdue at 16:30: the coordinator at once, the manager
    two working hours later (Tuesday 09:30), the curator eight (Tuesday 15:30)."""
    c = day.c
    await day.at(MONDAY.replace(hour=16, minute=31))
    await eventually(lambda: day.overdue_told(COORDINATOR), timeout=20)
    told = [m for m in await c.sent(COORDINATOR) if "Просрочено: " in (m.get("text") or "")]
    assert len(told) == 1 and f"Просрочено: {UNANSWERED}" in told[0]["text"]
    assert await day.overdue_told(MANAGER) == 0 and await day.overdue_told(CURATOR) == 0
    # Tuesday 09:00: /inbox — overdue by 1 h 30 min of working time (16:30–17:30,
    # 08:30–09:00), not by the 16 hours of the clock
    await day.at(TUESDAY.replace(hour=9, minute=0))
    inbox = await day.ask(COORDINATOR, "/inbox", "Входящие")
    assert f"Просрочены: {UNANSWERED}" in inbox["text"]
    assert "просрочено на 1 ч 30 мин" in inbox["text"]
    await day.at(TUESDAY.replace(hour=9, minute=29))
    assert await day.overdue_told(MANAGER) == 0
    await day.at(TUESDAY.replace(hour=9, minute=31))
    await eventually(lambda: day.overdue_told(MANAGER), timeout=20)
    await day.at(TUESDAY.replace(hour=15, minute=29))
    assert await day.overdue_told(CURATOR) == 0
    await day.at(TUESDAY.replace(hour=15, minute=31))
    await eventually(lambda: day.overdue_told(CURATOR), timeout=20)
    for person in (COORDINATOR, MANAGER, CURATOR):
        assert await day.overdue_told(person) == 1, person
    assert await day.overdue_told(HEAD) == 0
