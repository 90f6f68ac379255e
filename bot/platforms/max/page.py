"""MAX as a page (``bot.ports.Page``): answers in the citizen's MAX chat (a reply to their
message) and posts in the official MAX channel.

``POST /messages`` has no idempotency key, so a send whose outcome is unknown (the
process died mid-call, the answer was lost) is *uncertain*: before it goes again the
chat's latest messages are read (``GET /messages``) and the bot's own message with the
same text, sent since the row was queued, is adopted instead. A channel post is one
outbox row (platform ``maxpub``): its photos are uploaded first, each image token
remembered before the next step, then the message; an attachment still processing
(``attachment.not.ready``) is sent again a moment later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import limits
from bot.outbox.outcomes import Permanent
from bot.platforms.max.client import MaxApiError, MaxClient, MaxTransportError, outbox_failure
from bot.ports import PagePost
from bot.render import Renderer
from storage import cursors, outbox
from storage.db import Conn, Database
from storage.incidents import Incident
from storage.outbox import Item

CHANNEL_POSTS = "maxpub"  # outbox platform: photo uploads + the channel message, one row
FetchPhoto = Callable[[str], Awaitable[bytes]]
SEND = "POST /messages"
# how many of a chat's latest messages are read to find an uncertain send (GET /messages)
LOOK_BACK = 50


async def _no_photos(file_id: str) -> bytes:
    raise Permanent("photos need the Telegram bot to fetch them")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class MaxPage:
    config: Config
    clock: Clock
    render: Renderer
    db: Database
    client: MaxClient | None = None
    fetch_photo: FetchPhoto = _no_photos
    platforms: tuple[str, ...] = ("max",)

    # -- answers to citizens ------------------------------------------------------------

    def answer_limit(self, reply_target: dict[str, Any]) -> int:
        return limits.MAX_TEXT_MAX

    async def publish_answer(self, conn: Conn, incident_id: int, reply_target: dict[str, Any],
                             text: str, *, key: str, purpose: str, now: datetime,
                             photos: Sequence[str] = ()) -> None:
        """The text in parts, the first replying to the citizen's message; the photos go
        with the last part (uploaded by its delivery, each token remembered)."""
        parts = limits.split_text(text, self.answer_limit(reply_target))
        chat_id = reply_target["params"]["chat_id"]
        for n, part in enumerate(parts):
            body: dict[str, Any] = {"text": part}
            if n == 0 and reply_target.get("mid"):
                body["link"] = {"type": "reply", "mid": reply_target["mid"]}
            params: dict[str, Any] = {"chat_id": chat_id, "body": body, "since_ms": _ms(now)}
            if n == len(parts) - 1 and photos:
                params["photos"] = list(photos)[:limits.ANSWER_PHOTOS_MAX]
            await outbox.enqueue(conn, key=f"{key}:{n}", platform="max", lane=f"max:{chat_id}",
                                 method=SEND, params=params, now=now,
                                 purpose=purpose if n == len(parts) - 1 else "",
                                 ref_id=incident_id)

    async def ask_rating(self, conn: Conn, incident: Incident, text: str) -> None:
        """No rating buttons in MAX yet (the staff workspace stays in Telegram)."""

    def unreachable(self, reply_target: dict[str, Any], error: str) -> str | None:
        """The citizen stopped or removed the bot (403 chat.denied error.dialog.suspended)."""
        if reply_target.get("private") and "dialog.suspended" in error:
            return "blocked"
        return None

    def explain(self, error: str) -> str:
        return error

    async def deliver(self, item: Item) -> Any:
        """A ``max`` row: one message, looked for first when an earlier try is uncertain."""
        client = self._client()
        params = item.params
        try:
            if item.uncertain:
                found = await self._find(client, params["chat_id"], params["body"].get("text"),
                                         params.get("since_ms", 0))
                if found is not None:
                    return found
            body = dict(params["body"])
            if params.get("photos"):
                body["attachments"] = await self._images(client, item.key, params["photos"])
            answer = await self._send(client, params["chat_id"], body)
        except (MaxApiError, MaxTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None
        return _sent(answer.get("message") or {})

    @staticmethod
    async def _send(client: MaxClient, chat_id: int, body: dict[str, Any]) -> Any:
        """The message; when the citizen's message it replies to is gone (deleted), the
        answer goes without the reply rather than not at all."""
        try:
            return await client.call("POST", "/messages", {"chat_id": chat_id}, body)
        except MaxApiError as exc:
            if exc.code != "not.found" or "link" not in body:
                raise
        return await client.call("POST", "/messages", {"chat_id": chat_id},
                                 {k: v for k, v in body.items() if k != "link"})

    def _client(self) -> MaxClient:
        if self.client is None:
            # staff read this: no config keys
            raise Permanent("в настройках бота нет токена MAX")
        return self.client

    @staticmethod
    async def _find(client: MaxClient, chat_id: int, text: str | None,
                    since_ms: int) -> dict[str, Any] | None:
        """The bot's own message with this text in the chat, sent since ``since_ms``."""
        answer = await client.call("GET", "/messages", {"chat_id": chat_id, "count": LOOK_BACK})
        for message in answer.get("messages") or []:
            sender = message.get("sender") or {}
            body = message.get("body") or {}
            if (sender.get("is_bot") and body.get("text") == text
                    and int(message.get("timestamp", 0)) >= since_ms - 1000):
                return _sent(message)
        return None

    # -- the channel --------------------------------------------------------------------

    def target_key(self, target_id: int) -> str:
        return f"max:{target_id}"

    def target_name(self, target_id: int) -> str:
        return self.render.text("posts.j2:target_max_channel")

    async def publish_post(self, conn: Conn, post: PagePost, target_id: int, *, part: int,
                           key: str, purpose: str, now: datetime) -> bool:
        """One row does the whole post: its photos, then the message."""
        if part:
            return False
        if post.poll:
            raise Permanent("в MAX нет опросов")  # compose refuses this target before
        params = {"chat_id": target_id, "text": post.plain, "photos": post.photos,
                  "since_ms": _ms(now)}
        await outbox.enqueue(conn, key=key, platform=CHANNEL_POSTS, lane=f"max:{target_id}",
                             method=SEND, params=params, now=now, purpose=purpose,
                             ref_id=post.id)
        return True

    def link(self, target_id: int, result: Any) -> str | None:
        return result.get("url") if isinstance(result, dict) else None

    async def deliver_channel_post(self, item: Item) -> Any:
        """A ``maxpub`` row: upload the photos (each token remembered), then send."""
        client = self._client()
        params = item.params
        chat_id = int(params["chat_id"])
        try:
            if item.uncertain:
                found = await self._find(client, chat_id, params.get("text") or None,
                                         params.get("since_ms", 0))
                if found is not None:
                    return found
            attachments = await self._images(client, item.key, params.get("photos") or [])
            body: dict[str, Any] = {"text": params.get("text") or None}
            if attachments:
                body["attachments"] = attachments
            answer = await client.call("POST", "/messages", {"chat_id": chat_id}, body)
        except (MaxApiError, MaxTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None
        return _sent(answer.get("message") or {})

    async def _images(self, client: MaxClient, key: str,
                      photos: Sequence[str]) -> list[dict[str, Any]]:
        """Image attachments of the row's photos, each uploaded once (its token kept)."""
        attachments = []
        for index, file_id in enumerate(photos):
            token = await self._remembered(
                f"maxatt:{key}:{index}", lambda f=file_id, i=index: self._upload(client, f, i))
            attachments.append({"type": "image", "payload": {"token": token}})
        return attachments

    async def _remembered(self, key: str, make: Callable[[], Awaitable[str]]) -> str:
        known = await cursors.get(self.db.reader, key)
        if known:
            return known
        value = await make()
        async with self.db.tx() as conn:
            await cursors.put(conn, key, value)
        return value

    async def _upload(self, client: MaxClient, file_id: str, index: int) -> str:
        return await client.upload_image(await self.fetch_photo(file_id), f"photo{index + 1}.jpg")


def _sent(message: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a sent message: its id, its chat and (a channel's) public link."""
    body = message.get("body") or {}
    recipient = message.get("recipient") or {}
    return {"mid": body.get("mid"), "chat_id": recipient.get("chat_id"),
            "url": message.get("url")}
