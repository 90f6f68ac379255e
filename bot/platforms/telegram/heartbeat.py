"""Telegram's polling as a source with a heartbeat: each getUpdates is a poll."""

from __future__ import annotations

from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import GetUpdates

from bot.platforms.telegram.bot_api import describe
from bot.services.health import TELEGRAM, Health


class PollHeartbeat(BaseRequestMiddleware):
    """A request middleware of the Telegram session: each getUpdates is a poll of the
    Telegram source (aiogram's polling loop has no hook of its own)."""

    def __init__(self, health: Health):
        self.health = health

    async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        try:
            response = await make_request(bot, method)
        except Exception as exc:
            self.health.failed(TELEGRAM, describe(exc))
            raise
        self.health.ok(TELEGRAM)
        return response
