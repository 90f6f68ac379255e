"""At start, in MAX: the token, the channel (the bot must be its admin to post) and the
city chats (a member, to read them). What is found goes into the start-up report."""

from __future__ import annotations

from bot.config import Config
from bot.platforms.max.client import MaxApiError, MaxClient, MaxTransportError
from bot.services.startup import StartupReport


async def check_max(config: Config, client: MaxClient | None, report: StartupReport) -> None:
    if client is None:
        return
    try:
        me = await client.call("GET", "/me")
    except MaxApiError as exc:
        report.problem("max_token", error=str(exc))
        return
    except MaxTransportError as exc:
        report.problem("max_unreachable", error=str(exc))
        return
    report.ok("max", name=me.get("first_name") or me.get("name") or "")
    chats = [(config.max.channel, "max_channel")] if config.max.channel else []
    chats += [(chat, "max_city_chat") for chat in config.max.city_chats]
    for chat_id, phrase in chats:
        try:
            chat = await client.call("GET", f"/chats/{chat_id}")
        except (MaxApiError, MaxTransportError) as exc:
            report.problem("max_chat_unreachable", chat=chat_id, error=str(exc))
            continue
        report.ok(phrase, title=chat.get("title") or str(chat_id))
