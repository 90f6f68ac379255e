"""The demo's week as a script: each step acts as a person (a citizen, the coordinator, an
executor, the press secretary, the head) through the sandbox's control API and waits for
what should follow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.cli.demo_transcript import PEOPLE, TZ, Transcript, short
from bot.sandbox import world
from bot.sandbox.client import CITY_CHAT, STAFF_GROUP, Control, button, eventually

START = datetime(2026, 11, 23, 8, 50, tzinfo=TZ)  # a Monday; no holidays that week
POSTS = [
    "Сегодня в ДК «Заря» проходит ярмарка местных производителей. Приглашаем жителей!",
    "С 25 ноября меняется расписание автобуса №3: первый рейс в 6:10.",
    "Администрация напоминает: уборка снега во дворах ведётся с 6 утра.",
    "Открыта запись в зимние спортивные секции для школьников.",
    "Итоги конкурса «Лучший двор»: поздравляем жителей ул. Мира, 7!",
    "В четверг с 10 до 14 часов плановое отключение воды на ул. Ленина, 1–9.",
]


class DemoFailed(Exception):
    """An expected thing did not happen: the week did not play as it should."""


class Week:
    """The script: each step acts as a person and waits for what should follow.

    After each step the demo waits for the bot to be done with it (its outbox empty)
    before it looks, so what people saw is printed in the order it happened.
    """

    def __init__(self, control: Control, transcript: Transcript,
                 settle: Callable[[], Awaitable[None]] | None = None,
                 follow: Callable[[datetime], Awaitable[None]] | None = None):
        self.c = control
        self.t = transcript
        self._settle = settle
        self._follow = follow

    async def settle(self) -> None:
        if self._settle is not None:
            await self._settle()

    async def expect(self, what: str, check: Callable[[], Awaitable[Any]],
                     wait: float = 20) -> Any:
        try:
            result = await eventually(check, timeout=wait, interval=0.2)
        except AssertionError:
            raise DemoFailed(f"не дождались: {what} (ждали {wait:.0f} с)") from None
        await self.settle()
        await self.t.show_new()
        return result

    async def card(self, number: int, contains: str = "") -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            card = await self.c.card(number)
            return card if card and contains in card["text"] + str(card["reply_markup"]) \
                else None
        return await self.expect(f"карточка №{number} с «{contains}»", check)

    async def private(self, chat: int, words: str, after: int = 0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            for m in await self.c.sent(chat):
                if m["message_id"] > after and words in (m.get("text") or m.get("caption")
                                                         or ""):
                    return m
            return None
        return await self.expect(f"сообщение с «{words}» для «{PEOPLE.get(chat, chat)}»",
                                 check)

    async def last_id(self, chat: int) -> int:
        return max((m["message_id"] for m in await self.c.sent(chat)), default=0)

    async def press(self, number: int, who: int, label: str, wait_for: str) -> dict[str, Any]:
        card = await self.card(number, label)
        await self.t.action(PEOPLE[who], f"нажимает «{label}» на карточке №{number}")
        await self.c.press(card, who, button(card, label))
        return await self.card(number, wait_for)

    async def advance_to(self, moment: datetime, step: timedelta = timedelta(hours=1)) -> None:
        """Move the clock in steps, letting the bot's jobs act at each one."""
        while True:
            now = await self.t.now()
            if now >= moment:
                return
            await self.set_clock(min(moment, now + step))

    async def set_clock(self, moment: datetime) -> None:
        """Move the sandbox clock; the bot follows it, its jobs act, its outbox drains."""
        await self.c.set_clock(moment)
        if self._follow is not None:
            await self._follow(moment)
        else:
            await asyncio.sleep(1.6)  # the bot follows the clock within about a second
        await self.settle()
        await self.t.show_new()

    async def play(self) -> None:
        c, t = self.c, self.t

        # Monday morning: citizens write
        await self.set_clock(START.replace(hour=9, minute=5))
        await t.action("Жительница ВКонтакте (id500101)", "комментарий на стене «Администрация»: "
                       "«У нас третий день нет отопления в доме 5 по ул. Ленина»")
        heating = await c.vk_comment(world.VK_ADMIN, 17, 500101,
                                     "У нас третий день нет отопления в доме 5 по ул. Ленина")
        await self.card(1)
        await t.action("Житель 2001 в городском чате", "«Огромная яма на дороге у школы №2, "
                       "машины бьют колёса»")
        await c.tg_message(CITY_CHAT, 2001, "Огромная яма на дороге у школы №2, машины бьют колёса")
        await self.card(2)

        # the coordinator assigns and sends the interim reply
        await self.press(1, 1004, "Назначить", "Исполнитель ЖКХ")
        await self.press(1, 1004, "Исполнитель ЖКХ", "назначено")
        await self.press(1, 1004, "Промежуточный ответ", "Завтра")
        await self.press(1, 1004, "Завтра", "черновик")
        await self.press(1, 1004, "Отправить жителю", "промежуточный")
        await self.press(2, 1004, "Назначить", "Исполнитель дорог")
        await self.press(2, 1004, "Исполнитель дорог", "назначено")

        # the executor answers; the coordinator returns it; the second answer is approved
        card = await self.card(1)
        await t.action(PEOPLE[1005], "отвечает на карточку №1: «Проверим отопление.»")
        await c.tg_message(STAFF_GROUP, 1005, "Проверим отопление.",
                           reply_to_message_id=card["message_id"])
        await self.card(1, "на согласовании")
        after = await self.last_id(STAFF_GROUP)
        await self.press(1, 1004, "На доработку", "на согласовании")
        prompt = await self.private(STAFF_GROUP, "причину возврата", after)
        await t.action(PEOPLE[1004], "причина: «Укажите срок и кто выполнит»")
        await c.tg_message(STAFF_GROUP, 1004, "Укажите срок и кто выполнит",
                           reply_to_message_id=prompt["message_id"])
        card = await self.card(1, "на доработке")
        await t.action(PEOPLE[1005], "отвечает снова")
        await c.tg_message(
            STAFF_GROUP, 1005,
            "Управляющая компания «Уют» восстановит отопление в доме 5 сегодня до 18:00.",
            reply_to_message_id=card["message_id"])
        await self.card(1, "на согласовании")
        await self.press(1, 1004, "Согласовать", "ответ опубликован")

        # the press secretary plans the day's posts
        for n, text in enumerate(POSTS, 1):
            after = await self.last_id(1007)
            await t.action(PEOPLE[1007], f"/post Администрация — пост {n}: «{short(text, 50)}»")
            await c.tg_message(1007, 1007, f"/post Администрация\n{text}")
            preview = await self.private(1007, "", after)
            await c.press(preview, 1007, button(preview, "В очередь"))
            await self.private(1007, "", preview["message_id"])

        # Monday goes by: posts go out, the roads executor is reminded, then it is overdue
        await self.advance_to(START.replace(hour=18, minute=30))
        await self.private(1006, "Напоминание")
        await self.private(1004, "Просрочено")
        await self.card(2, "ПРОСРОЧЕНО")

        # Tuesday 09:00: the head's morning digest
        await self.advance_to(START.replace(hour=9, minute=5) + timedelta(days=1),
                              step=timedelta(hours=4))
        await self.private(1001, "Сводка")

        # the citizen is not satisfied: the incident reopens
        await t.action("Жительница ВКонтакте (id500101)", "снова пишет под той же записью: "
                       "«Батареи всё ещё холодные!»")
        await c.vk_comment(world.VK_ADMIN, 17, 500101, "Батареи всё ещё холодные!",
                           reply_to_comment=heating["comment_id"])
        card = await self.card(1, "возвращено в работу")
        await self.private(1005, "возвращено в работу")
        await t.action(PEOPLE[1005], "отвечает на карточку №1")
        await c.tg_message(STAFF_GROUP, 1005,
                           "Заменили задвижку в подвале, батареи прогреются в течение часа.",
                           reply_to_message_id=card["message_id"])
        await self.card(1, "на согласовании")
        await self.press(1, 1004, "Согласовать", "ответ опубликован")

        # the roads answer, late
        card = await self.card(2)
        await t.action(PEOPLE[1006], "отвечает на карточку №2 (с опозданием)")
        await c.tg_message(STAFF_GROUP, 1006, "Яму засыплют щебнем до конца недели.",
                           reply_to_message_id=card["message_id"])
        await self.card(2, "на согласовании")
        await self.press(2, 1004, "Согласовать", "ответ опубликован")

        # the rest of the week: posts, digests, and №1 closes after two quiet days
        await self.advance_to(START.replace(hour=18) + timedelta(days=4),
                              step=timedelta(hours=6))
        await self.card(1, "закрыто")
