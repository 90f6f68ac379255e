"""Telegram edge: the aiogram Bot pointed at the configured Bot API server, and calls by name.

Outbox rows name a Bot API method and its JSON parameters; ``call`` turns them into the
aiogram method object, so what is stored is exactly what goes over the wire. A failure
is sorted into the outbox's ``Retry`` (with an attempt limit) or ``Permanent``; a send
whose outcome is unknown is taken care of by ``bot.platforms.telegram.sends``.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

from aiogram import Bot, methods
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
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
from bot.outbox import outcomes
from bot.outbox.outcomes import Permanent, Retry


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

def is_send(method: str) -> bool:
    """Whether a method puts a new message into a chat (what the per-chat limits count)."""
    return method.startswith(("send", "forward", "copy"))


# Unreadable or lost answers: the call may or may not have been carried out.
_UNKNOWN = (TelegramServerError, TelegramNetworkError, ClientDecodeError, TimeoutError)

_TITLE = re.compile(r"<title>\s*([^<]{1,80}?)\s*</title>", re.IGNORECASE)


def _why(exc: BaseException) -> str:
    """A failure's words, short: aiogram's ``ClientDecodeError`` carries the whole body
    it could not read (an nginx page), which is named by its title instead."""
    if isinstance(exc, ClientDecodeError):
        body = str(getattr(exc, "data", ""))
        title = _TITLE.search(body)
        what = f"HTML page «{title.group(1)}»" if title else "body not JSON or cut short"
        return f"unreadable answer ({exc.message}: {what})"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


def sorted_failure(exc: Exception, method: str, attempts: int, watermark: int | None) -> Exception:
    """A Bot API failure as the outbox's Retry (with an attempt limit) or Permanent."""
    if isinstance(exc, TelegramRetryAfter):  # refused before anything was done
        return Retry(exc.retry_after, f"429 retry after {exc.retry_after}", pause_lane=True,
                     transient=False, watermark=watermark)
    if isinstance(exc, _UNKNOWN) or (isinstance(exc, AiogramError)
                                     and not isinstance(exc, TelegramAPIError)):
        return Retry(outcomes.backoff(attempts), f"uncertain: {_why(exc)}",
                     uncertain=is_send(method), watermark=watermark)
    if isinstance(exc, TelegramAPIError):
        return Permanent(exc.message)
    return exc


async def deliver(bot: Bot, method: str, params: dict[str, Any], attempts: int) -> Any:
    """One outbox call to Telegram, its failure sorted into retry-later or give-up."""
    try:
        return await call(bot, method, params)
    except TelegramBadRequest as exc:
        if NOT_MODIFIED in exc.message:
            return None  # the card already shows this: done
        raise sorted_failure(exc, method, attempts, None) from None
    except (AiogramError, TimeoutError) as exc:
        raise sorted_failure(exc, method, attempts, None) from None


async def download(bot: Bot | None, file_id: str) -> bytes:
    """A photo's bytes from Telegram (to upload it elsewhere), or why not for the outbox."""
    if bot is None:
        raise Permanent("photos need the Telegram bot to fetch them")
    try:
        buffer = await bot.download(file_id)
    except TelegramBadRequest as exc:
        raise Permanent(f"Telegram: {exc.message}") from None
    except (TelegramNetworkError, TimeoutError, OSError) as exc:
        raise Retry(5.0, f"photo download: {exc}") from None
    assert buffer is not None
    return buffer.read()
