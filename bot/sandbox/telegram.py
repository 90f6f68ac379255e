"""A Telegram Bot API stand-in over HTTP, for the real aiogram client, plus its control API.

The bot must not be able to tell it from api.telegram.org: same URLs
(``/tg/bot<token>/<method>``, files at ``/tg/file/bot<token>/<path>``), same parameter
encodings (query string, JSON, urlencoded, multipart with ``attach://`` uploads), same
result and error shapes and wording (taken from telegram-bot-api / TDLib), same limits:
text 1–4096 characters and caption 1024, both counted after parse_mode in UTF-16 units
(TDLib counts code points, so this is the stricter reading); callback_data 64 bytes; media
groups of 2–10; one pending getUpdates (a newer long poll terminates the older with 409);
flood control (429 with ``retry_after``).

Control API (JSON): POST ``/control/tg/message`` (a person writes; ``photo``: true or a list
of base64 images, an album if several; ``anonymous``: as the group itself, ``as_channel``: on
behalf of a channel, ``forward_from``: a forward from a user, a channel or a chat),
``/control/tg/comment`` (a comment under a channel post, in the linked discussion group),
``/control/tg/block`` (a person blocks the bot, deletes their account, or comes back),
``/control/tg/membership`` (``state``: the bot is removed from a chat, or added back),
``/control/tg/delete`` (an admin deletes a message, the bot is not told),
``/control/tg/edit``, ``/control/tg/channel_post``, ``/control/tg/callback``,
``/control/tg/reset``; GET ``/control/tg/sent`` (the bot's
messages as they stand), ``/control/tg/messages`` (everyone's),
``/control/tg/callback_answers``, ``/control/tg/topics``, ``/control/tg/updates`` (not yet
confirmed by the bot).

Choices the real service leaves open, made here:

* Flood limits run on the real monotonic clock, never the sandbox clock: per chat a token
  bucket of 3 calls refilled at 1/s; per group or channel (negative chat id) 20 calls in
  any 60 s; overall 30 calls a second. New messages (send*, forward, copy, forum topics,
  pins; an album pays the 60-s window once per message) and edits share the per-chat
  budget; in a private chat edits also pay 20 a minute. Repeated floods get doubling
  ``retry_after`` values (see :class:`RateLimiter`).
* Callback queries expire 15 real seconds after the press, as Telegram's do.
* The bot may write first only to staff (they have started it); a citizen must write first,
  otherwise 403 "bot can't initiate conversation with a user".
* Injected faults (``SandboxState.take_fault``): "429" answers 429 with the fault's
  ``retry_after``; "500" answers 500; "timeout" holds the request ``timeout_hang`` seconds
  (longer than aiogram's 60 s default) and then answers 502 Bad Gateway; "html502" answers
  nginx's HTML 502 page; the call is not carried out. "html504" carries the call out and
  answers nginx's HTML 504 page; "garbage" carries it out and answers 200 with a body cut
  short. "album_partial" makes a sendMediaGroup post its first ``sent`` messages (half by
  default) and then answer 500 (or ``code``); those messages stay. Any other numeric kind
  answers that code. getUpdates only takes a fault that names it, so the bot's background
  polling cannot swallow one meant for a send.
* The General topic of a forum is refused as ``message_thread_id`` 1 ("message thread not
  found"), as telegram-bot-api does; a channel admin with ``can_edit_messages`` may edit
  other admins' posts.
* Messages in a forum topic carry ``reply_to_message`` = the topic's creation message, as
  Telegram's do; ``/control/tg/sent`` reports only explicit replies in ``reply_to_message_id``.
* The channel has a linked discussion group (``getChat``'s ``linked_chat_id``). Every channel
  post, the bot's own too, appears there as an automatic forward: ``from`` = the service
  user 777000, ``sender_chat`` = the channel, ``is_automatic_forward``, ``forward_origin``
  of type ``channel`` (telegram-bot-api ``Client.cpp``, ``create_message``). Comments are
  messages in that group replying to the forward, with ``message_thread_id`` = its id.
* A message sent on behalf of a chat carries ``sender_chat`` and a placeholder ``from``:
  @GroupAnonymousBot for the group's anonymous admins, @Channel_Bot for a channel (same
  source). Forwards carry the legacy ``forward_from*`` / ``forward_date`` fields beside
  ``forward_origin``, as ``Client.cpp``'s ``JsonMessage`` still writes them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import mimetypes
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import BodyPartReader, web

from bot.sandbox import tg_markup, world
from bot.sandbox.core import SandboxState

log = logging.getLogger(__name__)

Json = dict[str, Any]
Files = dict[str, tuple[str, bytes, str]]  # field name → (file name, content, content type)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_TTL = 15.0  # real seconds a callback query can be answered
DELETE_WINDOW = 48 * 3600  # sandbox seconds a message can be deleted
LONG_POLL_MAX = 50
BOT_NAME = "МЦУ Шиханы"
DEFAULT_UPDATES = {
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost",
}
ALL_UPDATES = DEFAULT_UPDATES | {"chat_member", "message_reaction", "message_reaction_count"}
# Parameters always passed as plain strings (never JSON-decoded from a form field).
STRING_PARAMS = {
    "text", "caption", "parse_mode", "question", "question_parse_mode", "explanation",
    "explanation_parse_mode", "callback_query_id", "url", "name", "title", "description",
    "language_code", "photo", "document", "video", "audio", "animation", "voice", "sticker",
    "thumbnail", "file_id", "inline_message_id", "business_connection_id", "message_effect_id",
    "icon_custom_emoji_id", "custom_title", "action", "emoji", "secret_token", "ip_address",
}
TOPIC_COLORS = [7322096, 16766590, 13338331, 9367192, 16749490, 16478047]
_CONFLICT = ("Conflict: terminated by other getUpdates request; "
             "make sure that only one bot instance is running")


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status = error_code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _legacy_forward(origin: Json) -> Json:
    """The pre-7.0 ``forward_*`` fields the server still writes beside ``forward_origin``
    (telegram-bot-api Client.cpp, JsonMessage::store)."""
    fields: Json = {}
    if origin["type"] == "user":
        fields["forward_from"] = origin["sender_user"]
    elif origin["type"] == "chat":
        fields["forward_from_chat"] = origin["sender_chat"]
        if origin.get("author_signature"):
            fields["forward_signature"] = origin["author_signature"]
    elif origin["type"] == "hidden_user":
        if origin.get("sender_user_name"):
            fields["forward_sender_name"] = origin["sender_user_name"]
    elif origin["type"] == "channel":
        fields["forward_from_chat"] = origin["chat"]
        fields["forward_from_message_id"] = origin["message_id"]
        if origin.get("author_signature"):
            fields["forward_signature"] = origin["author_signature"]
    fields["forward_date"] = origin["date"]
    return fields


NGINX_PAGES = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}
# faults whose call is carried out before the (unreadable) answer
AFTER_CALL_FAULTS = {"html504", "garbage"}


class HtmlError(Exception):
    """What api.telegram.org's nginx answers when the Bot API server behind it is down
    (502) or slow (504): an HTML page, not JSON."""

    def __init__(self, status: int):
        super().__init__(NGINX_PAGES.get(status, f"{status} Error"))
        self.status = status

    def response(self) -> web.Response:
        title = NGINX_PAGES.get(self.status, f"{self.status} Error")
        page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n")
        return web.Response(status=self.status, text=page, content_type="text/html")


def _maybe_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def flood(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class ControlError(Exception):
    """A mistake in a control-API request (the test's, not the bot's)."""


# --------------------------------------------------------------------------- the world

STAFF_NAMES = {tid: name for tid, name, _, _ in world.STAFF}
# Placeholder senders the Bot API puts in ``from`` of messages sent on behalf of a chat
# (telegram-bot-api Client.cpp, create_message: group_anonymous_bot_user_id_,
# channel_bot_user_id_, service_notifications_user_id_; the ids are TDLib's options).
GROUP_ANONYMOUS_BOT: Json = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                             "username": "GroupAnonymousBot"}
CHANNEL_BOT: Json = {"id": 136817688, "is_bot": True, "first_name": "Channel",
                     "username": "Channel_Bot"}
SERVICE_USER: Json = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
# 403 texts of a private chat the bot cannot write to (telegram-bot-api Client.cpp,
# fail_query_with_error: USER_IS_BLOCKED, INPUT_USER_DEACTIVATED; check_chat_access)
# getFile: "bots can download files of up to 20 MB in size" (core.telegram.org/bots/api
# #getfile); a bigger one is refused "Bad Request: file is too big" (telegram-bot-api)
FILE_DOWNLOAD_MAX = 20 * 1024 * 1024
BLOCKED = "Forbidden: bot was blocked by the user"
DEACTIVATED = "Forbidden: user is deactivated"
NOT_STARTED = "Forbidden: bot can't initiate conversation with a user"
BOT_USER: Json = {"id": world.BOT_ID, "is_bot": True, "first_name": BOT_NAME,
                  "username": world.BOT_USERNAME}
WORLD_CHATS: dict[int, Json] = {
    world.STAFF_GROUP: {"id": world.STAFF_GROUP, "title": "МЦУ — штаб", "type": "supergroup",
                        "is_forum": True},
    world.CITY_CHAT: {"id": world.CITY_CHAT, "title": f"{world.MUNICIPALITY} — городской чат",
                      "type": "supergroup"},
    world.CHANNEL: {"id": world.CHANNEL, "title": "Администрация — новости", "type": "channel"},
    world.DISCUSSION: {"id": world.DISCUSSION, "title": "Администрация — обсуждение",
                       "type": "supergroup"},
}
# channel ↔ discussion group (ChatFullInfo.linked_chat_id, both ways)
LINKED = {world.CHANNEL: world.DISCUSSION, world.DISCUSSION: world.CHANNEL}


def person(user_id: int) -> Json | None:
    """The Telegram user object of a staff member or citizen of the world, None if unknown."""
    if user_id in STAFF_NAMES:
        name = STAFF_NAMES[user_id]
    elif user_id in world.CITIZENS_TG:
        name = f"Житель {user_id}"
    else:
        return None
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "ru"}


def _admin_rights(chat_id: int, **extra: bool) -> Json:
    """An administrator's rights as the server lists them for this kind of chat
    (telegram-bot-api Client.cpp, json_store_administrator_rights)."""
    channel = WORLD_CHATS.get(chat_id, {}).get("type") == "channel"
    names = ["can_manage_chat", "can_change_info", "can_delete_messages", "can_invite_users",
             "can_restrict_members", "can_manage_video_chats", "can_post_stories",
             "can_edit_stories", "can_delete_stories"]
    names += (["can_post_messages", "can_edit_messages", "can_manage_direct_messages"]
              if channel else ["can_pin_messages", "can_manage_topics", "can_manage_tags"])
    rights: Json = dict.fromkeys(names, True)
    # can_send_welcome_messages: Bot API 10.3 (aiogram 3.31's model requires it), newer
    # than the telegram-bot-api source read here (10.0)
    rights.update(can_be_edited=False, is_anonymous=False, can_promote_members=False,
                  can_send_welcome_messages=False)
    rights.update(extra)
    rights["can_manage_voice_chats"] = rights["can_manage_video_chats"]  # the legacy name
    return rights


def member_status(chat_id: int, user_id: int) -> Json:
    """A ChatMember object: who is what in the world's chats."""
    user = BOT_USER if user_id == world.BOT_ID else person(user_id)
    if user is None:
        raise bad("user not found")
    if chat_id > 0:
        return {"status": "member", "user": user}
    if user_id == world.BOT_ID:
        if chat_id in (world.CITY_CHAT, world.DISCUSSION):
            return {"status": "member", "user": user}
        return {"status": "administrator", "user": user, **_admin_rights(chat_id)}
    if user_id == 1003 and chat_id in (world.STAFF_GROUP, world.CHANNEL, world.DISCUSSION):
        return {"status": "creator", "user": user, "is_anonymous": False}
    if user_id == world.CITY_CHAT_OWNER and chat_id == world.CITY_CHAT:
        return {"status": "creator", "user": user, "is_anonymous": True}
    if chat_id == world.STAFF_GROUP and user_id not in STAFF_NAMES:
        return {"status": "left", "user": user}
    if chat_id in (world.CHANNEL, world.DISCUSSION) and user_id == 1007:
        return {"status": "administrator", "user": user, **_admin_rights(chat_id)}
    return {"status": "member", "user": user}


