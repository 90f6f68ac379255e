"""MAX as a source: citizens' messages to the bot (dialogs) and in the city chats the bot
is a member of, read by long polling ``GET /updates`` (dev.max.ru/docs-api).

The long-poll ``marker`` is stored in the same transaction as the incidents its updates
produced, so a restart neither loses nor repeats a message: a marker passed to MAX marks
every earlier update read, and we pass it only once what came before it is stored. An
edit or a removal of a message that became an incident is recorded on the incident.
Long polling suits one process; MAX recommends a webhook for production (README).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from bot.config import Config
from bot.domain.limits import MAX_LONG_POLLS_PER_SECOND
from bot.platforms.max.client import MaxApiError, MaxClient, MaxTransportError
from bot.services.ingest import Inbound, Ingest
from storage import cursors

log = logging.getLogger(__name__)

CURSOR = "max:longpoll"
TYPES = "message_created,message_edited,message_removed"


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def _name(user: dict[str, Any]) -> str:
    name = f"{user.get('first_name') or ''} {user.get('last_name') or ''}".strip()
    return name or str(user.get("name") or "")


def _attachments(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "max_photo", "url": (a.get("payload") or {}).get("url")}
            for a in body.get("attachments") or [] if a.get("type") == "image"]


def from_message(config: Config, message: dict[str, Any],
                 chat_links: dict[int, str] | None = None) -> Inbound | None:
    """A ``message_created`` message as an ``Inbound``; None for what is not a citizen's
    (the bot's own, a channel post, a chat the config does not list). The link back is
    the message's own when MAX gives one, else the city chat's (``chat_links``)."""
    sender = message.get("sender") or {}
    recipient = message.get("recipient") or {}
    body = message.get("body") or {}
    if sender.get("is_bot") or "user_id" not in sender or not body.get("mid"):
        return None
    chat_id = int(recipient.get("chat_id", 0))
    user_id = int(sender["user_id"])
    mid = str(body["mid"])
    common: dict[str, Any] = {
        "key": f"max:{mid}", "author_id": f"max:{user_id}", "author_name": _name(sender),
        "text": body.get("text") or "", "attachments": _attachments(body),
        "written_at": datetime.fromtimestamp(int(message.get("timestamp", 0)) / 1000, UTC),
    }
    target = {"platform": "max", "params": {"chat_id": chat_id}, "mid": mid}
    if recipient.get("chat_type") == "dialog":
        return Inbound(source="max:private", kind="max_private",
                       thread=f"max:private:{user_id}",
                       reply_target={**target, "private": True}, **common)
    if recipient.get("chat_type") == "chat" and chat_id in config.max.city_chats:
        return Inbound(source=f"max:{chat_id}", kind="max_chat",
                       thread=f"max:{chat_id}:u:{user_id}",
                       link=message.get("url") or (chat_links or {}).get(chat_id),
                       reply_target=target, **common)
    return None


class MaxLongPoll:
    def __init__(self, config: Config, ingest: Ingest, client: MaxClient):
        self.config = config
        self.ingest = ingest
        self.client = client
        self.timeout = config.max.poll_timeout
        self._last_poll = 0.0
        self.chat_links: dict[int, str] = {}

    async def _learn_links(self) -> None:
        """Each city chat's link (GET /chats/{id}), for the cards' link back; a chat MAX
        does not answer for is left without one (the start-up report names it)."""
        for chat_id in self.config.max.city_chats:
            try:
                chat = await self.client.call("GET", f"/chats/{chat_id}")
            except (MaxApiError, MaxTransportError):
                continue
            if chat.get("link"):
                self.chat_links[chat_id] = str(chat["link"])

    async def run(self, stop: asyncio.Event) -> None:
        db = self.ingest.hub.db
        marker = await cursors.get(db.reader, CURSOR)
        await self._learn_links()
        errors = 0
        while not stop.is_set():
            # MAX's long polling: at most 2 requests a second (bot.domain.limits)
            gap = 1.0 / MAX_LONG_POLLS_PER_SECOND - (time.monotonic() - self._last_poll)
            if gap > 0:
                await _pause(stop, gap)
            self._last_poll = time.monotonic()
            try:
                answer = await self.client.call(
                    "GET", "/updates", {"marker": marker, "timeout": self.timeout,
                                        "limit": 100, "types": TYPES},
                    hold=self.timeout + 15)
                errors = 0
                self.ingest.hub.health.ok("max")
            except (MaxApiError, MaxTransportError) as exc:
                self.ingest.hub.health.failed("max", str(exc))
                errors += 1
                delay = min(60.0, 2.0**errors)
                log.warning("MAX long poll: %s; again in %.0fs", exc, delay)
                await _pause(stop, delay)
                continue
            new_marker = str(answer.get("marker") or marker or "")
            try:
                await self.handle(answer.get("updates") or [], new_marker)
            except Exception:
                errors += 1
                log.exception("MAX long poll: updates not stored; again in %.0fs",
                              min(60.0, 2.0**errors))
                await _pause(stop, min(60.0, 2.0**errors))
                continue
            marker = new_marker or None

    async def handle(self, updates: list[Any], marker: str) -> None:
        messages = []
        for update in updates:
            if not isinstance(update, dict):
                continue
            kind = update.get("update_type")
            if kind == "message_created":
                inbound = from_message(self.config, update.get("message") or {},
                                       self.chat_links)
                if inbound is not None:
                    messages.append(inbound)
            elif kind == "message_edited":
                body = (update.get("message") or {}).get("body") or {}
                if body.get("mid"):
                    await self.ingest.edit(f"max:{body['mid']}", body.get("text") or "")
            elif kind == "message_removed" and update.get("message_id"):
                await self.ingest.delete(f"max:{update['message_id']}")
        await self.ingest.receive_many(messages, cursor=(CURSOR, marker) if marker else None)
