"""Telegram edge: the aiogram Bot pointed at the configured Bot API server, and calls by name.

Outbox rows name a Bot API method and its JSON parameters; ``call`` turns them into the
aiogram method object, so what is stored is exactly what goes over the wire.

The Bot API has no idempotency key, so a send whose answer is lost (an nginx HTML page, a
200 aiogram cannot decode, a timeout, a kill -9 before the record) may or may not have
posted the message. Such a send is *uncertain* and never goes again blindly. Message ids
in a chat only grow, and the outbox stored the highest id the bot knew before the first
try (the *watermark*), so an orphan of the bot's can only be above it. An edit of the
reply markup to the markup the send carried asks Telegram, without changing anything,
whose a message is (telegram-bot-api Client.cpp ``check_message`` / TDLib): "message to
edit not found" — no message; "message can't be edited" — someone else's; "message is not
modified" (or an edit of a keyboard that differed) — the bot's own. So before sending
again the ids just above the watermark are looked at: the bot's own message there is the
lost send, adopted as delivered; a half-sent album's messages are removed and the album
goes whole. After a resend the ids between are looked at once more and the bot's orphans
there removed (a separate ``deleteOrphans`` row, recorded with the resend's success). In
a lane calls go one at a time, so above the watermark the bot's messages can only be this
row's. Every such call waits for and counts in the chat's budget.

In a channel an admin with ``can_edit_messages`` may edit other admins' posts, so an edit
does not tell whose a post is there; ids the bot saw arrive in updates (other people's
messages: a bot is never sent its own) are skipped, which covers posts made while the bot
was running.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot, methods
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from pydantic import BaseModel

from bot.config import Telegram


def make_bot(config: Telegram) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base.rstrip("/")))
    return Bot(
        token=config.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _method_class(name: str) -> type[methods.TelegramMethod[Any]]:
    cls = getattr(methods, name[:1].upper() + name[1:], None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"unknown Bot API method {name!r}")
    return cls


def upload(data: bytes, filename: str) -> dict[str, str]:
    """A file to upload, as an outbox parameter (JSON can hold it; aiogram gets bytes)."""
    return {"upload": base64.b64encode(data).decode("ascii"), "filename": filename}


def _inflate(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"upload", "filename"}:
        return BufferedInputFile(base64.b64decode(value["upload"]), filename=value["filename"])
    if isinstance(value, dict):
        return {k: _inflate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inflate(v) for v in value]
    return value


def dump(result: Any) -> Any:
    """An aiogram result as plain JSON (its models hold ``Default`` sentinels and datetimes)."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="python", exclude_none=True)
    if isinstance(result, dict):
        return {k: dump(v) for k, v in result.items() if not isinstance(v, Default)}
    if isinstance(result, list | tuple):
        return [dump(item) for item in result]
    if isinstance(result, datetime):
        return int(result.timestamp())
    if isinstance(result, Default):
        return None
    return result


async def call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """Call a Bot API method by its name with JSON parameters; return JSON-able result."""
    cls = _method_class(method)
    return dump(await bot(cls(**_inflate(params))))


NOT_MODIFIED = "message is not modified"

# 403 answers for a private chat the bot may not write to, by what became of the person
# (telegram-bot-api Client.cpp: fail_query_with_error turns USER_IS_BLOCKED and
# INPUT_USER_DEACTIVATED into these, check_chat_access answers "user is deactivated";
# "bot can't initiate conversation with a user" is the server's for a person who never
# started the bot). None of them passes with time: retrying only repeats the refusal.
UNREACHABLE = {
    "bot was blocked by the user": "blocked",
    "user is deactivated": "deactivated",
    "bot can't initiate conversation with a user": "not_started",
}


def describe(exc: BaseException) -> str:
    """One short line for a log or a report: what failed, without a traceback and without
    the HTML page a proxy answered instead of the Bot API (aiogram's ClientDecodeError
    carries the whole body)."""
    if isinstance(exc, ClientDecodeError):
        return "the answer is not the Bot API's JSON (a proxy's error page?)"
    if isinstance(exc, TelegramAPIError):
        text = exc.message
    else:
        text = str(exc) or type(exc).__name__
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return line if len(line) <= 200 else line[:199] + "…"


def unreachable(error: str) -> str | None:
    """``blocked``, ``deactivated`` or ``not_started`` if a refusal says the person cannot
    be written to privately; None for any other error."""
    for words, reason in UNREACHABLE.items():
        if words in error:
            return reason
    return None

__all__ = [
    "NOT_MODIFIED",
    "TelegramBadRequest",
    "TelegramNetworkError",
    "TelegramRetryAfter",
    "TelegramServerError",
    "call",
    "describe",
    "make_bot",
    "unreachable",
    "upload",
]


