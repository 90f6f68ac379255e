"""The MAX Bot API stand-in (platform-api2.max.ru) over HTTP, plus its control API.

Reference: dev.max.ru/docs-api and its OpenAPI schema (version 0.0.32 as published in
July 2026; the official Go client max-messenger/max-bot-api-client-go ships an older
copy and answer stubs in ``stabs/``). Where the reference is silent, observed answers
quoted in the issues of the maintained clients are used, and else the stricter choice;
each limit and error below names where it comes from.

Served under a prefix (``/max`` in the sandbox server; ``""`` for a client whose base URL
cannot carry a path):

- ``GET /me``, ``GET /chats/{chatId}``, ``GET /chats`` (refused: no longer supported
  since June 2026), ``GET /updates`` (long polling: ``marker``, ``limit``, ``timeout``,
  ``types``), ``GET|POST|DELETE /subscriptions`` (bookkeeping only: no delivery, and
  long polling answers 405 while a subscription is active), ``POST /uploads?type=`` and
  the upload URL it hands out, ``POST|PUT|DELETE /messages``, ``GET /messages`` (a chat's
  messages, newest first), ``GET /messages/{mid}``,
  ``POST /answers``.
- ``/control/max/...``: citizens write to the bot (a dialog) or in the city chat, edit or
  delete their messages, press callback buttons, stop or remove the bot, the bot is
  removed from or added to a chat, a user joins a chat, the admin posts in the channel;
  GET ``sent`` (what the bot sent, as it stands), ``messages``, ``channel``, ``uploads``,
  ``callback_answers``, ``updates`` (not yet confirmed); POST ``uploads`` (processing
  time), ``rate_limit``.

MAX has no polls in its Bot API: no poll attachment, no poll method (OpenAPI
``AttachmentRequest`` lists image, video, audio, file, sticker, contact, inline_keyboard,
location, share).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox import max_format, world
from bot.sandbox.core import SandboxState
from bot.sandbox.telegram import image_info
from bot.sandbox.vk import user_name

Json = dict[str, Any]

# -- limits, each with its source ------------------------------------------------------
# OpenAPI NewMessageBody.text maxLength 4000 (and the issue's «text up to 4,000
# characters»). Counted on the text as sent, before Markdown/HTML is parsed, in UTF-16
# units: both the stricter reading.
TEXT_LIMIT = 4000
# dev.max.ru docs-api POST /uploads: «максимальное количество запросов в секунду на
# platform-api.max.ru — 30 rps» (also the GREEN-API MAX FAQ). One window per token;
# refused requests count too (stricter than we know MAX to be).
REQUESTS_PER_SECOND = 30
# OpenAPI GET /updates: limit 1..1000 (default 100), timeout 0..90 s (default 30)
UPDATES_LIMIT_MAX = 1000
UPDATES_TIMEOUT_MAX = 90
# MAX's long-polling limits «с 11.05.2026» as the maxapi client documents them
# (maxapi 1.2.3, methods/get_updates.py; the OpenAPI says long polling is «ограничено
# по скорости и сроку хранения событий» without numbers): at most 2 requests a second,
# a request held at most 30 s, at most 100 updates a batch, updates kept 24 hours
LONG_POLL_PER_SECOND = 2
LONG_POLL_HOLD_MAX = 30
LONG_POLL_BATCH_MAX = 100
UPDATE_TTL = 24 * 3600
# OpenAPI Button.text 1..128, CallbackButton.payload ≤ 1024, LinkButton.url ≤ 2048
BUTTON_TEXT_MAX = 128
CALLBACK_PAYLOAD_MAX = 1024
LINK_URL_MAX = 2048
# dev.max.ru docs-api «Клавиатура для чат-бота»: up to 210 buttons in up to 30 rows, up
# to 7 in a row, up to 3 of the link/open_app/request_* kinds in a row
KEYBOARD_BUTTONS_MAX = 210
KEYBOARD_ROWS_MAX = 30
KEYBOARD_ROW_MAX = 7
KEYBOARD_ROW_WIDE_MAX = 3
_WIDE_BUTTONS = {"link", "open_app", "request_geo_location", "request_contact"}
_BUTTON_TYPES = {"callback", "link", "request_geo_location", "request_contact", "open_app",
                 "message", "clipboard", "chat"}
# not documented: at most 10 media attachments in one message (Telegram's album size;
# a stricter guess than none)
MEDIA_ATTACHMENTS_MAX = 10
# OpenAPI PUT /messages: in a dialog, a message without an inline keyboard can be edited
# for 7 days; in chats and channels, any time
DIALOG_EDIT_WINDOW = 7 * 24 * 3600
# OpenAPI UploadType / POST /uploads: image ≤ 50 MB and ≤ 7680×7680 px; video ≤ 250 MB;
# audio ≤ 256 MB; file ≤ 4 GB (the sandbox keeps uploads in memory: 64 MB for any kind)
IMAGE_BYTES_MAX = 50 * 1024 * 1024
IMAGE_SIDE_MAX = 7680
UPLOAD_BYTES_MAX = {"image": IMAGE_BYTES_MAX, "video": 250 * 1024 * 1024,
                    "audio": 256 * 1024 * 1024, "file": 64 * 1024 * 1024}
# dev.max.ru docs-api POST /uploads: «Если отправить сообщение с вложением сразу после
# загрузки, может возникнуть ошибка attachment.not.ready». How long processing takes is
# not documented; the sandbox makes every upload wait this many real seconds plus one
# per 10 MB (the control API changes it).
UPLOAD_PROCESSING_SECONDS = 1.0
# OpenAPI BotStartedUpdate.payload ≤ 512
START_PAYLOAD_MAX = 512
UPDATE_TYPES = {
    "bot_added", "bot_started", "bot_stopped", "bot_removed", "chat_title_changed",
    "dialog_cleared", "dialog_muted", "dialog_unmuted", "dialog_removed",
    "message_callback", "message_created", "message_edited", "message_removed",
    "user_added", "user_removed", "message_chat_created",
}

DOCS = "https://dev.max.ru/docs"


class MaxError(Exception):
    """An error answer: the HTTP status and ``{"code": …, "message": …}`` (OpenAPI ``Error``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> Json:
        return {"code": self.code, "message": self.message}


# Errors, with where their codes and texts come from.
def invalid_token() -> MaxError:
    # docs-api «Error responses» example and the Go client's stabs/error.invalid-token.json;
    # the status is OpenAPI's 401 Unauthorized (the prose example shows 403)
    return MaxError(401, "verify.token", "Invalid access_token")


def chat_not_found(chat_id: int) -> MaxError:
    # observed: love-apples/maxapi#164 (404 {'code': 'chat.not.found', 'message':
    # 'Chat <id> not found'})
    return MaxError(404, "chat.not.found", f"Chat {chat_id} not found")


def method_not_found(path: str) -> MaxError:
    # observed: max-messenger/max-bot-api-client-ts#232 (404 method.not.found)
    return MaxError(404, "method.not.found",
                    f"Path {path} is not recognized. Please check docs at {DOCS}")


def dialog_suspended() -> MaxError:
    # observed in bots' sources handling MAX: 403 chat.denied with
    # "error.dialog.suspended" when the user stopped or removed the bot
    return MaxError(403, "chat.denied", "error.dialog.suspended")


def too_many_requests() -> MaxError:
    # code as MAX clients match it (max-bot-api-client-go users retry on
    # "too.many.requests"); the message text is not documented
    return MaxError(429, "too.many.requests", "Too many requests")


def attachment_not_ready() -> MaxError:
    # dev.max.ru docs-api POST /uploads, «Обработка медиафайлов» (code and message);
    # the status is not documented: 400 here
    return MaxError(400, "attachment.not.ready",
                    "Key: errors.process.attachment.file.not.processed")


def bad_request(message: str) -> MaxError:
    # not documented: a malformed body or parameter. "proto.payload" is the code the
    # TamTam API (MAX's predecessor, same schema) answered; treat it as an assumption
    return MaxError(400, "proto.payload", message)


def not_found(message: str) -> MaxError:
    # OpenAPI GET /messages/{messageId} 404 «сообщение не найдено»; code assumed
    return MaxError(404, "not.found", message)


def access_denied(message: str) -> MaxError:
    # OpenAPI 403 Forbidden «У вас нет прав на доступ к этому ресурсу»; code assumed
    return MaxError(403, "access.denied", message)


def not_allowed(message: str) -> MaxError:
    # OpenAPI 405 NotAllowed (GET /updates, POST /answers); code assumed
    return MaxError(405, "method.not.allowed", message)


class ControlError(Exception):
    """A mistake in a control-API request (the test's, not the bot's)."""


Handler = Callable[[web.Request, Json, bytes], Awaitable[Any]]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class MaxSandbox:
    """The MAX Bot API and its control endpoints over one :class:`SandboxState`."""

    def __init__(self, state: SandboxState, rate_limits: bool = True,
                 prefix: str = "/max", timeout_hang: float = 75.0) -> None:
        self.state = state
        self.rate_limits = rate_limits
        self.prefix = prefix.rstrip("/")
        self.timeout_hang = timeout_hang
        self.requests_per_second = REQUESTS_PER_SECOND
        self.processing_seconds = UPLOAD_PROCESSING_SECONDS
        self._calls: dict[str, deque[float]] = {}
        self._polls: deque[float] = deque()
        self._changed: asyncio.Event = asyncio.Event()
        self._ready_at: dict[str, float] = {}  # upload token -> monotonic time it is ready
        self.blobs: dict[str, bytes] = {}  # uploaded bytes, in memory only
        self.reset()

    # ------------------------------------------------------------------ the world

    def reset(self) -> None:
        now = _ms(self.state.clock.timestamp())
        admin = world.MAX_ADMIN_USER
        self.chats: dict[int, Json] = {
            world.MAX_CHANNEL: {
                "chat_id": world.MAX_CHANNEL, "type": "channel", "title": "Администрация",
                "owner_id": admin, "members": [admin, world.MAX_BOT_ID], "is_public": True,
                "link": f"https://max.ru/{world.MAX_CHANNEL_LINK}",
                "description": "Официальный канал администрации ЗАТО Шиханы",
                "bot_status": "active", "bot_admin": True, "created": now,
            },
            world.MAX_CITY_CHAT: {
                "chat_id": world.MAX_CITY_CHAT, "type": "chat", "title": "Шиханы — городской чат",
                "owner_id": admin, "members": [admin, world.MAX_BOT_ID], "is_public": False,
                "link": "https://max.ru/join/shikhany-city-chat", "description": None,
                "bot_status": "active", "bot_admin": True, "created": now,
            },
        }
        self.dialogs: dict[int, int] = {}  # user id -> dialog chat id
        self.blocked: dict[int, str] = {}  # user id -> "stopped" | "removed"
        self.messages: dict[str, Json] = {}  # mid -> record
        self.order: list[str] = []  # mids in the order they were created
        self.next_seq = 116000000000000001
        self.updates: list[Json] = []  # {"n": int, "update": Update}
        self.next_update = 1
        self.confirmed = 0  # updates up to this number are read
        self.subscriptions: list[Json] = []
        self.uploads: dict[str, Json] = {}  # upload id -> {"type", "token", "done"}
        self.attachments: dict[str, Json] = {}  # token -> stored attachment
        self.callbacks: dict[str, Json] = {}  # callback id -> {"mid", "user_id", ...}
        self.callback_answers: list[Json] = []
        self.next_photo = 4000000001

    def dump(self) -> Json:
        """Everything needed to restart where it stopped (``--state PATH``)."""
        return {
            "chats": {str(k): v for k, v in self.chats.items()},
            "dialogs": {str(k): v for k, v in self.dialogs.items()},
            "blocked": {str(k): v for k, v in self.blocked.items()},
            "messages": self.messages, "order": self.order, "next_seq": self.next_seq,
            "updates": self.updates, "next_update": self.next_update,
            "confirmed": self.confirmed, "subscriptions": self.subscriptions,
            "uploads": self.uploads, "attachments": self.attachments,
            "callbacks": self.callbacks, "callback_answers": self.callback_answers,
            "next_photo": self.next_photo,
        }

    def load(self, data: Json) -> None:
        self.reset()
        self.chats = {int(k): v for k, v in data["chats"].items()}
        self.dialogs = {int(k): int(v) for k, v in data["dialogs"].items()}
        self.blocked = {int(k): v for k, v in data["blocked"].items()}
        self.messages = data["messages"]
        self.order = data["order"]
        self.next_seq = data["next_seq"]
        self.updates = data["updates"]
        self.next_update = data["next_update"]
        self.confirmed = data["confirmed"]
        self.subscriptions = data["subscriptions"]
        self.uploads = data["uploads"]
        self.attachments = data["attachments"]
        self.callbacks = data["callbacks"]
        self.callback_answers = data["callback_answers"]
        self.next_photo = data["next_photo"]

    # ------------------------------------------------------------------ wiring

    def register(self, app: web.Application) -> None:
        """Add the API routes under the prefix and ``/control/max/...``."""
        p = self.prefix
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/me", self._me),
            ("GET", "/chats", self._chats),
            ("GET", "/chats/{chat_id}", self._chat),
            ("GET", "/updates", self._updates),
            ("GET", "/subscriptions", self._get_subscriptions),
            ("POST", "/subscriptions", self._subscribe),
            ("DELETE", "/subscriptions", self._unsubscribe),
            ("POST", "/uploads", self._get_upload_url),
            ("POST", "/messages", self._send),
            ("PUT", "/messages", self._edit),
            ("DELETE", "/messages", self._delete),
            ("GET", "/messages", self._list_messages),
            ("GET", "/messages/{mid}", self._get_message),
            ("POST", "/answers", self._answer),
        ]
        for verb, path, handler in routes:
            app.router.add_route(verb, p + path, self._api(f"{verb} {path}", handler))
        app.router.add_post(p + "/upload/{upload_id}", self._upload)
        app.router.add_get(p + "/file/{token}", self._file)
        control: list[tuple[str, str, Callable[[Json], Any]]] = [
            ("POST", "start", self._c_start),
            ("POST", "message", self._c_message),
            ("POST", "edit", self._c_edit),
            ("POST", "remove", self._c_remove),
            ("POST", "callback", self._c_callback),
            ("POST", "block", self._c_block),
            ("POST", "membership", self._c_membership),
            ("POST", "user_added", self._c_user_added),
            ("POST", "channel_post", self._c_channel_post),
            ("POST", "uploads", self._c_set_uploads),
            ("POST", "rate_limit", self._c_rate_limit),
            ("GET", "sent", self._c_sent),
            ("GET", "messages", self._c_messages),
            ("GET", "channel", self._c_channel),
            ("GET", "uploads", self._c_uploads),
            ("GET", "callback_answers", self._c_callback_answers),
            ("GET", "updates", self._c_updates),
        ]
        for verb, name, handler in control:
            app.router.add_route(verb, f"/control/max/{name}", self._control(handler))
        # last: any other path under the prefix is MAX's unknown path
        app.router.add_route("*", p + "/{tail:.*}", self._unknown)

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _reply(body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    def _api(self, name: str, handler: Handler) -> Callable[[web.Request], Awaitable[
            web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            status = 200
            params = dict(request.query)
            try:
                self._authorize(request)
                if self.rate_limits:
                    self._rate_limit()
                chat_id = _int_or_none(params.get("chat_id"))
                fault = self.state.take_fault("max", name, chat_id) if (
                    name != "GET /updates" or any(
                        f.method == name for f in self.state.faults)) else None
                if fault is not None:
                    await self._apply_fault(fault.kind, fault.code)
                body = await request.read()
                result = await handler(request, params, body)
                return self._reply(result)
            except MaxError as error:
                status = error.status
                return self._reply(error.body(), error.status)
            finally:
                params.pop("access_token", None)
                self.state.record("max", name, params, status)
        return run

    async def _unknown(self, request: web.Request) -> web.Response:
        # OpenAPI: a path the API does not have (observed answer, see method_not_found)
        path = request.path[len(self.prefix):] or "/"
        error = method_not_found(path)
        self.state.record("max", f"{request.method} {path}", {}, error.status)
        return self._reply(error.body(), error.status)

    def _authorize(self, request: web.Request) -> None:
        """The token goes in the ``Authorization`` header only.

        dev.max.ru docs-api «Авторизация»: «Передача токена через query-параметры больше не
        поддерживается — используйте заголовок Authorization». A request that still
        carries ``access_token`` in its query is refused even with a good header (the
        stricter reading: the token would end up in URLs and logs).
        """
        if "access_token" in request.query:
            raise invalid_token()
        if request.headers.get("Authorization", "") != world.MAX_BOT_TOKEN:
            raise invalid_token()

    def _rate_limit(self) -> None:
        now = time.monotonic()
        calls = self._calls.setdefault(world.MAX_BOT_TOKEN, deque())
        while calls and now - calls[0] >= 1.0:
            calls.popleft()
        calls.append(now)
        if len(calls) > self.requests_per_second:
            raise too_many_requests()

    async def _apply_fault(self, kind: str, code: int | None) -> None:
        if kind == "429":
            raise too_many_requests()
        if kind == "503":
            # OpenAPI «503 — service unavailable»; code as clients match it
            raise MaxError(503, "service.unavailable", "Service unavailable")
        if kind == "timeout":
            await asyncio.sleep(self.timeout_hang)
            raise MaxError(504, "internal.error", "Gateway timeout")
        # OpenAPI InternalError; code assumed
        raise MaxError(code or 500, "internal.error", "Internal error")

    def _now(self) -> float:
        return self.state.clock.timestamp()

    @staticmethod
    def _json_body(body: bytes) -> Json:
        if not body:
            raise bad_request("Request body is required")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise bad_request("Invalid JSON") from None
        if not isinstance(data, dict):
            raise bad_request("Request body must be a JSON object")
        return data

    # ------------------------------------------------------------------ users and chats

    def _user(self, user_id: int) -> Json:
        """OpenAPI ``User``: user_id, first_name, last_name, username, is_bot,
        last_activity_time, name (deprecated, still sent: the Go client's stabs)."""
        if user_id == world.MAX_BOT_ID:
            return {"user_id": user_id, "first_name": world.MAX_BOT_NAME,
                    "username": world.MAX_BOT_USERNAME, "is_bot": True,
                    "last_activity_time": _ms(self._now()), "name": world.MAX_BOT_NAME}
        if user_id == world.MAX_ADMIN_USER:
            first, last = "Администратор", "Шиханы"
        else:
            first, last, _ = user_name(user_id)
        return {"user_id": user_id, "first_name": first, "last_name": last,
                "username": None, "is_bot": False,
                "last_activity_time": _ms(self._now()) - 60_000, "name": f"{first} {last}"}

    def _user_with_photo(self, user_id: int) -> Json:
        return {**self._user(user_id), "description": None,
                "avatar_url": f"https://i.oneme.ru/i?r=sandbox-{user_id}",
                "full_avatar_url": f"https://i.oneme.ru/i?r=sandbox-full-{user_id}"}

    def _dialog(self, user_id: int) -> int:
        """The dialog chat of a citizen with the bot (created on their first contact)."""
        chat_id = self.dialogs.get(user_id)
        if chat_id is None:
            # dialogs have positive ids unrelated to the user's (Go client's stabs)
            chat_id = 180000000 + (user_id * 2654435761) % 800000000
            self.dialogs[user_id] = chat_id
            self.chats[chat_id] = {
                "chat_id": chat_id, "type": "dialog", "title": None, "owner_id": None,
                "members": [user_id, world.MAX_BOT_ID], "is_public": False, "link": None,
                "description": None, "bot_status": "active", "bot_admin": False,
                "created": _ms(self._now()), "dialog_user": user_id,
            }
        return chat_id

    def _chat_view(self, chat: Json) -> Json:
        """OpenAPI ``Chat`` (fields as the Go client's stabs/chats show them)."""
        view: Json = {
            "chat_id": chat["chat_id"], "type": chat["type"], "status": chat["bot_status"],
            "title": chat["title"], "icon": None,
            "last_event_time": self._last_event(chat["chat_id"]),
            "participants_count": len(chat["members"]), "is_public": chat["is_public"],
            "description": chat["description"],
        }
        if chat["type"] == "dialog":
            view["dialog_with_user"] = self._user_with_photo(chat["dialog_user"])
        else:
            view["owner_id"] = chat["owner_id"]
            view["link"] = chat["link"]
            view["messages_count"] = sum(
                1 for m in self.messages.values()
                if m["chat_id"] == chat["chat_id"] and not m["deleted"])
            view["participants"] = {str(u): self._last_event(chat["chat_id"])
                                    for u in chat["members"]}
        return view

    def _last_event(self, chat_id: int) -> int:
        times = [m["timestamp"] for m in self.messages.values() if m["chat_id"] == chat_id]
        return max(times, default=self.chats[chat_id]["created"])

    def _recipient(self, chat: Json) -> Json:
        """OpenAPI ``Recipient``; a dialog's carries the user (Go client's stabs)."""
        view: Json = {"chat_id": chat["chat_id"], "chat_type": chat["type"]}
        if chat["type"] == "dialog":
            view["user_id"] = chat["dialog_user"]
        return view

    # ------------------------------------------------------------------ messages

    def _new_mid(self) -> str:
        return "mid." + secrets.token_hex(16)

    def _store(self, chat: Json, sender_id: int, text: str | None, markup: list[Json],
               attachments: list[Json], link: Json | None = None) -> Json:
        mid = self._new_mid()
        record: Json = {
            "mid": mid, "seq": self.next_seq, "chat_id": chat["chat_id"],
            "sender_id": sender_id, "timestamp": _ms(self._now()), "text": text,
            "markup": markup, "attachments": attachments, "link": link, "deleted": False,
            "edited": None,
        }
        self.next_seq += 1
        self.messages[mid] = record
        self.order.append(mid)
        return record

    def _message_view(self, rec: Json) -> Json:
        """OpenAPI ``Message``: sender, recipient, timestamp, link, body (mid, seq, text,
        attachments, markup), and for channel posts url and stat."""
        chat = self.chats[rec["chat_id"]]
        body: Json = {"mid": rec["mid"], "seq": rec["seq"], "text": rec["text"]}
        if rec["attachments"]:
            body["attachments"] = rec["attachments"]
        if rec["markup"]:
            body["markup"] = rec["markup"]
        view: Json = {"sender": self._user(rec["sender_id"]), "recipient": self._recipient(chat),
                      "timestamp": rec["timestamp"], "body": body}
        if rec["link"]:
            link = rec["link"]
            target = self.messages.get(link["mid"])
            if target is not None:
                linked: Json = {"type": link["type"], "sender": self._user(target["sender_id"]),
                                "message": {"mid": target["mid"], "seq": target["seq"],
                                            "text": target["text"]}}
                if link["type"] == "forward":
                    linked["chat_id"] = target["chat_id"]
                view["link"] = linked
        if chat["type"] == "channel":
            view["url"] = f"{chat['link']}/{rec['seq']}"
            view["stat"] = {"views": 0}
        return view

    def _emit(self, update_type: str, **fields: Any) -> None:
        update = {"update_type": update_type, "timestamp": _ms(self._now()), **fields}
        self.updates.append({"n": self.next_update, "update": update})
        self.next_update += 1
        self._changed.set()

    # ------------------------------------------------------------------ API methods

    async def _me(self, request: web.Request, params: Json, body: bytes) -> Json:
        # OpenAPI BotInfo (Go client's stabs/botInfo.ok.json)
        return {**self._user_with_photo(world.MAX_BOT_ID),
                "description": "Сообщения жителей ЗАТО Шиханы", "commands": []}

    async def _chats(self, request: web.Request, params: Json, body: bytes) -> Json:
        # OpenAPI GET /chats: «Начиная с июня 2026 метод GET /chats больше не
        # поддерживается»; the bot must keep the chat ids it learns from bot_added
        # (how the server refuses is not documented: as an unknown path here)
        raise method_not_found("/chats")

    async def _chat(self, request: web.Request, params: Json, body: bytes) -> Json:
        raw = request.match_info["chat_id"]
        try:
            chat_id = int(raw)
        except ValueError:
            # OpenAPI GET /chats/{chatLink}: a public channel link
            name = raw.lstrip("@")
            for chat in self.chats.values():
                if chat["type"] == "channel" and chat["link"] == f"https://max.ru/{name}":
                    return self._chat_view(chat)
            raise not_found(f"Chat {raw} not found") from None
        chat = self.chats.get(chat_id)
        if chat is None or world.MAX_BOT_ID not in chat["members"]:
            raise chat_not_found(chat_id)
        return self._chat_view(chat)

    async def _updates(self, request: web.Request, params: Json, body: bytes) -> Json:
        if self.subscriptions:
            # OpenAPI POST /subscriptions: «При активной подписке Long Polling не работает»
            raise not_allowed("Long polling is not available while a webhook "
                              "subscription is active")
        if self.rate_limits:
            now = time.monotonic()
            while self._polls and now - self._polls[0] >= 1.0:
                self._polls.popleft()
            self._polls.append(now)
            if len(self._polls) > LONG_POLL_PER_SECOND:
                raise too_many_requests()
        limit = min(_bounded(params, "limit", 100, 1, UPDATES_LIMIT_MAX), LONG_POLL_BATCH_MAX)
        timeout = min(_bounded(params, "timeout", 30, 0, UPDATES_TIMEOUT_MAX),
                      LONG_POLL_HOLD_MAX)
        types = {t for t in (params.get("types") or "").split(",") if t}
        unknown = types - UPDATE_TYPES
        if unknown:
            raise bad_request(f"Unknown update types: {', '.join(sorted(unknown))}")
        marker_raw = params.get("marker")
        if marker_raw not in (None, "", "null"):
            try:
                marker = int(marker_raw)
            except ValueError:
                raise bad_request("marker must be an integer") from None
            # OpenAPI GET /updates: passing a marker marks every earlier update read
            self.confirmed = max(self.confirmed, marker - 1)
            latest_only = False
        else:
            # OpenAPI GET /updates: «Если параметр marker не передан или передано
            # значение null, вы получите только последнее обновление»
            latest_only = True
        deadline = time.monotonic() + timeout
        while True:
            oldest = _ms(self._now() - UPDATE_TTL)
            self.updates = [u for u in self.updates if u["update"]["timestamp"] >= oldest]
            pending = [u for u in self.updates if u["n"] > self.confirmed
                       and (not types or u["update"]["update_type"] in types)]
            if latest_only and pending:
                pending = pending[-1:]
            if pending or time.monotonic() >= deadline:
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass
        chosen = pending[:limit]
        if latest_only and chosen:
            self.confirmed = chosen[-1]["n"] - 1
        marker_out = chosen[-1]["n"] + 1 if chosen else self.confirmed + 1
        self.updates = [u for u in self.updates if u["n"] > self.confirmed]
        return {"updates": [u["update"] for u in chosen], "marker": marker_out}

    async def _get_subscriptions(self, request: web.Request, params: Json, body: bytes) -> Json:
        return {"subscriptions": self.subscriptions}

    async def _subscribe(self, request: web.Request, params: Json, body: bytes) -> Json:
        data = self._json_body(body)
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            # OpenAPI SubscriptionRequestBody.url «Должен начинаться с https://»; since 25
            # May 2026 no HTTP webhooks
            raise bad_request("url must start with https://")
        secret = data.get("secret")
        if secret is not None and not (isinstance(secret, str) and 5 <= len(secret) <= 256
                                       and all(c.isascii() and (c.isalnum() or c in "_-")
                                               for c in secret)):
            # OpenAPI SubscriptionRequestBody.secret ^[a-zA-Z0-9_-]{5,256}$
            raise bad_request("secret must match ^[a-zA-Z0-9_-]{5,256}$")
        types = data.get("update_types")
        if types is not None and (not isinstance(types, list) or set(types) - UPDATE_TYPES):
            raise bad_request("update_types contains unknown types")
        self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
        self.subscriptions.append({"url": url, "time": _ms(self._now()),
                                   "update_types": types})
        return {"success": True}

    async def _unsubscribe(self, request: web.Request, params: Json, body: bytes) -> Json:
        url = params.get("url")
        if not url:
            raise bad_request("url is required")
        before = len(self.subscriptions)
        self.subscriptions = [s for s in self.subscriptions if s["url"] != url]
        if len(self.subscriptions) == before:
            return {"success": False, "message": "Subscription not found"}
        return {"success": True}

    async def _get_upload_url(self, request: web.Request, params: Json, body: bytes) -> Json:
        kind = params.get("type")
        if kind == "photo":
            # OpenAPI UploadType: «Значение photo больше не поддерживается»
            raise bad_request("Upload type photo is no longer supported: use image")
        if kind not in UPLOAD_BYTES_MAX:
            raise bad_request("type must be one of image, video, audio, file")
        upload_id = secrets.token_urlsafe(12)
        token = secrets.token_urlsafe(24)
        self.uploads[upload_id] = {"id": upload_id, "type": kind, "token": token,
                                   "done": False, "size": 0}
        url = f"{request.url.origin()}{self.prefix}/upload/{upload_id}"
        result: Json = {"url": url}
        if kind in ("video", "audio"):
            # docs-api POST /uploads: for video and audio the token comes with the URL
            result["token"] = token
        return result

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload server: one file per URL (docs-api POST /uploads), multipart field
        ``data`` or the raw body."""
        upload = self.uploads.get(request.match_info["upload_id"])
        if upload is None or upload["done"]:
            # one file per URL; the upload servers' error shape is not documented
            return self._reply({"error_code": "upload.url.invalid",
                                "error_msg": "Upload URL is invalid or already used"}, 400)
        data = b""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader) and part.name == "data":
                    data = bytes(await part.read())
        else:
            data = await request.read()
        kind = upload["type"]
        if not data:
            return self._reply({"error_code": "upload.empty", "error_msg": "No file"}, 400)
        if len(data) > UPLOAD_BYTES_MAX[kind]:
            return self._reply({"error_code": "upload.too.large",
                                "error_msg": "File is too large"}, 413)
        info = image_info(data) if kind == "image" else None
        if kind == "image":
            # OpenAPI UploadType: «При передаче неподдерживаемого типа файла вернётся
            # ошибка File extension is forbidden»
            if info is None or info[0] == "webp":
                return self._reply({"error_code": "upload.error",
                                    "error_msg": "File extension is forbidden"}, 400)
            if info[1] > IMAGE_SIDE_MAX or info[2] > IMAGE_SIDE_MAX:
                return self._reply({"error_code": "upload.error",
                                    "error_msg": "Image is too large"}, 400)
        upload["done"] = True
        upload["size"] = len(data)
        token = upload["token"]
        self.blobs[token] = data
        self._ready_at[token] = time.monotonic() + self.processing_seconds + len(data) / 10e6
        stored: Json = {"type": kind, "token": token, "size": len(data)}
        if kind == "image":
            stored["photo_id"] = self.next_photo
            stored["width"], stored["height"] = info[1], info[2]  # type: ignore[index]
            self.next_photo += 1
        self.attachments[token] = stored
        if kind == "image":
            # the image upload answer: {"photos": {"<id>": {"token": …}}} (OpenAPI
            # PhotoTokens; maxapi reads the first photo's token)
            return self._reply({"photos": {str(stored["photo_id"]): {"token": token}}})
        if kind == "file":
            return self._reply({"token": token})
        # video and audio: the upload server answers a retval (Go client's
        # stabs/upload.video.response.xml); the token came with the URL
        return web.Response(text="<retval>1</retval>", content_type="application/xml")

    async def _file(self, request: web.Request) -> web.Response:
        data = self.blobs.get(request.match_info["token"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    def _target(self, params: Json) -> Json:
        chat_raw, user_raw = params.get("chat_id"), params.get("user_id")
        if (chat_raw is None) == (user_raw is None):
            raise bad_request("Exactly one of chat_id or user_id is required")
        if user_raw is not None:
            user_id = _int_param(user_raw, "user_id")
            if self.blocked.get(user_id):
                raise dialog_suspended()
            chat_id = self.dialogs.get(user_id)
            if chat_id is None:
                # a bot writes to a user only after they started it; the server's answer
                # to a user who never did is not documented (chat.not.found here)
                raise MaxError(404, "chat.not.found", f"Dialog with user {user_id} not found")
            return self.chats[chat_id]
        chat_id = _int_param(chat_raw, "chat_id")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise chat_not_found(chat_id)
        if chat["type"] == "dialog":
            if self.blocked.get(chat["dialog_user"]):
                raise dialog_suspended()
        elif chat["bot_status"] != "active" or world.MAX_BOT_ID not in chat["members"]:
            raise chat_not_found(chat_id)
        return chat

    def _body(self, data: Json, *, editing: bool = False
              ) -> tuple[str | None, list[Json], list[Json] | None]:
        """Validate a ``NewMessageBody``: (text, markup, attachments or None)."""
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise bad_request("text must be a string")
        fmt = data.get("format")
        if fmt not in (None, "markdown", "html"):
            raise bad_request("format must be markdown or html")
        if text is not None and max_format.utf16_len(text) > TEXT_LIMIT:
            # OpenAPI NewMessageBody.text maxLength 4000 (see TEXT_LIMIT)
            raise bad_request(f"text: size must be between 0 and {TEXT_LIMIT}")
        notify = data.get("notify", True)
        if not isinstance(notify, bool):
            raise bad_request("notify must be a boolean")
        link = data.get("link")
        if link is not None:
            if (not isinstance(link, dict) or link.get("type") not in ("reply", "forward")
                    or not isinstance(link.get("mid"), str)):
                raise bad_request("link must be {type: reply|forward, mid}")
            if link["mid"] not in self.messages or self.messages[link["mid"]]["deleted"]:
                raise not_found(f"Message {link['mid']} not found")
        raw_attachments = data.get("attachments")
        attachments = None if raw_attachments is None else self._attachments(raw_attachments)
        plain, markup = max_format.parse(text, fmt) if text is not None else (None, [])
        if not editing and not plain and not attachments:
            raise bad_request("Message must have text or attachments")
        return plain, markup, attachments

    def _attachments(self, items: Any) -> list[Json]:
        if not isinstance(items, list):
            raise bad_request("attachments must be an array")
        out: list[Json] = []
        media = 0
        sole = None
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise bad_request("attachment must have a type")
            kind = item["type"]
            payload = item.get("payload")
            if kind == "inline_keyboard":
                if any(a["type"] == "inline_keyboard" for a in out):
                    raise bad_request("Only one inline_keyboard is allowed")
                out.append(self._keyboard(payload))
            elif kind == "image":
                media += 1
                out.append(self._image(payload))
            elif kind in ("video", "audio", "file"):
                if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
                    raise bad_request(f"{kind}: payload.token is required")
                stored = self._uploaded(payload["token"], kind)
                view: Json = {"type": kind, "payload": {
                    "url": f"https://sandbox.invalid/max/file/{stored['token']}",
                    "token": stored["token"]}}
                if kind == "file":
                    view["filename"] = "file"
                    view["size"] = stored["size"]
                if kind in ("audio", "file"):
                    # OpenAPI: audio and file attachments must be the only one
                    sole = kind
                media += 1
                out.append(view)
            elif kind == "location":
                if not all(isinstance(item.get(k), int | float)
                           for k in ("latitude", "longitude")):
                    raise bad_request("location needs latitude and longitude")
                out.append({"type": "location", "latitude": item["latitude"],
                            "longitude": item["longitude"]})
            else:
                raise bad_request(f"Unsupported attachment type: {kind}")
        if sole is not None and len([a for a in out if a["type"] != "inline_keyboard"]) > 1:
            raise bad_request(f"{sole} must be the only attachment in a message")
        if media > MEDIA_ATTACHMENTS_MAX:
            raise bad_request(f"Too many attachments (at most {MEDIA_ATTACHMENTS_MAX})")
        return out

    def _uploaded(self, token: str, kind: str) -> Json:
        stored = self.attachments.get(token)
        if stored is None or stored["type"] != kind:
            raise bad_request(f"Invalid {kind} token")
        if time.monotonic() < self._ready_at.get(token, 0.0):
            raise attachment_not_ready()
        return stored

    def _image(self, payload: Any) -> Json:
        if not isinstance(payload, dict):
            raise bad_request("image: payload is required")
        given = [k for k in ("url", "token", "photos") if payload.get(k) is not None]
        if len(given) != 1:
            # OpenAPI PhotoAttachmentRequestPayload: the fields are mutually exclusive
            raise bad_request("image: exactly one of payload.url, token, photos")
        if given[0] == "url":
            url = payload["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise bad_request("image: payload.url is invalid")
            photo_id = self.next_photo
            self.next_photo += 1
            return {"type": "image", "payload": {
                "photo_id": photo_id, "url": url,
                "token": hashlib.sha256(url.encode()).hexdigest()[:43]}}
        if given[0] == "photos":
            photos = payload["photos"]
            if not isinstance(photos, dict) or len(photos) != 1:
                raise bad_request("image: payload.photos must hold one photo")
            token = next(iter(photos.values()))
            token = token.get("token") if isinstance(token, dict) else None
        else:
            token = payload["token"]
        if not isinstance(token, str):
            raise bad_request("image: token is invalid")
        stored = self._uploaded(token, "image")
        return {"type": "image", "payload": {
            "photo_id": stored["photo_id"], "token": token,
            "url": f"https://i.oneme.ru/i?r=sandbox-{stored['photo_id']}"}}

    def _keyboard(self, payload: Any) -> Json:
        buttons = payload.get("buttons") if isinstance(payload, dict) else None
        if not isinstance(buttons, list) or not buttons or not all(
                isinstance(row, list) and row for row in buttons):
            raise bad_request("inline_keyboard: payload.buttons must be a non-empty "
                              "array of non-empty rows")
        if len(buttons) > KEYBOARD_ROWS_MAX:
            raise bad_request(f"inline_keyboard: at most {KEYBOARD_ROWS_MAX} rows")
        if sum(len(row) for row in buttons) > KEYBOARD_BUTTONS_MAX:
            raise bad_request(f"inline_keyboard: at most {KEYBOARD_BUTTONS_MAX} buttons")
        rows: list[list[Json]] = []
        for row in buttons:
            if len(row) > KEYBOARD_ROW_MAX:
                raise bad_request(f"inline_keyboard: at most {KEYBOARD_ROW_MAX} buttons in a row")
            if sum(1 for b in row if isinstance(b, dict)
                   and b.get("type") in _WIDE_BUTTONS) > KEYBOARD_ROW_WIDE_MAX:
                raise bad_request(f"inline_keyboard: at most {KEYBOARD_ROW_WIDE_MAX} link, "
                                  "open_app or request buttons in a row")
            rows.append([self._button(b) for b in row])
        return {"type": "inline_keyboard", "payload": {"buttons": rows},
                "callback_id": secrets.token_urlsafe(24)}

    @staticmethod
    def _button(button: Any) -> Json:
        if not isinstance(button, dict) or button.get("type") not in _BUTTON_TYPES:
            kind = button.get("type") if isinstance(button, dict) else button
            raise bad_request(f"Unknown button type: {kind!r}")
        text = button.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= BUTTON_TEXT_MAX:
            raise bad_request(f"button.text: size must be between 1 and {BUTTON_TEXT_MAX}")
        kind = button["type"]
        out: Json = dict(button)
        if kind == "callback":
            payload = button.get("payload")
            if not isinstance(payload, str) or not payload:
                raise bad_request("callback button: payload is required")
            if len(payload) > CALLBACK_PAYLOAD_MAX:
                raise bad_request(f"button.payload: size must be at most {CALLBACK_PAYLOAD_MAX}")
        if kind == "link":
            url = button.get("url")
            if not isinstance(url, str) or not url or len(url) > LINK_URL_MAX:
                raise bad_request(f"link button: url is required, at most {LINK_URL_MAX}")
        if button.get("intent", "default") not in ("positive", "negative", "default"):
            raise bad_request("button.intent must be positive, negative or default")
        # the server adds the default intent (maxapi's captured payloads)
        out.setdefault("intent", "default")
        return out

    def _can_write(self, chat: Json) -> None:
        if chat["type"] == "channel" and not chat.get("bot_admin"):
            # docs-api ChatAdminPermission «write — писать посты в каналах»
            raise access_denied("The bot may not post in this channel")

    async def _send(self, request: web.Request, params: Json, body: bytes) -> Json:
        chat = self._target(params)
        data = self._json_body(body)
        text, markup, attachments = self._body(data)
        self._can_write(chat)
        rec = self._store(chat, world.MAX_BOT_ID, text, markup, attachments or [],
                          link=data.get("link"))
        self._index_callbacks(rec)
        return {"message": self._message_view(rec)}

    def _index_callbacks(self, rec: Json) -> None:
        for attachment in rec["attachments"]:
            if attachment["type"] == "inline_keyboard":
                rec["callback_id"] = attachment["callback_id"]

    def _own(self, params: Json) -> Json:
        mid = params.get("message_id")
        if not mid:
            raise bad_request("message_id is required")
        rec = self.messages.get(mid)
        if rec is None or rec["deleted"]:
            raise not_found(f"Message {mid} not found")
        return rec

    async def _edit(self, request: web.Request, params: Json, body: bytes) -> Json:
        rec = self._own(params)
        if rec["sender_id"] != world.MAX_BOT_ID:
            # OpenAPI PUT /messages: «редактировать сообщения, отправленные ботом»
            raise access_denied("The bot may edit only its own messages")
        chat = self.chats[rec["chat_id"]]
        has_keyboard = any(a["type"] == "inline_keyboard" for a in rec["attachments"])
        age = self._now() - rec["timestamp"] / 1000
        if chat["type"] == "dialog" and not has_keyboard and age > DIALOG_EDIT_WINDOW:
            # OpenAPI PUT /messages: dialogs, 7 days unless the message has a keyboard
            raise access_denied("Message is too old to be edited")
        data = self._json_body(body)
        text, markup, attachments = self._body(data, editing=True)
        if text is not None:
            rec["text"], rec["markup"] = text, markup
        if attachments is not None:
            # OpenAPI NewMessageBody.attachments: null keeps them, [] removes all
            rec["attachments"] = attachments
            rec.pop("callback_id", None)
            self._index_callbacks(rec)
        if not rec["text"] and not rec["attachments"]:
            raise bad_request("Message must have text or attachments")
        rec["edited"] = _ms(self._now())
        return {"success": True}

    async def _delete(self, request: web.Request, params: Json, body: bytes) -> Json:
        rec = self._own(params)
        chat = self.chats[rec["chat_id"]]
        if rec["sender_id"] != world.MAX_BOT_ID and not chat.get("bot_admin"):
            # OpenAPI DELETE /messages: «если бот имеет разрешение на удаление сообщений»
            raise access_denied("The bot may not delete this message")
        rec["deleted"] = True
        return {"success": True}

    async def _list_messages(self, request: web.Request, params: Json, body: bytes) -> Json:
        """OpenAPI GET /messages: a chat's messages (``chat_id``; or ``message_ids``),
        newest first, ``count`` 1..100 (default 50); ``from``/``to`` bound the time (ms)."""
        ids = [m for m in (params.get("message_ids") or "").split(",") if m]
        if ids:
            found = [self.messages[m] for m in ids if m in self.messages
                     and not self.messages[m]["deleted"]]
        else:
            if params.get("chat_id") is None:
                raise bad_request("chat_id or message_ids is required")
            chat = self.chats.get(_int_param(params["chat_id"], "chat_id"))
            if chat is None or world.MAX_BOT_ID not in chat["members"]:
                raise chat_not_found(_int_param(params["chat_id"], "chat_id"))
            count = _bounded(params, "count", 50, 1, 100)
            since = _int_or_none(params.get("from"))
            until = _int_or_none(params.get("to"))
            found = [m for m in (self.messages[mid] for mid in reversed(self.order))
                     if m["chat_id"] == chat["chat_id"] and not m["deleted"]
                     and (since is None or m["timestamp"] <= since)
                     and (until is None or m["timestamp"] >= until)][:count]
        return {"messages": [self._message_view(m) for m in found]}

    async def _get_message(self, request: web.Request, params: Json, body: bytes) -> Json:
        rec = self.messages.get(request.match_info["mid"])
        if rec is None or rec["deleted"] or world.MAX_BOT_ID not in self.chats[
                rec["chat_id"]]["members"]:
            raise not_found("Message not found")
        return self._message_view(rec)

    async def _answer(self, request: web.Request, params: Json, body: bytes) -> Json:
        callback_id = params.get("callback_id", "")
        if not callback_id.strip():
            raise bad_request("callback_id is required")
        press = self.callbacks.get(callback_id)
        if press is None:
            # not documented: an unknown callback_id
            raise bad_request("Invalid callback_id")
        data = self._json_body(body)
        message, notification = data.get("message"), data.get("notification")
        if message is None and notification is None:
            # OpenAPI CallbackAnswer: message and/or notification
            raise bad_request("Either message or notification is required")
        if notification is not None and not isinstance(notification, str):
            raise bad_request("notification must be a string")
        answer: Json = {"callback_id": callback_id, "user_id": press["user_id"],
                        "mid": press["mid"], "notification": notification,
                        "at": _ms(self._now())}
        if message is not None:
            if not isinstance(message, dict):
                raise bad_request("message must be an object")
            rec = self.messages.get(press["mid"])
            if rec is None or rec["deleted"]:
                raise not_found("Message not found")
            text, markup, attachments = self._body(message, editing=True)
            if text is not None:
                rec["text"], rec["markup"] = text, markup
            if attachments is not None:
                rec["attachments"] = attachments
                rec.pop("callback_id", None)
                self._index_callbacks(rec)
            rec["edited"] = _ms(self._now())
            answer["message"] = {"text": text}
        self.callback_answers.append(answer)
        return {"success": True}

    # ------------------------------------------------------------------ control API

    def _control(self, handler: Callable[[Json], Any]) -> Callable[
            [web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                if request.method == "POST":
                    try:
                        body = await request.json()
                    except ValueError:
                        raise ControlError("body is not JSON") from None
                    if not isinstance(body, dict):
                        raise ControlError("expected a JSON object")
                else:
                    body = dict(request.query)
                result = handler(body)
                if asyncio.iscoroutine(result):
                    result = await result
                return self._reply(result)
            except ControlError as error:
                return self._reply({"error": str(error)}, 400)
        return run

    @staticmethod
    def _int(body: Json, key: str, default: Any = ...) -> Any:
        if key not in body or body[key] is None:
            if default is ...:
                raise ControlError(f"{key} is required")
            return default
        try:
            return int(body[key])
        except (TypeError, ValueError):
            raise ControlError(f"{key} must be an integer") from None

    def _citizen(self, body: Json) -> int:
        user_id = self._int(body, "user_id")
        if user_id not in world.CITIZENS_MAX and user_id != world.MAX_ADMIN_USER:
            raise ControlError(f"user_id {user_id} is not a MAX citizen of this world")
        return user_id

    def _start(self, user_id: int, payload: str | None = None) -> int:
        chat_id = self._dialog(user_id)
        self.blocked.pop(user_id, None)
        update: Json = {"chat_id": chat_id, "user": self._user(user_id), "user_id": user_id,
                        "user_locale": "ru"}
        if payload is not None:
            update["payload"] = payload
        self._emit("bot_started", **update)
        return chat_id

    def _c_start(self, body: Json) -> Json:
        """A citizen opens the bot and presses «Начать» (optionally by a deep link)."""
        user_id = self._citizen(body)
        payload = body.get("payload")
        if payload is not None and (not isinstance(payload, str)
                                    or len(payload) > START_PAYLOAD_MAX):
            raise ControlError(f"payload must be a string of at most {START_PAYLOAD_MAX}")
        return {"chat_id": self._start(user_id, payload)}

    def _c_message(self, body: Json) -> Json:
        """A citizen writes: to the bot (no ``chat_id``) or in a chat the bot is in.
        ``photo``: true attaches an uploaded image; ``reply_to``: a mid it answers."""
        user_id = self._citizen(body)
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise ControlError("text must be a string")
        chat_id = self._int(body, "chat_id", None)
        if chat_id is None:
            if self.blocked.get(user_id):
                raise ControlError("the citizen stopped the bot: start it again first")
            if user_id not in self.dialogs:
                self._start(user_id)
            chat = self.chats[self.dialogs[user_id]]
        else:
            chat = self.chats.get(chat_id)
            if chat is None or chat["type"] == "dialog":
                raise ControlError(f"no group chat or channel {chat_id}")
            if user_id not in chat["members"]:
                chat["members"].append(user_id)
        attachments: list[Json] = []
        if body.get("photo"):
            photo_id = self.next_photo
            self.next_photo += 1
            attachments.append({"type": "image", "payload": {
                "photo_id": photo_id, "token": secrets.token_urlsafe(24),
                "url": f"https://i.oneme.ru/i?r=sandbox-{photo_id}"}})
        if not text and not attachments:
            raise ControlError("a message needs text or a photo")
        link = None
        if body.get("reply_to"):
            if body["reply_to"] not in self.messages:
                raise ControlError("reply_to: no such message")
            link = {"type": "reply", "mid": body["reply_to"]}
        rec = self._store(chat, user_id, text, [], attachments, link=link)
        if chat["bot_status"] == "active" and world.MAX_BOT_ID in chat["members"]:
            # OpenAPI UpdateList: events of group chats reach a bot that is an admin
            if chat["type"] == "dialog" or chat.get("bot_admin"):
                self._emit("message_created", message=self._message_view(rec),
                           **({"user_locale": "ru"} if chat["type"] == "dialog" else {}))
        return {"mid": rec["mid"], "chat_id": chat["chat_id"],
                "message": self._message_view(rec)}

    def _c_edit(self, body: Json) -> Json:
        rec = self.messages.get(str(body.get("mid")))
        if rec is None or rec["deleted"] or rec["sender_id"] == world.MAX_BOT_ID:
            raise ControlError("mid: no such citizen's message")
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ControlError("text is required")
        rec["text"] = text
        rec["edited"] = _ms(self._now())
        self._emit("message_edited", message=self._message_view(rec))
        return {"mid": rec["mid"]}

    def _c_remove(self, body: Json) -> Json:
        rec = self.messages.get(str(body.get("mid")))
        if rec is None or rec["deleted"]:
            raise ControlError("mid: no such message")
        rec["deleted"] = True
        user_id = self._int(body, "user_id", rec["sender_id"])
        self._emit("message_removed", message_id=rec["mid"], chat_id=rec["chat_id"],
                   user_id=user_id)
        return {"mid": rec["mid"]}

    def _c_callback(self, body: Json) -> Json:
        """A press of a callback button of a bot's message. ``forged``: a payload the
        message's keyboard does not have (a stale client)."""
        user_id = self._citizen(body)
        rec = self.messages.get(str(body.get("mid")))
        if rec is None or rec["sender_id"] != world.MAX_BOT_ID:
            raise ControlError("mid: no such bot message")
        payload = body.get("payload")
        if not isinstance(payload, str):
            raise ControlError("payload is required")
        keyboard = next((a for a in rec["attachments"] if a["type"] == "inline_keyboard"), None)
        buttons = [b for row in (keyboard or {}).get("payload", {}).get("buttons", [])
                   for b in row if b["type"] == "callback"]
        if not body.get("forged") and not any(b["payload"] == payload for b in buttons):
            raise ControlError(f"no callback button with payload {payload!r} on the message")
        if rec["deleted"] and not body.get("forged"):
            raise ControlError("the message is deleted")
        callback_id = secrets.token_urlsafe(32)
        self.callbacks[callback_id] = {"mid": rec["mid"], "user_id": user_id,
                                       "payload": payload, "at": _ms(self._now())}
        chat = self.chats[rec["chat_id"]]
        self._emit("message_callback",
                   callback={"timestamp": _ms(self._now()), "callback_id": callback_id,
                             "payload": payload, "user": self._user(user_id)},
                   message=None if rec["deleted"] else self._message_view(rec),
                   **({"user_locale": "ru"} if chat["type"] == "dialog" else {}))
        return {"callback_id": callback_id}

    def _c_block(self, body: Json) -> Json:
        """``state``: "stopped" (bot_stopped), "removed" (dialog_removed + bot_stopped),
        "active" (started again: bot_started)."""
        user_id = self._citizen(body)
        state = body.get("state")
        if state == "active":
            return {"chat_id": self._start(user_id)}
        if state not in ("stopped", "removed"):
            raise ControlError("state must be stopped, removed or active")
        chat_id = self._dialog(user_id)
        self.blocked[user_id] = state
        fields = {"chat_id": chat_id, "user": self._user(user_id), "user_locale": "ru"}
        if state == "removed":
            # OpenAPI Update: dialog_removed comes together with bot_stopped
            self._emit("dialog_removed", **fields)
        self._emit("bot_stopped", **fields)
        return {"chat_id": chat_id}

    def _c_membership(self, body: Json) -> Json:
        """The bot is removed from a chat or channel (``state`` "removed") or added back
        ("active"), by ``by`` (the admin by default)."""
        chat_id = self._int(body, "chat_id")
        chat = self.chats.get(chat_id)
        if chat is None or chat["type"] == "dialog":
            raise ControlError(f"no group chat or channel {chat_id}")
        by = self._int(body, "by", world.MAX_ADMIN_USER)
        state = body.get("state")
        fields = {"chat_id": chat_id, "user": self._user(by), "user_id": by,
                  "is_channel": chat["type"] == "channel"}
        if state == "removed":
            chat["bot_status"] = "removed"
            chat["members"] = [m for m in chat["members"] if m != world.MAX_BOT_ID]
            self._emit("bot_removed", **fields)
        elif state == "active":
            chat["bot_status"] = "active"
            if world.MAX_BOT_ID not in chat["members"]:
                chat["members"].append(world.MAX_BOT_ID)
            self._emit("bot_added", **fields)
        else:
            raise ControlError("state must be removed or active")
        return {"chat_id": chat_id}

    def _c_user_added(self, body: Json) -> Json:
        chat_id = self._int(body, "chat_id")
        chat = self.chats.get(chat_id)
        if chat is None or chat["type"] == "dialog":
            raise ControlError(f"no group chat or channel {chat_id}")
        user_id = self._citizen(body)
        inviter = self._int(body, "inviter_id", None)
        if user_id not in chat["members"]:
            chat["members"].append(user_id)
        if chat.get("bot_admin") and chat["bot_status"] == "active":
            # OpenAPI UserAddedToChatUpdate: only where the bot is an admin
            self._emit("user_added", chat_id=chat_id, user=self._user(user_id),
                       inviter_id=inviter, is_channel=chat["type"] == "channel")
        return {"chat_id": chat_id}

    def _c_channel_post(self, body: Json) -> Json:
        """The channel's admin posts by hand (the bot sees it as message_created)."""
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ControlError("text is required")
        chat = self.chats[world.MAX_CHANNEL]
        rec = self._store(chat, world.MAX_ADMIN_USER, text, [], [])
        if chat["bot_status"] == "active":
            self._emit("message_created", message=self._message_view(rec))
        return {"mid": rec["mid"], "message": self._message_view(rec)}

    def _c_set_uploads(self, body: Json) -> Json:
        """``processing_seconds``: how long an upload stays attachment.not.ready."""
        try:
            seconds = float(body["processing_seconds"])
        except (KeyError, TypeError, ValueError):
            raise ControlError("processing_seconds is required") from None
        if seconds < 0:
            raise ControlError("processing_seconds must not be negative")
        self.processing_seconds = seconds
        return {"processing_seconds": seconds}

    def _c_rate_limit(self, body: Json) -> Json:
        per_second = self._int(body, "per_second")
        if per_second < 1:
            raise ControlError("per_second must be positive")
        self.requests_per_second = per_second
        return {"per_second": per_second}

    def _sent_view(self, rec: Json) -> Json:
        view = self._message_view(rec)
        view["chat_id"] = rec["chat_id"]
        view["deleted"] = rec["deleted"]
        view["edited"] = rec["edited"]
        return view

    def _filtered(self, body: Json, bot_only: bool) -> list[Json]:
        chat_id = self._int(body, "chat_id", None)
        user_id = self._int(body, "user_id", None)
        if user_id is not None:
            chat_id = self.dialogs.get(user_id, 0)
        out = []
        for mid in self.order:
            rec = self.messages[mid]
            if bot_only and rec["sender_id"] != world.MAX_BOT_ID:
                continue
            if chat_id is not None and rec["chat_id"] != chat_id:
                continue
            out.append(self._sent_view(rec))
        return out

    def _c_sent(self, body: Json) -> list[Json]:
        """What the bot sent (``chat_id`` or ``user_id`` to filter), as it stands now."""
        return self._filtered(body, bot_only=True)

    def _c_messages(self, body: Json) -> list[Json]:
        return self._filtered(body, bot_only=False)

    def _c_channel(self, body: Json) -> list[Json]:
        """The channel's posts, live ones only, oldest first."""
        return [v for v in self._filtered({"chat_id": world.MAX_CHANNEL}, bot_only=False)
                if not v["deleted"]]

    def _c_uploads(self, body: Json) -> list[Json]:
        return list(self.uploads.values())

    def _c_callback_answers(self, body: Json) -> list[Json]:
        return self.callback_answers

    def _c_updates(self, body: Json) -> list[Json]:
        return [u["update"] for u in self.updates if u["n"] > self.confirmed]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int_param(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def _bounded(params: Json, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = _int_param(raw, name)
    if not low <= value <= high:
        # OpenAPI GET /updates parameter bounds
        raise bad_request(f"{name} must be between {low} and {high}")
    return value
