"""The press secretary's queue: /post and /poll as drafts with a preview, «В очередь»,
the queue's buttons (earlier, later, now, remove) and the /queue and /plan views."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from bot.config import Page
from bot.domain import limits
from bot.domain.planner import QueuedPost, check_fixed, is_publishing_day, plan
from bot.services.publishing.compose import (
    Composed,
    Refused,
    compose,
    parse_poll,
    post_title,
    queued,
)
from bot.services.publishing.dispatch import Dispatch
from storage import cursors, posts
from storage.db import Conn
from storage.posts import Post


def _await_key(user_id: int) -> str:
    return f"pressawait:{user_id}"


PREVIEW_MAX = 3500  # the preview message also carries a header; Telegram holds 4096
QUEUE_SHOWN = 20


@dataclass
class Reply:
    """What a press command or button answers; the handler turns ``buttons`` into a keyboard.

    ``buttons``: "draft" (В очередь / Изменить / Отмена), "confirm" (a fixed time that
    breaks a rule: queue anyway or take a free slot), "queue" (a row per ``queue_ids``).
    """

    text: str
    buttons: str | None = None
    alert: bool = False
    post_id: int | None = None
    ok: bool = True
    queue_ids: list[int] = field(default_factory=list)
    markup: dict[str, Any] | None = None  # a ready keyboard (the page picker)


class Publishing(Dispatch):
    # -- what the press secretary was asked for ----------------------------------------

    async def awaiting(self, user_id: int) -> dict[str, Any] | None:
        """What the bot asked this person to send next (the page, the kind, the time…)."""
        raw = await cursors.get(self.hub.db.reader, _await_key(user_id))
        return json.loads(raw) if raw else None

    async def await_text(self, user_id: int, state: dict[str, Any] | None) -> None:
        """Remember what the next message is for; None forgets it."""
        async with self.hub.db.tx() as conn:
            if state is None:
                await cursors.drop(conn, _await_key(user_id))
            else:
                await cursors.put(conn, _await_key(user_id),
                                  json.dumps(state, ensure_ascii=False))

    async def post(self, post_id: int) -> Post | None:
        return await posts.get(self.hub.db.reader, post_id)

    # -- drafts ------------------------------------------------------------------------

    async def draft(self, user_id: int | None, *, page: Page, text: str = "",
                    photos: Sequence[str] = (), poll: dict[str, Any] | None = None,
                    when: datetime | None = None) -> Reply:
        """Check and store a draft; the reply is its preview with «В очередь» etc."""
        composed = compose(self.hub.render, page, text, len(photos), poll)
        if composed.refusal:
            return Reply(self.hub.render.html("posts.j2:refused_limit", page=page.name,
                                              reason=composed.refusal), ok=False)
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post_id = await posts.add_draft(
                conn, page=page.name, kind="poll" if poll else "post", text=text,
                photos=list(photos), poll=poll, fixed_at=when, queued_at=now, queued_by=user_id)
            post = await posts.get(conn, post_id)
            assert post is not None
            return await self._preview(conn, post, page, composed, now)

    async def _preview(self, conn: Conn, post: Post, page: Page, composed: Composed,
                       now: datetime) -> Reply:
        state = await self.state(conn, page, now)
        problem = None
        if post.fixed_at is not None:
            problem = check_fixed(page, [queued(p) for p in state.queue], state.published,
                                  post.fixed_at, self.tz, self._is_working_day)
            expected: datetime | None = post.fixed_at
        else:
            trial = [*(queued(p) for p in state.queue), QueuedPost(post.id, None, now + timedelta(
                days=3650))]  # as if queued last
            slots = plan(page, trial, state.published, now, self.tz, self._is_working_day)
            expected = next((s.at for s in slots if s.post_id == post.id), None)
        shown: Markup | None = Markup(composed.html)  # rendered with autoescape already
        cut = None
        if limits.telegram_len(composed.plain) > PREVIEW_MAX:
            shown, cut = None, composed.plain[:PREVIEW_MAX]
        text = self.hub.render.render(
            "posts/preview.html.j2", post=post, page=page, targets=self._target_names(page),
            expected=expected, fixed=post.fixed_at is not None, problem=problem,
            note=composed.note, skipped=self._skipped(composed), shown=shown, cut=cut,
            length=limits.telegram_len(composed.plain))
        return Reply(text, "confirm" if problem else "draft", post_id=post.id)

    async def confirm(self, post_id: int, user_id: int | None, mode: str = "q") -> Reply:
        """«В очередь» (q), «В очередь всё равно» (f), «В свободный слот» (m)."""
        render = self.hub.render
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "draft":
                return Reply(render.text("posts.j2:draft_gone"), alert=True, ok=False)
            page = self._page(post.page)
            fixed = None if mode == "m" else post.fixed_at
            if fixed is not None and mode == "q":
                state = await self.state(conn, page, now)
                problem = check_fixed(page, [queued(p) for p in state.queue], state.published,
                                      fixed, self.tz, self._is_working_day)
                if problem:
                    return Reply(render.text("posts.j2:confirm_fixed", reason=problem),
                                 "confirm", alert=True, ok=False, post_id=post.id)
            queued_at = await self._next_queued_at(conn, page.name, now)
            await posts.queue_draft(conn, post.id, queued_at, fixed, user_id)
            state = await self.replan(conn, page, now)
        return Reply(render.html("posts.j2:queued", id=post.id, page=page.name,
                                 at=state.planned.get(post.id), fixed=fixed is not None),
                     post_id=post.id)

    async def cancel(self, post_id: int) -> Reply:
        async with self.hub.db.tx() as conn:
            removed = await posts.remove(conn, post_id, "draft")
        if not removed:
            return Reply(self.hub.render.text("posts.j2:draft_gone"), alert=True, ok=False)
        return Reply(self.hub.render.html("posts.j2:cancelled", id=post_id))

    async def edit_text(self, post_id: int, text: str) -> Reply:
        """New text for a draft (photos and time stay); a fresh preview."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "draft":
                return Reply(self.hub.render.text("posts.j2:draft_gone"), ok=False)
            page = self._page(post.page)
            poll = parse_poll(text) if post.poll else None
            composed = compose(self.hub.render, page, text, len(post.photos), poll)
            if composed.refusal:
                return Reply(self.hub.render.html("posts.j2:refused_limit", page=page.name,
                                                  reason=composed.refusal), ok=False,
                             post_id=post.id)
            await posts.set_text(conn, post.id, text, poll)
            post.text, post.poll = text, poll
            return await self._preview(conn, post, page, composed, now)

    async def queue(self, page_name: str, text: str = "", *, photos: Sequence[str] = (),
                    poll: dict[str, Any] | None = None, when: datetime | None = None,
                    by: int | None = None) -> Reply:
        """Draft and queue in one step: for scripts, tests and the demo."""
        page = self.config.page(page_name)
        if page is None:
            raise Refused(f"Нет страницы «{page_name}»")
        reply = await self.draft(by, page=page, text=text, photos=photos, poll=poll, when=when)
        if not reply.ok or reply.post_id is None:
            return reply
        return await self.confirm(reply.post_id, by, "f")

    # -- the queue's buttons -------------------------------------------------------------

    async def move(self, post_id: int, step: int) -> Reply:
        """Swap the post with its neighbour in the queue (the planner follows the order)."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            if post is None or post.status != "queued":
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
            queue = await posts.queued(conn, post.page)
            index = next(i for i, p in enumerate(queue) if p.id == post.id)
            other = index + step
            if not 0 <= other < len(queue):
                return Reply(self.hub.render.text("posts.j2:cannot_move"), ok=False)
            neighbour = queue[other]
            await posts.set_queued_at(conn, post.id, neighbour.queued_at)
            await posts.set_queued_at(conn, neighbour.id, post.queued_at)
            await self.replan(conn, self._page(post.page), now)
        return Reply(self.hub.render.text("posts.j2:moved", id=post.id))

    async def remove(self, post_id: int) -> Reply:
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            post = await posts.get(conn, post_id)
            removed = await posts.remove(conn, post_id, "queued")
            if post is None or not removed:
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
            await self.replan(conn, self._page(post.page), now)
        return Reply(self.hub.render.text("posts.j2:removed", id=post_id))

    async def publish_now(self, post_id: int) -> Reply:
        """The press secretary's decision: a fixed time of now, sent at the next tick."""
        now = self.hub.clock.now()
        async with self.hub.db.tx() as conn:
            if not await posts.fix_time(conn, post_id, now):
                return Reply(self.hub.render.text("posts.j2:not_queued"), alert=True, ok=False)
        await self.tick()
        return Reply(self.hub.render.text("posts.j2:publishing_now", id=post_id))

    # -- views -------------------------------------------------------------------------

    async def queue_view(self) -> Reply:
        now = self.hub.clock.now()
        pages = []
        ids: list[int] = []
        for page in self.config.pages:
            state = await self.state(self.hub.db.reader, page, now)
            items = [{"post": post, "title": post_title(post), "at": state.planned.get(post.id)}
                     for post in state.queue]
            ids.extend(post.id for post in state.queue)
            pages.append({"page": page, "items": items})
        text = self.hub.render.render("posts/queue.html.j2", pages=pages, limit=QUEUE_SHOWN)
        return Reply(text, "queue", queue_ids=ids[:QUEUE_SHOWN])

    async def plan_view(self) -> Reply:
        now = self.hub.clock.now()
        today = now.astimezone(self.tz).date()
        pages = []
        monday = today - timedelta(days=today.weekday())
        sunday = monday + timedelta(days=6)

        def local(moment: datetime) -> date:
            return moment.astimezone(self.tz).date()

        for page in self.config.pages:
            state = await self.state(self.hub.db.reader, page, now)
            done_today = [t for t in state.published if local(t) == today]
            plan_today = sorted(t for t in state.planned.values() if local(t) == today)
            done_week = [t for t in state.published if monday <= local(t) <= sunday]
            plan_week = [t for t in state.planned.values() if monday <= local(t) <= sunday]
            days = sum(1 for i in range(7) if is_publishing_day(
                page, monday + timedelta(days=i), self._is_working_day))
            week_quota = page.quota * days if page.period == "day" else page.quota
            publishing_today = is_publishing_day(page, today, self._is_working_day)
            pages.append({
                "page": page, "done_today": len(done_today), "plan_today": plan_today,
                "done_week": len(done_week), "plan_week": len(plan_week),
                "week_quota": week_quota, "monday": monday, "sunday": sunday,
                "publishing_today": publishing_today,
                "unplanned": sum(1 for p in state.queue if p.id not in state.planned),
            })
        text = self.hub.render.render("posts/plan.html.j2", pages=pages, today=today)
        return Reply(text)
