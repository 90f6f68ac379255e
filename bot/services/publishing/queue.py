"""Publishing to the official pages (issue 7): the press secretary's queue, the planner's
slots, delivery to VK walls and Telegram channels, links back, failures and warnings.

How a post travels, and why it goes out once per target even across kill -9:

* ``draft`` — the press secretary sent ``/post``; the text is checked against every
  target's limits *before* anything is stored (too long is refused with the reason;
  a photo caption over 1024 is split off and the preview says so — never cut).
* ``queued`` — «В очередь»; ``queued_at`` is also the queue order (kept unique per page,
  the ⬆/⬇ buttons swap it). The planner (pure, ``bot.domain.planner``) is re-run each
  tick and its slots stored in ``planned_at``.
* ``publishing`` — the tick found the stored slot due; in ONE transaction the post is
  marked, ``published_at`` set (it now counts toward the quota) and one outbox row per
  (post, target, part) queued under a deterministic key. A crash before the commit
  leaves the post queued; after it, the rows go out on restart. VK ``wall.post`` carries
  a ``guid``, so a call repeated after a crash between the call and its record returns
  the same post; uploaded photos and created polls are remembered in ``cursors`` first.
* ``published`` / ``failed`` — every target settled (outbox hooks, in the transaction
  that settles the row); the press secretary gets the links, a permanent failure goes
  to the press secretary and the admins in the platform's words.

Posts whose slot passed while the clock jumped (or the process was down) are not sent
in a burst: at most one planner-placed post per page per tick, only inside the page's
publishing hours, the gap and the quota kept; the rest are re-planned from now.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.config import Config, Page, PageTarget, parse_hhmm
from bot.domain import limits
from bot.domain.planner import (
    QueuedPost,
    check_fixed,
    is_publishing_day,
    period_of,
    plan,
    shortfall,
)
from bot.outbox.worker import Permanent, Retry
from bot.render import Renderer
from bot.services.hub import Hub
from storage import cursors, posts
from storage import outbox as rows
from storage.db import Conn
from storage.incidents import iso
from storage.posts import Post

log = logging.getLogger(__name__)

PURPOSE = "publish"  # outbox rows of this feature; the hooks find them by it
VK_PLATFORM = "vkpub"  # outbox platform: photo uploads / poll + wall.post, one row per target
TICK_SECONDS = 1.0
POLL_OPTIONS = (2, 10)  # VK takes 1–10 answers, Telegram 2–12: both hold 2–10
POLL_QUESTION_MAX = 300  # Telegram's limit (VK's is not documented lower)
POLL_OPTION_MAX = 100
PREVIEW_MAX = 3500  # the preview message also carries a header; Telegram holds 4096
QUEUE_SHOWN = 20

# -- pure helpers -----------------------------------------------------------------------


def target_key(target: PageTarget) -> str:
    """The target's name in ``post_targets`` and in outbox keys: 'vk:100001', 'tg:-100…'."""
    return f"vk:{target.id}" if target.platform == "vk" else f"tg:{target.id}"


