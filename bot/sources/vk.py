"""VK sources: the communities' Bots Long Poll, and third-party publics polled by keyword.

The long-poll ``ts`` and the publics' last seen ids are stored in the same transaction
as the incidents they produced, so a restart neither loses nor repeats events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from bot.config import Config, VkCommunity, VkPublic
from bot.domain.routing import matches_any
from bot.ingest import Inbound, Ingest
from bot.platforms.vk import VkClient, VkError, VkLongPoll, VkTransportError
from bot.sources import vk_events
from storage import cursors

log = logging.getLogger(__name__)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


class _Names:
    """Citizens' display names from users.get, asked once per person."""

    def __init__(self, client: VkClient):
        self.client = client
        self.cache: dict[int, str] = {}

    async def fill(self, messages: list[Inbound]) -> None:
        wanted = set()
        for message in messages:
            user = int(message.author_id.split(":")[1])
            if user > 0 and user not in self.cache:
                wanted.add(user)
        if wanted:
            try:
                users = await self.client.call("users.get",
                                               user_ids=",".join(map(str, sorted(wanted))))
            except (VkError, VkTransportError) as exc:
                log.warning("users.get failed: %s", exc)
                users = []
            for user in users or []:
                name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
                self.cache[int(user["id"])] = name
        for message in messages:
            user = int(message.author_id.split(":")[1])
            message.author_name = self.cache.get(user, message.author_name)


class CommunityLongPoll:
    def __init__(self, config: Config, community: VkCommunity, ingest: Ingest):
        self.community = community
        self.ingest = ingest
        self.client = VkClient(community.token.get_secret_value(), config.vk.api_base,
                               config.vk.api_version)
        self.poll = VkLongPoll(self.client, community.id, wait=config.vk.longpoll_wait)
        self.names = _Names(self.client)
        self.cursor = f"vk:longpoll:{community.id}"

    async def run(self, stop: asyncio.Event) -> None:
        db = self.ingest.hub.db
        ts = await cursors.get(db.reader, self.cursor)
        errors = 0
        while not stop.is_set():
            try:
                new_ts, updates = await self.poll.check(ts)
                errors = 0
                self.ingest.hub.health.ok(f"vk:{self.community.id}")
            except (VkError, VkTransportError) as exc:
                self.ingest.hub.health.failed(f"vk:{self.community.id}", str(exc))
                errors += 1
                delay = min(60.0, 2.0**errors)
                log.warning("vk long poll of %s: %s; again in %.0fs", self.community.id,
                            exc, delay)
                await _pause(stop, delay)
                continue
            try:
                await self.handle(updates, new_ts)
            except Exception:
                # not stored (the database refused?): ask for the same events again later
                # rather than let the source die or move past them
                errors += 1
                log.exception("vk long poll of %s: events not stored; again in %.0fs",
                              self.community.id, min(60.0, 2.0**errors))
                await _pause(stop, min(60.0, 2.0**errors))
                continue
            ts = new_ts

    async def handle(self, updates: list[Any], ts: str) -> None:
        messages = []
        for update in updates:
            if not isinstance(update, dict):
                log.warning("vk long poll of %s: skipped a malformed event", self.community.id)
                continue
            if update.get("group_id") not in (None, self.community.id):
                continue  # an event for a community not ours: ignored
            change = vk_events.edit_key(self.community.id, update)
            if change is not None:
                action, key, text = change
                if action == "edit":
                    await self.ingest.edit(key, text)
                else:
                    await self.ingest.delete(key)
                continue
            inbound = vk_events.from_update(self.community.id, update, can_reply=True)
            if inbound is not None:
                messages.append(inbound)
        await self.names.fill(messages)
        await self.ingest.receive_many(messages, cursor=(self.cursor, ts))


class PublicWatcher:
    """Third-party publics: new posts and comments matching the watch keywords."""

    def __init__(self, config: Config, ingest: Ingest):
        self.config = config
        self.ingest = ingest
        self.client = VkClient(config.vk.service_token.get_secret_value(), config.vk.api_base,
                               config.vk.api_version)
        self.names = _Names(self.client)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for public in self.config.vk.publics:
                try:
                    await self.scan(public)
                    self.ingest.hub.health.ok(f"vk:public:{public.id}")
                except (VkError, VkTransportError) as exc:
                    self.ingest.hub.health.failed(f"vk:public:{public.id}", str(exc))
                    log.warning("vk public %s: %s", public.id, exc)
            await _pause(stop, self.config.vk.poll_interval_seconds)

    async def scan(self, public: VkPublic) -> list[str]:
        db = self.ingest.hub.db
        name = f"vk:public:{public.id}"
        seen = json.loads(await cursors.get(db.reader, name) or '{"post": 0, "comments": {}}')
        wall = await self.client.call("wall.get", owner_id=-public.id, count=20)
        messages: list[Inbound] = []
        posts = sorted(wall.get("items", []), key=lambda p: p.get("id", 0))
        for post in posts:
            post_id = int(post.get("id", 0))
            if post_id > seen["post"] and matches_any(post.get("text", ""), public.keywords):
                inbound = vk_events.from_public_post(public.id, post)
                if inbound:
                    messages.append(inbound)
            seen["post"] = max(seen["post"], post_id)
        for post in posts[-10:]:
            post_id = int(post.get("id", 0))
            if not (post.get("comments") or {}).get("count", 1):
                continue
            last = int(seen["comments"].get(str(post_id), 0))
            answer = await self.client.call("wall.getComments", owner_id=-public.id,
                                            post_id=post_id, count=100, sort="asc")
            for comment in answer.get("items", []):
                comment_id = int(comment.get("id", 0))
                if comment_id > last and matches_any(comment.get("text", ""), public.keywords):
                    inbound = vk_events.from_public_comment(public.id, post_id, comment)
                    if inbound:
                        messages.append(inbound)
                last = max(last, comment_id)
            seen["comments"][str(post_id)] = last
        await self.names.fill(messages)
        outcomes = await self.ingest.receive_many(
            messages, cursor=(name, json.dumps(seen)))
        return [o.result for o in outcomes]
