"""Telegram sends, at most once visibly.

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

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramBadRequest

from bot.platforms.telegram.bot_api import NOT_MODIFIED, call, dump, sorted_failure

ORPHANS = "deleteOrphans"  # an outbox row: remove the bot's orphans in a window of ids
PROBE_AHEAD = 10  # ids above the watermark looked at before a send goes again
PROBE_BEHIND = 20  # ids below a resend looked at for orphans afterwards

OURS, THEIRS, NOTHING = "ours", "theirs", "nothing"

Pace = Callable[[], AbstractAsyncContextManager[None]]


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
        raise sorted_failure(exc, method, attempts, known) from None
    except (AiogramError, TimeoutError) as exc:
        # while looking, nothing new was sent: the row stays as uncertain as it was
        raise sorted_failure(exc, method, attempts, known) from None
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
        raise sorted_failure(exc, "deleteMessages", attempts, None) from None
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
