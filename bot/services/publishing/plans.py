"""The pages' plans: each page's queue, its posts published, and the planner's slots
(pure, ``bot.domain.planner``) — re-run when anything changes and stored in ``planned_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config, Page
from bot.domain.planner import plan
from bot.ports import Page as Target
from bot.services.hub import Hub
from bot.services.publishing.compose import Composed, Refused, queued
from storage import posts
from storage.db import Conn
from storage.posts import Post


@dataclass
class PageState:
    """The page's queue and plan at one moment."""

    page: Page
    queue: list[Post]
    published: list[datetime]
    planned: dict[int, datetime]


class PagePlans:
    def __init__(self, hub: Hub):
        self.hub = hub

    @property
    def config(self) -> Config:
        return self.hub.config

    @property
    def tz(self) -> ZoneInfo:
        return self.config.municipality.tz

    def _is_working_day(self, day: date) -> bool:
        return self.hub.calendar.is_working_day(day)

    def _page(self, name: str) -> Page:
        page = self.config.page(name)
        if page is None:
            raise Refused(f"Страницы «{name}» больше нет в настройках бота")
        return page

    def _target(self, target: str) -> tuple[Target, int]:
        """The page adapter of a stored target ('vk:100001', 'tg:-100…') and its id."""
        platform, _, ident = target.partition(":")
        page = self.hub.page(platform) or self.hub.pages["tg"]
        return page, int(ident)

    def _target_name(self, target: str) -> str:
        """A page's target as the press secretary knows it: by name, not by id."""
        page, ident = self._target(target)
        return page.target_name(ident)

    def _skipped(self, composed: Composed) -> list[dict[str, str]]:
        """The targets a post will not go to, by name, with the reason."""
        return [{"target": self._target_name(key), "reason": reason}
                for key, reason in composed.skipped.items()]

    def _target_names(self, page: Page) -> list[str]:
        return [self.hub.pages[target.platform].target_name(target.id)
                for target in page.targets]

    # -- queue and plan ----------------------------------------------------------------

    async def state(self, conn: Conn, page: Page, now: datetime) -> PageState:
        queue = await posts.queued(conn, page.name)
        published = await posts.published_times(conn, page.name, now - timedelta(days=8))
        slots = plan(page, [queued(post) for post in queue], published, now, self.tz,
                     self._is_working_day)
        return PageState(page, queue, published, {slot.post_id: slot.at for slot in slots})

    async def _store_plan(self, conn: Conn, state: PageState) -> None:
        for post in state.queue:
            new = state.planned.get(post.id)
            if new != post.planned_at:
                await posts.set_planned(conn, post.id, new)
                post.planned_at = new

    async def replan(self, conn: Conn, page: Page, now: datetime) -> PageState:
        state = await self.state(conn, page, now)
        await self._store_plan(conn, state)
        return state

    async def _next_queued_at(self, conn: Conn, page: str, now: datetime) -> datetime:
        """Now, or a second after the page's last queued post: queue order stays unique."""
        last = await posts.last_queued_at(conn, page)
        moment = now.replace(microsecond=0)
        return max(moment, last + timedelta(seconds=1)) if last else moment
