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
from bot.domain.keywords import matches_any
from bot.platforms.vk.client import VkClient, VkError, VkLongPoll, VkTransportError
from bot.services.ingest import Inbound, Ingest
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
    def __init__(self, config: Config, community: VkCommunity, ingest: Ingest,
                 client: VkClient | None = None):
        self.community = community
        self.ingest = ingest
        # the process's client of the community token (its pacing is shared with the
        # outbox's answers); a client of its own only when run alone
        self.client = client or VkClient(
            community.token.get_secret_value(), config.vk.api_base, config.vk.api_version,
            requests_per_second=config.vk.rate_limits.community)
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
    """Third-party publics: new posts and comments matching the watch keywords.

    Read with the service token, whose client keeps its limit (3 requests/s for a
    small app). A scan of one public is one ``wall.get`` of its newest posts, then
    ``wall.getComments`` for each post whose ``comments.count`` moved since it was last
    read — older posts too, as far as the wall.get reaches — the most recently active
    first (the later of the post's date and its newest comment seen), within the scan's
    budget. Names come with the answers (``extended``): no users.get.

    The cursor (per public: the newest post seen; per post: the newest comment id
    seen, the count and the time of the newest comment when it was read) is stored with
    what each step produced, in one transaction: a scan cut short — error 6, 9 or 10, a
    timeout, a stop — keeps what it read, and the next resumes with the posts still due.
    """

    WALL_DEPTH = 100  # posts watched for new comments: one wall.get (VK's most per call)
    PAGE = 100  # comments per wall.getComments (VK's most)
    PAGES_PER_POST = 5  # past this many pages of new comments a post's older ones are skipped
    THREAD_ITEMS = 10  # replies VK includes under each comment (its most)
    # a scan stops here and the next goes on: the token is busy or VK is unwell
    CUT_SHORT = (6, 9, 10)

    def __init__(self, config: Config, ingest: Ingest, client: VkClient | None = None):
        self.config = config
        self.ingest = ingest
        self.client = client or VkClient(
            config.vk.service_token.get_secret_value(), config.vk.api_base,
            config.vk.api_version, requests_per_second=config.vk.rate_limits.service)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for public in self.config.vk.publics:
                if stop.is_set():
                    break
                try:
                    await self.scan(public, stop)
                    self.ingest.hub.health.ok(f"vk:public:{public.id}")
                except (VkError, VkTransportError) as exc:
                    self.ingest.hub.health.failed(f"vk:public:{public.id}", str(exc))
                    log.warning("vk public %s: %s", public.id, exc)
                except Exception:
                    # not stored (the database refused?): the cursor did not move either,
                    # so the next scan reads the same again; the watcher must not die
                    log.exception("vk public %s: scan failed", public.id)
            await _pause(stop, self.config.vk.poll_interval_seconds)

    def budget(self) -> int:
        """Requests one scan of one public may make: what the token can do in one poll
        interval, shared by the publics. A scan takes at most about an interval, then
        the watcher rests an interval, so the token is never kept busy for good (it
        may be an admin's user token that publishing needs too)."""
        per_scan = (self.client.pacer.per_second * self.config.vk.poll_interval_seconds
                    / max(1, len(self.config.vk.publics)))
        return max(2, int(per_scan))

    async def scan(self, public: VkPublic, stop: asyncio.Event | None = None) -> list[str]:
        """One scan; returns the outcomes of what it stored (``created``, ``duplicate``…)."""
        name = f"vk:public:{public.id}"
        seen = _PublicCursor.load(await cursors.get(self.ingest.hub.db.reader, name))
        budget = self.budget()
        wall = await self.client.call("wall.get", owner_id=-public.id, count=self.WALL_DEPTH,
                                      extended=1)
        calls = 1
        names = _names(wall)
        posts = [p for p in wall.get("items", []) if isinstance(p, dict) and _id(p)]
        posts.sort(key=_id)
        messages = []
        for post in posts:
            if _id(post) > seen.post and matches_any(post.get("text", ""), public.keywords):
                inbound = vk_events.from_public_post(public.id, post)
                if inbound:
                    messages.append(inbound)
            seen.post = max(seen.post, _id(post))
        seen.keep({_id(p) for p in posts})  # posts past the wall.get's reach are forgotten
        outcomes = await self._store(name, seen, messages, names)
        due = [p for p in posts if seen.due(_id(p), _comment_count(p))]
        due.sort(key=lambda p: (seen.active(_id(p), _int(p.get("date"))), _id(p)),
                 reverse=True)
        for post in due:
            if calls >= budget or (stop is not None and stop.is_set()):
                log.info("vk public %s: %d posts' comments left for the next scan",
                         public.id, len(due) - due.index(post))
                break
            post_id = _id(post)
            try:
                found, read = await self._new_comments(public, post_id, seen.last(post_id))
            except VkError as exc:
                if exc.code in self.CUT_SHORT:
                    log.info("vk public %s: scan cut short at post %s: %s",
                             public.id, post_id, exc)
                    break
                # this post is gone, or closed to us (212: comments denied): not again
                log.info("vk public %s post %s: comments not read: %s", public.id, post_id, exc)
                seen.read(post_id, _comment_count(post), seen.last(post_id), 0)
                await self._store(name, seen, [], {})
                calls += 1
                continue
            except VkTransportError as exc:
                log.info("vk public %s: scan cut short at post %s: %s", public.id, post_id, exc)
                break
            calls += read.calls
            names.update(read.names)
            messages = []
            for comment in found:
                if matches_any(comment.get("text", ""), public.keywords):
                    inbound = vk_events.from_public_comment(public.id, post_id, comment)
                    if inbound:
                        messages.append(inbound)
            seen.read(post_id, _comment_count(post), read.newest_id, read.newest_date)
            outcomes += await self._store(name, seen, messages, names)
        return outcomes

    async def _new_comments(self, public: VkPublic, post_id: int, last: int
                            ) -> tuple[list[dict[str, Any]], _Read]:
        """The post's comments newer than ``last`` (with the replies VK puts under
        them), newest first, page by page until the page reaches what was seen."""
        read = _Read()
        found: list[dict[str, Any]] = []
        for page in range(self.PAGES_PER_POST):
            answer = await self.client.call(
                "wall.getComments", owner_id=-public.id, post_id=post_id, count=self.PAGE,
                offset=page * self.PAGE, sort="desc", extended=1,
                thread_items_count=self.THREAD_ITEMS)
            read.calls += 1
            read.names.update(_names(answer))
            items = [c for c in answer.get("items", []) if isinstance(c, dict) and _id(c)]
            for comment in items:
                thread = (comment.get("thread") or {}).get("items") or []
                for one in [comment, *[r for r in thread if isinstance(r, dict) and _id(r)]]:
                    read.newest_id = max(read.newest_id, _id(one))
                    read.newest_date = max(read.newest_date, _int(one.get("date")))
                    if _id(one) > last and not one.get("deleted"):
                        found.append(one)
            if len(items) < self.PAGE or min(_id(c) for c in items) <= last:
                return found, read
        log.warning("vk public %s post %s: over %d new comments since the last scan; "
                    "older ones skipped", public.id, post_id, self.PAGE * self.PAGES_PER_POST)
        return found, read

    async def _store(self, name: str, seen: _PublicCursor, messages: list[Inbound],
                     names: dict[int, str]) -> list[str]:
        for message in messages:
            author = int(message.author_id.split(":")[1])
            message.author_name = names.get(author, message.author_name)
        outcomes = await self.ingest.receive_many(messages, cursor=(name, seen.dump()))
        return [o.result for o in outcomes]