# ------------------------------------------------------------------------------ media


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (70, 130, 180)) -> bytes:
    """A solid-colour PNG, so that photos 'sent by people' are real images."""
    row = b"\x00" + bytes(rgb) * width
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(extension, width, height) of a PNG/JPEG/GIF/WEBP/BMP image; None if it is not one."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "gif", w, h
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return "bmp", abs(w), abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", 512, 512
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpg", w, h
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        return "jpg", 512, 512
    return None


# ------------------------------------------------------------------------- flood control


class RateLimiter:
    """Telegram's flood limits on the real monotonic clock.

    Per chat, new messages and edits share one budget. The Bots FAQ gives about one
    message a second in a chat and 20 a minute in a group; tdlib/td#2592 (levlam, a TDLib
    maintainer): "for bots the limits for message editing are the same as for message
    sending … about 20 times per minute in a specific chat. They share the limit. Creating
    a forum topic is sending a message about its creation." So every counted call pays a
    token bucket of ``burst`` refilled at ``per_chat_rate``/s, and ``group_per_minute`` in
    any 60 s: in a group or channel for every counted call (an album pays one per
    message), in a private chat for edits (the stricter reading of "in a specific chat").
    Overall ``global_per_second`` calls a second (Bots FAQ: 30 messages a second).

    Flood waits grow. Real ones for edit floods reach minutes (tdlib/td#1062 shows
    "retry after 561"); the server's formula is not public, so the sandbox is strict: a
    chat refused again within ``memory`` seconds of its last refusal gets twice the
    previous ``retry_after`` (at least the natural wait), up to ``cap``; a counted call
    made during a flood wait is refused and counts as a repeat.

    ``scale`` shrinks every window by the same factor (benchmarks drain 1,000 cards
    against "20 a minute" in a minute rather than fifty).
    """

    def __init__(self, burst: int = 3, per_chat_rate: float = 1.0, group_per_minute: int = 20,
                 global_per_second: int = 30, scale: float = 1.0, memory: float = 600.0,
                 cap: float = 1800.0):
        self.burst = burst
        self.rate = per_chat_rate / scale
        self.group_per_minute = group_per_minute
        self.global_per_second = global_per_second
        self.minute = 60.0 * scale
        self.second = 1.0 * scale
        self.memory = memory * scale
        self.cap = max(1.0, cap * scale)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._minutes: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()
        # chat -> (flood wait ends, its retry_after, when it was given)
        self._floods: dict[int, tuple[float, float, float]] = {}

    def _minute_counts(self, chat_id: int, kind: str) -> bool:
        return chat_id < 0 or kind == "edit"

    def check(self, chat_id: int | None, kind: str, weight: int = 1) -> int | None:
        """Seconds to wait if the call would be over a limit, else None.

        ``kind`` is "send" (a new message), "edit" or anything else (only the overall
        limit). A refused call costs nothing in the windows, but it is a flood strike.
        """
        now = time.monotonic()
        while self._global and self._global[0] <= now - self.second:
            self._global.popleft()
        overall = 1 if len(self._global) >= self.global_per_second else None
        if kind not in ("send", "edit") or chat_id is None:
            return overall
        natural = 0.0
        tokens, last = self._buckets.get(chat_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            natural = (1.0 - tokens) / self.rate
        if self._minute_counts(chat_id, kind):
            window = self._minutes.setdefault(chat_id, deque())  # pruned in place
            while window and window[0] <= now - self.minute:
                window.popleft()
            if len(window) + weight > self.group_per_minute:
                index = min(len(window) - 1, len(window) + weight - self.group_per_minute - 1)
                natural = max(natural, window[index] + self.minute - now if window else 0.0)
        until, previous, at = self._floods.get(chat_id, (0.0, 0.0, -math.inf))
        if now < until:
            natural = max(natural, until - now)
        if natural <= 0:
            return overall
        retry = natural
        if now - at < self.memory:  # a repeat: the wait doubles
            retry = min(self.cap, max(natural, 2 * previous))
        retry = max(1, math.ceil(retry))
        self._floods[chat_id] = (now + retry, retry, now)
        return max(retry, overall or 0)

    def commit(self, chat_id: int | None, kind: str, weight: int = 1) -> None:
        """Count a call that went through."""
        now = time.monotonic()
        self._global.append(now)
        if kind not in ("send", "edit") or chat_id is None:
            return
        tokens, last = self._buckets.get(chat_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        self._buckets[chat_id] = (tokens - 1.0, now)
        if self._minute_counts(chat_id, kind):
            self._minutes.setdefault(chat_id, deque()).extend([now] * weight)


# ------------------------------------------------------------------------------ sandbox

Handler = Callable[[Json, Files], Awaitable[Any]]


class TelegramSandbox:
    """The Bot API emulation and its control endpoints over one :class:`SandboxState`."""

    # Calls that put a message into a chat. A forum topic's creation (and its edit, close
    # or reopen) is a service message (tdlib/td#2592); so is a pin in a group.
    NEW_MESSAGE_METHODS: ClassVar[set[str]] = {
        "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendPoll",
        "forwardMessage", "copyMessage", "createForumTopic", "editForumTopic",
        "closeForumTopic", "reopenForumTopic", "pinChatMessage",
    }
    # Edits share the per-chat budget with sends (tdlib/td#2592).
    EDIT_METHODS: ClassVar[set[str]] = {
        "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia",
        "editMessageLiveLocation", "stopMessageLiveLocation", "stopPoll",
    }
    # called with (method, body) for every Bot API answer: the test suite parses each one
    # with a second client (python-telegram-bot) to catch shapes aiogram would forgive
    observers: ClassVar[list[Callable[[str, Json], None]]] = []

    def __init__(self, state: SandboxState, rate_limits: bool = True, timeout_hang: float = 75.0):
        self.state = state
        self.rate_limits = rate_limits
        self.timeout_hang = timeout_hang
        self.limiter = RateLimiter()
        self._methods: dict[str, tuple[str, Handler]] = {
            name[3:].lower(): (name[3:], getattr(self, name))
            for name in dir(self) if name.startswith("_m_")
        }
        self._poll_token: object | None = None
        self._changed: asyncio.Future[None] | None = None
        self.reset()

    # ----------------------------------------------------------------- state & persistence

    def reset(self) -> None:
        """The world as it starts: the chats, the staff forum's topics, nothing sent yet."""
        now = int(self.state.clock.timestamp())
        self.chats: dict[int, Json] = {cid: dict(chat) for cid, chat in WORLD_CHATS.items()}
        self.messages: dict[int, dict[int, Json]] = {}
        self.next_id: dict[int, int] = {}
        self.topics: dict[int, dict[int, Json]] = {world.STAFF_GROUP: {}}
        for name, _, thread_id, _ in world.BLOCKS:
            self.topics[world.STAFF_GROUP][thread_id] = {
                "message_thread_id": thread_id, "name": name,
                "icon_color": TOPIC_COLORS[thread_id % len(TOPIC_COLORS)],
                "date": now, "created_by": 1003,
            }
        self.next_id[world.STAFF_GROUP] = max(self.topics[world.STAFF_GROUP]) + 1
        self.updates: list[Json] = []
        self.next_update_id = 100001
        self.allowed_updates: list[str] | None = None
        self.webhook_url = ""
        self.callbacks: dict[str, Json] = {}
        self.callback_answers: list[Json] = []
        self.next_callback = 1
        self.files: dict[str, Json] = {}
        self.next_file = 1
        self.commands: dict[str, list[Json]] = {}
        self.started: set[int] = set(STAFF_NAMES)
        self.blocked: dict[int, str] = {}  # user → BLOCKED or DEACTIVATED
        self.bot_status: dict[int, str] = {}  # chat → "left" | "kicked" (else the world's)
        self.next_media_group = 1
        self.next_poll = 1

    def to_json(self) -> Json:
        """Everything needed to restart the sandbox where it stopped (for ``--state PATH``)."""
        files = {fid: {**rec, "data": base64.b64encode(rec["data"]).decode()}
                 for fid, rec in self.files.items()}
        return {
            "chats": {str(k): v for k, v in self.chats.items()},
            "messages": {str(c): {str(m): r for m, r in msgs.items()}
                         for c, msgs in self.messages.items()},
            "next_id": {str(k): v for k, v in self.next_id.items()},
            "topics": {str(c): {str(t): v for t, v in ts.items()} for c, ts in self.topics.items()},
            "updates": self.updates, "next_update_id": self.next_update_id,
            "allowed_updates": self.allowed_updates, "webhook_url": self.webhook_url,
            "callbacks": self.callbacks, "callback_answers": self.callback_answers,
            "next_callback": self.next_callback, "files": files, "next_file": self.next_file,
            "commands": self.commands, "started": sorted(self.started),
            "blocked": {str(k): v for k, v in self.blocked.items()},
            "bot_status": {str(k): v for k, v in self.bot_status.items()},
            "next_media_group": self.next_media_group, "next_poll": self.next_poll,
        }

    def dump(self) -> Json:
        """Alias of :meth:`to_json` (the server's persistence calls this name)."""
        return self.to_json()

    def load(self, data: Json) -> None:
        """Alias of :meth:`from_json`."""
        self.from_json(data)

    def from_json(self, data: Json) -> None:
        """Restore what :meth:`to_json` produced (in place)."""
        self.reset()
        self.chats = {int(k): v for k, v in data["chats"].items()}
        self.messages = {int(c): {int(m): r for m, r in msgs.items()}
                         for c, msgs in data["messages"].items()}
        self.next_id = {int(k): v for k, v in data["next_id"].items()}
        self.topics = {int(c): {int(t): v for t, v in ts.items()}
                       for c, ts in data["topics"].items()}
        self.updates = data["updates"]
        self.next_update_id = data["next_update_id"]
        self.allowed_updates = data["allowed_updates"]
        self.webhook_url = data["webhook_url"]
        self.callbacks = data["callbacks"]
        self.callback_answers = data["callback_answers"]
        self.next_callback = data["next_callback"]
        self.files = {fid: {**rec, "data": base64.b64decode(rec["data"])}
                      for fid, rec in data["files"].items()}
        self.next_file = data["next_file"]
        self.commands = data["commands"]
        self.started = set(data["started"])
        self.blocked = {int(k): v for k, v in data.get("blocked", {}).items()}
        self.bot_status = {int(k): v for k, v in data.get("bot_status", {}).items()}
        self.next_media_group = data["next_media_group"]
        self.next_poll = data["next_poll"]

    # ---------------------------------------------------------------------- HTTP plumbing

    def register(self, app: web.Application) -> None:
        """Add the Bot API (``/tg/...``) and control (``/control/tg/...``) routes."""
        app.router.add_route("*", "/tg/bot{token}/{method}", self._api)
        app.router.add_get("/tg/file/bot{token}/{path:.+}", self._file)
        for path, handler in {
            "message": self._c_message, "edit": self._c_edit, "channel_post": self._c_channel_post,
            "callback": self._c_callback, "reset": self._c_reset, "comment": self._c_comment,
            "block": self._c_block, "membership": self._c_membership,
            "delete": self._c_delete,
        }.items():
            app.router.add_post(f"/control/tg/{path}", self._control(handler))
        for path, handler in {
            "sent": self._c_sent, "callback_answers": self._c_callback_answers,
            "topics": self._c_topics, "updates": self._c_updates, "messages": self._c_messages,
        }.items():
            app.router.add_get(f"/control/tg/{path}", self._control(handler))

    @staticmethod
    def _reply(body: Json, status: int = 200) -> web.Response:
        return web.json_response(body, status=status,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _api(self, request: web.Request) -> web.Response:
        token, raw_method = request.match_info["token"], request.match_info["method"]
        entry = self._methods.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        params: Json = {}
        status = 200
        try:
            params, files = await self._read_params(request)
            if token != world.BOT_TOKEN:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                raise ApiError(404, "Not Found")
            chat_id = _maybe_int(params.get("chat_id"))
            fault = self._take_fault(method, chat_id)
            half_album = fault is not None and fault.kind == "album_partial" and (
                method == "sendMediaGroup")
            if fault is not None and fault.kind not in AFTER_CALL_FAULTS and not half_album:
                await self._apply_fault(fault.kind, fault.retry_after, fault.code)
            kind = ("send" if method in self.NEW_MESSAGE_METHODS
                    else "edit" if method in self.EDIT_METHODS else "call")
            weight = len(params["media"]) if method == "sendMediaGroup" and isinstance(
                params.get("media"), list) and params["media"] else 1
            if self.rate_limits and (wait := self.limiter.check(chat_id, kind, weight)):
                raise flood(wait)
            if half_album:
                await self._half_album(params, files, fault.sent, fault.code)
            result = await entry[1](params, files)
            if self.rate_limits:
                self.limiter.commit(chat_id, kind, weight)
            if fault is not None and fault.kind in AFTER_CALL_FAULTS:
                status = 200 if fault.kind == "garbage" else int(fault.kind[4:])
                return self._unreadable(fault.kind, result, status)
            return self._answer(method, {"ok": True, "result": result})
        except ApiError as err:
            status = err.code
            return self._answer(method, err.body(), err.code)
        except HtmlError as err:
            status = err.status
            return err.response()
        except Exception:
            status = 500
            log.exception("sandbox: %s failed", method)
            return self._answer(method, ApiError(500, "Internal Server Error").body(), 500)
        finally:
            self.state.record("tg", method, self._loggable(params), status)

    def _answer(self, method: str, body: Json, status: int = 200) -> web.Response:
        response = self._reply(body, status)
        for observe in self.observers:
            observe(method, json.loads(response.body))  # type: ignore[arg-type]
        return response

    def _take_fault(self, method: str, chat_id: int | None) -> Any:
        """The next injected fault; getUpdates only takes faults that name it, so the bot's
        background polling does not swallow a fault meant for its next send."""
        if method == "getUpdates" and not any(
            f.method == "getUpdates" and f.matches("tg", method, chat_id) for f in self.state.faults
        ):
            return None
        return self.state.take_fault("tg", method, chat_id)

    async def _apply_fault(self, kind: str, retry_after: int, code: int | None) -> None:
        if kind == "429":
            raise flood(retry_after)
        if kind == "500":
            raise ApiError(500, "Internal Server Error")
        if kind == "timeout":
            await asyncio.sleep(self.timeout_hang)
            raise ApiError(502, "Bad Gateway")
        if kind == "html502":  # the Bot API server behind nginx is down: nothing was done
            raise HtmlError(502)
        number = code or (int(kind) if kind.isdigit() else 500)
        raise ApiError(number, f"Error {number}")

    def _unreadable(self, kind: str, result: Any, status: int) -> web.Response:
        """The answer of a call that was carried out, as the bot cannot read it: nginx's
        504 page (the server finished after nginx gave up waiting), or a 200 whose body
        is cut short (aiogram raises ``ClientDecodeError``, not a ``TelegramAPIError``)."""
        if kind == "garbage":
            body = json.dumps({"ok": True, "result": result}, ensure_ascii=False)
            return web.Response(status=200, text=body[: max(1, len(body) // 2)],
                                content_type="application/json")
        return HtmlError(status).response()

    async def _half_album(self, p: Json, files: Files, sent: int | None, code: int | None
                          ) -> None:
        """sendMediaGroup that fails after some of its messages went: they stay in the
        chat (the Bot API server sends an album's messages one by one and answers with the
        first failure), the rest never go."""
        chat, thread, reply_to, contents = self._album(p, files)
        cut = max(1, min(len(contents) - 1, sent if sent is not None else len(contents) // 2))
        group_id = str(13000000000000000 + self.next_media_group)
        self.next_media_group += 1
        for content in contents[:cut]:
            self._new_message(chat, BOT_USER, {"media_group_id": group_id, **content},
                              thread=thread, reply_to=reply_to, kind="media_group")
        if self.rate_limits:
            self.limiter.commit(chat["id"], "send", cut)
        number = code or 500
        raise ApiError(number, "Internal Server Error" if number == 500 else f"Error {number}")

    @staticmethod
    def _loggable(params: Json) -> Json:
        out = {}
        for key, value in params.items():
            if isinstance(value, bytes):
                value = f"<{len(value)} bytes>"
            out[key] = value
        return out

    @staticmethod
    def _coerce(key: str, value: str) -> Any:
        """Form fields are strings; Telegram reads non-text fields as JSON (numbers, objects)."""
        if key in STRING_PARAMS:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    async def _read_params(self, request: web.Request) -> tuple[Json, Files]:
        raw: dict[str, str] = dict(request.query)
        params: Json = {}
        files: Files = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as err:
                    raise bad("can't parse JSON encoded request body") from err
                if isinstance(body, dict):
                    params.update(body)
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader) or not part.name:
                        continue
                    if part.filename is not None:
                        content_type = part.headers.get("Content-Type", "application/octet-stream")
                        files[part.name] = (part.filename, bytes(await part.read()), content_type)
                    else:
                        raw[part.name] = await part.text()
            else:
                raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key, value in raw.items():
            params.setdefault(key, self._coerce(key, value))
        return params, files

    # -------------------------------------------------------------------- chats & messages

    def _now(self) -> int:
        return int(self.state.clock.timestamp())

    def _resolve_chat_id(self, value: Any, name: str = "chat_id") -> int:
        if value is None or value == "":
            raise bad(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return int(chat["id"])
            raise bad("chat not found")
        try:
            return int(value)
        except (TypeError, ValueError) as err:
            raise bad("chat not found") from err

    def _chat(self, chat_id: int, writing: bool = False, editing: bool = False) -> Json:
        """The chat object, if the bot may use it as asked (telegram-bot-api Client.cpp,
        check_chat_access): a private chat's user must be known, have started the bot and
        not blocked it (sends), and still exist (sends and edits); a group's or channel's
        must have the bot in it (these chats have no public username, so even reading
        needs membership)."""
        if chat_id in self.chats:
            chat = self.chats[chat_id]
        else:
            user = person(chat_id) if chat_id > 0 else None
            if user is None:
                raise bad("chat not found")
            chat = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
            self.chats[chat_id] = chat
        if chat["type"] == "private":
            gone = self.blocked.get(chat_id)
            if gone == DEACTIVATED and (writing or editing):
                raise ApiError(403, DEACTIVATED)
            if writing and chat_id not in self.started:
                raise ApiError(403, NOT_STARTED)
            if writing and gone == BLOCKED:
                raise ApiError(403, BLOCKED)
            return chat
        status = self.bot_status.get(chat_id)
        kind = "channel" if chat["type"] == "channel" else "supergroup"
        if status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _record(self, chat_id: int, message_id: Any) -> Json | None:
        try:
            rec = self.messages.get(chat_id, {}).get(int(message_id))
        except (TypeError, ValueError):
            return None
        return None if rec is None or rec["deleted"] else rec

    def _service(self, chat: Json, message_id: Any) -> bool:
        """Whether an id is one of the chat's service messages (not kept as records): a
        forum's creation (1) and each topic's creation message (its thread id)."""
        number = _maybe_int(message_id)
        topics = self.topics.get(chat["id"], {})
        return number is not None and (number in topics or (
            bool(chat.get("is_forum")) and number == 1))

    def _topic_root(self, chat_id: int, thread_id: int) -> Json:
        topic = self.topics[chat_id][thread_id]
        creator = BOT_USER if topic["created_by"] == world.BOT_ID else person(topic["created_by"])
        return {
            "message_id": thread_id, "from": creator, "chat": self.chats[chat_id],
            "date": topic["date"], "message_thread_id": thread_id, "is_topic_message": True,
            "forum_topic_created": {"name": topic["name"], "icon_color": topic["icon_color"]},
        }

    def _thread(self, chat: Json, thread_id: Any) -> int | None:
        if thread_id in (None, "", 0):
            return None
        if chat["type"] == "private":
            return None
        try:
            thread = int(thread_id)
        except (TypeError, ValueError) as err:
            raise bad("message thread not found") from err
        if chat.get("is_forum") and thread == 1:
            # the General topic is not a thread to send to: telegram-bot-api Client.cpp,
            # check_message_topic, refuses GENERAL_FORUM_TOPIC_ID (1) in a forum
            raise bad("message thread not found")
        if not chat.get("is_forum"):
            # a thread of comments: the automatic forward of a channel post is its root
            root = self._record(chat["id"], thread)
            if root is None or not root["msg"].get("is_automatic_forward"):
                raise bad("message thread not found")
            return thread
        if thread not in self.topics.get(chat["id"], {}):
            raise bad("message thread not found")
        return thread

    def _new_message(
        self, chat: Json, sender: Json | None, content: Json, *, thread: int | None = None,
        reply_to: Json | None = None, kind: str = "text", by_bot: bool = True,
        sender_chat: Json | None = None,
    ) -> Json:
        """Store a new message in ``chat`` and return its Bot API object.

        ``sender_chat``: sent on behalf of that chat; ``sender`` is then the placeholder
        user the Bot API puts in ``from``. A post in a channel with a discussion group is
        forwarded there at once (the bot's own posts too; people's posts are forwarded by
        the caller, after their ``channel_post`` update).
        """
        chat_id = chat["id"]
        if reply_to is not None and thread is None and chat["type"] == "supergroup":
            # a reply stays in the thread of what it answers (a topic, or a post's comments)
            thread = reply_to.get("message_thread_id") or (
                reply_to["message_id"] if reply_to.get("is_automatic_forward") else None)
        message_id = self.next_id.get(chat_id, 1)
        self.next_id[chat_id] = message_id + 1
        msg: Json = {"message_id": message_id}
        if chat["type"] == "channel":
            msg["sender_chat"] = chat
        else:
            if sender is not None:
                msg["from"] = sender
            if sender_chat is not None:
                msg["sender_chat"] = sender_chat
        msg["chat"] = chat
        msg["date"] = self._now()
        if thread is not None:
            msg["message_thread_id"] = thread
            if chat.get("is_forum"):
                msg["is_topic_message"] = True
        if reply_to is not None:
            msg["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        elif thread is not None and chat.get("is_forum"):
            msg["reply_to_message"] = self._topic_root(chat_id, thread)
        elif thread is not None:  # a comment: implicitly a reply to the thread's root
            root = self.messages[chat_id][thread]["msg"]
            msg["reply_to_message"] = {k: v for k, v in root.items() if k != "reply_to_message"}
        msg.update(content)
        self.messages.setdefault(chat_id, {})[message_id] = {
            "msg": msg, "by_bot": by_bot, "kind": kind, "edits": 0, "deleted": False,
            "reply_to": reply_to["message_id"] if reply_to else None,
        }
        if chat["type"] == "channel" and by_bot:
            self._forward_to_discussion(msg, kind)
        return msg

    def _forward_to_discussion(self, post: Json, kind: str) -> Json | None:
        """The automatic forward of a channel post into the channel's discussion group."""
        group = self.chats.get(LINKED.get(post["chat"]["id"], 0))
        if group is None or group["type"] != "supergroup":
            return None
        origin: Json = {"type": "channel", "chat": post["chat"],
                        "message_id": post["message_id"], "date": post["date"]}
        if post.get("author_signature"):
            origin["author_signature"] = post["author_signature"]
        content = {**self._copyable(post), "forward_origin": origin, **_legacy_forward(origin),
                   "is_automatic_forward": True}
        if "media_group_id" in post:  # an album stays an album, with the group's own id
            content["media_group_id"] = "2" + post["media_group_id"][1:]
        msg = self._new_message(group, SERVICE_USER, content, kind=kind, by_bot=False,
                                sender_chat=post["chat"])
        self._push_update("message", msg)
        return msg

    def _reply_target(self, chat: Json, p: Json) -> Json | None:
        """The message a send replies to (reply_parameters or legacy reply_to_message_id)."""
        params = p.get("reply_parameters")
        if isinstance(params, str):
            raise bad("can't parse reply parameters JSON object")
        if params is None and p.get("reply_to_message_id") not in (None, 0, ""):
            params = {"message_id": p["reply_to_message_id"],
                      "allow_sending_without_reply": p.get("allow_sending_without_reply", False)}
        if not params:
            return None
        target_chat = chat["id"]
        if params.get("chat_id") not in (None, ""):
            target_chat = self._resolve_chat_id(params["chat_id"])
        rec = self._record(target_chat, params.get("message_id"))
        if rec is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad("message to be replied not found")
        return rec["msg"]

    def _markup(self, p: Json) -> Json | None:
        """Validate reply_markup; return the inline keyboard a message carries (None otherwise)."""
        markup = p.get("reply_markup")
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of '
                      "Arrays")
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise bad("can't parse inline keyboard button: InlineKeyboardButton must be "
                              "an Object")
                if "text" not in button:
                    raise bad("can't parse inline keyboard button: Field \"text\" must be of "
                              "type String")
                if "callback_data" in button:
                    data = str(button["callback_data"]).encode()
                    if not 1 <= len(data) <= CALLBACK_DATA_LIMIT:
                        raise bad("BUTTON_DATA_INVALID")
                elif "url" in button:
                    if tg_markup.checked_link(str(button["url"])) is None:
                        raise bad("BUTTON_URL_INVALID")
                elif not any(k in button for k in ("switch_inline_query", "web_app", "login_url",
                             "switch_inline_query_current_chat", "copy_text", "pay",
                             "callback_game", "switch_inline_query_chosen_chat")):
                    raise bad("can't parse inline keyboard button: Text buttons are unallowed in "
                              "the inline keyboard")
        return {"inline_keyboard": rows} if rows else None

    def _format(
        self, text: str, p: Json, mode_key: str, entities_key: str
    ) -> tuple[str, list[Json]]:
        if len(text.encode()) > 1 << 15:
            raise bad("text is too long")
        try:
            text, entities = tg_markup.parse(text, p.get(mode_key), p.get(entities_key))
        except tg_markup.EntityParseError as err:
            raise bad(f"can't parse entities: {err}") from err
        except ValueError as err:
            raise bad("unsupported parse_mode") from err
        for entity in entities:
            if entity["type"] == "text_mention":
                entity["user"] = person(entity["user"]["id"]) or entity["user"]
        return text, entities

    def _text(self, p: Json) -> Json:
        text = p.get("text")
        if text is None or text == "":
            raise bad("message text is empty")
        text, entities = self._format(str(text), p, "parse_mode", "entities")
        if not text:
            raise bad("text must be non-empty")
        if tg_markup.utf16_len(text) > TEXT_LIMIT:
            raise bad("message is too long")
        content: Json = {"text": text}
        if entities:
            content["entities"] = entities
        return content

    def _caption(self, caption: Any, p: Json) -> Json:
        if caption in (None, ""):
            return {}
        text, entities = self._format(str(caption), p, "parse_mode", "caption_entities")
        if tg_markup.utf16_len(text) > CAPTION_LIMIT:
            raise bad("message caption is too long")
        content: Json = {"caption": text} if text else {}
        if entities and text:
            content["caption_entities"] = entities
        return content

    def _target(self, p: Json) -> tuple[Json, int | None, Json | None]:
        """Chat, thread and replied message of a send* call."""
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")), writing=True)
        reply_to = self._reply_target(chat, p)
        return chat, self._thread(chat, p.get("message_thread_id")), reply_to

    # --------------------------------------------------------------------------- files

    def _store_file(self, kind: str, data: bytes, **meta: Any) -> Json:
        n = self.next_file
        self.next_file += 1
        prefix = "AgACAgIAAxkBAAI" if kind == "photo" else "BQACAgIAAxkBAAI"
        ext = meta.pop("ext", "bin")
        rec = {
            "file_id": f"{prefix}{n:06d}SandboxFile{n * 7919 % 100000:05d}",
            "file_unique_id": f"AQAD{n:06d}",
            "kind": kind, "data": data, "file_size": len(data),
            "file_path": f"{'photos' if kind == 'photo' else 'documents'}/file_{n}.{ext}",
            **meta,
        }
        self.files[rec["file_id"]] = rec
        return rec

    def _photo_sizes(self, data: bytes) -> list[Json]:
        info = image_info(data)
        if info is None:
            raise bad("IMAGE_PROCESS_FAILED")
        ext, width, height = info
        sizes = []
        group = self.next_file
        biggest = max(width, height, 1)
        for limit in (90, 1280):
            if limit == 90 and biggest <= 90:
                continue
            scale = min(1.0, limit / biggest)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            rec = self._store_file("photo", data, width=w, height=h, ext=ext, group=group)
            sizes.append({"file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
                          "file_size": rec["file_size"], "width": w, "height": h})
        return sizes

    def _input_file(
        self, value: Any, files: Files, field: str, kind: str
    ) -> tuple[str, bytes, str] | Json:
        """An upload (name, bytes, type) or the record of a known file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            name = value[len("attach://"):]
            if name not in files:
                raise bad(f"file {value} not found")
            upload = files[name]
        elif field in files and value in (None, ""):
            upload = files[field]
        elif isinstance(value, str) and value:
            if value.lower().startswith(("http://", "https://")):
                png = make_png(640, 480)
                return (value.rsplit("/", 1)[-1] or "file.png", png, "image/png")
            rec = self.files.get(value)
            if rec is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if rec["kind"] != kind:
                raise bad("type of file mismatch")
            return rec
        else:
            raise bad(f"there is no {kind} in the request")
        if not upload[1]:
            raise bad("file must be non-empty")
        return upload

    def _photo_content(self, value: Any, files: Files, field: str) -> list[Json]:
        source = self._input_file(value, files, field, "photo")
        if isinstance(source, dict):  # a known file_id: reuse its sizes
            same = [r for r in self.files.values() if r.get("group") == source.get("group")]
            return [{"file_id": r["file_id"], "file_unique_id": r["file_unique_id"],
                     "file_size": r["file_size"], "width": r["width"], "height": r["height"]}
                    for r in same]
        return self._photo_sizes(source[1])

    def _document_content(self, value: Any, files: Files, field: str) -> Json:
        source = self._input_file(value, files, field, "document")
        if isinstance(source, dict):
            rec = source
        else:
            name, data, ctype = source
            mime = ctype if ctype and ctype != "application/octet-stream" else (
                mimetypes.guess_type(name)[0] or "application/octet-stream")
            ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
            rec = self._store_file("document", data, file_name=name, mime_type=mime, ext=ext)
        return {"file_name": rec.get("file_name", "file"), "mime_type": rec.get("mime_type"),
                "file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
                "file_size": rec["file_size"]}

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != world.BOT_TOKEN:
            return self._reply(ApiError(401, "Unauthorized").body(), 401)
        path = request.match_info["path"]
        for rec in self.files.values():
            if rec["file_path"] == path:
                ctype = (rec.get("mime_type") or mimetypes.guess_type(path)[0]
                         or "application/octet-stream")
                return web.Response(body=rec["data"], content_type=ctype)
        return self._reply(ApiError(404, "Not Found").body(), 404)

    # -------------------------------------------------------------------------- updates

    def _notify(self) -> None:
        fut, self._changed = self._changed, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _push_update(self, kind: str, obj: Json) -> int | None:
        """Queue an update for the bot; None if the bot's allowed_updates filter it out."""
        allowed = set(self.allowed_updates) if self.allowed_updates else DEFAULT_UPDATES
        if kind not in allowed:
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: obj})
        self._notify()
        return update_id

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def _m_getUpdates(self, p: Json, files: Files) -> list[Json]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = min(max(int(p.get("timeout") or 0), 0), LONG_POLL_MAX)
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            names = [str(a).lower() for a in allowed if str(a).lower() in ALL_UPDATES]
            self.allowed_updates = names or None
        self._confirm(offset)
        if self.updates or timeout == 0:
            return self.updates[:limit]
        token = object()
        self._poll_token = token
        self._notify()  # an older long poll wakes up and finds itself terminated
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while not self.updates:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                if self._changed is None:
                    self._changed = asyncio.get_running_loop().create_future()
                try:
                    await asyncio.wait_for(asyncio.shield(self._changed), remaining)
                except TimeoutError:
                    break
                if self._poll_token is not token:
                    raise ApiError(409, _CONFLICT)
        finally:
            if self._poll_token is token:
                self._poll_token = None
        return self.updates[:limit]

    async def _m_deleteWebhook(self, p: Json, files: Files) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self.updates = []
        return True

    async def _m_setWebhook(self, p: Json, files: Files) -> bool:
        self.webhook_url = str(p.get("url") or "")
        if p.get("drop_pending_updates"):
            self.updates = []
        return True

    async def _m_getWebhookInfo(self, p: Json, files: Files) -> Json:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    # ------------------------------------------------------------------- basic methods

    async def _m_getMe(self, p: Json, files: Files) -> Json:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": True,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    async def _m_logOut(self, p: Json, files: Files) -> bool:
        return True

    async def _m_close(self, p: Json, files: Files) -> bool:
        return True

    async def _m_getChat(self, p: Json, files: Files) -> Json:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        info = {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": dict.fromkeys(
                    ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                     "gifts_from_channels"), False)}
        if chat["id"] in LINKED:
            info["linked_chat_id"] = LINKED[chat["id"]]
        if chat["type"] == "supergroup":
            info["permissions"] = dict.fromkeys(
                ("can_send_messages", "can_send_photos", "can_send_documents", "can_send_polls",
                 "can_send_other_messages", "can_add_web_page_previews"), True)
        return info

    async def _m_getChatMember(self, p: Json, files: Files) -> Json:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        try:
            user_id = int(p.get("user_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError) as err:
            raise bad("user not found") from err
        return member_status(chat["id"], user_id)

    async def _m_getChatAdministrators(self, p: Json, files: Files) -> list[Json]:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        if chat["type"] == "private":
            raise bad("there are no administrators in the private chat")
        people = [world.BOT_ID, *STAFF_NAMES, *world.CITIZENS_TG]
        found = [member_status(chat["id"], uid) for uid in people]
        return [m for m in found if m["status"] in ("creator", "administrator")]

    async def _m_getChatMemberCount(self, p: Json, files: Files) -> int:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        if chat["type"] == "private":
            return 2
        people = [world.BOT_ID, *STAFF_NAMES, *world.CITIZENS_TG]
        return sum(member_status(chat["id"], uid)["status"] != "left" for uid in people)

    async def _m_setMyCommands(self, p: Json, files: Files) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not name or len(name) > 32 or not all(c.isascii() and (c.isalnum() or c == "_")
                                                     for c in name.lower()):
                raise bad("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(p)] = commands
        return True

    async def _m_getMyCommands(self, p: Json, files: Files) -> list[Json]:
        return self.commands.get(self._commands_key(p), [])

    async def _m_deleteMyCommands(self, p: Json, files: Files) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    @staticmethod
    def _commands_key(p: Json) -> str:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + str(p.get("language_code") or "")

    async def _m_sendChatAction(self, p: Json, files: Files) -> bool:
        self._chat(self._resolve_chat_id(p.get("chat_id")), writing=True)
        return True

    async def _m_pinChatMessage(self, p: Json, files: Files) -> bool:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        if self._record(chat["id"], p.get("message_id")) is None:
            raise bad("message to pin not found")
        return True

    async def _m_unpinChatMessage(self, p: Json, files: Files) -> bool:
        self._chat(self._resolve_chat_id(p.get("chat_id")))
        return True

    async def _m_getFile(self, p: Json, files: Files) -> Json:
        file_id = p.get("file_id")
        if not file_id:
            raise bad("file_id not specified")
        rec = self.files.get(str(file_id))
        if rec is None:
            raise bad("wrong file_id or the file is temporarily unavailable")
        if rec["file_size"] > FILE_DOWNLOAD_MAX:
            raise bad("file is too big")
        return {"file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
                "file_size": rec["file_size"], "file_path": rec["file_path"]}

    # ------------------------------------------------------------------------ sending

    async def _m_sendMessage(self, p: Json, files: Files) -> Json:
        chat, thread, reply_to = self._target(p)
        content = self._text(p)
        markup = self._markup(p)
        if markup:
            content["reply_markup"] = markup
        if isinstance(p.get("link_preview_options"), dict):
            content["link_preview_options"] = p["link_preview_options"]
        return self._new_message(chat, BOT_USER, content, thread=thread, reply_to=reply_to)

    async def _m_sendPhoto(self, p: Json, files: Files) -> Json:
        chat, thread, reply_to = self._target(p)
        content: Json = {"photo": self._photo_content(p.get("photo"), files, "photo")}
        content.update(self._caption(p.get("caption"), p))
        if markup := self._markup(p):
            content["reply_markup"] = markup
        if p.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._new_message(chat, BOT_USER, content, thread=thread, reply_to=reply_to,
                                 kind="photo")

    async def _m_sendDocument(self, p: Json, files: Files) -> Json:
        chat, thread, reply_to = self._target(p)
        content: Json = {"document": self._document_content(p.get("document"), files, "document")}
        content.update(self._caption(p.get("caption"), p))
        if markup := self._markup(p):
            content["reply_markup"] = markup
        return self._new_message(chat, BOT_USER, content, thread=thread, reply_to=reply_to,
                                 kind="document")

    async def _m_sendMediaGroup(self, p: Json, files: Files) -> list[Json]:
        chat, thread, reply_to, contents = self._album(p, files)
        group_id = str(13000000000000000 + self.next_media_group)
        self.next_media_group += 1
        return [self._new_message(chat, BOT_USER, {"media_group_id": group_id, **content},
                                  thread=thread, reply_to=reply_to, kind="media_group")
                for content in contents]

    def _album(self, p: Json, files: Files) -> tuple[Json, int | None, Json | None, list[Json]]:
        """A sendMediaGroup call checked: its chat, thread, replied message and contents."""
        chat, thread, reply_to = self._target(p)
        media = p.get("media")
        if media in (None, ""):
            raise bad('parameter "media" is required')
        if not isinstance(media, list):
            raise bad("expected an Array of InputMedia")
        if not media:
            raise bad("there are no messages to send")
        if len(media) > 10:
            raise bad("too many messages to send as an album")
        if len(media) < 2:  # the documented minimum; this wording is the sandbox's own
            raise bad("too few messages to send as an album")
        contents = []
        kinds = set()
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document",
                                                                       "video", "audio"):
                raise bad("can't parse InputMedia: unsupported media type")
            kinds.add("document" if item["type"] == "document" else "visual")
            if item["type"] == "document":
                content: Json = {"document": self._document_content(item.get("media"), files, "")}
            else:
                content = {"photo": self._photo_content(item.get("media"), files, "")}
            content.update(self._caption(item.get("caption"), {
                "parse_mode": item.get("parse_mode"),
                "caption_entities": item.get("caption_entities")}))
            contents.append(content)
        if len(kinds) > 1:
            raise bad("can't use the media of the specified type in the album")
        return chat, thread, reply_to, contents

    async def _m_sendPoll(self, p: Json, files: Files) -> Json:
        chat, thread, reply_to = self._target(p)
        question, question_entities = self._format(
            str(p.get("question") or ""), p, "question_parse_mode", "question_entities")
        if not question:
            raise bad("poll question must be non-empty")
        if len(question) > 300:
            raise bad("poll question length must not exceed 300")
        options = p.get("options")
        if not isinstance(options, list):
            raise bad("can't parse options JSON object")
        if not options:
            raise bad("poll must have at least one answer option")
        if len(options) > 12:
            raise bad("poll can't have more than 12 options")
        texts = [str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in options]
        if any(len(t) > 100 for t in texts):
            raise bad("poll options length must not exceed 100")
        if any(not t.strip() for t in texts):
            raise bad("poll options must be non-empty")
        poll_type = p.get("type") or "regular"
        if poll_type not in ("regular", "quiz"):
            raise bad("unsupported poll type specified")
        poll_id = str(5000000000000000000 + self.next_poll)
        self.next_poll += 1
        poll: Json = {
            "id": poll_id, "question": question,
            "options": [{"persistent_id": str(i), "text": t, "voter_count": 0}
                        for i, t in enumerate(texts)],
            "total_voter_count": 0, "is_closed": bool(p.get("is_closed", False)),
            "is_anonymous": p.get("is_anonymous", True) is not False,
            "type": poll_type, "allows_multiple_answers": bool(p.get("allows_multiple_answers")),
            "allows_revoting": bool(p.get("allows_revoting", poll_type == "regular")),
            "members_only": bool(p.get("members_only", False)),
        }
        custom = [e for e in question_entities if e["type"] == "custom_emoji"]
        if custom:  # only custom emoji survive in a poll question
            poll["question_entities"] = custom
        if poll_type == "quiz":
            correct = p.get("correct_option_ids")
            if correct is None and p.get("correct_option_id") is not None:
                correct = [p["correct_option_id"]]
            if not correct:
                raise bad("correct option identifier must be specified for quizzes")
            poll["correct_option_ids"] = correct
        content: Json = {"poll": poll}
        if markup := self._markup(p):
            content["reply_markup"] = markup
        return self._new_message(chat, BOT_USER, content, thread=thread, reply_to=reply_to,
                                 kind="poll")

    async def _m_stopPoll(self, p: Json, files: Files) -> Json:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        rec = self._record(chat["id"], p.get("message_id"))
        if rec is None or "poll" not in rec["msg"]:
            raise bad("message with poll to stop not found")
        if not rec["by_bot"]:
            raise bad("message can't be edited")
        poll = rec["msg"]["poll"]
        if poll["is_closed"]:
            raise bad("poll has already been closed")
        poll["is_closed"] = True
        if "reply_markup" in p:
            self._set_markup(rec, self._markup(p))
        return poll

    async def _m_forwardMessage(self, p: Json, files: Files) -> Json:
        chat, thread, _ = self._target(p)
        source = self._record(self._resolve_chat_id(p.get("from_chat_id"), "from_chat_id"),
                              p.get("message_id"))
        if source is None:
            raise bad("message to forward not found")
        orig = source["msg"]
        if orig["chat"]["type"] == "channel":
            origin: Json = {"type": "channel", "chat": orig["chat"],
                            "message_id": orig["message_id"], "date": orig["date"]}
        else:
            origin = {"type": "user", "sender_user": orig.get("from", BOT_USER),
                      "date": orig["date"]}
        origin = orig.get("forward_origin", origin)
        content = {"forward_origin": origin, **_legacy_forward(origin), **self._copyable(orig)}
        kind = "photo" if source["kind"] == "media_group" else source["kind"]
        return self._new_message(chat, BOT_USER, content, thread=thread, kind=kind)

    async def _m_copyMessage(self, p: Json, files: Files) -> Json:
        chat, thread, reply_to = self._target(p)
        source = self._record(self._resolve_chat_id(p.get("from_chat_id"), "from_chat_id"),
                              p.get("message_id"))
        if source is None:
            raise bad("message to copy not found")
        if "poll" in source["msg"] and source["msg"]["poll"]["type"] == "quiz":
            raise bad("message can't be copied")
        content = self._copyable(source["msg"])
        if "caption" in p and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption(p.get("caption"), p))
        if markup := self._markup(p):
            content["reply_markup"] = markup
        msg = self._new_message(chat, BOT_USER, content, thread=thread, reply_to=reply_to,
                                kind=source["kind"] if source["kind"] != "media_group" else "photo")
        return {"message_id": msg["message_id"]}

    @staticmethod
    def _copyable(msg: Json) -> Json:
        """The content of a message, as a forward or copy carries it."""
        keys = ("text", "entities", "caption", "caption_entities", "photo", "document", "poll")
        return json.loads(json.dumps({k: msg[k] for k in keys if k in msg}))

    # ------------------------------------------------------------------------ editing

    def _editable(self, p: Json) -> Json:
        if p.get("inline_message_id"):
            raise bad("message to edit not found")
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")), editing=True)
        if p.get("message_id") in (None, ""):
            raise bad("message identifier is not specified")
        rec = self._record(chat["id"], p.get("message_id"))
        if rec is None and self._service(chat, p.get("message_id")):
            raise bad("message can't be edited")  # TDLib: service messages are not editable
        if rec is None:
            raise bad("message to edit not found")
        # others' messages can't be edited, except in a channel by an admin with the
        # can_edit_messages right ("can edit messages of other users", Bot API ChatMember)
        if not rec["by_bot"] and not (
                chat["type"] == "channel"
                and member_status(chat["id"], world.BOT_ID).get("can_edit_messages")):
            raise bad("message can't be edited")
        return rec

    @staticmethod
    def _set_markup(rec: Json, markup: Json | None) -> None:
        if markup:
            rec["msg"]["reply_markup"] = markup
        else:
            rec["msg"].pop("reply_markup", None)

    def _apply_edit(self, rec: Json, fields: Json, markup: Json | None) -> Json:
        msg = rec["msg"]
        same = all(msg.get(k) == v for k, v in fields.items()) and msg.get("reply_markup") == markup
        if same:
            raise bad("message is not modified: specified new message content and reply markup "
                      "are exactly the same as a current content and reply markup of the message")
        for key, value in fields.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        self._set_markup(rec, markup)
        msg["edit_date"] = self._now()
        rec["edits"] += 1
        return msg

    async def _m_editMessageText(self, p: Json, files: Files) -> Json:
        rec = self._editable(p)
        if "text" not in rec["msg"]:
            raise bad("there is no text in the message to edit")
        content = self._text(p)
        markup = self._markup(p)
        return self._apply_edit(rec, {"text": content["text"],
                                      "entities": content.get("entities")}, markup)

    async def _m_editMessageCaption(self, p: Json, files: Files) -> Json:
        rec = self._editable(p)
        if "text" in rec["msg"] or "poll" in rec["msg"]:
            raise bad("there is no caption in the message to edit")
        content = self._caption(p.get("caption"), p)
        markup = self._markup(p)
        return self._apply_edit(rec, {"caption": content.get("caption"),
                                      "caption_entities": content.get("caption_entities")}, markup)

    async def _m_editMessageReplyMarkup(self, p: Json, files: Files) -> Json:
        rec = self._editable(p)
        return self._apply_edit(rec, {}, self._markup(p))

    async def _m_deleteMessage(self, p: Json, files: Files) -> bool:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        rec = self._record(chat["id"], p.get("message_id"))
        if rec is None:
            raise bad("message to delete not found")
        if self._now() - rec["msg"]["date"] > DELETE_WINDOW:
            raise bad("message can't be deleted for everyone")
        if not rec["by_bot"] and chat["type"] != "private":
            if member_status(chat["id"], world.BOT_ID)["status"] != "administrator":
                raise bad("message can't be deleted")
        rec["deleted"] = True
        return True

    async def _m_deleteMessages(self, p: Json, files: Files) -> bool:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad("message identifiers are not specified")
        for message_id in ids:
            rec = self._record(chat["id"], message_id)
            if rec is not None and self._now() - rec["msg"]["date"] <= DELETE_WINDOW:
                rec["deleted"] = True
        return True

    # ------------------------------------------------------------------- forum topics

    async def _m_createForumTopic(self, p: Json, files: Files) -> Json:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        if not chat.get("is_forum"):
            raise bad("the chat is not a forum")
        name = str(p.get("name") or "")
        if not name.strip():
            raise bad("topic name must be non-empty")
        if len(name) > 128:
            raise bad("topic name is too long")
        thread_id = self.next_id.get(chat["id"], 1)
        self.next_id[chat["id"]] = thread_id + 1
        color = p.get("icon_color") or TOPIC_COLORS[0]
        if color not in TOPIC_COLORS:
            raise bad("TOPIC_ICON_COLOR_INVALID")
        topic: Json = {"message_thread_id": thread_id, "name": name, "icon_color": color,
                       "date": self._now(), "created_by": world.BOT_ID}
        if p.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = str(p["icon_custom_emoji_id"])
        self.topics.setdefault(chat["id"], {})[thread_id] = topic
        return {k: v for k, v in topic.items() if k not in ("date", "created_by")}

    async def _m_editForumTopic(self, p: Json, files: Files) -> bool:
        chat = self._chat(self._resolve_chat_id(p.get("chat_id")))
        topic = self.topics.get(chat["id"], {}).get(int(p.get("message_thread_id") or 0))
        if topic is None:
            raise bad("message thread not found")
        if p.get("name"):
            topic["name"] = str(p["name"])
        return True

    # ------------------------------------------------------------------------ callbacks

    async def _m_answerCallbackQuery(self, p: Json, files: Files) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        query = self.callbacks.get(query_id)
        if query is None or query["answered"] or time.time() - query["at"] > CALLBACK_TTL:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        self.callback_answers.append({
            "callback_query_id": query_id, "text": text, "show_alert": bool(p.get("show_alert")),
            "url": p.get("url"), "cache_time": p.get("cache_time"),
            "from_id": query["from_id"], "data": query["data"],
        })
        return True

    # ------------------------------------------------------------------- control API

    def _control(self, handler: Callable[[web.Request], Awaitable[Any]]) -> Callable[
            [web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                return self._reply(await handler(request))  # type: ignore[arg-type]
            except ControlError as err:
                return self._reply({"error": str(err)}, 400)
            except ApiError as err:
                return self._reply({"error": err.description}, 400)
            except (ValueError, KeyError, TypeError) as err:
                return self._reply({"error": f"bad request: {err}"}, 400)
        return run

    @staticmethod
    async def _body(request: web.Request) -> Json:
        try:
            body = await request.json()
        except ValueError as err:
            raise ControlError("expected a JSON object") from err
        if not isinstance(body, dict):
            raise ControlError("expected a JSON object")
        return body

    @staticmethod
    def _int(body: Json, key: str, default: Any = ...) -> Any:
        value = body.get(key)
        if value is None:
            if default is ...:
                raise ControlError(f"{key} is required")
            return default
        try:
            return int(value)
        except (TypeError, ValueError) as err:
            raise ControlError(f"{key} must be an integer") from err

    def _people_chat(self, chat_id: int, from_id: int) -> tuple[Json, Json]:
        sender = person(from_id)
        if sender is None:
            raise ControlError(f"unknown user {from_id}: staff are 1001–1007, citizens 2001–2099")
        if chat_id > 0:
            if chat_id != from_id:
                raise ControlError("a private chat is the sender's own: chat_id must equal from_id")
            self.started.add(from_id)
            return self._chat(chat_id), sender
        if chat_id not in self.chats:
            raise ControlError(f"unknown chat {chat_id}")
        if self.chats[chat_id]["type"] == "channel":
            raise ControlError("people do not write in the channel; use /control/tg/channel_post")
        if member_status(chat_id, from_id)["status"] == "left":
            raise ControlError(f"user {from_id} is not a member of chat {chat_id}")
        return self.chats[chat_id], sender

    async def _c_message(self, request: web.Request) -> Json:
        """A person writes: a message in a chat, or to the bot (chat_id == from_id)."""
        return self._person_writes(await self._body(request))

    async def _c_comment(self, request: web.Request) -> Json:
        """A person comments on a channel post: a reply to the post's automatic forward in
        the discussion group (or, with ``reply_to_message_id``, to another comment there)."""
        body = await self._body(request)
        channel = self._int(body, "channel_id", world.CHANNEL)
        group = LINKED.get(channel)
        if group is None or self.chats.get(channel, {}).get("type") != "channel":
            raise ControlError("channel_id: not a channel with a discussion group")
        post = self._int(body, "post_id")
        root = next((rec["msg"] for rec in self.messages.get(group, {}).values()
                     if not rec["deleted"] and rec["msg"].get("is_automatic_forward")
                     and rec["msg"]["forward_origin"]["message_id"] == post), None)
        if root is None:
            raise ControlError(f"post {post} of channel {channel} has no discussion thread")
        reply = body.get("reply_to_message_id")
        if reply is not None:
            rec = self._record(group, reply)
            if rec is None or root["message_id"] not in (
                    rec["msg"].get("message_thread_id"), rec["msg"]["message_id"]):
                raise ControlError("reply_to_message_id: no such comment under this post")
        spec = {k: v for k, v in body.items() if k not in ("channel_id", "post_id")}
        return {**self._person_writes({**spec, "chat_id": group,
                                       "reply_to_message_id": reply or root["message_id"]}),
                "thread_id": root["message_id"]}

    async def _c_delete(self, request: web.Request) -> Json:
        """A member (a group admin) deletes a message in a chat, the bot's too. Telegram
        tells the bot nothing (no update for deletions in Bot API); editing it then
        fails with "message to edit not found" (``_editable``)."""
        body = await self._body(request)
        chat_id, message_id = self._int(body, "chat_id"), self._int(body, "message_id")
        rec = self._record(chat_id, message_id)
        if rec is None:
            raise ControlError(f"no message {message_id} in chat {chat_id}")
        rec["deleted"] = True
        return {"ok": True}

    async def _c_block(self, request: web.Request) -> Json:
        """A person blocks the bot (``blocked``), deletes their account (``deactivated``),
        unblocks it (``active``) or is one who never pressed Start (``not_started``: the
        bot may not write first, 403 "bot can't initiate conversation with a user", until
        they write to it); blocking sends the bot a my_chat_member update."""
        body = await self._body(request)
        user_id = self._int(body, "user_id")
        user = person(user_id)
        if user is None:
            raise ControlError(f"unknown user {user_id}")
        state = str(body.get("state", "blocked"))
        if state == "not_started":
            self.started.discard(user_id)
            return {"ok": True, "update_id": None}
        if state not in ("blocked", "deactivated", "active"):
            raise ControlError("state must be blocked, deactivated, active or not_started")
        before = self.blocked.get(user_id)
        if state == "active":
            self.blocked.pop(user_id, None)
        else:
            self.blocked[user_id] = BLOCKED if state == "blocked" else DEACTIVATED
        update_id = None
        if state != "deactivated" and (before == BLOCKED) != (state == "blocked"):
            chat = self._chat(user_id)
            old, new = ("member", "kicked") if state == "blocked" else ("kicked", "member")
            update_id = self._push_update("my_chat_member", {
                "chat": chat, "from": user, "date": self._now(),
                "old_chat_member": {"status": old, "user": BOT_USER,
                                    **({"until_date": 0} if old == "kicked" else {})},
                "new_chat_member": {"status": new, "user": BOT_USER,
                                    **({"until_date": 0} if new == "kicked" else {})}})
        return {"ok": True, "update_id": update_id}

    async def _c_membership(self, request: web.Request) -> Json:
        """The bot is removed from a group or channel (``left``/``kicked``) or added back."""
        body = await self._body(request)
        chat_id = self._int(body, "chat_id")
        if chat_id not in self.chats or chat_id > 0:
            raise ControlError(f"unknown group or channel {chat_id}")
        status = str(body.get("state", "left"))
        if status not in ("left", "kicked", "member"):
            raise ControlError("state must be left, kicked or member")
        if status == "member":
            self.bot_status.pop(chat_id, None)
        else:
            self.bot_status[chat_id] = status
        return {"ok": True}

    def _person_writes(self, body: Json) -> Json:
        """A person's message (or album) in a chat, as the control API describes it."""
        chat, sender = self._people_chat(self._int(body, "chat_id"), self._int(body, "from_id"))
        text = str(body.get("text") or "")
        reply_to = None
        if body.get("reply_to_message_id") is not None:
            rec = self._record(chat["id"], body["reply_to_message_id"])
            if rec is None:
                raise ControlError("reply_to_message_id: no such message in this chat")
            reply_to = rec["msg"]
        try:
            thread = self._thread(chat, body.get("message_thread_id"))
        except ApiError as err:
            raise ControlError("message_thread_id: no such topic in this chat") from err
        extra: Json = {}
        if isinstance(body.get("forward_from"), dict):
            extra["forward_origin"] = self._origin(body["forward_from"])
            extra.update(_legacy_forward(extra["forward_origin"]))
        sender_chat = self._sender_chat(chat, sender, body)
        if sender_chat is not None:
            sender = GROUP_ANONYMOUS_BOT if sender_chat is chat else CHANNEL_BOT
            if body.get("author_signature"):
                extra["author_signature"] = str(body["author_signature"])
        photos = body.get("photo")
        count = len(photos) if isinstance(photos, list) else (1 if photos else 0)
        if count == 0:
            if not text:
                raise ControlError("text is required (or photo)")
            text, entities = tg_markup.parse(text, None, body.get("entities"))
            content: Json = {"text": text, **({"entities": entities} if entities else {})}
            msg = self._new_message(chat, sender, {**content, **extra}, thread=thread,
                                    reply_to=reply_to, by_bot=False, sender_chat=sender_chat)
            return {"message_id": msg["message_id"],
                    "update_id": self._push_update("message", msg)}
        group_id = None
        if count > 1:
            group_id = str(13000000000000000 + self.next_media_group)
            self.next_media_group += 1
        ids, update_ids = [], []
        for n in range(count):
            item = photos[n] if isinstance(photos, list) else None
            data = base64.b64decode(item) if isinstance(item, str) else make_png(
                320 + 40 * n, 240, (60 + 30 * n % 190, 130, 180))
            content = {"photo": self._photo_sizes(data)}
            if n == 0 and text:
                caption, entities = tg_markup.parse(text, None, body.get("entities"))
                content["caption"] = caption
                if entities:
                    content["caption_entities"] = entities
            if group_id:
                content["media_group_id"] = group_id
            msg = self._new_message(chat, sender, {**content, **extra}, thread=thread,
                                    reply_to=reply_to, by_bot=False, sender_chat=sender_chat,
                                    kind="media_group" if group_id else "photo")
            ids.append(msg["message_id"])
            update_ids.append(self._push_update("message", msg))
        return {"message_id": ids[0], "update_id": update_ids[0], "message_ids": ids,
                "update_ids": update_ids}

    def _sender_chat(self, chat: Json, sender: Json, body: Json) -> Json | None:
        """The chat a person writes on behalf of: the group itself (``anonymous``, its admins
        only) or a channel (``as_channel``: {"id", "title"}); None for themselves."""
        if body.get("anonymous"):
            if chat["type"] == "private":
                raise ControlError("anonymous: only in a group")
            if member_status(chat["id"], sender["id"])["status"] not in ("creator",
                                                                         "administrator"):
                raise ControlError(f"user {sender['id']} is not an admin of chat {chat['id']}")
            return chat
        spec = body.get("as_channel")
        if spec is None:
            return None
        if chat["type"] == "private" or not isinstance(spec, dict):
            raise ControlError("as_channel: {\"id\": -100…, \"title\": …}, only in a group")
        channel_id = self._int(spec, "id")
        if channel_id > -1000000000000:
            raise ControlError("as_channel.id: a channel id is -100…")
        known = self.chats.get(channel_id)
        if known is not None:
            return known
        return {"id": channel_id, "title": str(spec.get("title") or "Канал"), "type": "channel",
                **({"username": str(spec["username"])} if spec.get("username") else {})}

    def _origin(self, spec: Json) -> Json:
        """forward_origin of a message a person forwards to the bot: from a user (``id``),
        a hidden user (``name``), a channel post (``chat_id``, ``message_id``) or a message
        sent on behalf of a group (``sender_chat_id``; ``author_signature`` for an
        anonymous admin)."""
        date = int(spec.get("date") or self._now() - 3600)
        if "sender_chat_id" in spec:
            chat = self.chats.get(int(spec["sender_chat_id"])) or {
                "id": int(spec["sender_chat_id"]), "type": "supergroup",
                "title": spec.get("title", "Группа")}
            origin: Json = {"type": "chat", "sender_chat": chat, "date": date}
            if spec.get("author_signature"):
                origin["author_signature"] = str(spec["author_signature"])
            return origin
        if "chat_id" in spec:
            chat = self.chats.get(int(spec["chat_id"])) or {
                "id": int(spec["chat_id"]), "type": "channel", "title": spec.get("title", "Канал")}
            return {"type": "channel", "chat": chat, "message_id": int(spec.get("message_id", 1)),
                    "date": date}
        if "id" in spec or "user_id" in spec:
            uid = int(spec.get("id", spec.get("user_id")))
            user = person(uid) or {"id": uid, "is_bot": False,
                                   "first_name": spec.get("first_name", "Пользователь")}
            return {"type": "user", "sender_user": user, "date": date}
        return {"type": "hidden_user", "sender_user_name": str(spec.get("name", "Скрытый")),
                "date": date}

    async def _c_edit(self, request: web.Request) -> Json:
        """A person edits their message: an edited_message update."""
        body = await self._body(request)
        chat_id = self._int(body, "chat_id")
        rec = self._record(chat_id, self._int(body, "message_id"))
        if rec is None or rec["by_bot"]:
            raise ControlError("no such message of a person in this chat")
        text, entities = tg_markup.parse(str(body.get("text") or ""), None, body.get("entities"))
        if not text:
            raise ControlError("text is required")
        key = "caption" if "photo" in rec["msg"] else "text"
        rec["msg"][key] = text
        rec["msg"].pop(f"{key}_entities" if key == "caption" else "entities", None)
        if entities:
            rec["msg"]["caption_entities" if key == "caption" else "entities"] = entities
        rec["msg"]["edit_date"] = self._now()
        rec["edits"] += 1
        return {"message_id": rec["msg"]["message_id"],
                "update_id": self._push_update("edited_message", rec["msg"])}

    async def _c_channel_post(self, request: web.Request) -> Json:
        """A post in the channel made by its admins by hand (not through the bot)."""
        body = await self._body(request)
        chat = self.chats.get(self._int(body, "chat_id", world.CHANNEL), {})
        if chat.get("type") != "channel":
            raise ControlError("chat_id must be a channel")
        text, entities = tg_markup.parse(str(body.get("text") or ""), None, body.get("entities"))
        if not text:
            raise ControlError("text is required")
        content: Json = {"text": text, **({"entities": entities} if entities else {})}
        if body.get("author_signature"):
            content["author_signature"] = str(body["author_signature"])
        msg = self._new_message(chat, None, content, by_bot=False)
        update_id = self._push_update("channel_post", msg)
        forward = self._forward_to_discussion(msg, "text")
        return {"message_id": msg["message_id"], "update_id": update_id,
                "discussion_message_id": forward["message_id"] if forward else None}

    async def _c_callback(self, request: web.Request) -> Json:
        """A person presses an inline button under one of the bot's messages."""
        body = await self._body(request)
        chat_id = self._int(body, "chat_id")
        from_id = self._int(body, "from_id")
        rec = self._record(chat_id, self._int(body, "message_id"))
        if rec is None or not rec["by_bot"]:
            raise ControlError("no such message of the bot in this chat")
        data = str(body.get("data") or "")
        buttons = [b for row in rec["msg"].get("reply_markup", {}).get("inline_keyboard", [])
                   for b in row]
        # a modified client can send any data: {"forged": true} plays one
        if not body.get("forged") and not any(b.get("callback_data") == data for b in buttons):
            raise ControlError(f"the message has no button with callback_data {data!r}")
        user = person(from_id)
        if user is None:
            raise ControlError(f"unknown user {from_id}")
        query_id = str(4700000000000000000 + self.next_callback)
        self.next_callback += 1
        self.callbacks[query_id] = {"at": time.time(), "answered": False, "chat_id": chat_id,
                                    "message_id": rec["msg"]["message_id"], "from_id": from_id,
                                    "data": data}
        query = {"id": query_id, "from": user, "message": rec["msg"],
                 "chat_instance": str(abs(chat_id) * 31 % 10**18), "data": data}
        return {"callback_query_id": query_id,
                "update_id": self._push_update("callback_query", query)}

    def _sent_view(self, rec: Json) -> Json:
        msg = rec["msg"]
        view: Json = {
            "chat_id": msg["chat"]["id"], "message_id": msg["message_id"], "kind": rec["kind"],
            "text": msg.get("text", msg.get("caption", "")),
            "entities": msg.get("entities", msg.get("caption_entities", [])),
            "reply_markup": msg.get("reply_markup"),
            "message_thread_id": msg.get("message_thread_id"),
            "reply_to_message_id": rec.get("reply_to"),
            "date": datetime.fromtimestamp(msg["date"], UTC).isoformat(),
            "edits": rec["edits"], "deleted": rec["deleted"],
        }
        if "edit_date" in msg:
            view["edit_date"] = datetime.fromtimestamp(msg["edit_date"], UTC).isoformat()
        if "media_group_id" in msg:
            view["media_group_id"] = msg["media_group_id"]
        if "poll" in msg:
            view["poll"] = msg["poll"]
        if "photo" in msg:
            view["file_id"] = msg["photo"][-1]["file_id"]
        if "document" in msg:
            view["file_id"] = msg["document"]["file_id"]
            view["file_name"] = msg["document"].get("file_name")
        if "forward_origin" in msg:
            view["forward_origin"] = msg["forward_origin"]
        if "sender_chat" in msg:
            view["sender_chat_id"] = msg["sender_chat"]["id"]
        if msg.get("is_automatic_forward"):
            view["is_automatic_forward"] = True
        return view

    def _chat_filter(self, request: web.Request) -> list[int]:
        raw = request.query.get("chat_id")
        if raw is None:
            return sorted(self.messages)
        try:
            return [int(raw)]
        except ValueError as err:
            raise ControlError("chat_id must be an integer") from err

    async def _c_sent(self, request: web.Request) -> list[Json]:
        """The bot's messages as they stand now (after edits and deletions)."""
        return [self._sent_view(rec) for chat_id in self._chat_filter(request)
                for _, rec in sorted(self.messages.get(chat_id, {}).items()) if rec["by_bot"]]

    async def _c_messages(self, request: web.Request) -> list[Json]:
        """Every message in the chat(s), people's too, with ``by_bot``."""
        return [{**self._sent_view(rec), "by_bot": rec["by_bot"],
                 "from_id": rec["msg"].get("from", {}).get("id")}
                for chat_id in self._chat_filter(request)
                for _, rec in sorted(self.messages.get(chat_id, {}).items())]

    async def _c_callback_answers(self, request: web.Request) -> list[Json]:
        return self.callback_answers

    async def _c_topics(self, request: web.Request) -> list[Json]:
        chats = self._chat_filter(request) if "chat_id" in request.query else sorted(self.topics)
        return [{"chat_id": c, "message_thread_id": t["message_thread_id"], "name": t["name"],
                 "icon_color": t["icon_color"], "created_by_bot": t["created_by"] == world.BOT_ID}
                for c in chats for t in self.topics.get(c, {}).values()]

    async def _c_updates(self, request: web.Request) -> list[Json]:
        """Updates not yet confirmed by the bot (for debugging a test)."""
        return self.updates

    async def _c_reset(self, request: web.Request) -> Json:
        self.reset()
        self.limiter = RateLimiter()
        return {"ok": True}
