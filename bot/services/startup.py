"""At start: what the bot is connected to and what is wrong, told to the admins.

A misconfigured bot should say so in the chat its admins read, in words they can act
on («Бот не администратор в группе: темы создать нельзя»), not only in a log file. Each
platform adapter checks its own connections (``bot.platforms.telegram.startup``,
``bot.platforms.vk.startup``) and writes here; the report goes once, through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.services.hub import Hub

log = logging.getLogger(__name__)

Describe = Callable[[BaseException], str]


class StartupReport:
    def __init__(self, hub: Hub, describe: Describe):
        self.hub = hub
        self.describe = describe  # an error in one short line (the platform's words)
        self.connected: list[str] = []
        self.problems: list[str] = []

    def ok(self, phrase: str, **context: Any) -> None:
        self.connected.append(self.hub.render.text(f"startup.j2:{phrase}", **context))

    def problem(self, phrase: str, **context: Any) -> None:
        text = self.hub.render.text(f"startup.j2:{phrase}", **context)
        log.warning("start-up check: %s", text)
        self.problems.append(text)

    async def checked(self, check: Awaitable[None], what: str, **context: Any) -> None:
        """Run one check; one that fails in any way (a network error, an answer that is
        not the platform's) is named in the report and the others run."""
        try:
            await check
        except Exception as exc:
            self.problem("check_failed", what=self.hub.render.text(f"startup.j2:{what}",
                                                                   **context),
                         error=self.describe(exc))

    async def send(self) -> None:
        """The report to every admin."""
        hub = self.hub
        text = hub.render.render(
            "startup.html.j2", municipality=hub.config.municipality.name,
            connected=self.connected, problems=self.problems,
        )
        now = hub.clock.now()
        async with hub.db.tx() as conn:
            for member in hub.config.staff:
                if "admin" in member.roles:
                    await hub.workspace.notify(conn, member.telegram_id, text,
                                               key=f"startup:{member.telegram_id}:{now.isoformat()}")
        hub.wake_outbox()
