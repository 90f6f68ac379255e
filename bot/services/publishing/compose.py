"""A post's words: the /post command parsed, the text rendered for its page and checked
against every target's limits before anything is stored, a title for lists.

Too long is refused with the reason; a photo caption over 1024 is split off and the
preview says so — never cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config, Page, PageTarget
from bot.domain import limits
from bot.domain.planner import QueuedPost
from bot.render import Renderer
from storage.posts import Post

POLL_OPTIONS = (2, 10)  # VK takes 1–10 answers, Telegram 2–12: both hold 2–10
POLL_QUESTION_MAX = 300  # Telegram's limit (VK's is not documented lower)
POLL_OPTION_MAX = 100


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
    """A post rendered for its page: what the targets get, and what was checked."""

    plain: str  # VK's, MAX's and OK's text; also what Telegram shows of ``html``
    html: str  # the Telegram channel's text (HTML)
    refusal: str | None = None  # why it cannot be queued at all (no target takes it)
    note: str | None = None  # what was done to fit (the caption split off)
    # targets that cannot take it, by target key ('max:-72…'), with the reason: the post
    # is published on the others and never cut to fit
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def caption_fits(self) -> bool:
        return limits.telegram_len(self.plain) <= limits.TG_CAPTION_MAX


def target_key(target: PageTarget) -> str:
    """The target's name in ``post_targets`` and the outbox keys: 'tg:-100…', 'max:-72…'."""
    platform = "tg" if target.platform == "telegram" else target.platform
    return f"{platform}:{target.id}"


def _telegram(plain: str, photos: int) -> tuple[str | None, str | None]:
    """(refusal, note) for a Telegram target: a long caption goes after the photos."""
    problem = limits.check_post(plain, photos, "telegram")
    length = limits.telegram_len(plain)
    if problem is not None and photos and photos <= limits.TG_MEDIA_GROUP_MAX:
        if length <= limits.TG_TEXT_MAX:
            return None, limits.split_caption(plain, photos).note
        return (f"Текст длиннее {limits.TG_TEXT_MAX} символов ({length}) — "
                "Telegram не примет его ни подписью к фото, ни сообщением"), None
    return problem, None


def compose(render: Renderer, page: Page, text: str, photos: int,
            poll: dict[str, Any] | None = None) -> Composed:
    """Render the page's template and check it against each target's limits."""
    heading, body = ("", "") if poll else split_heading(text)
    context = {"heading": heading, "body": body, "hashtags": page.hashtags,
               "signature": page.signature}
    plain = render.render("posts/post.txt.j2", **context)
    html = render.render("posts/post.html.j2", **context)
    skipped: dict[str, str] = {}
    note = None
    for target in page.targets:
        if poll:  # the poll itself was checked by parse_poll
            problem = "в MAX нет опросов" if target.platform == "max" else None
        elif target.platform == "telegram":
            problem, tg_note = _telegram(plain, photos)
            note = note or tg_note
        else:
            problem = limits.check_post(plain, photos, target.platform)
        if problem is not None:
            skipped.setdefault(target_key(target), problem)
    if skipped and len(skipped) == len({target_key(t) for t in page.targets}):
        return Composed(plain, html, "; ".join(dict.fromkeys(skipped.values())))
    return Composed(plain, html, None, note, skipped)


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
    return QueuedPost(post.id, post.fixed_at, post.queued_at, post.planned_at)


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
