"""Reports on demand in a private chat: /report, /rating, /export.

Only the head, the curator, the manager and the coordinator may ask (the decrees make
them the readers of the analysis); anyone else, a citizen included, is told so plainly
instead of having the command taken for an incident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.services.hub import Hub
from bot.services.reports.periods import KINDS, RATING_KINDS, report_kind
from bot.services.reports.reports import Reply, Reports

Make = Callable[[Reports, str, datetime], Awaitable[Reply]]


async def _serve(message: Message, command: CommandObject, hub: Hub, reports: Reports,
                 kinds: Sequence[str], usage: str, make: Make) -> None:
    """Check who asks and what for, then answer through the outbox."""
    user = message.from_user
    if user is None:
        return
    if not reports.may_ask(user.id):
        reply = Reply(hub.render.html("reports.j2:refused"))
    else:
        kind = report_kind(command.args, kinds[0])
        if kind not in kinds:
            reply = Reply(hub.render.html(f"reports.j2:{usage}"))
        else:
            reply = await make(reports, kind, hub.clock.now())
    await reports.answer(message.chat.id, message.message_id, reply)


async def on_report(message: Message, command: CommandObject, hub: Hub,
                    reports: Reports) -> None:
    await _serve(message, command, hub, reports, list(KINDS), "report_usage", Reports.note)


async def on_rating(message: Message, command: CommandObject, hub: Hub,
                    reports: Reports) -> None:
    await _serve(message, command, hub, reports, RATING_KINDS, "rating_usage", Reports.rating)


async def on_export(message: Message, command: CommandObject, hub: Hub,
                    reports: Reports) -> None:
    await _serve(message, command, hub, reports, list(KINDS), "export_usage", Reports.export)


def build() -> Router:
    router = Router(name="reports")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_report, Command("report"))
    router.message.register(on_rating, Command("rating"))
    router.message.register(on_export, Command("export"))
    return router
