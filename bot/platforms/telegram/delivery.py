"""Telegram's delivery functions for the outbox: its ``tg`` rows and the cards' ``card`` rows.

A send goes at most once visibly (``bot.platforms.telegram.sends``): before the call the
outbox records the highest message id known in the chat (``watermark``), and a send's
success records the bot's newest id there, plus a row to remove the orphans a lost
earlier try left, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot

from bot.clock import Clock
from bot.config import Config
from bot.outbox.outcomes import Done, Permanent, Retry
from bot.platforms.telegram import bot_api, sends
from bot.platforms.telegram.workspace import TelegramWorkspace, card_call
from bot.render import Renderer
from storage import incidents as repo
from storage import outbox as rows
from storage.db import Conn, Database
from storage.outbox import Item

Pace = Callable[[str], AbstractAsyncContextManager[None]]
# a staff member refused a notice for good: (their id, why, the incident it was about)
Unreachable = Callable[[int, str, int | None], Awaitable[None]]


@dataclass
class TelegramDelivery:
    bot: Bot
    db: Database
    clock: Clock
    config: Config
    render: Renderer
    workspace: TelegramWorkspace
    pace: Pace  # one more call in a lane's budget (a probe, a removal)
    staff_unreachable: Unreachable  # a staff member refused a notice for good: (id, why)
    seen: sends.Seen = field(default_factory=sends.Seen)  # others' message ids, from updates

    async def classify(self, item: Item) -> str:
        """What the per-chat limits count: a new message ("send") or an edit."""
        if item.platform == "card":
            incident = await repo.get(self.db.reader, item.ref_id or 0)
            return "send" if incident is None or incident.card_message_id is None else "edit"
        return "send" if bot_api.is_send(item.method) else "edit"

    async def seen_update(self, handler: Any, update: Any, data: dict[str, Any]) -> Any:
        """Dispatcher middleware: note every message id others write (the bot's window
        for its own orphans)."""
        for message in (update.message, update.edited_message, update.channel_post,
                        update.edited_channel_post):
            if message is not None:
                self.seen.note(message.chat.id, message.message_id)
        return await handler(update, data)

    async def watermark(self, conn: Conn, item: Item) -> int | None:
        """The highest message id known in a Telegram send's chat, before the call."""
        platform, _, chat = item.lane.partition(":")
        if platform != "tg":
            return None
        chat_id = int(chat)
        return max(await rows.known_message_id(conn, chat_id), self.seen.top(chat_id))

    def _pace(self, item: Item) -> Any:
        return lambda: self.pace(item.lane)

    async def _send(self, item: Item, method: str, params: dict[str, Any]) -> sends.Sent:
        return await sends.deliver_send(
            self.bot, method, params, item.attempts + 1, uncertain=item.uncertain,
            watermark=item.watermark, pace=self._pace(item),
            others=self.seen.others(int(params["chat_id"])))

    def _recorded(self, item: Item, params: dict[str, Any], sent: sends.Sent) -> Any:
        """What a send leaves behind, in its success's transaction: the highest id of the
        bot's own in the chat, and a row to remove orphans a lost earlier try left."""
        async def after(conn: Conn) -> None:
            chat_id = int(params["chat_id"])
            if sent.ids:
                await rows.note_message_ids(conn, chat_id, max(sent.ids))
            if sent.window is not None:
                after_id, before_id = sent.window
                orphans: dict[str, Any] = {"chat_id": chat_id, "after": after_id,
                                           "before": before_id}
                if not isinstance(params.get("media"), list) and params.get("reply_markup"):
                    orphans["reply_markup"] = params["reply_markup"]
                await rows.enqueue(conn, key=f"orphans:{item.id}:{before_id}", platform="tg",
                                   lane=item.lane, method=sends.ORPHANS, params=orphans,
                                   now=self.clock.now(), ref_id=item.ref_id)
        return after

    async def deliver(self, item: Item) -> Any:
        """A ``tg`` row: any Bot API call, a send at most once."""
        try:
            if item.method == sends.ORPHANS:
                return await sends.delete_orphans(
                    self.bot, item.params, item.attempts + 1, self._pace(item),
                    self.seen.others(int(item.params["chat_id"])))
            if bot_api.is_send(item.method):
                sent = await self._send(item, item.method, item.params)
                return Done(sent.result, self._recorded(item, item.params, sent))
            return await bot_api.deliver(self.bot, item.method, item.params, item.attempts + 1)
        except Permanent as exc:
            await self._staff_unreachable(item, str(exc))
            raise

    async def _staff_unreachable(self, item: Item, error: str) -> None:
        """A notice to a staff member refused because of them (blocked, deleted): told."""
        chat = item.params.get("chat_id")
        reason = bot_api.unreachable(error)
        if reason is None or not isinstance(chat, int) or self.config.staff_by_id(chat) is None:
            return
        about = item.ref_id if item.purpose == "prompt" else None
        await self.staff_unreachable(chat, reason, about)

    async def deliver_card(self, item: Item) -> Any:
        """A ``card`` row: the card as the incident is now, sent or edited."""
        call = await card_call(self.db.reader, self.config, self.render, item.ref_id or 0,
                               self.clock.now(), self.workspace.topics)
        if call is None:
            return None
        if call.method == "sendMessage":
            sent = await self._send(item, call.method, call.params)
            return Done({"method": call.method, "result": sent.result},
                        self._recorded(item, call.params, sent))
        try:
            result = await bot_api.deliver(self.bot, call.method, call.params,
                                           item.attempts + 1)
        except Permanent as exc:
            if call.method == "editMessageText" and "not found" in str(exc):
                # the card was deleted in the group: post it again
                async with self.db.tx() as conn:
                    await repo.forget_card(conn, item.ref_id or 0)
                raise Retry(0.1, "card message gone; sending anew") from None
            raise
        return {"method": call.method, "result": result}

    async def card_sent(self, conn: Conn, item: Item, result: Any) -> None:
        """Outbox hook: where a new card went (its later syncs edit that message)."""
        if not isinstance(result, dict) or result.get("method") != "sendMessage":
            return
        message = result.get("result") or {}
        await repo.set_card(conn, item.ref_id or 0, message["chat"]["id"],
                            message["message_id"], message.get("message_thread_id"))
        await self.workspace.choices_waiting(conn, item.ref_id or 0)
