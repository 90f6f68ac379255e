"""Одноклассники as a page (``bot.ports.Page``): topics in the official groups.

A topic is one outbox row (platform ``okpub``): its photos uploaded first (their tokens
remembered before the next step), then ``mediatopic.post`` as ``GROUP_THEME`` with the
group's token. ``mediatopic.post`` has no idempotency key: before a try whose outcome is
unknown goes again, the group's feed (``mediatopic.getTopics``) is read and a topic with
the same text, created since the row was queued, is adopted. Citizens do not write to
the bot in OK, so there are no answers here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.outbox.outcomes import Permanent
from bot.platforms.ok.client import OkApiError, OkClient, OkTransportError, outbox_failure
from bot.ports import PagePost
from bot.render import Renderer
from storage import cursors, outbox
from storage.db import Conn, Database
from storage.incidents import Incident
from storage.outbox import Item

TOPICS = "okpub"
FetchPhoto = Callable[[str], Awaitable[bytes]]
LOOK_BACK = 20  # topics read to find an uncertain post


async def _no_photos(file_id: str) -> bytes:
    raise Permanent("photos need the Telegram bot to fetch them")


def ok_link(gid: int, topic_id: str) -> str:
    return f"https://ok.ru/group/{gid}/topic/{topic_id}"


def _text_of(media: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in media if m.get("type") == "text")


@dataclass
class OkPage:
    config: Config
    clock: Clock
    render: Renderer
    db: Database
    clients: dict[int, OkClient] = field(default_factory=dict)  # by group id
    fetch_photo: FetchPhoto = _no_photos
    platforms: tuple[str, ...] = ("ok",)

    # -- answers: none (no citizens' messages come from OK) -----------------------------

    def answer_limit(self, reply_target: dict[str, Any]) -> int:
        return 0

    async def publish_answer(self, conn: Conn, incident_id: int, reply_target: dict[str, Any],
                             text: str, *, key: str, purpose: str, now: datetime,
                             photos: Sequence[str] = ()) -> None:
        raise Permanent("answers in Одноклассники are not supported")

    async def ask_rating(self, conn: Conn, incident: Incident, text: str) -> None:
        """No ratings in OK."""

    def unreachable(self, reply_target: dict[str, Any], error: str) -> str | None:
        return None

    def explain(self, error: str) -> str:
        return error

    # -- the groups ---------------------------------------------------------------------

    def target_key(self, target_id: int) -> str:
        return f"ok:{target_id}"

    def target_name(self, target_id: int) -> str:
        group = self.config.ok_group(target_id)
        return self.render.text("posts.j2:target_ok", name=group.name if group and group.name
                                else self.config.municipality.name)

    async def publish_post(self, conn: Conn, post: PagePost, target_id: int, *, part: int,
                           key: str, purpose: str, now: datetime) -> bool:
        if part:
            return False
        params = {"gid": target_id, "text": post.plain, "photos": post.photos,
                  "poll": post.poll, "since_ms": int(now.timestamp() * 1000)}
        await outbox.enqueue(conn, key=key, platform=TOPICS, lane=f"ok:{target_id}",
                             method="mediatopic.post", params=params, now=now,
                             purpose=purpose, ref_id=post.id)
        return True

    def link(self, target_id: int, result: Any) -> str | None:
        if not isinstance(result, dict) or not result.get("topic_id"):
            return None
        return ok_link(target_id, str(result["topic_id"]))

    async def deliver(self, item: Item) -> Any:
        """An ``okpub`` row: photos, then the topic — looked for first when uncertain."""
        params = item.params
        gid = int(params["gid"])
        client = self.clients.get(gid)
        if client is None:
            raise Permanent("в настройках бота нет токена группы в Одноклассниках")
        media = self._media(params)
        try:
            if item.uncertain:
                found = await self._find(client, gid, _text_of(media), params["since_ms"])
                if found:
                    return {"topic_id": found, "adopted": True}
            if params.get("photos"):
                tokens = await self._photo_tokens(client, gid, item.key, params["photos"])
                media.insert(0, {"type": "photo", "list": [{"id": t} for t in tokens]})
            topic = await client.call("mediatopic.post", gid=str(gid), type="GROUP_THEME",
                                      attachment={"media": media})
        except (OkApiError, OkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None
        return {"topic_id": str(topic)}

    @staticmethod
    def _media(params: dict[str, Any]) -> list[dict[str, Any]]:
        media: list[dict[str, Any]] = []
        poll = params.get("poll")
        if poll:
            media.append({"type": "poll", "question": poll["question"],
                          "answers": [{"text": o} for o in poll["options"]],
                          "options": "SingleChoice,AnonymousVoting"})
        elif (params.get("text") or "").strip():
            media.append({"type": "text", "text": params["text"]})
        return media

    @staticmethod
    async def _find(client: OkClient, gid: int, text: str, since_ms: int) -> str | None:
        answer = await client.call("mediatopic.getTopics", gid=str(gid), count=str(LOOK_BACK))
        for topic in answer.get("media_topics") or []:
            if (int(topic.get("created_ms", 0)) >= since_ms - 1000
                    and _text_of(topic.get("media") or []) == text):
                return str(topic["id"])
        return None

    async def _photo_tokens(self, client: OkClient, gid: int, key: str,
                            photos: list[str]) -> list[str]:
        remembered = await cursors.get(self.db.reader, f"okatt:{key}")
        if remembered:
            return remembered.split(",")
        tokens = await client.upload_photos(gid, [await self.fetch_photo(f) for f in photos])
        async with self.db.tx() as conn:
            await cursors.put(conn, f"okatt:{key}", ",".join(tokens))
        return tokens
