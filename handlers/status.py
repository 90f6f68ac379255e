"""``/status``: the process's health (``mcu-hub status``) for the admins, in Russian."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot import health
from bot.config import Config
from bot.hub import Hub


def label(config: Config, name: str) -> str:
    """A source's or lane's name as staff know it."""
    kind, _, rest = name.partition(":")
    if name == health.PROCESS:
        return "процесс mcu-hub"
    if name == health.TELEGRAM:
        return "Telegram (сообщения и кнопки)"
    if kind == "lane":
        return label(config, rest)
    if kind == "vk":
        sub, _, ident = rest.partition(":")
        if sub == "public" and ident.isdigit():
            public = next((p for p in config.vk.publics if p.id == int(ident)), None)
            return f"паблик ВКонтакте «{public.name if public else ident}»"
        if sub in ("community", "user") and ident.isdigit():
            community = config.community(int(ident))
            who = "сообщество" if sub == "community" else "администратор"
            return f"ВКонтакте «{community.name if community else ident}» ({who})"
        if rest.isdigit():
            community = config.community(int(rest))
            return f"ВКонтакте «{community.name if community else rest}» (Long Poll)"
    if kind == "tg" and rest.lstrip("-").isdigit():
        chat = int(rest)
        if chat == config.telegram.staff_group:
            return "группа МЦУ"
        member = config.staff_by_id(chat)
        if member is not None:
            return f"личные сообщения: {member.name}"
        return f"чат {chat}" if chat < 0 else "личные сообщения жителям"
    return name


async def on_status(message: Message, hub: Hub) -> None:
    user = message.from_user
    member = hub.config.staff_by_id(user.id) if user else None
    if member is None or "admin" not in member.roles:
        text = hub.render.html("health.j2:admins_only")
    else:
        report = await health.read(hub.config, hub.db)
        now = report.now
        config = hub.config
        text = hub.render.render(
            "status.html.j2", municipality=config.municipality.name,
            sources=[{"label": label(config, s.name), "age": s.age(now), "stale": s.stale(now),
                      "error": s.error if s.error_at and (s.ok_at is None or
                                                          s.error_at > s.ok_at) else None,
                      "error_age": now - s.error_at if s.error_at else None}
                     for s in report.sources],
            lanes=[{"label": label(config, lane.lane), "pending": lane.pending,
                    "age": lane.age(now), "stale": lane.stale(now)} for lane in report.lanes],
            failures=[{"label": label(config, name), "count": count, "last": last}
                      for name, (count, last) in report.failures.items()],
            failures_total=report.failures_total,
            stale=[label(config, name) for name in report.stale],
        )
    async with hub.db.tx() as conn:
        await hub.send(conn, message.chat.id, text,
                       key=f"reply:{message.chat.id}:{message.message_id}")
    hub.wake_outbox()


def build() -> Router:
    router = Router(name="status")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_status, Command("status"))
    return router