class _Read:
    """What reading one post's new comments cost and found."""

    def __init__(self) -> None:
        self.calls = 0
        self.names: dict[int, str] = {}
        self.newest_id = 0
        self.newest_date = 0


class _PublicCursor:
    """Where a public's scans stand: ``post`` — the newest post seen; per post id
    ``[newest comment id seen, comments.count when read, newest comment's date]``."""

    def __init__(self, post: int = 0, posts: dict[str, list[int]] | None = None) -> None:
        self.post = post
        self.posts = posts or {}

    @classmethod
    def load(cls, raw: str | None) -> _PublicCursor:
        data = json.loads(raw) if raw else {}
        posts = data.get("posts")
        if posts is None:  # written before per-post counts: ids only, counts unknown
            posts = {k: [int(v), -1, 0] for k, v in (data.get("comments") or {}).items()}
        return cls(int(data.get("post", 0)), {k: [int(x) for x in v] for k, v in posts.items()})

    def dump(self) -> str:
        return json.dumps({"post": self.post, "posts": self.posts}, separators=(",", ":"))

    def keep(self, post_ids: set[int]) -> None:
        self.posts = {k: v for k, v in self.posts.items() if int(k) in post_ids}

    def last(self, post_id: int) -> int:
        return self.posts.get(str(post_id), [0, 0, 0])[0]

    def due(self, post_id: int, count: int) -> bool:
        """Its comments are to be read: the count moved since it was read (a new post
        with comments, a new comment, or a deleted one — then nothing new is found)."""
        known = self.posts.get(str(post_id))
        return count > 0 if known is None else count != known[1]

    def active(self, post_id: int, posted: int) -> int:
        return max(posted, self.posts.get(str(post_id), [0, 0, 0])[2])

    def read(self, post_id: int, count: int, newest_id: int, newest_date: int) -> None:
        before = self.posts.get(str(post_id), [0, 0, 0])
        self.posts[str(post_id)] = [max(before[0], newest_id), count,
                                    max(before[2], newest_date)]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _id(obj: dict[str, Any]) -> int:
    return _int(obj.get("id"))


def _comment_count(post: dict[str, Any]) -> int:
    comments = post.get("comments")
    return _int(comments.get("count")) if isinstance(comments, dict) else 0


def _names(answer: Any) -> dict[int, str]:
    """Display names from an ``extended`` answer's profiles and groups, by owner id."""
    names: dict[int, str] = {}
    if not isinstance(answer, dict):
        return names
    for user in answer.get("profiles") or []:
        if isinstance(user, dict) and _id(user):
            names[_id(user)] = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
    for group in answer.get("groups") or []:
        if isinstance(group, dict) and _id(group):
            names[-_id(group)] = str(group.get("name", ""))
    return names
