"""At start: check what the bot is connected to, make missing topics, tell the admins.

A misconfigured bot should say so in the chat its admins read, in words they can act
on («Бот не администратор в группе: темы создать нельзя»), not only in a log file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

from bot.platforms.telegram.bot_api import describe
from bot.platforms.vk.client import VkError, VkTransportError
from storage import cursors

if TYPE_CHECKING:
    from bot.app import App

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
COMMANDS = ["help", "my", "find", "incident", "deadline", "post", "queue", "plan", "report",
            "rating", "export", "status"]


class Startup:
    def __init__(self, app: App):
        self.app = app
        self.connected: list[str] = []
        self.problems: list[str] = []

    def ok(self, phrase: str, **context: Any) -> None:
        self.connected.append(self.app.render.text(f"startup.j2:{phrase}", **context))

    def problem(self, phrase: str, **context: Any) -> None:
        text = self.app.render.text(f"startup.j2:{phrase}", **context)
        log.warning("start-up check: %s", text)
        self.problems.append(text)

    async def run(self, bot: Bot) -> None:
        """Every check, each on its own: one that fails in any way (a network error, an
        answer that is not the Bot API's) is named in the report and the others run."""
        telegram = self.app.config.telegram
        await self._checked(self.check_staff_group(bot), "what_staff_group")
        for chat in telegram.city_chats:
            await self._checked(self.check_member(bot, chat, "city_chat"), "what_chat",
                                chat=chat)
        if telegram.channel is not None:
            await self._checked(self.check_channel(bot, telegram.channel), "what_chat",
                                chat=telegram.channel)
        if telegram.discussion_group is not None:
            await self._checked(self.check_member(bot, telegram.discussion_group,
                                                  "discussion"), "what_chat",
                                chat=telegram.discussion_group)
        await self._checked(self.check_vk(), "what_vk")
        try:
            await bot.set_my_commands([
                _command(name, self.app.render.text(f"startup.j2:command_{name}"))
                for name in COMMANDS])
        except Exception as exc:
            log.warning("setMyCommands failed: %s", describe(exc))
        await self.report()

    async def _checked(self, check: Awaitable[None], what: str, **context: Any) -> None:
        try:
            await check
        except Exception as exc:
            self.problem("check_failed", what=self.app.render.text(f"startup.j2:{what}",
                                                                   **context),
                         error=describe(exc))

    async def check_staff_group(self, bot: Bot) -> None:
        config = self.app.config
        group = config.telegram.staff_group
        # topics the bot made before: known whether or not the group answers now, so a
        # card never falls back to the General topic only because of a bad start
        missing = [b.name for b in config.blocks if b.name not in self.app.hub.topics]
        for block in list(missing):
            stored = await cursors.get(self.app.db.reader, f"topic:{block}")
            if stored is not None:
                self.app.hub.topics[block] = int(stored)
                missing.remove(block)
        try:
            chat = await bot.get_chat(group)
            member = await bot.get_chat_member(group, self.app.hub.bot_id)
        except TelegramAPIError as exc:
            self.problem("staff_group_unreachable", error=exc.message)
            if missing:
                self.problem("cards_to_general", blocks=", ".join(missing))
            return
        except Exception:
            if missing:
                self.problem("cards_to_general", blocks=", ".join(missing))
            raise
        is_admin = member.status in ("administrator", "creator")
        can_topics = bool(getattr(member, "can_manage_topics", False)) or member.status == "creator"
        self.ok("staff_group", title=chat.title or str(group))
        if not is_admin:
            self.problem("not_admin")
        if not chat.is_forum:
            if config.telegram.topics:
                self.problem("not_forum")
            return
        if missing and not (is_admin and can_topics):
            self.problem("cannot_make_topics", blocks=", ".join(missing))
            return
        for block in missing:
            try:
                topic = await _paced(lambda b=block: bot.create_forum_topic(group, name=b))
            except TelegramAPIError as exc:
                self.problem("topic_failed", block=block, error=exc.message)
                continue
            self.app.hub.topics[block] = topic.message_thread_id
            async with self.app.db.tx() as conn:
                await cursors.put(conn, f"topic:{block}", str(topic.message_thread_id))
            self.ok("topic_made", block=block)

    async def check_member(self, bot: Bot, chat_id: int, kind: str) -> None:
        try:
            chat = await bot.get_chat(chat_id)
            member = await bot.get_chat_member(chat_id, self.app.hub.bot_id)
        except TelegramAPIError as exc:
            self.problem("chat_unreachable", chat=chat_id, error=exc.message)
            return
        if member.status in ("left", "kicked"):
            self.problem("not_member", title=chat.title or str(chat_id))
        else:
            self.ok(kind, title=chat.title or str(chat_id))

    async def check_channel(self, bot: Bot, chat_id: int) -> None:
        try:
            chat = await bot.get_chat(chat_id)
            member = await bot.get_chat_member(chat_id, self.app.hub.bot_id)
        except TelegramAPIError as exc:
            self.problem("chat_unreachable", chat=chat_id, error=exc.message)
            return
        if member.status not in ("administrator", "creator") or not getattr(
            member, "can_post_messages", True
        ):
            self.problem("channel_not_admin", title=chat.title or str(chat_id))
        else:
            self.ok("channel", title=chat.title or str(chat_id))

    async def check_vk(self) -> None:
        for community in self.app.config.vk.communities:
            client = self.app.vk_clients.get(f"vk:community:{community.id}")
            name = community.name or str(community.id)
            if client is None:
                continue
            try:
                await client.call("groups.getById", group_id=community.id)
            except VkError as exc:
                self.problem("vk_token", name=name, error=str(exc))
                continue
            except VkTransportError as exc:
                self.problem("vk_unreachable", name=name, error=str(exc))
                continue
            if community.longpoll:
                try:
                    await client.call("groups.getLongPollServer", group_id=community.id)
                except VkError as exc:
                    self.problem("vk_longpoll", name=name, error=str(exc))
                    continue
            self.ok("vk", name=name)
            if not community.user_token.get_secret_value() and any(
                t.platform == "vk" and t.id == community.id
                for page in self.app.config.pages for t in page.targets
            ):
                self.problem("vk_no_user_token", name=name)

    async def report(self) -> None:
        text = self.app.render.render(
            "startup.html.j2", municipality=self.app.config.municipality.name,
            connected=self.connected, problems=self.problems,
        )
        now = self.app.clock.now()
        async with self.app.db.tx() as conn:
            for member in self.app.config.staff:
                if "admin" in member.roles:
                    await self.app.hub.send(conn, member.telegram_id, text,
                                            key=f"startup:{member.telegram_id}:{now.isoformat()}")
        self.app.hub.wake_outbox()


def _command(name: str, description: str) -> Any:
    from aiogram.types import BotCommand

    return BotCommand(command=name, description=description)


def install(app: App) -> None:
    startup = Startup(app)
    app.jobs.on_start.append(startup.run)