def split_heading(text: str) -> tuple[str, str]:
    """(heading, body): with two lines or more, the first line is the heading."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if sum(1 for line in lines if line.strip()) >= 2:
        return lines[0].strip(), "\n".join(lines[1:]).strip()
    return "", text.strip()


_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DDMM_HHMM = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{2}|\d{4}))?\s+(\d{1,2}):(\d{2})$")


class Refused(ValueError):
    """A request the press secretary must change; the message says what, in Russian."""


def parse_when(spec: str, now: datetime, tz: ZoneInfo) -> datetime:
    """``HH:MM`` (the next such moment) or ``DD.MM[.YYYY] HH:MM`` as an aware local time."""
    spec = " ".join(spec.split())
    local_now = now.astimezone(tz)
    try:
        if match := _HHMM.match(spec):
            hour, minute = int(match[1]), int(match[2])
            moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if moment <= local_now:
                moment = (local_now + timedelta(days=1)).replace(
                    hour=hour, minute=minute, second=0, microsecond=0)
            return moment
        if match := _DDMM_HHMM.match(spec):
            year = int(match[3]) if match[3] else local_now.year
            if year < 100:
                year += 2000
            moment = datetime(year, int(match[2]), int(match[1]), int(match[4]), int(match[5]),
                              tzinfo=tz)
            if moment <= local_now and not match[3] and local_now - moment > timedelta(days=180):
                moment = moment.replace(year=year + 1)  # «10.01» queued in December
            if moment <= local_now:
                raise Refused(f"Время {moment:%d.%m.%Y %H:%M} уже прошло")
            return moment
    except ValueError as exc:
        if isinstance(exc, Refused):
            raise
        raise Refused(f"Нет такого времени: «{spec}»") from None
    raise Refused(f"Не понял время «{spec}»: нужно ЧЧ:ММ или ДД.ММ ЧЧ:ММ, "
                  "а текст — со следующей строки")


@dataclass(frozen=True)
class Command:
    """``/post PAGE [time]`` parsed: the page, its fixed time (None: the planner's) and text."""

    page: Page
    when: datetime | None
    text: str


def parse_command(args: str | None, config: Config, now: datetime) -> Command:
    """The first line names the page (and maybe a time); the text starts on the next line."""
    first, _, rest = (args or "").partition("\n")
    first = first.strip().strip("«»\"")
    found: Page | None = None
    remainder = ""
    for page in sorted(config.pages, key=lambda p: -len(p.name)):
        name = page.name.casefold()
        head = first.casefold()
        if head.startswith(name) and (len(head) == len(name) or head[len(name)] in " «»\""):
            found, remainder = page, first[len(page.name):].strip(" «»\"")
            break
    if found is None:
        names = ", ".join(p.name for p in config.pages) or "—"
        raise Refused(f"Нет страницы «{first}». Страницы: {names}" if first
                      else f"Укажите страницу: {names}")
    when = parse_when(remainder, now, config.municipality.tz) if remainder else None
    return Command(found, when, rest.strip())


_BULLET = re.compile(r"^\s*(?:[-–—•*]|\d{1,2}[.)])\s*")


def parse_poll(text: str) -> dict[str, Any]:
    """Question on the first line, options on the next ones (bullets and numbers dropped)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise Refused("Напишите вопрос и варианты ответа — каждый с новой строки")
    question = lines[0]
    options = [_BULLET.sub("", line).strip() for line in lines[1:]]
    options = [option for option in options if option]
    low, high = POLL_OPTIONS
    if not low <= len(options) <= high:
        raise Refused(f"Вариантов ответа {len(options)}, нужно от {low} до {high}")
    if limits.telegram_len(question) > POLL_QUESTION_MAX:
        raise Refused(f"Вопрос длиннее {POLL_QUESTION_MAX} символов "
                      f"({limits.telegram_len(question)}) — Telegram его не примет")
    for option in options:
        if limits.telegram_len(option) > POLL_OPTION_MAX:
            raise Refused(f"Вариант «{option[:30]}…» длиннее {POLL_OPTION_MAX} символов — "
                          "Telegram его не примет")
    if len(set(options)) != len(options):
        raise Refused("Варианты ответа повторяются")
    return {"question": question, "options": options}


@dataclass(frozen=True)
class Composed:
    """A post rendered for its page: what VK and Telegram get, and what was checked."""

    plain: str  # VK's text; also what Telegram shows of ``html``
    html: str  # the Telegram channel's text (HTML)
    refusal: str | None = None  # why it cannot be queued
    note: str | None = None  # what was done to fit (the caption split off)

    @property
    def caption_fits(self) -> bool:
        return limits.telegram_len(self.plain) <= limits.TG_CAPTION_MAX


def compose(render: Renderer, page: Page, text: str, photos: int,
            poll: dict[str, Any] | None = None) -> Composed:
    """Render the page's template and check it against every target's limits."""
    heading, body = ("", "") if poll else split_heading(text)
    context = {"heading": heading, "body": body, "hashtags": page.hashtags,
               "signature": page.signature}
    plain = render.render("posts/post.txt.j2", **context)
    html = render.render("posts/post.html.j2", **context)
    if poll:
        return Composed(plain, html)  # the poll itself was checked by parse_poll
    platforms = {target.platform for target in page.targets}
    refusal = note = None
    if "vk" in platforms:
        refusal = limits.check_post(plain, photos, "vk")
    if refusal is None and "telegram" in platforms:
        problem = limits.check_post(plain, photos, "telegram")
        length = limits.telegram_len(plain)
        if problem is not None and photos and photos <= limits.TG_MEDIA_GROUP_MAX:
            if length <= limits.TG_TEXT_MAX:
                note = limits.split_caption(plain, photos).note  # the caption goes separately
            else:
                refusal = (f"Текст длиннее {limits.TG_TEXT_MAX} символов ({length}) — "
                           "Telegram не примет его ни подписью к фото, ни сообщением")
        else:
            refusal = problem
    return Composed(plain, html, refusal, note)


def telegram_calls(chat_id: int, composed: Composed, photos: Sequence[str],
                   poll: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The Bot API calls that put one post into a channel, in order (one outbox row each)."""
    if poll:
        return [("sendPoll", {"chat_id": chat_id, "question": poll["question"],
                              "options": list(poll["options"]), "is_anonymous": True})]
    text = {"chat_id": chat_id, "text": composed.html, "parse_mode": "HTML"}
    if not photos:
        return [("sendMessage", text)]
    caption = composed.html if composed.caption_fits and composed.plain.strip() else None
    calls: list[tuple[str, dict[str, Any]]]
    if len(photos) == 1:
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photos[0]}
        if caption:
            params |= {"caption": caption, "parse_mode": "HTML"}
        calls = [("sendPhoto", params)]
    else:
        media: list[dict[str, Any]] = [{"type": "photo", "media": fid} for fid in photos]
        if caption:
            media[0] |= {"caption": caption, "parse_mode": "HTML"}
        calls = [("sendMediaGroup", {"chat_id": chat_id, "media": media})]
    if caption is None and composed.plain.strip():
        calls.append(("sendMessage", text))  # split: the text follows the photos whole
    return calls


