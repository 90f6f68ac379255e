"""Dispatch: due posts leave their page's queue for every target of the page, the links
come back, failures are told in the platform's words, and a short plan is warned of.

Each target is a page (``bot.ports.Page``): it queues the post's outbox rows (under the
key ``pub:<post>:<target>:<part>``, purpose ``publish``) and owns their delivery; the
hooks below settle each target in the transaction that settles its row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Page, parse_hhmm
from bot.domain.planner import is_publishing_day, period_of
from bot.ports import PagePost
from bot.services.publishing.compose import compose, explain_failure, post_title, target_key
from bot.services.publishing.plans import PagePlans
from storage import cursors, posts
from storage.db import Conn
from storage.incidents import iso
from storage.outbox import Item
from storage.posts import Post

log = logging.getLogger(__name__)

PURPOSE = "publish"  # outbox rows of this feature; the hooks find them by it
TICK_SECONDS = 1.0


def _parse_key(key: str) -> tuple[int, str, int]:
    """'pub:<post>:<target>:<part>' → (post id, target, part)."""
    _, post_id, rest = key.split(":", 2)
    target, _, part = rest.rpartition(":")
    return int(post_id), target, int(part)


class Dispatch(PagePlans):
    # -- the tick: publish what is due, warn of a short plan -------------------------------

    async def tick(self) -> int:
        """Once a second: due posts into the outbox, the plan stored, the day's warning."""
        sent = 0
        for page in self.config.pages:
            now = self.hub.clock.now()
            if not await self._page_needs_work(page, now):
                continue
            async with self.hub.db.tx() as conn:
                sent += await self._publish_due(conn, page, now)
                await self._warn(conn, page, now)
        if sent:
            self.hub.wake_outbox()
        return sent

    async def _page_needs_work(self, page: Page, now: datetime) -> bool:
        """A read-only look first, so an idle tick costs no write transaction."""
        conn = self.hub.db.reader
        if self._warn_due(page, now) and await cursors.get(
                conn, _warn_key(page, now, self.tz)) is None:
            return True
        state = await self.state(conn, page, now)
        return any(post.planned_at != state.planned.get(post.id)
                   or (post.planned_at is not None and post.planned_at <= now)
                   or (post.fixed_at is not None and post.fixed_at <= now)
                   for post in state.queue)

    def _may_publish_auto(self, page: Page, now: datetime, published: list[datetime]) -> bool:
        """Guards against a burst after a clock jump or downtime: hours, gap, quota."""
        local = now.astimezone(self.tz)
        if not is_publishing_day(page, local.date(), self._is_working_day):
            return False
        start, _, end = page.hours.partition("-")
        if not parse_hhmm(start) <= local.time() < parse_hhmm(end):
            return False
        gap = timedelta(minutes=page.min_gap_minutes)
        if any(abs(now - moment) < gap for moment in published):
            return False
        first, last = period_of(page, now, self.tz)
        used = sum(1 for t in published if first <= t.astimezone(self.tz).date() <= last)
        return used < page.quota

    async def _publish_due(self, conn: Conn, page: Page, now: datetime) -> int:
        queue = await posts.queued(conn, page.name)
        published = await posts.published_times(conn, page.name, now - timedelta(days=8))
        due = [post for post in queue if post.fixed_at is not None and post.fixed_at <= now]
        auto = sorted((post for post in queue if post.fixed_at is None
                       and post.planned_at is not None and post.planned_at <= now),
                      key=lambda p: (p.planned_at, p.queued_at, p.id))
        taken = [*published, *(now for _ in due)]
        if auto and self._may_publish_auto(page, now, taken):
            due.append(auto[0])
        for post in due:
            await self._dispatch(conn, page, post, now)
        await self.replan(conn, page, now)
        return len(due)

    async def _dispatch(self, conn: Conn, page: Page, post: Post, now: datetime) -> None:
        """The post leaves the queue and its outbox rows are stored — one transaction."""
        if not await posts.start_publishing(conn, post.id, now):
            return
        composed = compose(self.hub.render, page, post.text, len(post.photos), post.poll)
        for target in page.targets:
            adapter = self.hub.pages[target.platform]
            name = adapter.target_key(target.id)
            await posts.add_target(conn, post.id, name)
            if composed.refusal:  # the page's template or hashtags changed since queueing
                await self._target_failed(conn, post.id, name, composed.refusal)
                continue
            if name in composed.skipped:  # too long for this one (the preview said so)
                await posts.target_refused(conn, post.id, name, composed.skipped[name])
                continue
            await adapter.publish_post(conn, _page_post(post, composed), target.id, part=0,
                                       key=f"pub:{post.id}:{name}:0", purpose=PURPOSE, now=now)
        await self._settle(conn, post.id)

    # -- warnings ------------------------------------------------------------------------

    def _warn_due(self, page: Page, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        return (page.period == "day" and local.time() >= parse_hhmm(page.warn_at)
                and is_publishing_day(page, local.date(), self._is_working_day))

    async def _warn(self, conn: Conn, page: Page, now: datetime) -> None:
        """«План на сегодня: 3 из 5» once a day per page, at the page's ``warn_at``."""
        if not self._warn_due(page, now):
            return
        key = _warn_key(page, now, self.tz)
        if not await cursors.claim(conn, key, iso(now)):
            return
        figures = await self._today_by_target(conn, page, now)
        short = {name: have for name, have in figures.items() if have < page.quota}
        if not short:
            return
        have = min(short.values())
        # one figure when every target is short alike; else each short target named
        targets = [] if len(short) == len(figures) and len(set(short.values())) == 1 else [
            {"target": name, "have": n} for name, n in short.items()]
        for user_id in self._press():
            await self.hub.notify(conn, user_id, "posts.j2:warn_short", key=key,
                                  page=page.name, have=have, quota=page.quota,
                                  targets=targets)

    async def _today_by_target(self, conn: Conn, page: Page, now: datetime) -> dict[str, int]:
        """Today's posts on each target of the page — gone out (or going) and planned —
        by the target's name: the quota is a floor each target must reach."""
        today = now.astimezone(self.tz).date()
        state = await self.state(conn, page, now)
        gone = await posts.target_times(conn, page.name, now - timedelta(days=1),
                                        ("pending", "done"))
        figures: dict[str, int] = {}
        for target in page.targets:
            key = target_key(target)
            count = sum(1 for name, moment in gone
                        if name == key and moment.astimezone(self.tz).date() == today)
            for post in state.queue:
                at = state.planned.get(post.id)
                if at is not None and at.astimezone(self.tz).date() == today and key not in \
                        compose(self.hub.render, page, post.text, len(post.photos),
                                post.poll).skipped:
                    count += 1
            figures[self._target_name(key)] = count
        return figures

    def _press(self) -> list[int]:
        return [m.telegram_id for m in self.config.staff if "press" in m.roles]

    def _admins(self) -> list[int]:
        return [m.telegram_id for m in self.config.staff if "admin" in m.roles]

    # -- outbox hooks: in the transaction that settles the row ---------------------------

    async def on_done(self, conn: Conn, item: Item, result: Any) -> None:
        post_id, target, part = _parse_key(item.key)
        adapter, ident = self._target(target)
        if part == 0:
            await posts.set_link(conn, post_id, target, adapter.link(ident, result))
        now = self.hub.clock.now()
        post = await posts.get(conn, post_id)
        page = self.config.page(post.page) if post else None
        if post is not None and page is not None:
            composed = compose(self.hub.render, page, post.text, len(post.photos), post.poll)
            if await adapter.publish_post(conn, _page_post(post, composed), ident,
                                          part=part + 1, key=f"pub:{post_id}:{target}:{part + 1}",
                                          purpose=PURPOSE, now=now):
                return  # the text after the album: the target is done after it
        await posts.target_done(conn, post_id, target, now)
        await self._settle(conn, post_id)

    async def on_failed(self, conn: Conn, item: Item, error: Any) -> None:
        post_id, target, _ = _parse_key(item.key)
        # the later parts of this target (the text after an album) are never queued
        await self._target_failed(conn, post_id, target, str(error))

    async def _target_failed(self, conn: Conn, post_id: int, target: str, error: str) -> None:
        failed = await posts.target_failed(conn, post_id, target, error[:500])
        post = await posts.get(conn, post_id)
        if failed and post is not None:
            people = dict.fromkeys([*self._owners(post), *self._admins()])
            for user_id in people:
                await self.hub.notify(
                    conn, user_id, "posts.j2:failed", key=f"pubfail:{post_id}:{target}",
                    id=post_id, title=post_title(post), page=post.page,
                    target=self._target_name(target), error=error[:500],
                    why=self.hub.render.text(f"posts.j2:{explain_failure(error)}"))
        await self._settle(conn, post_id)

    def _owners(self, post: Post) -> list[int]:
        return [post.queued_by] if post.queued_by else self._press()

    async def _settle(self, conn: Conn, post_id: int) -> None:
        """All targets settled: the post is published (or failed) and its author told."""
        targets = await posts.targets(conn, post_id)
        if not targets or any(t.status == "pending" for t in targets):
            return
        ok = all(t.status in ("done", "refused") for t in targets) and any(
            t.status == "done" for t in targets)
        errors = "; ".join(t.error for t in targets if t.error and t.status == "failed")
        settled = await posts.settle(conn, post_id, ok, errors or None)
        post = await posts.get(conn, post_id)
        if not settled or post is None:
            return
        links = [{"target": self._target_name(t.target), "link": t.link}
                 for t in targets if t.status == "done"]
        refused = [{"target": self._target_name(t.target), "reason": t.error}
                   for t in targets if t.status == "refused"]
        if not links:
            return  # nothing went out: the failure notice said it all
        for user_id in self._owners(post):
            await self.hub.notify(conn, user_id, "posts.j2:published", key=f"pubdone:{post_id}",
                                  id=post_id, title=post_title(post), page=post.page, links=links,
                                  partial=not ok, refused=refused)


def _page_post(post: Post, composed: Any) -> PagePost:
    return PagePost(post.id, composed.plain, composed.html, post.photos, post.poll,
                    post.queued_at)


def _warn_key(page: Page, now: datetime, tz: ZoneInfo) -> str:
    return f"pubwarn:{page.name}:{now.astimezone(tz).date().isoformat()}"
