"""What everyone saw in the demo's week, read from the sandbox and printed in the order it
happened: a header per day, a time per line, counted for the week's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.domain.wording import plural
from bot.sandbox import world
from bot.sandbox.client import CITY_CHAT, STAFF_GROUP, Control, is_card

TZ = ZoneInfo(world.TIMEZONE)
WEEKDAYS = ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"]
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря"]
PEOPLE = {member[0]: member[1] for member in world.STAFF}
HEAD = 1001
CHATS = {STAFF_GROUP: "Группа МЦУ", CITY_CHAT: "Городской чат", world.CHANNEL: "Канал"}


@dataclass
class Seen:
    """What is already printed, so the transcript shows only what is new."""

    messages: dict[tuple[int, int], str] = field(default_factory=dict)
    vk: set[tuple[int, int, int]] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)  # MAX channel posts and OK topics


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
        entries += await self._max_and_ok()
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
                                         f"{short(post.get('text', ''), 90)}"))
                for comment in post.get("comments", []):
                    key = (group, post["id"], comment["id"])
                    if comment.get("from_id", 0) < 0 and key not in self.seen.vk:
                        self.seen.vk.add(key)
                        self.count("vk_replies")
                        entries.append(Entry(
                            _when(comment["date"]), (2, group, post["id"], comment["id"]),
                            f"🌐 ВКонтакте «{name}», ответ на комментарий "
                            f"{comment.get('reply_to_comment')}: "
                            f"{short(comment.get('text', ''), 120)}"))
        return entries


    async def _max_and_ok(self) -> list[Entry]:
        """The bot's posts in the MAX channel and the OK group (issue 19)."""
        entries = []
        for m in await self.c.max_channel():
            mid = m["body"]["mid"]
            if m["sender"]["is_bot"] and mid not in self.seen.pages:
                self.seen.pages.add(mid)
                self.count("posts_max")
                entries.append(Entry(_when(m["timestamp"] / 1000), (3, 0, m["body"]["seq"], 0),
                                     "📱 MAX, канал «Администрация» — новый пост: "
                                     f"{short(m['body'].get('text') or '', 90)}"))
        for topic in await self.c.ok_feed():
            if topic["id"] not in self.seen.pages:
                self.seen.pages.add(topic["id"])
                self.count("posts_ok")
                text = " ".join(x.get("text", "") for x in topic["media"] if x["type"] == "text")
                entries.append(Entry(_when(topic["created_ms"] / 1000),
                                     (4, 0, int(topic["id"]) % 1_000_000, 0),
                                     "🟠 Одноклассники «Администрация» — новая тема: "
                                     f"{short(text, 90)}"))
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


def short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
