"""Platform text limits, checked before a post is queued so nothing is cut silently.

Telegram (Bot API docs): message text 1–4096 characters and photo caption 0–1024,
both after entity parsing and counted in UTF-16 code units (an emoji outside the
BMP counts 2); callback_data 1–64 bytes; a media group holds 2–10 items. Pass the
text as Telegram will show it (markup already stripped) for the counts to be exact.

VK: the API documentation gives no number for the text of ``wall.post``; 16384
characters is the limit commonly reported and used here. For a wall comment no
documented figure was found, so comments are held to 4096 — the conservative
choice, the same as a community message (``messages.send``, «примерно до 4096»).
A post takes at most 10 attachments. VK is counted in UTF-16 units too: never less
than the number of characters, so the check errs on the safe side.

MAX (dev.max.ru/docs-api; OpenAPI ``NewMessageBody.text`` maxLength 4000): a message's
text up to 4,000 characters, counted here in UTF-16 units like Telegram's (the stricter
reading); about 30 requests a second per bot token («максимальное количество запросов в
секунду на platform-api.max.ru — 30 rps», docs-api ``POST /uploads``); a long poll held
at most 30 s (MAX's long-polling limits of 11.05.2026). MAX's Bot API has no polls
(OpenAPI ``AttachmentRequest``: no poll kind). At most 10 photos in a message is our
guess (not documented; Telegram's album size).

Одноклассники (apiok.ru, ``mediatopic.post``) publish no numbers for a topic's text or
photos nor for request rates: 10,000 characters, 10 photos and 5 requests a second per
token are the stricter guesses the sandbox also holds to (bot/sandbox/ok.py).

VK also limits how often one access token may call the API (below, per token kind);
the sandbox enforces these numbers and the bot keeps them for every call it makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.wording import plural

__all__ = [
    "ANSWER_PHOTOS_MAX",
    "MAX_LONG_POLLS_PER_SECOND",
    "MAX_PHOTOS_MAX",
    "MAX_POLL_HOLD_MAX",
    "MAX_REQUESTS_PER_SECOND",
    "MAX_TEXT_MAX",
    "OK_PHOTOS_MAX",
    "OK_REQUESTS_PER_SECOND",
    "OK_TEXT_MAX",
    "TG_CALLBACK_DATA_MAX_BYTES",
    "TG_CAPTION_MAX",
    "TG_MEDIA_GROUP_MAX",
    "TG_MEDIA_GROUP_MIN",
    "TG_TEXT_MAX",
    "VK_ATTACHMENTS_MAX",
    "VK_COMMENT_MAX",
    "VK_MESSAGE_MAX",
    "VK_REQUESTS_PER_SECOND",
    "VK_REQUESTS_PER_SECOND_MAX",
    "VK_WALL_POST_MAX",
    "PhotoPost",
    "callback_data_fits",
    "check_post",
    "split_caption",
    "split_text",
    "telegram_len",
]

TG_TEXT_MAX = 4096
TG_CAPTION_MAX = 1024
TG_CALLBACK_DATA_MAX_BYTES = 64
TG_MEDIA_GROUP_MIN = 2
TG_MEDIA_GROUP_MAX = 10

VK_WALL_POST_MAX = 16384
VK_COMMENT_MAX = 4096  # undocumented; conservative
VK_MESSAGE_MAX = 4096
VK_ATTACHMENTS_MAX = 10
# photos an executor's answer may carry: what both a Telegram album (2–10 media) and a
# VK comment or message (up to 10 attachments) take in one piece
ANSWER_PHOTOS_MAX = min(TG_MEDIA_GROUP_MAX, VK_ATTACHMENTS_MAX)

# Requests per second one access token may make, by its kind (dev.vk.com/ru/api/
# api-requests, «Ограничения и рекомендации»): a community token 20, a user token 3; a
# service (application) token's limit grows with the app's audience — 3 for a small app
# is the floor, 5 the most we plan for. Past it VK answers error 6 «Too many requests
# per second». The defaults are the floors; ``[vk.rate_limits]`` may raise a kind up
# to its maximum, never past it.
VK_REQUESTS_PER_SECOND: dict[str, int] = {"community": 20, "user": 3, "service": 3}
VK_REQUESTS_PER_SECOND_MAX: dict[str, int] = {"community": 20, "user": 3, "service": 5}

MAX_TEXT_MAX = 4000
MAX_PHOTOS_MAX = 10
MAX_REQUESTS_PER_SECOND = 30
MAX_POLL_HOLD_MAX = 30
MAX_LONG_POLLS_PER_SECOND = 2  # MAX's long-polling limits of 11.05.2026 (maxapi 1.2.3)
OK_TEXT_MAX = 10000
OK_PHOTOS_MAX = 10
OK_REQUESTS_PER_SECOND = 5

Platform = Literal["telegram", "vk", "max", "ok"]


def telegram_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a lone surrogate counts 1)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def callback_data_fits(data: str) -> bool:
    """Telegram refuses callback_data that is empty or over 64 bytes of UTF-8."""
    return 1 <= len(data.encode("utf-8")) <= TG_CALLBACK_DATA_MAX_BYTES


def check_post(text: str, photos: int, platform: Platform) -> str | None:
    """Why a post cannot go to ``platform`` as it is (in Russian), or None if it can.

    A photo post whose text is over the caption limit is reported here too; the
    caller may then send it with :func:`split_caption` and tell the press secretary.
    """
    length = telegram_len(text)
    empty = not text.strip()
    if platform == "telegram":
        if photos > TG_MEDIA_GROUP_MAX:
            return (
                f"Фото больше {TG_MEDIA_GROUP_MAX} ({photos}) — "
                "Telegram не примет их одним альбомом"
            )
        if photos == 0:
            if empty:
                return "Пустой текст — Telegram его не примет"
            if length > TG_TEXT_MAX:
                return f"Текст длиннее {TG_TEXT_MAX} символов ({length}) — Telegram его не примет"
        elif length > TG_CAPTION_MAX:
            return (
                f"Подпись к фото длиннее {TG_CAPTION_MAX} символов ({length}) — "
                "Telegram её не примет"
            )
        return None
    if platform == "max":
        return _check_max(length, photos, empty)
    if platform == "ok":
        return _check_ok(length, photos, empty)
    if photos > VK_ATTACHMENTS_MAX:
        return (f"Фото больше {VK_ATTACHMENTS_MAX} ({photos}) — ВКонтакте не прикрепит их"
                " к одной записи")
    if photos == 0 and empty:
        return "Пустая запись — ВКонтакте её не примет"
    if length > VK_WALL_POST_MAX:
        return f"Текст длиннее {VK_WALL_POST_MAX} символов ({length}) — ВКонтакте его не примет"
    return None


def _check_max(length: int, photos: int, empty: bool) -> str | None:
    if photos > MAX_PHOTOS_MAX:
        return f"Фото больше {MAX_PHOTOS_MAX} ({photos}) — MAX не примет их одним сообщением"
    if photos == 0 and empty:
        return "Пустой текст — MAX его не примет"
    if length > MAX_TEXT_MAX:
        return f"Текст длиннее {MAX_TEXT_MAX} символов ({length}) — MAX его не примет"
    return None


def _check_ok(length: int, photos: int, empty: bool) -> str | None:
    if photos > OK_PHOTOS_MAX:
        return (f"Фото больше {OK_PHOTOS_MAX} ({photos}) — Одноклассники не прикрепят их"
                " к одной теме")
    if photos == 0 and empty:
        return "Пустая тема — Одноклассники её не примут"
    if length > OK_TEXT_MAX:
        return (f"Текст длиннее {OK_TEXT_MAX} символов ({length}) — Одноклассники его"
                " не примут")
    return None


# -- splitting ------------------------------------------------------------------------

_PARAGRAPH = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_MARKS = ".!?…"
_CLOSERS = "»\"')]"


def _prefix_units(text: str) -> list[int]:
    """units[i] = UTF-16 length of text[:i]."""
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    return units


def _best_cut(text: str, start: int, end: int) -> int:
    """Where to end a part that must lie within text[start:end] (end > start).

    A cut at c ends the part before text[c]; it is on a boundary when text[c] is
    whitespace (or the end). Preference: a blank line, a line break, the end of a
    sentence, any space; a boundary in the first half of the part is passed over
    for a weaker one further on, so the parts are not needlessly short. With no
    boundary at all (one word longer than the limit) the word is cut at ``end``.
    """
    boundaries = [c for c in range(start + 1, end + 1) if c == len(text) or text[c].isspace()]
    if not boundaries:
        return end
    half = start + (end - start) // 2

    def paragraph(c: int) -> bool:
        return _PARAGRAPH.match(text, c) is not None

    def line(c: int) -> bool:
        return text[c] == "\n"

    def sentence(c: int) -> bool:
        i = c - 1
        while i > start and text[i] in _CLOSERS:
            i -= 1
        return text[i] in _SENTENCE_MARKS

    for test in (paragraph, line, sentence):
        good = [c for c in boundaries if c >= half and (c >= len(text) or test(c))]
        if good:
            return good[-1]
    return boundaries[-1]


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` UTF-16 units, at natural boundaries.

    A text that fits comes back whole. Otherwise the whitespace at each cut is the
    separator and is dropped, along with the text's own leading and trailing
    whitespace: ``text`` is exactly sep₀ + part₀ + sep₁ + part₁ + … + sepₙ with
    every sep whitespace (empty only where a word longer than ``limit`` had to be
    cut). No other character is lost, and no word is cut unless it alone is over
    the limit.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 (one character may take two units)")
    if telegram_len(text) <= limit:
        return [text] if text else []
    units = _prefix_units(text)
    parts: list[str] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            return parts
        # the furthest end that fits; at least one character even if it alone is over
        end = pos + 1
        while end < n and units[end + 1] - units[pos] <= limit:
            end += 1
        if units[n] - units[pos] <= limit:
            cut = n
        else:
            cut = _best_cut(text, pos, end)
        parts.append(text[pos:cut].rstrip())
        pos = cut


@dataclass(frozen=True)
class PhotoPost:
    """What to send for one photo post on Telegram, in this order.

    ``caption`` goes with the photos (on the first one of an album; "" = none);
    ``messages`` follow as separate text messages. ``note`` says, in Russian, what
    was done to the text, for the press secretary; None when it went as written.
    """

    caption: str
    messages: tuple[str, ...]
    note: str | None = None


def split_caption(text: str, photos: int) -> PhotoPost:
    """Fit a post's text to Telegram: as a caption if it can be one, else as messages.

    When the text of a photo post is over 1024 the photos go without a caption and
    the text follows whole as a message (split further only past 4096): a reader
    sees the text in one piece rather than cut between a caption and a message.
    """
    length = telegram_len(text)
    if photos <= 0:
        if length <= TG_TEXT_MAX:
            return PhotoPost("", (text,) if text.strip() else ())
        parts = tuple(split_text(text, TG_TEXT_MAX))
        note = (
            f"Текст длиннее {TG_TEXT_MAX} символов ({length}) — "
            f"уйдёт в Telegram {_messages(len(parts))} подряд"
        )
        return PhotoPost("", parts, note)
    if length <= TG_CAPTION_MAX:
        return PhotoPost(text, ())
    parts = tuple(split_text(text, TG_TEXT_MAX))
    note = f"Текст длиннее подписи к фото ({length} из {TG_CAPTION_MAX}) — фото уйдут без подписи, "
    if len(parts) == 1:
        note += "текст отдельным сообщением следом"
    else:
        note += f"текст следом {_messages(len(parts))}"
    return PhotoPost("", parts, note)


def _messages(n: int) -> str:
    """«2 сообщениями», «21 сообщением»: the one plural rule, in the instrumental."""
    return plural(n, "сообщением", "сообщениями", "сообщениями")
