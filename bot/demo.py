"""``mcu-hub demo``: a working week of the МЦУ, played in about a minute.

The sandbox and the real bot (the same ``App`` that ``mcu-hub run`` starts, with the
real aiogram and vk_api clients over HTTP) run in this process; a script plays the
citizens, the coordinator, the executors, the press secretary and the head through the
control API, moves the sandbox clock through the week, and prints what each person
saw. Every step waits for what people should see; if it does not come, the demo says
which step failed and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import aiohttp

from bot.sandbox import world
from bot.sandbox.client import CITY_CHAT, STAFF_GROUP, Control, button, eventually, is_card

TZ = ZoneInfo(world.TIMEZONE)
START = datetime(2026, 11, 23, 8, 50, tzinfo=TZ)  # a Monday; no holidays that week
WEEKDAYS = ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"]
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря"]

PEOPLE = {member[0]: member[1] for member in world.STAFF}
HEAD = 1001
CHATS = {STAFF_GROUP: "Группа МЦУ", CITY_CHAT: "Городской чат", world.CHANNEL: "Канал"}

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


@dataclass
class Seen:
    """What is already printed, so the transcript shows only what is new."""

    messages: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    vk: set[tuple[int, int, int]] = field(default_factory=set)
    vk_messages: set[int] = field(default_factory=set)


class Transcript:
    def __init__(self, control: Control, out: TextIO):
        self.c = control
        self.out = out
        self.seen = Seen()
        self.day: str | None = None
        self.counts: dict[str, int] = {}

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    async def now(self) -> datetime:
        data = await self.c.get("clock")
        return datetime.fromisoformat(data["now"]).astimezone(TZ)

    async def heading(self) -> str:
        now = await self.now()
        day = f"{WEEKDAYS[now.weekday()]}, {now.day} {MONTHS[now.month - 1]} {now.year}"
        if day != self.day:
            self.day = day
            self.say()
            self.say(f"═══ {day} ═══")
        return now.strftime("%H:%M")

    async def action(self, who: str, what: str) -> None:
        at = await self.heading()
        self.say(f"{at}  {who}: {what}")

    async def show_new(self) -> None:
        """Print what people saw since the last look: new messages, edited cards, VK."""
        for m in await self.c.sent():
            key = (m["chat_id"], m["message_id"])
            text = m.get("text") or m.get("caption") or _kind(m)
            before = self.seen.messages.get(key)
            self.seen.messages[key] = (text, m.get("edits", 0))
            if before is None:
                self._print_message(m, text, new=True)
            elif before[0] != text:
                self._print_message(m, text, new=False)
        for group in (world.VK_ADMIN, world.VK_HEAD):
            for post in await self.c.wall(group):
                if post.get("via") == "api" and (group, post["id"], 0) not in self.seen.vk:
                    self.seen.vk.add((group, post["id"], 0))
                    self.count("posts_vk")
                    self.say(f"        🌐 ВК «{world.VK_COMMUNITIES[group]}» — новая запись:"
                             f" {_short(post.get('text', ''), 90)}")
                for comment in post.get("comments", []):
                    key3 = (group, post["id"], comment["id"])
                    if comment.get("from_id", 0) < 0 and key3 not in self.seen.vk:
                        self.seen.vk.add(key3)
                        self.count("vk_replies")
                        self.say(f"        🌐 ВК «{world.VK_COMMUNITIES[group]}», ответ на "
                                 f"комментарий {comment.get('reply_to_comment')}: "
                                 f"{_short(comment.get('text', ''), 120)}")

    def _print_message(self, m: dict[str, Any], text: str, new: bool) -> None:
        chat = m["chat_id"]
        where = CHATS.get(chat) or f"личный чат: {PEOPLE.get(chat, chat)}"
        if chat == world.CHANNEL and new:
            self.count("posts_tg")
        if chat == STAFF_GROUP and is_card(text):
            first = text.splitlines()[0]
            if new:
                self.count("cards")
                self.say(f"        👥 {where} — новая карточка:")
                for line in text.splitlines()[:8]:
                    if line.strip():
                        self.say(f"           │ {line}")
            else:
                self.say(f"        👥 {where} — карточка изменена: {first}")
            return
        if new:
            first = text.splitlines()[0] if text else ""
            for word, what in (("Напоминание", "reminders"), ("Просрочено", "escalations")):
                if word in first:
                    self.count(what)
            if "Сводка" in text and chat == HEAD:
                self.count("digests")
            prefix = "💬" if chat > 0 else "👥"
            lines = [ln for ln in text.splitlines() if ln.strip()]
            limit = 12 if "Сводка" in text else 3
            self.say(f"        {prefix} {where}: {lines[0] if lines else _kind(m)}")
            for line in lines[1:limit]:
                self.say(f"           {line}")
            if len(lines) > limit:
                self.say(f"           … ещё {len(lines) - limit} строк")


def _kind(m: dict[str, Any]) -> str:
    return {"photo": "[фото]", "document": "[файл]", "poll": "[опрос]",
            "media_group": "[альбом]"}.get(m.get("kind", ""), "")


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Week:
    """The script: each step acts as a person and waits for what should follow."""

    def __init__(self, control: Control, transcript: Transcript):
        self.c = control
        self.t = transcript

    async def expect(self, what: str, check: Callable[[], Awaitable[Any]],
                     wait: float = 20) -> Any:
        try:
            result = await eventually(check, timeout=wait, interval=0.2)
        except AssertionError:
            raise DemoFailed(f"expected {what}, but it did not happen within {wait:.0f}s"
                             ) from None
        await self.t.show_new()
        return result

    async def card(self, number: int, contains: str = "") -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            card = await self.c.card(number)
            return card if card and contains in card["text"] + str(card["reply_markup"]) \
                else None
        return await self.expect(f"card №{number} showing «{contains}»", check)

    async def private(self, chat: int, words: str, after: int = 0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            for m in await self.c.sent(chat):
                if m["message_id"] > after and words in (m.get("text") or m.get("caption")
                                                         or ""):
                    return m
            return None
        return await self.expect(f"a message with «{words}» to {PEOPLE.get(chat, chat)}",
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
            await self.t.show_new()

    async def set_clock(self, moment: datetime) -> None:
        await self.c.set_clock(moment)
        await asyncio.sleep(1.6)  # the bot follows the clock within about a second

    async def play(self) -> None:
        c, t = self.c, self.t
        await t.heading()

        # Monday morning: citizens write
        await self.set_clock(START.replace(hour=9, minute=5))
        await t.action("Житель ВК id500101", "комментарий на стене «Администрация»: "
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
        await self.press(1, 1004, "Промежуточный ответ", "промежуточный")
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
            await t.action(PEOPLE[1007], f"/post Администрация — пост {n}: «{_short(text, 50)}»")
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
        await t.action("Житель ВК id500101", "снова пишет под той же записью: "
                       "«Батареи всё ещё холодные!»")
        await c.vk_comment(world.VK_ADMIN, 17, 500101, "Батареи всё ещё холодные!",
                           reply_to_comment=heating["comment_id"])
        card = await self.card(1, "переоткрыто")
        await self.private(1005, "переоткрыто")
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


async def _ready(control: Control) -> None:
    async def check() -> bool:
        log = await control.log()
        polling = any(e["method"] == "getUpdates" for e in log)
        listening = {str(e["params"].get("group_id")) for e in log
                     if e["method"] == "groups.getLongPollServer" and e["status"] == 200}
        return polling and {str(world.VK_ADMIN), str(world.VK_HEAD)} <= listening
    await eventually(check, timeout=30)


async def run(out: TextIO, keep: bool, port: int, workdir: Path) -> int:
    from bot import logs
    from bot.app import App
    from bot.config import parse_config
    from bot.sandbox.server import Sandbox

    logs.setup("ERROR", fmt="text")
    sandbox = Sandbox(rate_limits=True)
    sandbox.state.clock.set(START)
    base = await sandbox.start(port)
    config_path = workdir / "demo.toml"
    world.write_config(config_path, base, str(workdir / "demo.sqlite3"))
    app = App(parse_config(world.config_dict(base, str(workdir / "demo.sqlite3"))))
    task = asyncio.create_task(app.run())
    code = 0
    async with aiohttp.ClientSession() as session:
        control = Control(base, session)
        transcript = Transcript(control, out)
        transcript.say(f"mcu-hub demo: МЦУ {world.MUNICIPALITY}, неделя с 23 ноября 2026 "
                       f"(песочница {base})")
        try:
            await _ready(control)
            await Week(control, transcript).play()
            await asyncio.sleep(2)
            await transcript.show_new()
        except DemoFailed as exc:
            transcript.say(f"\n✗ The week did not play as expected: {exc}")
            code = 1
        counts = transcript.counts
        transcript.say("")
        transcript.say("── Итоги недели ──")
        for label, key in [("карточек обращений", "cards"), ("ответов в ВК", "vk_replies"),
                           ("напоминаний исполнителям", "reminders"),
                           ("эскалаций", "escalations"), ("утренних сводок главе", "digests"),
                           ("постов ВК", "posts_vk"), ("постов в канале", "posts_tg")]:
            transcript.say(f"  {label}: {counts.get(key, 0)}")
        if code == 0:
            transcript.say("✓ The week played as expected.")
        if keep:
            transcript.say(f"\nThe sandbox and the bot keep running: control API {base}/control,"
                           f" bot config {config_path}. Ctrl+C to stop.")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    app.request_stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)
    await sandbox.stop()
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    if args.dir:
        workdir = Path(args.dir)
        workdir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(sys.stdout, args.keep, args.port, workdir))
    with tempfile.TemporaryDirectory(prefix="mcu-hub-demo-") as tmp:
        return asyncio.run(run(sys.stdout, args.keep, args.port, Path(tmp)))


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="play a working week against the sandbox")
    demo.add_argument("--keep", action="store_true",
                      help="leave the sandbox and the bot running afterwards")
    demo.add_argument("--port", type=int, default=0, help="the sandbox's port (default: any)")
    demo.add_argument("--dir", help="keep the database and config here")
    demo.set_defaults(func=cmd_demo)