def vk_link(group_id: int, post_id: int) -> str:
    return f"https://vk.com/wall-{group_id}_{post_id}"


def telegram_link(chat_id: int, result: Any) -> str | None:
    """t.me link of a sent message (a public channel by username, a private one by /c/)."""
    message = result[0] if isinstance(result, list) and result else result
    if not isinstance(message, dict) or "message_id" not in message:
        return None
    username = (message.get("chat") or {}).get("username")
    if username:
        return f"https://t.me/{username}/{message['message_id']}"
    internal = str(chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{message['message_id']}"


def _parse_key(key: str) -> tuple[int, str, int]:
    """'pub:<post>:<target>:<part>' → (post id, target, part)."""
    _, post_id, rest = key.split(":", 2)
    target, _, part = rest.rpartition(":")
    return int(post_id), target, int(part)


def _guid(post_id: int, queued_at: datetime) -> str:
    """VK dedupes ``wall.post`` by guid for about an hour: one per post, stable on retry."""
    return f"mcu-post-{post_id}-{int(queued_at.timestamp())}"


def post_title(post: Post) -> str:
    """A short name for lists and notices."""
    if post.poll:
        source = "Опрос: " + str(post.poll.get("question", ""))
    else:
        heading, body = split_heading(post.text)
        source = heading or body or "фото"
    source = " ".join(source.split())
    return source if len(source) <= 60 else source[:59] + "…"


def queued(post: Post) -> QueuedPost:
    """The post as the planner sees it."""
    return QueuedPost(post.id, post.fixed_at, post.queued_at)


# -- the service ------------------------------------------------------------------------


@dataclass
class Reply:
    """What a press command or button answers; the handler turns ``buttons`` into a keyboard.

    ``buttons``: "draft" (В очередь / Изменить / Отмена), "confirm" (a fixed time that
    breaks a rule: queue anyway or take a free slot), "queue" (a row per ``queue_ids``).
    """

    text: str
    buttons: str | None = None
    alert: bool = False
    post_id: int | None = None
    ok: bool = True
    queue_ids: list[int] = field(default_factory=list)
    markup: dict[str, Any] | None = None  # a ready keyboard (the page picker)


@dataclass
class PageState:
    """The page's queue and plan at one moment."""

    page: Page
    queue: list[Post]
    published: list[datetime]
    planned: dict[int, datetime]


@dataclass
class Publishing:
    hub: Hub
    bot: Any = None  # aiogram Bot: photos are fetched from Telegram to upload to VK
    # VK clients by lane; each paces its token's calls itself (bot.platforms.vk.Pacer)
    vk_clients: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.hub.config

    @property
    def tz(self) -> ZoneInfo:
        return self.config.municipality.tz

    def _is_working_day(self, day: date) -> bool:
        return self.hub.calendar.is_working_day(day)

    def _page(self, name: str) -> Page:
        page = self.config.page(name)
        if page is None:
            raise Refused(f"Страницы «{name}» больше нет в настройках бота")
        return page

    def _target_name(self, target: str) -> str:
        """A page's target as the press secretary knows it: by name, not by id."""
        platform, _, ident = target.partition(":")
        render = self.hub.render
        if platform == "vk":
            community = self.config.community(int(ident)) if ident.lstrip("-").isdigit() \
                else None
            return render.text("posts.j2:target_vk", name=community.name if community and
                               community.name else self.config.municipality.name)
        if ident == str(self.config.telegram.channel):
            return render.text("posts.j2:target_tg_channel")
        return render.text("posts.j2:target_tg_chat")

    def _target_names(self, page: Page) -> list[str]:
        return [self._target_name(target_key(target)) for target in page.targets]

    # -- queue and plan ----------------------------------------------------------------

    async def state(self, conn: Conn, page: Page, now: datetime) -> PageState:
        queue = await posts.queued(conn, page.name)
        published = await posts.published_times(conn, page.name, now - timedelta(days=8))
        slots = plan(page, [queued(post) for post in queue], published, now, self.tz,
                     self._is_working_day)
        return PageState(page, queue, published, {slot.post_id: slot.at for slot in slots})

    async def _store_plan(self, conn: Conn, state: PageState) -> None:
        for post in state.queue:
            new = state.planned.get(post.id)
            if new != post.planned_at:
                await posts.set_planned(conn, post.id, new)
                post.planned_at = new

    async def replan(self, conn: Conn, page: Page, now: datetime) -> PageState:
        state = await self.state(conn, page, now)
        await self._store_plan(conn, state)
        return state

    async def _next_queued_at(self, conn: Conn, page: str, now: datetime) -> datetime:
        """Now, or a second after the page's last queued post: queue order stays unique."""
        last = await posts.last_queued_at(conn, page)
        moment = now.replace(microsecond=0)
        return max(moment, last + timedelta(seconds=1)) if last else moment

    # -- drafts ------------------------------------------------------------------------

    async def draft(self, user_id: int | None, *, page: Page, text: str = "",
                    photos: Sequence[str] = (), poll: dict[str, Any] | None = None,
                    when: datetime | None = None) -> Reply:
        """Check and store a draft; the reply is its preview with «В очередь» etc."""
        composed = compose(self.hub.render, page, text, len(photos), poll)
        if composed.refusal:
            return Reply(self.hub.render.html("posts.j2:refused_limit", page=page.name,
                                              reason=composed.refusal), ok=False)
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post_id = await posts.add_draft(
                conn, page=page.name, kind="poll" if poll else "post", text=text,
                photos=list(photos), poll=poll, fixed_at=when, queued_at=now, queued_by=user_id)
            post = await posts.get(conn, post_id)
            assert post is not None
            return await self._preview(conn, post, page, composed, now)

    async def _preview(self, conn: Conn, post: Post, page: Page, composed: Composed,
                       now: datetime) -> Reply:
        state = await self.state(conn, page, now)
        problem = None
        if post.fixed_at is not None:
            problem = check_fixed(page, [queued(p) for p in state.queue], state.published,
                                  post.fixed_at, self.tz, self._is_working_day)
            expected: datetime | None = post.fixed_at
        else:
            trial = [*(queued(p) for p in state.queue), QueuedPost(post.id, None, now + timedelta(
                days=3650))]  # as if queued last
            slots = plan(page, trial, state.published, now, self.tz, self._is_working_day)
            expected = next((s.at for s in slots if s.post_id == post.id), None)
        shown: Markup | None = Markup(composed.html)  # rendered with autoescape already
        cut = None
        if limits.telegram_len(composed.plain) > PREVIEW_MAX:
            shown, cut = None, composed.plain[:PREVIEW_MAX]
        text = self.hub.render.render(
            "posts/preview.html.j2", post=post, page=page, targets=self._target_names(page),
            expected=expected, fixed=post.fixed_at is not None, problem=problem,
            note=composed.note, shown=shown, cut=cut, length=limits.telegram_len(composed.plain))
        return Reply(text, "confirm" if problem else "draft", post_id=post.id)

    async def confirm(self, post_id: int, user_id: int | None, mode: str = "q") -> Reply:
        """«В очередь» (q), «В очередь всё равно» (f), «В свободный слот» (m)."""
        render = self.hub.render
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "draft":
                return Reply(render.text("posts.j2:draft_gone"), alert=True, ok=False)
            page = self._page(post.page)
            fixed = None if mode == "m" else post.fixed_at
            if fixed is not None and mode == "q":
                state = await self.state(conn, page, now)
                problem = check_fixed(page, [queued(p) for p in state.queue], state.published,
                                      fixed, self.tz, self._is_working_day)
                if problem:
                    return Reply(render.text("posts.j2:confirm_fixed", reason=problem),
                                 "confirm", alert=True, ok=False, post_id=post.id)
            queued_at = await self._next_queued_at(conn, page.name, now)
            await posts.queue_draft(conn, post.id, queued_at, fixed, user_id)
            state = await self.replan(conn, page, now)
        return Reply(render.html("posts.j2:queued", id=post.id, page=page.name,
                                 at=state.planned.get(post.id), fixed=fixed is not None),
                     post_id=post.id)

    async def cancel(self, post_id: int) -> Reply:
        async with self.hub.db.tx() as conn:
            removed = await posts.remove(conn, post_id, "draft")
        if not removed:
            return Reply(self.hub.render.text("posts.j2:draft_gone"), alert=True, ok=False)
        return Reply(self.hub.render.html("posts.j2:cancelled", id=post_id))

    async def edit_text(self, post_id: int, text: str) -> Reply:
        """New text for a draft (photos and time stay); a fresh preview."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "draft":
                return Reply(self.hub.render.text("posts.j2:draft_gone"), ok=False)
            page = self._page(post.page)
            poll = parse_poll(text) if post.poll else None
            composed = compose(self.hub.render, page, text, len(post.photos), poll)
            if composed.refusal:
                return Reply(self.hub.render.html("posts.j2:refused_limit", page=page.name,
                                                  reason=composed.refusal), ok=False,
                             post_id=post.id)
            await posts.set_text(conn, post.id, text, poll)
            post.text, post.poll = text, poll
            return await self._preview(conn, post, page, composed, now)

    async def queue(self, page_name: str, text: str = "", *, photos: Sequence[str] = (),
                    poll: dict[str, Any] | None = None, when: datetime | None = None,
                    by: int | None = None) -> Reply:
        """Draft and queue in one step: for scripts, tests and the demo."""
        page = self.config.page(page_name)
        if page is None:
            raise Refused(f"Нет страницы «{page_name}»")
        reply = await self.draft(by, page=page, text=text, photos=photos, poll=poll, when=when)
        if not reply.ok or reply.post_id is None:
            return reply
        return await self.confirm(reply.post_id, by, "f")

    # -- the queue's buttons -------------------------------------------------------------

    async def move(self, post_id: int, step: int) -> Reply:
        """Swap the post with its neighbour in the queue (the planner follows the order)."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "queued":
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
            queue = await posts.queued(conn, post.page)
            index = next(i for i, p in enumerate(queue) if p.id == post.id)
            other = index + step
            if not 0 <= other < len(queue):
                return Reply(self.hub.render.text("posts.j2:cannot_move"), ok=False)
            neighbour = queue[other]
            await posts.set_queued_at(conn, post.id, neighbour.queued_at)
            await posts.set_queued_at(conn, neighbour.id, post.queued_at)
            await self.replan(conn, self._page(post.page), now)
        return Reply(self.hub.render.text("posts.j2:moved", id=post.id))

    async def remove(self, post_id: int) -> Reply:
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            removed = await posts.remove(conn, post_id, "queued")
            if post is None or not removed:
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
            await self.replan(conn, self._page(post.page), now)
        return Reply(self.hub.render.text("posts.j2:removed", id=post_id))

    async def publish_now(self, post_id: int) -> Reply:
        """The press secretary's decision: a fixed time of now, sent at the next tick."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            if not await posts.fix_time(conn, post_id, now):
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
        await self.tick()
        return Reply(self.hub.render.text("posts.j2:publishing_now", id=post_id))

    # -- views -------------------------------------------------------------------------

    async def queue_view(self) -> Reply:
        now = self.hub.clock.now()
        pages = []
        ids: list[int] = []
        for page in self.config.pages:
            state = await self.state(self.hub.db.reader, page, now)
            items = [{"post": post, "title": post_title(post), "at": state.planned.get(post.id)}
                     for post in state.queue]
            ids.extend(post.id for post in state.queue)
            pages.append({"page": page, "items": items})
        text = self.hub.render.render("posts/queue.html.j2", pages=pages, limit=QUEUE_SHOWN)
        return Reply(text, "queue", queue_ids=ids[:QUEUE_SHOWN])

    async def plan_view(self) -> Reply:
        now = self.hub.clock.now()
        today = now.astimezone(self.tz).date()
        pages = []
        monday = today - timedelta(days=today.weekday())
        sunday = monday + timedelta(days=6)

        def local(moment: datetime) -> date:
            return moment.astimezone(self.tz).date()

        for page in self.config.pages:
            state = await self.state(self.hub.db.reader, page, now)
            done_today = [t for t in state.published if local(t) == today]
            plan_today = sorted(t for t in state.planned.values() if local(t) == today)
            done_week = [t for t in state.published if monday <= local(t) <= sunday]
            plan_week = [t for t in state.planned.values() if monday <= local(t) <= sunday]
            days = sum(1 for i in range(7) if is_publishing_day(
                page, monday + timedelta(days=i), self._is_working_day))
            week_quota = page.quota * days if page.period == "day" else page.quota
            publishing_today = is_publishing_day(page, today, self._is_working_day)
            pages.append({
                "page": page, "done_today": len(done_today), "plan_today": plan_today,
                "done_week": len(done_week), "plan_week": len(plan_week),
                "week_quota": week_quota, "monday": monday, "sunday": sunday,
                "publishing_today": publishing_today,
                "unplanned": sum(1 for p in state.queue if p.id not in state.planned),
            })
        text = self.hub.render.render("posts/plan.html.j2", pages=pages, today=today)
        return Reply(text)

    # -- the tick: publish what is due, warn of a short plan -------------------------------

    async def tick(self) -> int:
        """Once a second: due posts into the outbox, the plan stored, the day's warning."""
        sent = 0
        for page in self.config.pages:
            now = self.hub.clock.now()
            if not await self._page_needs_work(page, now):
                continue
            async with self.hub.db.tx() as conn:
                sent += await self._publish_due(conn, page, now)
                await self._warn(conn, page, now)
        if sent:
            self.hub.wake_outbox()
        return sent

    async def _page_needs_work(self, page: Page, now: datetime) -> bool:
        """A read-only look first, so an idle tick costs no write transaction."""
        conn = self.hub.db.reader
        if self._warn_due(page, now) and await cursors.get(
                conn, _warn_key(page, now, self.tz)) is None:
            return True
        state = await self.state(conn, page, now)
        return any(post.planned_at != state.planned.get(post.id)
                   or (post.planned_at is not None and post.planned_at <= now)
                   or (post.fixed_at is not None and post.fixed_at <= now)
                   for post in state.queue)

    def _may_publish_auto(self, page: Page, now: datetime, published: list[datetime]) -> bool:
        """Guards against a burst after a clock jump or downtime: hours, gap, quota."""
        local = now.astimezone(self.tz)
        if not is_publishing_day(page, local.date(), self._is_working_day):
            return False
        start, _, end = page.hours.partition("-")
        if not parse_hhmm(start) <= local.time() < parse_hhmm(end):
            return False
        gap = timedelta(minutes=page.min_gap_minutes)
        if any(abs(now - moment) < gap for moment in published):
            return False
        first, last = period_of(page, now, self.tz)
        used = sum(1 for t in published if first <= t.astimezone(self.tz).date() <= last)
        return used < page.quota

    async def _publish_due(self, conn: Conn, page: Page, now: datetime) -> int:
        queue = await posts.queued(conn, page.name)
        published = await posts.published_times(conn, page.name, now - timedelta(days=8))
        due = [post for post in queue if post.fixed_at is not None and post.fixed_at <= now]
        auto = sorted((post for post in queue if post.fixed_at is None
                       and post.planned_at is not None and post.planned_at <= now),
                      key=lambda p: (p.planned_at, p.queued_at, p.id))
        taken = [*published, *(now for _ in due)]
        if auto and self._may_publish_auto(page, now, taken):
            due.append(auto[0])
        for post in due:
            await self._dispatch(conn, page, post, now)
        await self.replan(conn, page, now)
        return len(due)

    async def _dispatch(self, conn: Conn, page: Page, post: Post, now: datetime) -> None:
        """The post leaves the queue and its outbox rows are stored — one transaction."""
        if not await posts.start_publishing(conn, post.id, now):
            return
        composed = compose(self.hub.render, page, post.text, len(post.photos), post.poll)
        for target in page.targets:
            name = target_key(target)
            await posts.add_target(conn, post.id, name)
            if composed.refusal:  # the page's template or hashtags changed since queueing
                await self._target_failed(conn, post.id, name, composed.refusal)
                continue
            if target.platform == "vk":
                params: dict[str, Any] = {
                    "group_id": target.id, "message": composed.plain,
                    "guid": _guid(post.id, post.queued_at), "photos": post.photos,
                    "poll": post.poll}
                await rows.enqueue(conn, key=f"pub:{post.id}:{name}:0", platform=VK_PLATFORM,
                                   lane=f"vk:user:{target.id}", method="wall.post",
                                   params=params, now=now, purpose=PURPOSE, ref_id=post.id)
                continue
            await self._enqueue_part(conn, post, target.id, composed, 0, now)
        await self._settle(conn, post.id)

    async def _enqueue_part(self, conn: Conn, post: Post, chat_id: int, composed: Composed,
                            part: int, now: datetime) -> bool:
        """Queue part ``part`` of a channel post; False when the post has no such part.

        Parts go one after another (the next is queued when the previous is done), so a
        retried album never lets its text overtake it, and a failed one leaves no orphan.
        """
        calls = telegram_calls(chat_id, composed, post.photos, post.poll)
        if part >= len(calls):
            return False
        method, params = calls[part]
        await rows.enqueue(conn, key=f"pub:{post.id}:tg:{chat_id}:{part}", platform="tg",
                           lane=f"tg:{chat_id}", method=method, params=params, now=now,
                           purpose=PURPOSE, ref_id=post.id)
        return True

    # -- warnings ------------------------------------------------------------------------

    def _warn_due(self, page: Page, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return (page.period == "day" and local.time() >= parse_hhmm(page.warn_at)
                and is_publishing_day(page, local.date(), self._is_working_day))

    async def _warn(self, conn: Conn, page: Page, now: datetime) -> None:
        """«План на сегодня: 3 из 5» once a day per page, at the page's ``warn_at``."""
        if not self._warn_due(page, now):
            return
        key = _warn_key(page, now, self.tz)
        if not await cursors.claim(conn, key, iso(now)):
            return
        queue = await posts.queued(conn, page.name)
        published = await posts.published_times(conn, page.name, now - timedelta(days=8))
        short = shortfall(page, [queued(p) for p in queue], published, now, self.tz,
                          self._is_working_day)
        if short is None:
            return
        for user_id in self._press():
            await self.hub.notify(conn, user_id, "posts.j2:warn_short", key=key,
                                  page=page.name, have=short[0], quota=short[1])

    def _press(self) -> list[int]:
        return [m.telegram_id for m in self.config.staff if "press" in m.roles]

    def _admins(self) -> list[int]:
        return [m.telegram_id for m in self.config.staff if "admin" in m.roles]

    # -- delivery of a VK target (photos or poll first, then wall.post) --------------------

    async def deliver_vk(self, item: rows.Item) -> Any:
        """One VK target of one post: upload its photos / create its poll, then post.

        Every step's result is remembered before the next step, and ``wall.post`` has its
        guid: a retry after a crash neither uploads twice nor posts twice.
        """
        from bot.platforms.vk.client import VkError, VkTransportError, outbox_failure

        client = self.vk_clients.get(item.lane)
        if client is None:
            # staff read this: no lane names or config keys (README: user_token)
            raise Permanent("в настройках бота нет токена администратора сообщества")
        params = item.params
        group_id = int(params["group_id"])
        try:
            attachments = []
            for index, file_id in enumerate(params.get("photos") or []):
                attachments.append(await self._remembered(
                    f"pubatt:{item.key}:{index}",
                    lambda f=file_id, i=index: self._upload(client, group_id, f, i)))
            if params.get("poll"):
                poll = params["poll"]
                attachments.append(await self._remembered(
                    f"pubatt:{item.key}:poll",
                    lambda: self._create_poll(client, item.lane, group_id, poll)))
            answer = await client.call(
                "wall.post", owner_id=-group_id, from_group=1, message=params.get("message"),
                attachments=",".join(attachments) or None, guid=params["guid"])
        except (VkError, VkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None
        return {"post_id": answer["post_id"], "owner_id": -group_id}

    async def _remembered(self, key: str, make: Callable[[], Any]) -> str:
        known = await cursors.get(self.hub.db.reader, key)
        if known:
            return known
        value = await make()
        async with self.hub.db.tx() as conn:
            await cursors.put(conn, key, value)
        return value

    async def _upload(self, client: Any, group_id: int, file_id: str, index: int) -> str:
        data = await self._photo_bytes(file_id)
        return str(await client.upload_wall_photo(group_id, data, f"photo{index + 1}.jpg"))

    async def _photo_bytes(self, file_id: str) -> bytes:
        from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError

        if self.bot is None:
            raise Permanent("photos need the Telegram bot to fetch them")
        try:
            buffer = await self.bot.download(file_id)
        except TelegramBadRequest as exc:
            raise Permanent(f"Telegram: {exc.message}") from None
        except (TelegramNetworkError, TimeoutError, OSError) as exc:
            raise Retry(5.0, f"photo download: {exc}") from None
        assert buffer is not None
        return buffer.read()

    async def _create_poll(self, client: Any, lane: str, group_id: int,
                           poll: dict[str, Any]) -> str:
        made = await client.call(
            "polls.create", owner_id=-group_id, question=poll["question"],
            add_answers=json.dumps(poll["options"], ensure_ascii=False))
        return f"poll{made['owner_id']}_{made['id']}"

    # -- outbox hooks: in the transaction that settles the row ---------------------------

    async def on_done(self, conn: Conn, item: rows.Item, result: Any) -> None:
        post_id, target, part = _parse_key(item.key)
        if part == 0:
            link = None
            if target.startswith("vk:") and isinstance(result, dict):
                link = vk_link(int(target[3:]), int(result["post_id"]))
            elif target.startswith("tg:"):
                link = telegram_link(int(target[3:]), result)
            await posts.set_link(conn, post_id, target, link)
        now = self.hub.clock.now()
        if target.startswith("tg:"):
            post = await posts.get(conn, post_id)
            page = self.config.page(post.page) if post else None
            if post is not None and page is not None:
                composed = compose(self.hub.render, page, post.text, len(post.photos), post.poll)
                if await self._enqueue_part(conn, post, int(target[3:]), composed, part + 1, now):
                    return  # the text after the album: the target is done after it
        await posts.target_done(conn, post_id, target, now)
        await self._settle(conn, post_id)

    async def on_failed(self, conn: Conn, item: rows.Item, error: Any) -> None:
        post_id, target, _ = _parse_key(item.key)
        # the later parts of this target (the text after an album) are never queued
        await self._target_failed(conn, post_id, target, str(error))

    async def _target_failed(self, conn: Conn, post_id: int, target: str, error: str) -> None:
        failed = await posts.target_failed(conn, post_id, target, error[:500])
        post = await posts.get(conn, post_id)
        if failed and post is not None:
            people = dict.fromkeys([*self._owners(post), *self._admins()])
            for user_id in people:
                await self.hub.notify(
                    conn, user_id, "posts.j2:failed", key=f"pubfail:{post_id}:{target}",
                    id=post_id, title=post_title(post), page=post.page,
                    target=self._target_name(target), error=error[:500],
                    why=self.hub.render.text(f"posts.j2:{explain_failure(error)}"))
        await self._settle(conn, post_id)

    def _owners(self, post: Post) -> list[int]:
        return [post.queued_by] if post.queued_by else self._press()

    async def _settle(self, conn: Conn, post_id: int) -> None:
        """All targets settled: the post is published (or failed) and its author told."""
        targets = await posts.targets(conn, post_id)
        if not targets or any(t.status == "pending" for t in targets):
            return
        ok = all(t.status == "done" for t in targets)
        errors = "; ".join(t.error for t in targets if t.error)
        settled = await posts.settle(conn, post_id, ok, errors or None)
        post = await posts.get(conn, post_id)
        if not settled or post is None:
            return
        links = [{"target": self._target_name(t.target), "link": t.link}
                 for t in targets if t.status == "done"]
        if not links:
            return  # nothing went out: the failure notice said it all
        for user_id in self._owners(post):
            await self.hub.notify(conn, user_id, "posts.j2:published", key=f"pubdone:{post_id}",
                                  id=post_id, title=post_title(post), page=post.page, links=links,
                                  partial=not ok)


def _warn_key(page: Page, now: datetime, tz: ZoneInfo) -> str:
    return f"pubwarn:{page.name}:{now.astimezone(tz).date().isoformat()}"


# The platform's words in a failure → the posts.j2 phrase that explains them in Russian.
# VK codes: dev.vk.com/ru/reference/errors; Telegram texts: the Bot API's descriptions.
_FAILURES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"VK error (214|219)\b"), "why_vk_limit"),
    (re.compile(r"VK error 5\b"), "why_vk_token"),
    (re.compile(r"VK error (7|15|27|203)\b"), "why_vk_rights"),
    (re.compile(r"VK error 9\b"), "why_vk_flood"),
    (re.compile(r"нет токена администратора"), "why_no_token"),  # our own, above
    (re.compile(r"too long|TOO_LONG", re.I), "why_too_long"),
    (re.compile(r"file|photo", re.I), "why_file"),
    (re.compile(r"chat not found|kicked|bot is not a member", re.I), "why_tg_chat"),
    (re.compile(r"not enough rights|need administrator|Forbidden", re.I), "why_tg_rights"),
    (re.compile(r"gave up after"), "why_gave_up"),
]


def explain_failure(error: str) -> str:
    """The posts.j2 phrase that says in Russian what a platform's refusal means."""
    for pattern, phrase in _FAILURES:
        if pattern.search(error):
            return phrase
    return "why_unknown"


def install(app: Any) -> None:
    """Wire the service into the process: commands, the tick, VK delivery, outbox hooks."""
    from handlers import press

    service = Publishing(app.hub, bot=app.bot, vk_clients=app.vk_clients)
    app.publishing = service
    app.dp_data["publishing"] = service
    app.routers.append(press.build())
    app.jobs.add("publishing", service.tick, TICK_SECONDS)
    app.outbox.deliver[VK_PLATFORM] = service.deliver_vk
    app.outbox.on_done[PURPOSE] = service.on_done
    app.outbox.on_failed[PURPOSE] = service.on_failed
