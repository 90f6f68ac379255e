"""``mcu-hub demo``: a working week of the МЦУ, played in about a minute.

The sandbox and the real bot (the same ``App`` that ``mcu-hub run`` starts, with the
real aiogram and vk_api clients over HTTP) run in this process; a script plays the
citizens, the coordinator, the executors, the press secretary and the head through the
control API, moves the sandbox clock through the week, and prints what each person
saw, in the order it happened. Every step waits for what people should see; if it does
not come, or the week's counts differ from what it must show (``EXPECTED``), the demo
says what went wrong and exits 1. Every run starts from an empty database, so two runs
show the same week.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import aiohttp

from bot.domain.wording import plural
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


# What the week must show, counted from what people saw. A run that differs (a reminder
# too many, a digest missing) is not the week as it should play: the demo exits 1.
EXPECTED = {
    "cards": 2,          # №1 heating (VK), №2 pothole (city chat)
    "vk_replies": 3,     # №1: the interim reply, the answer, the answer after reopening
    "reminders": 3,      # №2: half the time gone, one hour left, the deadline
    "escalations": 1,    # №2 overdue, told to the coordinator, the manager and the curator
    "digests": 5,        # the head's morning digest, Monday to Friday
    "posts_vk": 6,       # the press secretary's six posts on «Администрация»
    "posts_tg": 6,       # ... and in the channel
}
COUNT_LABELS = [
    ("cards", "карточек сообщений"), ("vk_replies", "ответов во ВКонтакте"),
    ("reminders", "напоминаний исполнителям"), ("escalations", "эскалаций о просрочке"),
    ("digests", "утренних сводок главе"), ("posts_vk", "постов во ВКонтакте"),
    ("posts_tg", "постов в канале"),
]


class DemoFailed(Exception):
    """An expected thing did not happen: the week did not play as it should."""


def count_problems(counts: dict[str, int], expected: dict[str, int] = EXPECTED) -> list[str]:
    """The counts that differ from the week as it should play, in words."""
    return [f"{label}: {counts.get(key, 0)}, а должно быть {expected[key]}"
            for key, label in COUNT_LABELS if counts.get(key, 0) != expected[key]]


@dataclass
class Seen:
    """What is already printed, so the transcript shows only what is new."""

    messages: dict[tuple[int, int], str] = field(default_factory=dict)
    vk: set[tuple[int, int, int]] = field(default_factory=set)


@dataclass
class Entry:
    """One thing people saw, at the moment it happened (sandbox time)."""

    at: datetime
    order: tuple[Any, ...]
    head: str
    body: list[str] = field(default_factory=list)


def _when(epoch: float | int | str | None) -> datetime:
    if isinstance(epoch, str):
        return datetime.fromisoformat(epoch).astimezone(TZ)
    return datetime.fromtimestamp(float(epoch or 0), TZ)


class Transcript:
    """What everyone saw, in the order it happened: a header per day, a time per line."""

    def __init__(self, control: Control, out: TextIO):
        self.c = control
        self.out = out
        self.seen = Seen()
        self.day: date | None = None
        self.counts: dict[str, int] = {}

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    async def now(self) -> datetime:
        data = await self.c.get("clock")
        return datetime.fromisoformat(data["now"]).astimezone(TZ)

    def line(self, at: datetime, text: str, body: list[str] | None = None) -> None:
        """A line of the transcript; the day's header first when a new day begins."""
        if at.date() != self.day and (self.day is None or at.date() > self.day):
            self.day = at.date()
            self.say()
            self.say(f"═══ {WEEKDAYS[at.weekday()]}, {at.day} {MONTHS[at.month - 1]} "
                     f"{at.year} ═══")
        self.say(f"{at:%H:%M}  {text}")
        for extra in body or []:
            self.say(f"         {extra}")

    async def action(self, who: str, what: str) -> None:
        self.line(await self.now(), f"▶ {who}: {what}")

    async def show_new(self) -> None:
        """Print what people saw since the last look, oldest first."""
        entries: list[Entry] = []
        private: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
        for m in await self.c.sent():
            key = (m["chat_id"], m["message_id"])
            text = m.get("text") or m.get("caption") or ""
            before = self.seen.messages.get(key)
            self.seen.messages[key] = text
            if before is not None and before == text:
                continue
            if m["chat_id"] > 0 and before is None:
                # the same words to several people in one step: one entry naming them all
                private.setdefault((text, m.get("kind", "")), []).append((m["chat_id"], m))
                continue
            entry = self._entry(m, text, new=before is None)
            if entry is not None:
                entries.append(entry)
        for (text, _), people in private.items():
            entries.append(self._private(text, people))
        entries += await self._vk()
        entries.sort(key=lambda e: (e.at, e.order))
        for entry in entries:
            self.line(entry.at, entry.head, entry.body)

    def _entry(self, m: dict[str, Any], text: str, new: bool) -> Entry | None:
        chat = m["chat_id"]
        where = CHATS.get(chat, str(chat))
        at = _when(m["date"] if new else m.get("edit_date") or m["date"])
        order = (1, chat, m["message_id"])
        if chat == STAFF_GROUP and is_card(text):
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if new:
                self.count("cards")
                return Entry(at, order, f"👥 {where} — новая карточка:",
                             [f"│ {ln}" for ln in lines[:8]])
            return Entry(at, order, f"👥 {where} — карточка изменена: {lines[0]}")
        if not new:
            return None  # an edited notice (a spent keyboard): nothing new to read
        if chat == world.CHANNEL:
            self.count("posts_tg")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            lines = [_kind(m, "")]
        return Entry(at, order, f"👥 {where}: {lines[0]}", _more(lines[1:], 3))

    def _private(self, text: str, people: list[tuple[int, dict[str, Any]]]) -> Entry:
        chats = [chat for chat, _ in people]
        m = people[0][1]
        names = ", ".join(str(PEOPLE.get(chat, chat)) for chat in chats)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        first = lines[0] if lines else ""
        if m.get("kind") in ("photo", "document"):
            lines = [_kind(m, first)]  # a chart or a workbook: its caption says what
            first = lines[0]
        for word, what in (("Напоминание", "reminders"), ("Просрочено", "escalations")):
            if word in first:
                self.count(what)
        if "Сводка" in first and HEAD in chats:
            self.count("digests")
        limit = 12 if "Сводка" in first or "справка" in first else 3
        return Entry(_when(m["date"]), (0, min(chats), m["message_id"]),
                     f"💬 {names}: {first}", _more(lines[1:], limit))

    async def _vk(self) -> list[Entry]:
        entries = []
        for group in (world.VK_ADMIN, world.VK_HEAD):
            name = world.VK_COMMUNITIES[group]
            for post in await self.c.wall(group):
                if post.get("via") == "api" and (group, post["id"], 0) not in self.seen.vk:
                    self.seen.vk.add((group, post["id"], 0))
                    self.count("posts_vk")
                    entries.append(Entry(_when(post["date"]), (2, group, post["id"], 0),
                                         f"🌐 ВКонтакте «{name}» — новая запись: "
                                         f"{_short(post.get('text', ''), 90)}"))
                for comment in post.get("comments", []):
                    key = (group, post["id"], comment["id"])
                    if comment.get("from_id", 0) < 0 and key not in self.seen.vk:
                        self.seen.vk.add(key)
                        self.count("vk_replies")
                        entries.append(Entry(
                            _when(comment["date"]), (2, group, post["id"], comment["id"]),
                            f"🌐 ВКонтакте «{name}», ответ на комментарий "
                            f"{comment.get('reply_to_comment')}: "
                            f"{_short(comment.get('text', ''), 120)}"))
        return entries