def is_send(method: str) -> bool:
    """Whether a method puts a new message into a chat (what the per-chat limits count)."""
    return method.startswith(("send", "forward", "copy"))


# Unreadable or lost answers: the call may or may not have been carried out.
_UNKNOWN = (TelegramServerError, TelegramNetworkError, ClientDecodeError, TimeoutError)

ORPHANS = "deleteOrphans"  # an outbox row: remove the bot's orphans in a window of ids
PROBE_AHEAD = 10  # ids above the watermark looked at before a send goes again
PROBE_BEHIND = 20  # ids below a resend looked at for orphans afterwards

OURS, THEIRS, NOTHING = "ours", "theirs", "nothing"

Pace = Callable[[], AbstractAsyncContextManager[None]]


_TITLE = re.compile(r"<title>\s*([^<]{1,80}?)\s*</title>", re.IGNORECASE)


def _why(exc: BaseException) -> str:
    """A failure's words, short: aiogram's ``ClientDecodeError`` carries the whole body
    it could not read (an nginx page), which is named by its title instead."""
    if isinstance(exc, ClientDecodeError):
        body = str(getattr(exc, "data", ""))
        title = _TITLE.search(body)
        what = f"HTML page «{title.group(1)}»" if title else "body not JSON or cut short"
        return f"unreadable answer ({exc.message}: {what})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


def message_ids(result: Any) -> list[int]:
    """The ids of the messages a send's result holds (one, or an album's)."""
    found = result if isinstance(result, list) else [result]
    return [int(m["message_id"]) for m in found if isinstance(m, dict) and "message_id" in m]


@dataclass
class Sent:
    """What became of a send: its result and, when earlier tries were uncertain, the
    window of ids (both ends excluded) where an orphan of the bot's may remain."""

    result: Any
    adopted: bool = False
    window: tuple[int, int] | None = None

    @property
    def ids(self) -> list[int]:
        return message_ids(self.result)


async def probe(bot: Bot, chat_id: int, message_id: int, markup: Any) -> tuple[str, Any]:
    """Whose message ``message_id`` is: OURS (with the message when the edit returned
    it), THEIRS, or NOTHING there. The edit sets the reply markup the bot's send carried,
    so the bot's own copy answers "not modified" and nothing visible changes."""
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    if markup:
        params["reply_markup"] = markup
    try:
        edited = await call(bot, "editMessageReplyMarkup", params)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return OURS, None
        if "not found" in exc.message:
            return NOTHING, None
        if "can't be edited" in exc.message or "there is no" in exc.message:
            return THEIRS, None
        raise
    return OURS, edited if isinstance(edited, dict) else None


def _adopted(chat_id: int, params: dict[str, Any], found: list[tuple[int, Any]]) -> Any:
    """The result of a send found already delivered: the message the probe returned, or
    what the bot knows of it (id, chat, topic)."""
    messages = []
    for message_id, message in found:
        if message is None:
            message = {"message_id": message_id, "chat": {"id": chat_id}}
            if params.get("message_thread_id"):
                message["message_thread_id"] = params["message_thread_id"]
        messages.append(message)
    return messages if isinstance(params.get("media"), list) else messages[0]


async def _look_above(bot: Bot, chat_id: int, after: int, expect: int, markup: Any,
                      others: Collection[int], pace: Pace) -> tuple[list[tuple[int, Any]], int]:
    """The bot's messages just above ``after`` (at most ``expect``), and the first id not
    known: ids go up until nothing is there (or ``PROBE_AHEAD`` calls were made)."""
    found: list[tuple[int, Any]] = []
    message_id, looked = after + 1, 0
    while looked < PROBE_AHEAD and len(found) < expect:
        if message_id in others:
            message_id += 1
            continue
        async with pace():
            answer, message = await probe(bot, chat_id, message_id, markup)
        looked += 1
        if answer == NOTHING:
            break
        if answer == OURS:
            found.append((message_id, message))
        message_id += 1
    return found, message_id


async def _delete(bot: Bot, chat_id: int, ids: list[int], pace: Pace) -> None:
    async with pace():
        if len(ids) == 1:
            try:
                await call(bot, "deleteMessage", {"chat_id": chat_id, "message_id": ids[0]})
            except TelegramBadRequest as exc:
                if "not found" not in exc.message:
                    raise
        else:
            await call(bot, "deleteMessages", {"chat_id": chat_id, "message_ids": ids})


