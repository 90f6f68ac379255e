"""Telegram edge: the aiogram Bot pointed at the configured Bot API server, and calls by name.

Outbox rows name a Bot API method and its JSON parameters; ``call`` turns them into the
aiogram method object, so what is stored is exactly what goes over the wire.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from aiogram import Bot, methods
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from pydantic import BaseModel

from bot.config import Telegram


def make_bot(config: Telegram) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base.rstrip("/")))
    return Bot(
        token=config.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _method_class(name: str) -> type[methods.TelegramMethod[Any]]:
    cls = getattr(methods, name[:1].upper() + name[1:], None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"unknown Bot API method {name!r}")
    return cls


def upload(data: bytes, filename: str) -> dict[str, str]:
    """A file to upload, as an outbox parameter (JSON can hold it; aiogram gets bytes)."""
    return {"upload": base64.b64encode(data).decode("ascii"), "filename": filename}


def _inflate(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"upload", "filename"}:
        return BufferedInputFile(base64.b64decode(value["upload"]), filename=value["filename"])
    if isinstance(value, dict):
        return {k: _inflate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inflate(v) for v in value]
    return value


def dump(result: Any) -> Any:
    """An aiogram result as plain JSON (its models hold ``Default`` sentinels and datetimes)."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="python", exclude_none=True)
    if isinstance(result, dict):
        return {k: dump(v) for k, v in result.items() if not isinstance(v, Default)}
    if isinstance(result, list | tuple):
        return [dump(item) for item in result]
    if isinstance(result, datetime):
        return int(result.timestamp())
    if isinstance(result, Default):
        return None
    return result


async def call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """Call a Bot API method by its name with JSON parameters; return JSON-able result."""
    cls = _method_class(method)
    return dump(await bot(cls(**_inflate(params))))


NOT_MODIFIED = "message is not modified"

# 403 answers for a private chat the bot may not write to, by what became of the person
# (telegram-bot-api Client.cpp: fail_query_with_error turns USER_IS_BLOCKED and
# INPUT_USER_DEACTIVATED into these, check_chat_access answers "user is deactivated";
# "bot can't initiate conversation with a user" is the server's for a person who never
# started the bot). None of them passes with time: retrying only repeats the refusal.
UNREACHABLE = {
    "bot was blocked by the user": "blocked",
    "user is deactivated": "deactivated",
    "bot can't initiate conversation with a user": "not_started",
}


def describe(exc: BaseException) -> str:
    """One short line for a log or a report: what failed, without a traceback and without
    the HTML page a proxy answered instead of the Bot API (aiogram's ClientDecodeError
    carries the whole body)."""
    if isinstance(exc, ClientDecodeError):
        return "the answer is not the Bot API's JSON (a proxy's error page?)"
    if isinstance(exc, TelegramAPIError):
        text = exc.message
    else:
        text = str(exc) or type(exc).__name__
    line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return line if len(line) <= 200 else line[:199] + "…"


def unreachable(error: str) -> str | None:
    """``blocked``, ``deactivated`` or ``not_started`` if a refusal says the person cannot
    be written to privately; None for any other error."""
    for words, reason in UNREACHABLE.items():
        if words in error:
            return reason
    return None

__all__ = [
    "NOT_MODIFIED",
    "TelegramBadRequest",
    "TelegramNetworkError",
    "TelegramRetryAfter",
    "TelegramServerError",
    "call",
    "describe",
    "make_bot",
    "unreachable",
    "upload",
]


def is_send(method: str) -> bool:
    """Whether a method puts a new message into a chat (what the per-chat limits count)."""
    return method.startswith(("send", "forward", "copy"))


async def deliver(bot: Bot, method: str, params: dict[str, Any], attempts: int) -> Any:
    """One outbox call to Telegram, its failure sorted into retry-later or give-up."""
    from bot.outbox import Permanent, Retry, backoff

    try:
        return await call(bot, method, params)
    except TelegramRetryAfter as exc:
        raise Retry(exc.retry_after, f"429 retry after {exc.retry_after}",
                    pause_lane=True, transient=False) from None
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return None  # the card already shows this: done
        raise Permanent(exc.message) from None
    except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
        raise Retry(backoff(attempts), f"transient: {exc}") from None
    except TelegramAPIError as exc:
        raise Permanent(exc.message) from None