def _more(lines: list[str], limit: int) -> list[str]:
    """The first ``limit`` lines, then how many more there are (one plural rule)."""
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"… ещё {plural(len(lines) - limit, 'строка', 'строки', 'строк')}")
    return shown


def _kind(m: dict[str, Any], caption: str) -> str:
    """A message that is not text, as the reader would see it: «[график: …]»."""
    what = {"photo": "график" if m.get("chat_id", 0) > 0 else "фото", "document": "файл",
            "poll": "опрос", "media_group": "альбом"}.get(m.get("kind", ""), "вложение")
    if m.get("kind") == "document" and m.get("file_name"):
        caption = f"{m['file_name']}{' — ' + caption if caption else ''}"
    return f"[{what}: {caption}]" if caption else f"[{what}]"


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


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


async def _ready(control: Control) -> None:
    async def check() -> bool:
        log = await control.log()
        polling = any(e["method"] == "getUpdates" for e in log)
        listening = {str(e["params"].get("group_id")) for e in log
                     if e["method"] == "groups.getLongPollServer" and e["status"] == 200}
        return polling and {str(world.VK_ADMIN), str(world.VK_HEAD)} <= listening
    await eventually(check, timeout=30)


DEMO_FILES = ("demo.toml", "demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm")


async def run(out: TextIO, keep: bool, port: int, workdir: Path,
              expected: dict[str, int] = EXPECTED) -> int:
    """Play the week; 0 when everything people should see came and the counts agree."""
    from bot import logs
    from bot.app import App
    from bot.config import parse_config
    from bot.sandbox.server import Sandbox
    from storage import outbox

    logs.setup("ERROR", fmt="text")
    for name in DEMO_FILES:  # every run is the same week, from an empty database
        (workdir / name).unlink(missing_ok=True)
    sandbox = Sandbox(rate_limits=True)
    sandbox.state.clock.set(START)
    base = await sandbox.start(port)
    config_path = workdir / "demo.toml"
    world.write_config(config_path, base, str(workdir / "demo.sqlite3"))
    app = App(parse_config(world.config_dict(base, str(workdir / "demo.sqlite3"))))
    task = asyncio.create_task(app.run())

    async def settle() -> None:
        """Wait until the bot has sent everything it meant to (its outbox is empty)."""
        deadline = time.monotonic() + 90
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise DemoFailed("бот не разослал свои сообщения за 90 с")
            pending = await outbox.unsettled(app.db.reader)
            quiet = quiet + 1 if not pending else 0
            await asyncio.sleep(0.15)

    async def follow(moment: datetime) -> None:
        """The bot's clock has caught up with the sandbox's; then every job acts once."""
        deadline = time.monotonic() + 10
        while app.clock.now() < moment - timedelta(seconds=1):
            if time.monotonic() > deadline:
                raise DemoFailed("часы бота не догнали часы песочницы за 10 с")
            await asyncio.sleep(0.1)
        await app.jobs.run_all_once()

    code = 0
    async with aiohttp.ClientSession() as session:
        control = Control(base, session)
        transcript = Transcript(control, out)
        transcript.say(f"mcu-hub demo: МЦУ {world.MUNICIPALITY}, неделя с 23 ноября 2026 "
                       f"(песочница {base})")
        try:
            await _ready(control)
            week = Week(control, transcript, settle=settle, follow=follow)
            # every job looks once before the clock moves: the schedule starts at 08:50
            # (the reports remember when they first ran; a digest due after that is owed)
            await follow(START)
            await week.settle()
            await transcript.show_new()
            await week.play()
            await week.settle()
            await transcript.show_new()
        except DemoFailed as exc:
            transcript.say(f"\n✗ Неделя прошла не так, как должна: {exc}")
            code = 1
        counts = transcript.counts
        transcript.say("")
        transcript.say("── Итоги недели ──")
        for key, label in COUNT_LABELS:
            transcript.say(f"  {label}: {counts.get(key, 0)}")
        wrong = count_problems(counts, expected)
        if code == 0 and wrong:
            transcript.say("✗ Неделя прошла не так, как должна — не сходятся итоги:")
            for line in wrong:
                transcript.say(f"  {line}")
            code = 1
        if code == 0:
            transcript.say("✓ Неделя прошла как должна: всё, что люди должны были увидеть, "
                           "пришло, итоги сходятся.")
        if keep:
            transcript.say(f"\nПесочница и бот продолжают работать: API управления "
                           f"{base}/control, настройки бота {config_path}. "
                           "Остановить — Ctrl+C.")
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
    demo.add_argument("--dir", help="keep the last run's database and config here (each "
                      "run starts the week afresh)")
    demo.set_defaults(func=cmd_demo)
