"""At start, in Telegram: the staff group (and its forum topics, made when missing), the
city chats, the channel and its discussion group — each checked on its own — and the
bot's menu of commands. What is found goes into the start-up report."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import BotCommand

from bot.platforms.telegram.bot_api import describe
from bot.platforms.telegram.workspace import TelegramWorkspace
from bot.services.hub import Hub
from bot.services.startup import StartupReport
from storage import cursors

log = logging.getLogger(__name__)

# createForumTopic counts toward the group's flood limits like a message (tdlib/td#2592):
# a fourth topic in a row gets a 429; wait what Telegram asks, within reason
TOPIC_WAIT_MAX = 120.0


async def _paced(call: Any, attempts: int = 3) -> Any:
    """``call()``, waiting out Telegram's ``retry_after`` a few times before giving up."""
    for attempt in range(attempts):
        try:
            return await call()
        except TelegramRetryAfter as exc:
            if attempt == attempts - 1 or exc.retry_after > TOPIC_WAIT_MAX:
                raise
            log.info("start-up: Telegram asks to wait %s s", exc.retry_after)
            await asyncio.sleep(exc.retry_after)

# the bot's menu; each description is startup.j2's ``command_<name>``
COMMANDS = ["help", "inbox", "my", "find", "incident", "deadline", "away", "post", "queue",
            "plan", "report", "rating", "export", "status"]



class TelegramChecks:
    def __init__(self, hub: Hub, workspace: TelegramWorkspace, report: StartupReport):
        self.hub = hub
        self.workspace = workspace
        self.report = report

    async def run(self, bot: Bot) -> None:
        """Every chat the config names, each on its own."""
        telegram = self.hub.config.telegram
        checked = self.report.checked
        await checked(self.check_staff_group(bot), "what_staff_group")
        for chat in telegram.city_chats:
            await checked(self.check_member(bot, chat, "city_chat"), "what_chat", chat=chat)
        if telegram.channel is not None:
            await checked(self.check_channel(bot, telegram.channel), "what_chat",
                          chat=telegram.channel)
        if telegram.discussion_group is not None:
            await checked(self.check_member(bot, telegram.discussion_group, "discussion"),
                          "what_chat", chat=telegram.discussion_group)

    async def set_commands(self, bot: Bot) -> None:
        """The bot's menu; a failure is only logged (the commands work without it)."""
        try:
            await bot.set_my_commands([
                BotCommand(command=name,
                           description=self.hub.render.text(f"startup.j2:command_{name}"))
                for name in COMMANDS])
        except Exception as exc:
            log.warning("setMyCommands failed: %s", describe(exc))

    async def check_staff_group(self, bot: Bot) -> None:
        config = self.hub.config
        group = config.telegram.staff_group
        # topics the bot made before: known whether or not the group answers now, so a
        # card never falls back to the General topic only because of a bad start
        missing = [b.name for b in config.blocks if b.name not in self.workspace.topics]
        for block in list(missing):
            stored = await cursors.get(self.hub.db.reader, f"topic:{block}")
            if stored is not None:
                self.workspace.topics[block] = int(stored)
                missing.remove(block)
        try:
            chat = await bot.get_chat(group)
            member = await bot.get_chat_member(group, self.hub.bot_id)
        except TelegramAPIError as exc:
            self.report.problem("staff_group_unreachable", error=exc.message)
            if missing:
                self.report.problem("cards_to_general", blocks=", ".join(missing))
            return
        except Exception:
            if missing:
                self.report.problem("cards_to_general", blocks=", ".join(missing))
            raise
        is_admin = member.status in ("administrator", "creator")
        can_topics = bool(getattr(member, "can_manage_topics", False)) or member.status == "creator"
        self.report.ok("staff_group", title=chat.title or str(group))
        if not is_admin:
            self.report.problem("not_admin")
        if not chat.is_forum:
            if config.telegram.topics:
                self.report.problem("not_forum")
            return
        if missing and not (is_admin and can_topics):
            self.report.problem("cannot_make_topics", blocks=", ".join(missing))
            return
        for block in missing:
            try:
                topic = await _paced(lambda b=block: bot.create_forum_topic(group, name=b))
            except TelegramAPIError as exc:
                self.report.problem("topic_failed", block=block, error=exc.message)
                continue
            self.workspace.topics[block] = topic.message_thread_id
            async with self.hub.db.tx() as conn:
                await cursors.put(conn, f"topic:{block}", str(topic.message_thread_id))
            self.report.ok("topic_made", block=block)

    async def _chat_and_member(self, bot: Bot, chat_id: int) -> tuple[Any, Any] | None:
        """The chat and the bot's membership in it; None (and a problem) if unreachable."""
        try:
            return (await bot.get_chat(chat_id),
                    await bot.get_chat_member(chat_id, self.hub.bot_id))
        except TelegramAPIError as exc:
            self.report.problem("chat_unreachable", chat=chat_id, error=exc.message)
            return None

    async def check_member(self, bot: Bot, chat_id: int, kind: str) -> None:
        found = await self._chat_and_member(bot, chat_id)
        if found is None:
            return
        chat, member = found
        if member.status in ("left", "kicked"):
            self.report.problem("not_member", title=chat.title or str(chat_id))
        else:
            self.report.ok(kind, title=chat.title or str(chat_id))

    async def check_channel(self, bot: Bot, chat_id: int) -> None:
        found = await self._chat_and_member(bot, chat_id)
        if found is None:
            return
        chat, member = found
        if member.status not in ("administrator", "creator") or not getattr(
            member, "can_post_messages", True
        ):
            self.report.problem("channel_not_admin", title=chat.title or str(chat_id))
        else:
            self.report.ok("channel", title=chat.title or str(chat_id))
