"""What every part of the running process shares: config, clock, database, renderer...

Built once in ``bot.app`` (``make_hub``) and handed to handlers through the Dispatcher
and to jobs and sources through their constructors — never a module global. The
services reach the platforms only through its ports: ``workspace`` and ``pages``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import sla
from bot.domain.absence import Absence
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.ports import Page, StaffWorkspace
from bot.render import Renderer
from bot.services.health import Health
from storage.db import Conn, Database


@dataclass
class Hub:
    config: Config
    clock: Clock
    db: Database
    render: Renderer
    calendar: WorkCalendar
    router: Router
    workspace: StaffWorkspace  # where staff work (bot.ports)
    pages: dict[str, Page]  # where citizens read us, by platform name (bot.ports)
    bot_id: int = 0  # the bot's own Telegram id: its messages are not citizens'
    wake: Callable[[], None] = field(default=lambda: None)
    # what the sources saw (heartbeats), written to storage by the health job
    health: Health = field(default_factory=Health)
    # the open absences (bot.services.people): who acts for whom is decided by the date
    absences: list[Absence] = field(default_factory=list)

    def wake_outbox(self) -> None:
        self.wake()

    def page(self, platform: str | None) -> Page | None:
        """The page adapter of a platform as a reply target or a page target names it."""
        return self.pages.get(platform or "")

    async def notify(self, conn: Conn, user_id: int, phrase: str, /, *, key: str,
                     **context: Any) -> bool:
        """A private message to a staff member, from a phrase in ``texts.j2``."""
        return await self.workspace.notify(conn, user_id, self.render.html(phrase, **context),
                                           key=f"notify:{user_id}:{key}")

    def deadlines(self, policy: str, start: datetime) -> dict[str, Any]:
        """The answer and first-reply deadlines of a clock starting now: a new incident,
        or one reopened by the citizen (the decrees' time runs again)."""
        policies = self.config.sla.policies
        first = policies.get(self.config.sla.first_reply_policy)
        return {
            "due_at": sla.deadline(policies[policy], start, self.calendar),
            "first_reply_due_at": sla.deadline(first, start, self.calendar) if first else None,
            "overdue_at": None,
        }

    def staff_name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        member = self.config.staff_by_id(user_id)
        return member.name if member else str(user_id)
