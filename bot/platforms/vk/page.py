"""VK as a page (``bot.ports.Page``): answers under community posts and in community
messages, and posts on the communities' walls.

An answer goes where the citizen wrote, as the VK source stored it with the incident: a
reply comment (``wall.createComment`` with a ``guid``) or a community message
(``messages.send`` with a ``random_id``), both deduplicated by VK, so a call repeated
after a crash shows once. A wall post is one outbox row (platform ``vkpub``) that first
uploads its photos or creates its poll, each result remembered before the next step,
then calls ``wall.post`` with its guid.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import limits
from bot.outbox.outcomes import Permanent
from bot.platforms.vk.client import (
    VkClient,
    VkError,
    VkTransportError,
    outbox_failure,
    refusal_code,
)
from bot.ports import PagePost
from bot.render import Renderer
from storage import cursors, outbox
from storage.db import Conn, Database
from storage.incidents import Incident
from storage.outbox import Item

WALL_POSTS = "vkpub"  # outbox platform: photo uploads / poll + wall.post, one row per target
ANSWERS_WITH_PHOTOS = "vkans"  # outbox platform: an answer's photo uploads + its comment/message
FetchPhoto = Callable[[str], Awaitable[bytes]]
# an uncertain wall post is looked for among the wall's latest posts (wall.get: up to 100)
_LOOK_BACK = 50
_SKEW = 300  # seconds the bot's clock may be ahead of VK's


def vk_link(group_id: int, post_id: int) -> str:
    return f"https://vk.com/wall-{group_id}_{post_id}"


def _guid(post_id: int, queued_at: datetime) -> str:
    """VK dedupes ``wall.post`` by guid for about an hour: one per post, stable on retry."""
    return f"mcu-post-{post_id}-{int(queued_at.timestamp())}"


async def _no_photos(file_id: str) -> bytes:
    raise Permanent("photos need the Telegram bot to fetch them")


@dataclass
class VkPage:
    config: Config
    clock: Clock
    render: Renderer
    db: Database
    # VK clients by lane; each paces its token's calls itself (bot.platforms.vk.client.Pacer)
    clients: dict[str, VkClient] = field(default_factory=dict)
    # a photo's bytes, to upload it (the press secretary sent it to the bot in Telegram)
    fetch_photo: FetchPhoto = _no_photos
    platforms: tuple[str, ...] = ("vk",)

    # -- answers to citizens ------------------------------------------------------------

    def answer_limit(self, reply_target: dict[str, Any]) -> int:
        if reply_target.get("method", "") == "messages.send":
            return limits.VK_MESSAGE_MAX
        return limits.VK_COMMENT_MAX

    async def publish_answer(self, conn: Conn, incident_id: int, reply_target: dict[str, Any],
                             text: str, *, key: str, purpose: str, now: datetime,
                             photos: Sequence[str] = ()) -> None:
        """The text in parts; the photos go with the last part, as one ``vkans`` row that
        uploads them and then sends it (``deliver_answer``)."""
        parts = limits.split_text(text, self.answer_limit(reply_target))
        photos = list(photos)[:limits.ANSWER_PHOTOS_MAX]
        for n, part in enumerate(parts):
            part_key = f"{key}:{n}"
            params = dict(reply_target.get("params", {}))
            if reply_target["method"] == "messages.send":
                params["random_id"] = zlib.crc32(part_key.encode()) & 0x7FFFFFFF
            else:
                params["guid"] = part_key
            params["message"] = part
            last = n == len(parts) - 1
            platform = "vk"
            if last and photos:
                platform = ANSWERS_WITH_PHOTOS
                params = {"call": params, "photos": photos,
                          "group_id": int(reply_target["lane"].rsplit(":", 1)[-1])}
            await outbox.enqueue(conn, key=part_key, platform=platform,
                                 lane=reply_target["lane"], method=reply_target["method"],
                                 params=params, now=now, purpose=purpose if last else "",
                                 ref_id=incident_id)

    async def ask_rating(self, conn: Conn, incident: Incident, text: str) -> None:
        """VK has no buttons under a comment: a rating is not asked for."""

    def unreachable(self, reply_target: dict[str, Any], error: str) -> str | None:
        return None

    def explain(self, error: str) -> str:
        """``error`` followed by its meaning for staff, for the VK refusals we know."""
        code = refusal_code(error)
        hint = self.render.text("vk_refusals.j2:explain", code=code) if code else ""
        return f"{error} — {hint}" if hint else error

    async def deliver(self, item: Item) -> Any:
        """A ``vk`` row: the call, with the token of its lane."""
        client = self.clients.get(item.lane)
        if client is None:
            raise Permanent(f"no VK token for {item.lane}")
        try:
            return await client.call(item.method, **item.params)
        except (VkError, VkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None

    # -- the communities' walls --------------------------------------------------------

    def target_key(self, target_id: int) -> str:
        return f"vk:{target_id}"

    def target_name(self, target_id: int) -> str:
        community = self.config.community(target_id)
        return self.render.text("posts.j2:target_vk", name=community.name if community and
                                community.name else self.config.municipality.name)

    async def publish_post(self, conn: Conn, post: PagePost, target_id: int, *, part: int,
                           key: str, purpose: str, now: datetime) -> bool:
        """One row does the whole post (its photos, its poll, then ``wall.post``)."""
        if part:
            return False
        params: dict[str, Any] = {
            "group_id": target_id, "message": post.plain, "guid": _guid(post.id, post.queued_at),
            "photos": post.photos, "poll": post.poll, "since": int(now.timestamp())}
        await outbox.enqueue(conn, key=key, platform=WALL_POSTS, lane=f"vk:user:{target_id}",
                             method="wall.post", params=params, now=now, purpose=purpose,
                             ref_id=post.id)
        return True

    def link(self, target_id: int, result: Any) -> str | None:
        if not isinstance(result, dict):
            return None
        return vk_link(target_id, int(result["post_id"]))

    async def deliver_wall_post(self, item: Item) -> Any:
        """A ``vkpub`` row: one VK target of one post — upload its photos / create its poll,
        then post.

        Every step's result is remembered before the next step, and ``wall.post`` has its
        guid: a retry after a crash neither uploads twice nor posts twice. VK keeps a guid
        for about an hour only, so a try after one whose outcome is unknown looks on the
        wall first and adopts the post it finds there.
        """
        client = self.clients.get(item.lane)
        if client is None:
            # staff read this: no lane names or config keys (README: user_token)
            raise Permanent("в настройках бота нет токена администратора сообщества")
        params = item.params
        group_id = int(params["group_id"])
        try:
            found = await self._on_wall(client, group_id, params) if item.uncertain else None
            if found is not None:
                return {"post_id": found, "owner_id": -group_id, "adopted": True}
            attachments = []
            for index, file_id in enumerate(params.get("photos") or []):
                attachments.append(await self._remembered(
                    f"pubatt:{item.key}:{index}",
                    lambda f=file_id, i=index: self._upload(client, group_id, f, i)))
            if params.get("poll"):
                poll = params["poll"]
                attachments.append(await self._remembered(
                    f"pubatt:{item.key}:poll",
                    lambda: self._create_poll(client, group_id, poll)))
            answer = await client.call(
                "wall.post", owner_id=-group_id, from_group=1, message=params.get("message"),
                attachments=",".join(attachments) or None, guid=params["guid"])
        except (VkError, VkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None
        return {"post_id": answer["post_id"], "owner_id": -group_id}

    async def _on_wall(self, client: VkClient, group_id: int, params: dict[str, Any]
                       ) -> int | None:
        """The id of our post already on the wall, for a try after one whose outcome is
        unknown (a crash): VK's ``guid`` dedupes for about an hour only, and a restart may
        come later than that. Ours: the community's own post with this text, made since
        the row was queued (minus a little for clock skew)."""
        message = (params.get("message") or "").strip()
        if not message:
            return None  # photos only: nothing to know it by; the guid alone guards it
        since = int(params.get("since") or 0) - _SKEW
        found = await client.call("wall.get", owner_id=-group_id, filter="owner",
                                  count=_LOOK_BACK)
        for wall_post in found.get("items", []):
            if (wall_post.get("date", 0) >= since
                    and (wall_post.get("text") or "").strip() == message):
                return int(wall_post["id"])
        return None

    async def deliver_answer(self, item: Item) -> Any:
        """A ``vkans`` row: an answer with photos — each photo fetched from Telegram and
        uploaded (remembered before the next step, so a restart uploads none twice), then
        the comment (``guid``) or the message (``random_id``): VK shows it once.

        A reply comment's photos are wall photos, which VK uploads with a user token only
        (a community token gets error 27): the community admin's ``user_token``. A
        message's photos upload with the community's own token.
        """
        client = self.clients.get(item.lane)
        if client is None:
            raise Permanent(f"no VK token for {item.lane}")
        group_id = int(item.params["group_id"])
        call = dict(item.params["call"])
        comment = item.method == "wall.createComment"
        uploader = self.clients.get(f"vk:user:{group_id}") if comment else client
        if uploader is None:
            # staff read this: no lane names or config keys (README: user_token)
            raise Permanent("фото к комментарию не загрузить: в настройках бота нет токена "
                            "администратора сообщества")
        try:
            attachments = []
            for index, file_id in enumerate(item.params["photos"]):
                attachments.append(await self._remembered(
                    f"ansatt:{item.key}:{index}",
                    lambda f=file_id, i=index: self._upload_answer_photo(
                        uploader, comment, group_id, int(call.get("peer_id") or 0), f, i)))
            call["attachments" if comment else "attachment"] = ",".join(attachments)
            return await client.call(item.method, **call)
        except (VkError, VkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None

    async def _upload_answer_photo(self, client: VkClient, comment: bool, group_id: int,
                                   peer_id: int, file_id: str, index: int) -> str:
        data = await self.fetch_photo(file_id)
        name = f"photo{index + 1}.jpg"
        if comment:
            return str(await client.upload_wall_photo(group_id, data, name))
        return str(await client.upload_message_photo(peer_id, data, name))

    async def _remembered(self, key: str, make: Callable[[], Awaitable[str]]) -> str:
        known = await cursors.get(self.db.reader, key)
        if known:
            return known
        value = await make()
        async with self.db.tx() as conn:
            await cursors.put(conn, key, value)
        return value

    async def _upload(self, client: VkClient, group_id: int, file_id: str, index: int) -> str:
        data = await self.fetch_photo(file_id)
        return str(await client.upload_wall_photo(group_id, data, f"photo{index + 1}.jpg"))

    async def _create_poll(self, client: VkClient, group_id: int, poll: dict[str, Any]) -> str:
        made = await client.call(
            "polls.create", owner_id=-group_id, question=poll["question"],
            add_answers=json.dumps(poll["options"], ensure_ascii=False))
        return f"poll{made['owner_id']}_{made['id']}"
