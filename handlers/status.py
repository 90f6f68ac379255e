"""``/status``: the process's health (``mcu-hub status``) for the admins, in Russian."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.services import health
from bot.services.hub import Hub
from handlers.replies import reply


def label(hub: Hub, name: str) -> str:
    """A source's or lane's name as staff know it (the words: ``health.j2``)."""
    config, text = hub.config, hub.render.text
    kind, _, rest = name.partition(":")
    if name == health.PROCESS:
        return text("health.j2:process")
    if name == health.TELEGRAM:
        return text("health.j2:telegram")
    if kind == "lane":
        return label(hub, rest)
    if kind in ("max", "ok"):
        return _max_or_ok(hub, kind, rest)
    if kind == "vk":
        sub, _, ident = rest.partition(":")
        if sub == "public" and ident.isdigit():
            public = next((p for p in config.vk.publics if p.id == int(ident)), None)
            return text("health.j2:vk_public", name=public.name if public else ident)
        if sub in ("community", "user") and ident.isdigit():
            community = config.community(int(ident))
            return text(f"health.j2:vk_{sub}", name=community.name if community else ident)
        if rest.isdigit():
            community = config.community(int(rest))
            return text("health.j2:vk_longpoll", name=community.name if community else rest)
    if kind == "tg" and rest.lstrip("-").isdigit():
        chat = int(rest)
        if chat == config.telegram.staff_group:
            return text("health.j2:staff_group")
        member = config.staff_by_id(chat)
        if member is not None:
            return text("health.j2:staff_private", name=member.name)
        if chat > 0:
            return text("health.j2:citizens")
        tg = config.telegram
        kind = ("channel" if chat == tg.channel else "discussion"
                if chat == tg.discussion_group else "city_chat" if chat in tg.city_chats
                else "chat")
        return text(f"health.j2:{kind}")
    return name


def _max_or_ok(hub: Hub, kind: str, rest: str) -> str:
    text = hub.render.text
    if kind == "ok":
        group = hub.config.ok_group(int(rest)) if rest.isdigit() else None
        return text("health.j2:ok_group", name=group.name if group else rest)
    if not rest.lstrip("-").isdigit():
        return text("health.j2:max")
    chat = int(rest)
    if chat == hub.config.max.channel:
        return text("health.j2:max_channel")
    return text("health.j2:max_city_chat" if chat < 0 else "health.j2:max_citizens")


async def status_text(hub: Hub) -> str:
    """``/status``: the health report, as the admins read it."""
    report = await health.read(hub.config, hub.db)
    now = report.now
    return hub.render.render(
        "status.html.j2", municipality=hub.config.municipality.name,
        sources=[{"label": label(hub, s.name), "age": s.age(now), "stale": s.stale(now),
                  "error": s.error if s.error_at and (s.ok_at is None or
                                                      s.error_at > s.ok_at) else None,
                  "error_age": now - s.error_at if s.error_at else None}
                 for s in report.sources],
        lanes=[{"label": label(hub, lane.lane), "pending": lane.pending,
                "age": lane.age(now), "stale": lane.stale(now)} for lane in report.lanes],
        failures=[{"label": label(hub, name), "count": count, "last": last}
                  for name, (count, last) in report.failures.items()],
        failures_total=report.failures_total,
        stale=[label(hub, name) for name in report.stale],
    )


async def on_status(message: Message, hub: Hub) -> None:
    user = message.from_user
    member = hub.config.staff_by_id(user.id) if user else None
    if member is None or "admin" not in member.roles:
        text = hub.render.html("health.j2:admins_only")
    else:
        text = await status_text(hub)
    await reply(hub, message.chat.id, text, key=f"reply:{message.chat.id}:{message.message_id}")


def build() -> Router:
    router = Router(name="status")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_status, Command("status"))
    return router
