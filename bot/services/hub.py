"""What every part of the running process shares: config, clock, database, renderer...

Built once in ``bot.app`` and handed to handlers through the Dispatcher and to jobs
and sources through their constructors — never a module global.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import sla
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.render import Renderer
from bot.services.health import Health
from storage import outbox
from storage.db import Conn, Database


@dataclass
class Hub:
    config: Config
    clock: Clock
    db: Database
    render: Renderer
    calendar: WorkCalendar
    router: Router
    bot_id: int = 0
    wake: Callable[[], None] = field(default=lambda: None)
    # block -> forum topic of the staff group: from the config, plus topics the bot made
    topics: dict[str, int] = field(default_factory=dict)
    # what the sources saw (heartbeats), written to storage by the health job
    health: Health = field(default_factory=Health)

    def __post_init__(self) -> None:
        self.topics = {**self.config.telegram.topics, **self.topics}

    def wake_outbox(self) -> None:
        self.wake()

    async def send(
        self,
        conn: Conn,
        chat_id: int,
        text: str,
        *,
        key: str,
        purpose: str = "",
        ref_id: int | None = None,
        **params: Any,
    ) -> bool:
        """Queue a Telegram message (HTML) through the outbox, once per key."""
        return await outbox.enqueue(
            conn,
            key=key,
            platform="tg",
            lane=f"tg:{chat_id}",
            method="sendMessage",
            params={"chat_id": chat_id, "text": text, **params},
            now=self.clock.now(),
            purpose=purpose,
            ref_id=ref_id,
        )

    async def notify(self, conn: Conn, user_id: int, phrase: str, /, *, key: str,
                     **context: Any) -> bool:
        """A private message to a staff member, from a phrase in ``texts.j2``."""
        return await self.send(conn, user_id, self.render.html(phrase, **context),
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