def _sorted_failure(exc: Exception, method: str, attempts: int, watermark: int | None) -> Exception:
    """A Bot API failure as the outbox's Retry (with an attempt limit) or Permanent."""
    from bot.outbox.worker import Permanent, Retry, backoff

    if isinstance(exc, TelegramRetryAfter):  # refused before anything was done
        return Retry(exc.retry_after, f"429 retry after {exc.retry_after}", pause_lane=True,
                     transient=False, watermark=watermark)
    if isinstance(exc, _UNKNOWN) or (isinstance(exc, AiogramError)
                                     and not isinstance(exc, TelegramAPIError)):
        return Retry(backoff(attempts), f"uncertain: {_why(exc)}", uncertain=is_send(method),
                     watermark=watermark)
    if isinstance(exc, TelegramAPIError):
        return Permanent(exc.message)
    return exc


async def deliver(bot: Bot, method: str, params: dict[str, Any], attempts: int) -> Any:
    """One outbox call to Telegram, its failure sorted into retry-later or give-up."""
    try:
        return await call(bot, method, params)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return None  # the card already shows this: done
        raise _sorted_failure(exc, method, attempts, None) from None
    except (AiogramError, TimeoutError) as exc:
        raise _sorted_failure(exc, method, attempts, None) from None


async def deliver_send(bot: Bot, method: str, params: dict[str, Any], attempts: int, *,
                       uncertain: bool, watermark: int | None, pace: Pace,
                       others: Collection[int] = ()) -> Sent:
    """A send, at most once visibly (see the module's docstring)."""
    chat_id = int(params["chat_id"])
    album = isinstance(params.get("media"), list)
    expect = len(params["media"]) if album else 1
    markup = None if album else params.get("reply_markup")
    known = watermark
    try:
        if uncertain and known is not None:
            found, first_unknown = await _look_above(bot, chat_id, known, expect, markup,
                                                     others, pace)
            if len(found) == expect:
                return Sent(_adopted(chat_id, params, found), adopted=True)
            if found:  # part of an album went: it goes again whole
                await _delete(bot, chat_id, [i for i, _ in found], pace)
            known = first_unknown - 1
        result = await call(bot, method, params)
    except TelegramBadRequest as exc:
        raise _sorted_failure(exc, method, attempts, known) from None
    except (AiogramError, TimeoutError) as exc:
        # while looking, nothing new was sent: the row stays as uncertain as it was
        raise _sorted_failure(exc, method, attempts, known) from None
    sent = Sent(dump(result) if not isinstance(result, dict | list) else result)
    ids = sent.ids
    if uncertain and known is not None and ids and min(ids) - known > 1:
        sent.window = (known, min(ids))
    return sent


async def delete_orphans(bot: Bot, params: dict[str, Any], attempts: int, pace: Pace,
                         others: Collection[int] = ()) -> Any:
    """A ``deleteOrphans`` row: the bot's own messages strictly between ``after`` and
    ``before`` (a resend) are copies of that send; they go. Others' are not touched."""
    chat_id, after, before = int(params["chat_id"]), int(params["after"]), int(params["before"])
    markup = params.get("reply_markup")
    found: list[int] = []
    looked = 0
    try:
        for message_id in range(before - 1, after, -1):
            if looked >= PROBE_BEHIND:
                break
            if message_id in others:
                continue
            async with pace():
                answer, _ = await probe(bot, chat_id, message_id, markup)
            looked += 1
            if answer == OURS:
                found.append(message_id)
        if found:
            await _delete(bot, chat_id, sorted(found), pace)
    except (AiogramError, TimeoutError) as exc:
        raise _sorted_failure(exc, "deleteMessages", attempts, None) from None
    return {"deleted": sorted(found), "looked": looked}


class Seen:
    """Message ids the bot was told of in updates, per chat: other people's messages (a
    bot is never sent its own). They narrow where an orphan can be and are skipped when
    looking for one; ``keep`` recent ids a chat are enough for that."""

    def __init__(self, keep: int = 2000):
        self.keep = keep
        self._ids: dict[int, set[int]] = {}
        self._top: dict[int, int] = {}

    def note(self, chat_id: int, message_id: int) -> None:
        ids = self._ids.setdefault(chat_id, set())
        ids.add(message_id)
        if len(ids) > self.keep * 3 // 2:  # trimmed now and then, to the newest ``keep``
            ids.difference_update(sorted(ids)[: len(ids) - self.keep])
        self._top[chat_id] = max(self._top.get(chat_id, 0), message_id)

    def others(self, chat_id: int) -> Collection[int]:
        return self._ids.get(chat_id, set())

    def top(self, chat_id: int) -> int:
        return self._top.get(chat_id, 0)
