"""The VK API stand-in: what the real ``vk_api`` talks to over HTTP in tests and demos.

Served under ``/vk`` by the sandbox's aiohttp app:

- ``/vk/method/<method>`` — the API (GET or POST form), answering ``{"response": ...}``
  or ``{"error": {...}}`` in VK's shapes, with VK's token kinds (community, user,
  service), its limits (error 6 past the requests per second of the token's kind —
  community 20, user 3, service 3 — in real time; error 214 past 50 posts a day on one
  wall, by the sandbox clock) and its idempotency keys (``guid``, ``random_id``);
- ``/vk/longpoll/<group_id>`` — the Bots Long Poll server (see ``vk_longpoll``);
- ``/vk/upload/wall``, ``/vk/upload/messages`` — the photo upload servers (a wall photo
  with a user token, a message photo with the community's or a user's);
- ``/control/vk/...`` — playing citizens and reading what the bot did.

The world (communities, tokens, citizens) comes from ``world``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.domain.limits import VK_REQUESTS_PER_SECOND, VK_REQUESTS_PER_SECOND_MAX
from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.vk_longpoll import LongPoll

API_VERSION = "5.199"
# the sandbox's token kinds by the names of the limits table (bot.domain.limits, which
# names its source); a service token gets a small app's 3/s unless told otherwise
_RATE_KIND = {"group": "community", "user": "user", "service": "service"}
POSTS_PER_DAY = 50  # VK: posts a day on one wall
GUID_TTL = 3600  # VK dedupes a repeated ``guid`` for about an hour
WALL_ALBUM = -14  # VK's id of a wall photos album
MESSAGES_ALBUM = -15  # VK's id of the album of photos sent in messages
MESSAGE_MAX = 4096
# messages.send: "attachment ... up to 10 objects" (dev.vk.com/ru/method/messages.send);
# wall.post / wall.createComment: "attachments ... up to 10" (dev.vk.com/ru/method/wall.post)
ATTACHMENTS_MAX = 10
# one photo per upload request: the wall and message upload servers read the file field
# ``photo`` (dev.vk.com/ru/api/upload/wall-photo, .../photo-in-message); vk_api names it
# ``file0``. More than one file in a request is refused (stricter than we know VK to be).
UPLOAD_FILES_MAX = 1
# an upload URL is good for a while only; VK does not publish how long: the hour, counted
# on the sandbox clock, and the words of the upload server's refusal are the sandbox's own
UPLOAD_TTL = 3600

_VK_DAY = ZoneInfo("Europe/Moscow")  # VK counts a "day" in Moscow time
_dumps = partial(json.dumps, ensure_ascii=False)

# codes and words as VK sends them: VKCOM/vk-api-schema errors.json (api_error_*), which
# also lists the methods that raise each (wall/methods.json, messages/methods.json)
ERROR_TEXT = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request",
    9: "Flood control",
    10: "Internal server error",
    14: "Captcha needed",
    15: "Access denied",
    18: "User was deleted or banned",
    27: "Group authorization failed: method is unavailable with group auth.",
    28: "Application authorization failed: method is unavailable with service token.",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    121: "Invalid hash",
    212: "Access to post comments denied",  # the post's comments are closed
    213: "Access to status replies denied",  # this author may not comment the post
    214: "Access to adding post denied",
    222: "Hyperlinks are forbidden",  # links in a comment where the wall forbids them
    223: "Too many replies",  # api_error_wall_reply_owner_flood: the owner's replies
    901: "Can't send messages for users without permission",
    902: "Can't send messages to this user due to their privacy settings",
    914: "Message is too long",
}

_SCREEN_NAMES = {
    world.VK_ADMIN: "adm_shikhany",
    world.VK_HEAD: "glava_shikhany",
    world.VK_PUBLIC: "podslushano_shikhany",
}
# communities the bot holds a token for: only these have a long poll for it
TOKEN_GROUPS = (world.VK_ADMIN, world.VK_HEAD)

_FIRST_M = ["Иван", "Алексей", "Сергей", "Дмитрий", "Андрей", "Михаил", "Николай",
            "Владимир", "Павел", "Олег", "Артём", "Юрий", "Виктор", "Егор", "Максим"]
_FIRST_F = ["Мария", "Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана",
            "Екатерина", "Юлия", "Галина", "Людмила", "Дарья", "Ксения", "Полина"]
_LAST = ["Петров", "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
         "Новиков", "Морозов", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов",
         "Семёнов", "Голубев", "Виноградов", "Богданов", "Воробьёв", "Фёдоров", "Михайлов",
         "Беляев", "Тарасов", "Белов", "Комаров", "Орлов", "Киселёв", "Макаров", "Андреев"]

# what VK takes for a hyperlink in a comment (error 222 where links are forbidden): an
# address with a scheme or www., or a bare domain name; stricter than VK may be
_HYPERLINK = re.compile(
    r"(?i)(?:https?://|www\.)\S+|\b[\w-]+\.(?:ru|рф|com|net|org|su|info|me|io|cc)\b")
_ATTACHMENT = re.compile(r"^(photo|video|audio|doc|poll|market|wall)(-?\d+)_(\d+)(?:_(\w+))?$")


def user_name(user_id: int) -> tuple[str, str, int]:
    """A citizen's first name, last name and VK ``sex`` (1 female, 2 male), fixed by id."""
    mix = user_id * 2654435761 % 2**32  # neighbours get unrelated names
    female = (mix // 450) % 2 == 1
    first = (_FIRST_F if female else _FIRST_M)[(mix >> 12) % 15]
    last = _LAST[(mix // 15) % len(_LAST)] + ("а" if female else "")
    return first, last, 1 if female else 2


class VkApiError(Exception):
    """An error VK answers as ``{"error": {...}}`` with HTTP 200."""

    def __init__(self, code: int, detail: str | None = None, *, text: str | None = None) -> None:
        base = ERROR_TEXT.get(code, ERROR_TEXT[1])
        self.code = code
        self.msg = text or (f"{base}: {detail}" if detail else base)
        super().__init__(self.msg)


def _param_error(detail: str) -> VkApiError:
    return VkApiError(100, detail)


@dataclass(frozen=True)
class Token:
    """What an access token is: a community's, a user's (admin of ``group_id``) or a service one."""

    kind: str  # "group" | "user" | "service"
    group_id: int | None = None
    user_id: int | None = None


def _world_tokens() -> dict[str, Token]:
    tokens = {world.SERVICE_TOKEN: Token("service")}
    for group_id in TOKEN_GROUPS:
        tokens[world.community_token(group_id)] = Token("group", group_id=group_id)
        tokens[world.user_token(group_id)] = Token(
            "user", group_id=group_id, user_id=world.VK_ADMIN_USER
        )
    return tokens


class _Params:
    """A request's parameters with VK's error 100 for missing or malformed ones."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw.get(name)
        if value is None or (required and value == ""):
            if required:
                raise _param_error(f"{name} is undefined")
            return default
        return value

    def number(
        self, name: str, default: int | None = None, *, required: bool = False
    ) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise _param_error(f"{name} is undefined")
            return default
        try:
            return int(value)
        except ValueError:
            raise _param_error(f"{name} not integer") from None

    def flag(self, name: str) -> bool:
        return self.raw.get(name, "").lower() in ("1", "true")

    def ids(self, name: str) -> list[str]:
        return [part.strip() for part in self.raw.get(name, "").split(",") if part.strip()]


@dataclass
class _Wall:
    """One wall: posts and comments share VK's per-wall id counter."""

    owner_id: int
    next_id: int = 1
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    guids: dict[str, list[int]] = field(default_factory=dict)  # key -> [id, unix time]
    day_posts: dict[str, int] = field(default_factory=dict)  # "YYYY-MM-DD" -> wall.post count

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def dump(self) -> dict[str, Any]:
        return {
            "owner_id": self.owner_id,
            "next_id": self.next_id,
            "posts": list(self.posts.values()),
            "comments": list(self.comments.values()),
            "guids": self.guids,
            "day_posts": self.day_posts,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Wall:
        return cls(
            owner_id=int(data["owner_id"]),
            next_id=int(data["next_id"]),
            posts={int(p["id"]): p for p in data.get("posts", [])},
            comments={int(c["id"]): c for c in data.get("comments", [])},
            guids={k: list(v) for k, v in data.get("guids", {}).items()},
            day_posts=dict(data.get("day_posts", {})),
        )


@dataclass
class _Mailbox:
    """A community's messages: what citizens wrote and what the community sent."""

    group_id: int
    next_id: int = 1
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    random_ids: dict[str, int] = field(default_factory=dict)  # random_id -> message id
    conversation: dict[str, int] = field(default_factory=dict)  # peer -> last conv. msg id
    allowed: set[int] = field(default_factory=set)  # peers who wrote first (may be answered)

    def take_id(self, peer_id: int) -> tuple[int, int]:
        self.next_id += 1
        conv = self.conversation.get(str(peer_id), 0) + 1
        self.conversation[str(peer_id)] = conv
        return self.next_id - 1, conv

    def dump(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "next_id": self.next_id,
            "received": self.received,
            "sent": self.sent,
            "random_ids": self.random_ids,
            "conversation": self.conversation,
            "allowed": sorted(self.allowed),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> _Mailbox:
        return cls(
            group_id=int(data["group_id"]),
            next_id=int(data["next_id"]),
            received=list(data.get("received", [])),
            sent=list(data.get("sent", [])),
            random_ids={k: int(v) for k, v in data.get("random_ids", {}).items()},
            conversation={k: int(v) for k, v in data.get("conversation", {}).items()},
            allowed={int(x) for x in data.get("allowed", [])},
        )


Handler = Callable[[Token, _Params, web.Request], Any]


class VkSandbox:
    """The VK API, its Bots Long Poll and upload servers, and their control API."""

    def __init__(self, state: SandboxState, rate_limits: bool = True) -> None:
        self.state = state
        self.rate_limits = rate_limits
        self.tokens = _world_tokens()
        self.walls: dict[int, _Wall] = {}
        self.mailboxes: dict[int, _Mailbox] = {}
        self.polls: dict[int, LongPoll] = {g: LongPoll(g) for g in TOKEN_GROUPS}
        self.photos: dict[str, dict[str, Any]] = {}  # "owner_id" "_" "id" -> photo
        self.photo_bytes: dict[str, bytes] = {}  # in memory only, not in ``dump``
        self.votes: dict[str, dict[str, Any]] = {}  # "owner_id" "_" "id" -> poll
        self.uploads: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}  # photo / poll / other comment ids per owner
        self._calls: dict[str, deque[float]] = {}
        self.requests_per_second = dict(VK_REQUESTS_PER_SECOND)
        # users whose privacy settings let no community write to them (error 902)
        self.messages_closed: set[int] = set()
        self._postponed: set[tuple[int, int]] = set()
        # method -> (token kinds allowed, handler)
        self.methods: dict[str, tuple[frozenset[str], Handler]] = {
            "groups.getLongPollServer": (_kinds("group", "user"), self._groups_get_long_poll),
            "groups.getById": (_kinds("group", "user", "service"), self._groups_get_by_id),
            "users.get": (_kinds("group", "user", "service"), self._users_get),
            "wall.get": (_kinds("user", "service"), self._wall_get),
            "wall.getById": (_kinds("user", "service"), self._wall_get_by_id),
            "wall.getComments": (_kinds("user", "service"), self._wall_get_comments),
            "wall.post": (_kinds("user"), self._wall_post),
            "wall.createComment": (_kinds("user", "group"), self._wall_create_comment),
            "messages.send": (_kinds("group", "user"), self._messages_send),
            "photos.getWallUploadServer": (_kinds("user"), self._photos_get_wall_upload),
            "photos.saveWallPhoto": (_kinds("user"), self._photos_save_wall),
            # vk-api-schema photos/methods.json: both open to user and community tokens
            "photos.getMessagesUploadServer": (_kinds("group", "user"),
                                               self._photos_get_messages_upload),
            "photos.saveMessagesPhoto": (_kinds("group", "user"), self._photos_save_messages),
            "polls.create": (_kinds("user"), self._polls_create),
        }

    # ------------------------------------------------------------------ wiring

    def register(self, app: web.Application) -> None:
        """Add the ``/vk/...`` and ``/control/vk/...`` routes to the sandbox's app."""
        app.router.add_route("*", "/vk/method/{method}", self._api)
        app.router.add_get("/vk/longpoll/{group_id}", self._longpoll)
        app.router.add_post("/vk/upload/wall", self._upload)
        app.router.add_post("/vk/upload/messages", self._upload)
        app.router.add_get("/vk/photo/{name}", self._photo_file)
        control: list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]] = [
            ("POST", "comment", self._c_comment),
            ("POST", "comments", self._c_comments),
            ("POST", "edit_comment", self._c_edit_comment),
            ("POST", "delete_comment", self._c_delete_comment),
            ("POST", "post", self._c_post),
            ("POST", "message", self._c_message),
            ("POST", "photo_comment", self._c_photo_comment),
            ("POST", "video_comment", self._c_video_comment),
            ("POST", "board_post", self._c_board_post),
            ("POST", "longpoll_fail", self._c_longpoll_fail),
            ("POST", "rate_limits", self._c_rate_limits),
            ("POST", "post_settings", self._c_post_settings),
            ("POST", "privacy", self._c_privacy),
            ("GET", "wall", self._c_wall),
            ("GET", "messages", self._c_messages),
        ]
        for verb, name, handler in control:
            app.router.add_route(verb, f"/control/vk/{name}", handler)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, _app: web.Application) -> None:
        for poll in self.polls.values():
            poll.close()

    def dump(self) -> dict[str, Any]:
        """The VK world as JSON-ready data, for ``--state PATH``."""
        return {
            "walls": [w.dump() for w in self.walls.values()],
            "mailboxes": [m.dump() for m in self.mailboxes.values()],
            "longpoll": {str(g): p.dump() for g, p in self.polls.items()},
            "photos": self.photos,
            "polls": self.votes,
            "uploads": self.uploads,
            "counters": self.counters,
            "messages_closed": sorted(self.messages_closed),
        }

    def load(self, data: dict[str, Any]) -> None:
        self.walls = {int(w["owner_id"]): _Wall.load(w) for w in data.get("walls", [])}
        self.mailboxes = {
            int(m["group_id"]): _Mailbox.load(m) for m in data.get("mailboxes", [])
        }
        for group, poll in data.get("longpoll", {}).items():
            self.polls[int(group)] = LongPoll.load(int(group), poll)
        self.photos = dict(data.get("photos", {}))
        self.votes = dict(data.get("polls", {}))
        self.uploads = dict(data.get("uploads", {}))
        self.counters = dict(data.get("counters", {}))
        self.messages_closed = {int(x) for x in data.get("messages_closed", [])}
        self._postponed = {
            (w.owner_id, p["id"])
            for w in self.walls.values()
            for p in w.posts.values()
            if p["post_type"] == "postpone"
        }

    # ------------------------------------------------------------------ the API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        raw: dict[str, str] = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            raw.update({k: v for k, v in form.items() if isinstance(v, str)})
        self._publish_due()
        fault = self.state.take_fault("vk", method)
        if fault is not None and fault.kind != "vk_error":
            return await self._http_fault(request, method, raw, fault.kind, fault.retry_after)
        try:
            if fault is not None:
                raise VkApiError(fault.code or 10)
            result = self._call(method, raw, request)
        except VkApiError as error:
            self.state.record("vk", method, raw, error.code)
            return web.json_response({"error": _error_body(error, method, raw)}, dumps=_dumps)
        self.state.record("vk", method, raw, 200)
        return web.json_response({"response": result}, dumps=_dumps)

    def _call(self, method: str, raw: dict[str, str], request: web.Request) -> Any:
        access_token = raw.get("access_token")
        if not access_token:
            raise VkApiError(5, text="User authorization failed: no access_token passed.")
        token = self.tokens.get(access_token)
        if token is None:
            raise VkApiError(5)
        entry = self.methods.get(method)
        if entry is None:
            raise VkApiError(3)
        if not raw.get("v"):
            raise VkApiError(8, "v (version) is required")
        self._rate_limit(access_token, token)
        kinds, handler = entry
        if token.kind not in kinds:
            if token.kind == "group":
                raise VkApiError(27)
            if token.kind == "service":
                raise VkApiError(28)
            raise VkApiError(15, "no access to call this method")
        return handler(token, _Params(raw), request)

    def _rate_limit(self, access_token: str, token: Token) -> None:
        """VK's per-token requests-per-second limit, in real time (not the sandbox clock).

        A refused request counts too (stricter than we know VK to be): a client that
        retries error 6 at once stays refused until it slows down.
        """
        if not self.rate_limits:
            return
        limit = self.requests_per_second[_RATE_KIND[token.kind]]
        now = time.monotonic()
        calls = self._calls.setdefault(access_token, deque())
        while calls and now - calls[0] >= 1.0:
            calls.popleft()
        calls.append(now)
        if len(calls) > limit:
            raise VkApiError(6)

    async def _http_fault(
        self, request: web.Request, method: str, raw: dict[str, str], kind: str, retry_after: int
    ) -> web.StreamResponse:
        if kind == "timeout":
            self.state.record("vk", method, raw, 504)
            # hold the request until the client gives up (or a minute passes)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            return web.Response(status=504, text="Gateway Timeout")
        if kind == "429":
            self.state.record("vk", method, raw, 429)
            return web.Response(
                status=429, text="Too Many Requests", headers={"Retry-After": str(retry_after)}
            )
        self.state.record("vk", method, raw, 500)
        return web.Response(status=500, text="Internal Server Error")

    # ------------------------------------------------------------------ helpers

    def _now(self) -> int:
        return int(self.state.clock.timestamp())

    def _wall(self, owner_id: int) -> _Wall:
        wall = self.walls.get(owner_id)
        if wall is None:
            wall = self.walls[owner_id] = _Wall(owner_id)
        return wall

    def _mailbox(self, group_id: int) -> _Mailbox:
        box = self.mailboxes.get(group_id)
        if box is None:
            box = self.mailboxes[group_id] = _Mailbox(group_id)
        return box

    def _next(self, counter: str) -> int:
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    def _emit(self, group_id: int, event_type: str, obj: dict[str, Any]) -> None:
        poll = self.polls.get(group_id)
        if poll is not None:
            poll.emit(event_type, obj)

    def _is_admin(self, token: Token, group_id: int) -> bool:
        return token.kind in ("user", "group") and token.group_id == group_id

    def _publish_due(self) -> None:
        """Postponed posts whose ``publish_date`` has come (by the sandbox clock) go live."""
        if not self._postponed:
            return
        now = self._now()
        for owner_id, post_id in sorted(self._postponed):
            post = self.walls[owner_id].posts[post_id]
            if post["publish_date"] <= now:
                self._postponed.discard((owner_id, post_id))
                post["post_type"] = "post"
                post["date"] = post["publish_date"]
                if owner_id < 0:
                    self._emit(-owner_id, "wall_post_new", self._post_view(post))

    def _resolve_owner(self, params: _Params, token: Token) -> int:
        owner_id = params.number("owner_id")
        if owner_id is not None:
            return owner_id
        domain = params.text("domain")
        if domain:
            for group_id, name in _SCREEN_NAMES.items():
                if domain in (name, f"club{group_id}", f"public{group_id}"):
                    return -group_id
            match = re.fullmatch(r"id(\d+)", domain)
            if match:
                return int(match.group(1))
            raise _param_error("domain is invalid")
        if token.user_id is not None:
            return token.user_id
        raise _param_error("owner_id is undefined")

    def _attachments(self, value: str | None) -> list[dict[str, Any]]:
        """Parse ``photo-1_2,poll-1_3,https://...`` into VK attachment objects."""
        result: list[dict[str, Any]] = []
        for item in [x.strip() for x in (value or "").split(",") if x.strip()]:
            if item.startswith(("http://", "https://")):
                result.append({"type": "link", "link": {"url": item, "title": "", "caption": ""}})
                continue
            match = _ATTACHMENT.match(item)
            if match is None:
                raise _param_error("attachments is invalid")
            kind, owner, obj_id = match.group(1), match.group(2), match.group(3)
            key = f"{owner}_{obj_id}"
            if kind == "photo":
                if key not in self.photos:
                    raise _param_error(f"attachments: photo {key} not found")
                result.append({"type": "photo", "photo": self.photos[key]})
            elif kind == "poll":
                if key not in self.votes:
                    raise _param_error(f"attachments: poll {key} not found")
                result.append({"type": "poll", "poll": self.votes[key]})
            else:
                result.append({"type": kind, kind: {"id": int(obj_id), "owner_id": int(owner)}})
        if len(result) > ATTACHMENTS_MAX:
            raise _param_error("too many attachments")
        return result

    def _check_guid(self, wall: _Wall, key: str) -> int | None:
        seen = wall.guids.get(key)
        if seen is not None and self._now() - seen[1] < GUID_TTL:
            return seen[0]
        return None

    # ------------------------------------------------------------------ views (VK shapes)

    def _post_view(self, post: dict[str, Any]) -> dict[str, Any]:
        wall = self.walls[post["owner_id"]]
        count = sum(1 for c in post["comments"] if not wall.comments[c]["deleted"])
        view: dict[str, Any] = {
            "id": post["id"],
            "owner_id": post["owner_id"],
            "from_id": post["from_id"],
            "date": post["date"],
            "post_type": post["post_type"],
            "text": post["text"],
            "marked_as_ads": 0,
            "is_favorite": False,
            "attachments": post["attachments"],
            "comments": {"count": count, "can_post": 0 if post.get("comments_closed") else 1,
                         "groups_can_post": True},
            "likes": {"count": 0, "user_likes": 0, "can_like": 1, "can_publish": 1},
            "reposts": {"count": 0, "user_reposted": 0},
            "views": {"count": 0},
            "post_source": {"type": "api" if post["via"] == "api" else "vk"},
            "hash": hashlib.md5(f"{post['owner_id']}_{post['id']}".encode()).hexdigest()[:14],
        }
        if post.get("created_by"):
            view["created_by"] = post["created_by"]
        if post["post_type"] == "postpone":
            view["postponed_id"] = post["id"]
        return view

    def _comment_view(
        self, wall: _Wall, comment: dict[str, Any], thread_items: int = 0
    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": comment["id"],
            "from_id": comment["from_id"],
            "date": comment["date"],
            "text": comment["text"],
            "post_id": comment["post_id"],
            "owner_id": comment["owner_id"],
            "parents_stack": list(comment["parents_stack"]),
        }
        if comment["attachments"]:
            view["attachments"] = comment["attachments"]
        if comment["reply_to_comment"]:
            view["reply_to_user"] = comment["reply_to_user"]
            view["reply_to_comment"] = comment["reply_to_comment"]
        if comment["deleted"]:
            view.update({"deleted": True, "from_id": 0, "text": ""})
        if not comment["parents_stack"]:
            replies = [wall.comments[r] for r in comment["replies"]]
            replies = [r for r in replies if not r["deleted"]]
            view["thread"] = {
                "count": len(replies),
                "items": [self._comment_view(wall, r) for r in replies[:thread_items]],
                "can_post": True,
                "show_reply_button": True,
                "groups_can_post": True,
            }
        return view

    def _event_comment(self, wall: _Wall, comment: dict[str, Any]) -> dict[str, Any]:
        view = self._comment_view(wall, comment)
        view.pop("thread", None)
        if not comment["parents_stack"]:
            view["thread"] = {"count": 0}
        view["post_owner_id"] = comment["owner_id"]
        return view

    def _profiles(self, ids: set[int]) -> dict[str, list[dict[str, Any]]]:
        profiles = [self._user(i, []) for i in sorted(x for x in ids if x > 0)]
        groups = [
            self._group(-i, []) for i in sorted(x for x in ids if x < 0) if -i in _SCREEN_NAMES
        ]
        return {"profiles": profiles, "groups": groups}

    def _user(self, user_id: int, fields: list[str]) -> dict[str, Any]:
        first, last, sex = user_name(user_id)
        view: dict[str, Any] = {
            "id": user_id,
            "first_name": first,
            "last_name": last,
            "can_access_closed": True,
            "is_closed": False,
        }
        for name in fields:
            if name == "sex":
                view["sex"] = sex
            elif name in ("screen_name", "domain"):
                view[name] = f"id{user_id}"
            elif name.startswith("photo_"):
                view[name] = "https://vk.com/images/camera_100.png"
        return view

    def _group(self, group_id: int, fields: list[str]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": group_id,
            "name": world.VK_COMMUNITIES[group_id],
            "screen_name": _SCREEN_NAMES[group_id],
            "is_closed": 0,
            "type": "page",
            "photo_50": "https://vk.com/images/community_50.png",
            "photo_100": "https://vk.com/images/community_100.png",
            "photo_200": "https://vk.com/images/community_200.png",
        }
        for name in fields:
            if name == "members_count":
                view["members_count"] = 1000 + group_id % 1000
        return view

    # ------------------------------------------------------------------ methods

    def _groups_get_long_poll(self, token: Token, params: _Params, request: web.Request) -> Any:
        group_id = params.number("group_id", required=True)
        assert group_id is not None
        if not self._is_admin(token, group_id) or group_id not in self.polls:
            raise VkApiError(15, "no access to this group")
        poll = self.polls[group_id]
        return {
            "key": poll.new_key(),
            "server": f"{request.url.origin()}/vk/longpoll/{group_id}",
            "ts": str(poll.next_ts),
        }

    def _groups_get_by_id(self, token: Token, params: _Params, request: web.Request) -> Any:
        raw_ids = params.ids("group_ids") or params.ids("group_id")
        if not raw_ids:
            if token.group_id is None:
                raise _param_error("group_ids is undefined")
            raw_ids = [str(token.group_id)]
        groups = []
        for raw in raw_ids:
            group_id = next(
                (g for g, name in _SCREEN_NAMES.items() if raw in (name, f"club{g}", f"public{g}")),
                None,
            )
            if group_id is None and raw.lstrip("-").isdigit():
                group_id = abs(int(raw))
            if group_id not in _SCREEN_NAMES:
                raise _param_error("group_ids is undefined")
            groups.append(self._group(group_id, params.ids("fields")))
        return {"groups": groups, "profiles": []}

    def _users_get(self, token: Token, params: _Params, request: web.Request) -> Any:
        raw_ids = params.ids("user_ids")
        if not raw_ids:
            return [] if token.user_id is None else [self._user(token.user_id, [])]
        users = []
        for raw in raw_ids:
            match = re.fullmatch(r"(?:id)?(\d+)", raw)
            if match is None:
                raise _param_error("user_ids is invalid")
            users.append(self._user(int(match.group(1)), params.ids("fields")))
        return users

    def _wall_get(self, token: Token, params: _Params, request: web.Request) -> Any:
        owner_id = self._resolve_owner(params, token)
        offset = params.number("offset", 0) or 0
        count = min(max(params.number("count", 20) or 0, 0), 100)
        kind = params.text("filter", "all") or "all"
        admin = owner_id < 0 and token.kind == "user" and token.group_id == -owner_id
        wall = self.walls.get(owner_id)
        posts = list(wall.posts.values()) if wall else []
        if kind == "postponed":
            chosen = [p for p in posts if p["post_type"] == "postpone"] if admin else []
        elif kind == "suggests":
            chosen = [p for p in posts if p["post_type"] == "suggest"] if admin else []
        else:
            chosen = [p for p in posts if p["post_type"] == "post"]
            if kind == "owner":
                chosen = [p for p in chosen if p["from_id"] == owner_id]
            elif kind == "others":
                chosen = [p for p in chosen if p["from_id"] != owner_id]
        chosen.sort(key=lambda p: p["id"], reverse=True)
        items = [self._post_view(p) for p in chosen[offset : offset + count]]
        result: dict[str, Any] = {"count": len(chosen), "items": items}
        if params.flag("extended"):
            result.update(self._profiles({p["from_id"] for p in items} | {owner_id}))
        return result

    def _wall_get_by_id(self, token: Token, params: _Params, request: web.Request) -> Any:
        wanted = params.ids("posts")
        if not wanted:
            raise _param_error("posts is undefined")
        items = []
        for ref in wanted:
            match = re.fullmatch(r"(-?\d+)_(\d+)", ref)
            if match is None:
                continue
            wall = self.walls.get(int(match.group(1)))
            post = wall.posts.get(int(match.group(2))) if wall else None
            if post is not None and post["post_type"] == "post":
                items.append(self._post_view(post))
        result: dict[str, Any] = {"items": items}
        if params.flag("extended"):
            result.update(self._profiles({p["from_id"] for p in items}))
        return result

    def _wall_get_comments(self, token: Token, params: _Params, request: web.Request) -> Any:
        owner_id = self._resolve_owner(params, token)
        post_id = params.number("post_id", required=True)
        wall = self.walls.get(owner_id)
        post = wall.posts.get(post_id) if wall and post_id is not None else None
        if wall is None or post is None or post["post_type"] != "post":
            raise _param_error("post_id is invalid")
        if post.get("comments_closed") and not self._is_admin(token, -owner_id):
            raise VkApiError(212)
        offset = params.number("offset", 0) or 0
        count = min(max(params.number("count", 10) or 0, 0), 100)
        thread_items = min(max(params.number("thread_items_count", 0) or 0, 0), 10)
        parent = params.number("comment_id")
        if parent is not None:
            root = wall.comments.get(parent)
            if root is None or root["post_id"] != post_id:
                raise _param_error("comment_id is invalid")
            level = [wall.comments[c] for c in root.get("replies", [])]
        else:
            level = [wall.comments[c] for c in post["comments"]]
            level = [c for c in level if not c["parents_stack"]]
        # a deleted comment stays as a stub only while it has live replies
        level = [
            c
            for c in level
            if not c["deleted"]
            or any(not wall.comments[r]["deleted"] for r in c.get("replies", []))
        ]
        if params.text("sort", "asc") == "desc":
            level.reverse()
        start = params.number("start_comment_id")
        if start is not None:
            position = next((i for i, c in enumerate(level) if c["id"] == start), None)
            offset = position if position is not None else len(level)
        chosen = level[offset : offset + count]
        items = [self._comment_view(wall, c, thread_items) for c in chosen]
        total = sum(1 for c in post["comments"] if not wall.comments[c]["deleted"])
        result: dict[str, Any] = {
            "count": total if parent is None else len(level),
            "items": items,
            "current_level_count": len(level),
            "can_post": True,
            "show_reply_button": True,
            "groups_can_post": True,
        }
        if params.flag("extended"):
            authors = {c["from_id"] for c in items}
            for c in items:
                authors |= {r["from_id"] for r in c.get("thread", {}).get("items", [])}
            result.update(self._profiles(authors))
        return result

    def _wall_post(self, token: Token, params: _Params, request: web.Request) -> Any:
        assert token.user_id is not None
        owner_id = params.number("owner_id", token.user_id)
        assert owner_id is not None
        if owner_id < 0:
            if -owner_id not in _SCREEN_NAMES:
                raise _param_error("owner_id is invalid")
            if not self._is_admin(token, -owner_id):
                raise VkApiError(15)
        elif owner_id != token.user_id:
            raise VkApiError(214)
        message = params.text("message", "") or ""
        attachments = self._attachments(params.text("attachments"))
        if not message and not attachments:
            raise _param_error("message is empty or invalid")
        wall = self._wall(owner_id)
        guid = params.text("guid")
        if guid:
            seen = self._check_guid(wall, f"post:{guid}")
            if seen is not None:
                return {"post_id": seen}
        now = self._now()
        day = datetime.fromtimestamp(now, _VK_DAY).date().isoformat()
        if wall.day_posts.get(day, 0) >= POSTS_PER_DAY:
            raise VkApiError(214, f"you can only add {POSTS_PER_DAY} posts a day")
        publish_date = params.number("publish_date")
        postponed = publish_date is not None and publish_date > now
        from_group = owner_id < 0 and params.flag("from_group")
        post = self._add_post(
            wall,
            from_id=owner_id if from_group else token.user_id,
            text=message,
            post_type="postpone" if postponed else "post",
            attachments=attachments,
            via="api",
            created_by=token.user_id,
            guid=guid,
            publish_date=publish_date if postponed else None,
            date=publish_date if postponed and publish_date is not None else now,
        )
        post["attachments_param"] = params.text("attachments")
        post["signed"] = params.flag("signed")
        wall.day_posts[day] = wall.day_posts.get(day, 0) + 1
        if guid:
            wall.guids[f"post:{guid}"] = [post["id"], now]
        if postponed:
            self._postponed.add((owner_id, post["id"]))
        elif owner_id < 0:
            self._emit(-owner_id, "wall_post_new", self._post_view(post))
        return {"post_id": post["id"]}

    def _wall_create_comment(self, token: Token, params: _Params, request: web.Request) -> Any:
        owner_id = params.number("owner_id", token.user_id)
        if owner_id is None:
            raise _param_error("owner_id is undefined")
        post_id = params.number("post_id", required=True)
        wall = self.walls.get(owner_id)
        post = wall.posts.get(post_id) if wall and post_id is not None else None
        if wall is None or post is None or post["post_type"] != "post":
            raise _param_error("post_id is invalid")
        if token.kind == "group":
            if owner_id != -(token.group_id or 0):
                raise VkApiError(15)
            from_id = owner_id
        else:
            from_group = params.number("from_group", 0) or 0
            if from_group:
                if not self._is_admin(token, from_group):
                    raise VkApiError(15)
                from_id = -from_group
            else:
                assert token.user_id is not None
                from_id = token.user_id
        message = params.text("message", "") or ""
        attachments = self._attachments(params.text("attachments"))
        if not message and not attachments:
            raise _param_error("message is undefined")
        reply_to = params.number("reply_to_comment")
        if reply_to:
            target = wall.comments.get(reply_to)
            if target is None or target["post_id"] != post_id or target["deleted"]:
                raise _param_error("reply_to_comment is invalid")
        self._may_comment(wall, post, from_id, message, attachments)
        guid = params.text("guid")
        guid_key = f"comment:{post_id}:{from_id}:{guid}"
        if guid:
            seen = self._check_guid(wall, guid_key)
            if seen is not None:
                return {"comment_id": seen, "parents_stack": wall.comments[seen]["parents_stack"]}
        comment = self._add_comment(
            wall, post, from_id=from_id, text=message, reply_to=reply_to or None,
            attachments=attachments, via="api", guid=guid,
        )
        comment["attachments_param"] = params.text("attachments")
        if guid:
            wall.guids[guid_key] = [comment["id"], self._now()]
        if owner_id < 0:
            self._emit(-owner_id, "wall_reply_new", self._event_comment(wall, comment))
        return {"comment_id": comment["id"], "parents_stack": comment["parents_stack"]}

    def _may_comment(self, wall: _Wall, post: dict[str, Any], from_id: int, message: str,
                     attachments: list[dict[str, Any]]) -> None:
        """The post's own rules, set by ``/control/vk/post_settings`` (errors.json codes)."""
        if post.get("comments_closed"):
            raise VkApiError(212)
        if post.get("replies_denied"):
            raise VkApiError(213)
        if post.get("links_forbidden") and (
            _HYPERLINK.search(message) or any(a.get("type") == "link" for a in attachments)
        ):
            raise VkApiError(222)
        most = post.get("owner_replies_max")
        if most is not None and from_id == wall.owner_id:
            mine = [c for c in post["comments"] if wall.comments[c]["from_id"] == from_id
                    and not wall.comments[c]["deleted"]]
            if len(mine) >= most:
                raise VkApiError(223)

    def _messages_send(self, token: Token, params: _Params, request: web.Request) -> Any:
        if token.kind != "group":
            # a user token without the (restricted) messages scope, as VK answers it
            raise VkApiError(15, "no access to call this method")
        assert token.group_id is not None
        if params.raw.get("random_id") in (None, ""):
            raise _param_error("random_id is a required parameter")
        random_id = params.number("random_id", 0) or 0
        peer_id = params.number("peer_id") or params.number("user_id")
        peer_ids = [int(x) for x in params.ids("peer_ids") if x.lstrip("-").isdigit()]
        if peer_id is None and not peer_ids:
            raise _param_error(
                "you should specify peer_id, user_id, domain, chat_id or user_ids param"
            )
        message = params.text("message", "") or ""
        attachment = params.text("attachment")
        if not message and not attachment:
            raise _param_error("message is empty or invalid")
        attached = self._attachments(attachment)  # photos must exist; at most 10
        if len(message) > MESSAGE_MAX:
            raise VkApiError(914)
        box = self._mailbox(token.group_id)
        if random_id and str(random_id) in box.random_ids:
            known = box.random_ids[str(random_id)]
            if peer_id is not None:
                return known
            return [{"peer_id": p, "message_id": known} for p in peer_ids]
        targets = [peer_id] if peer_id is not None else peer_ids
        for target in targets:
            if target in self.messages_closed:
                raise VkApiError(902)
            if target not in box.allowed:
                raise VkApiError(901)
        results = []
        for target in targets:
            message_id, conv = box.take_id(target)
            box.sent.append(
                {
                    "id": message_id,
                    "conversation_message_id": conv,
                    "peer_id": target,
                    "from_id": -token.group_id,
                    "text": message,
                    "random_id": random_id,
                    "attachment": attachment,
                    "attachments": attached,
                    "keyboard": params.text("keyboard"),
                    "reply_to": params.number("reply_to"),
                    "forward": params.text("forward"),
                    "date": self._now(),
                }
            )
            results.append(
                {"peer_id": target, "message_id": message_id, "conversation_message_id": conv}
            )
        if random_id:
            box.random_ids[str(random_id)] = results[0]["message_id"]
        return results[0]["message_id"] if peer_id is not None else results

    def _photos_get_wall_upload(self, token: Token, params: _Params, request: web.Request) -> Any:
        assert token.user_id is not None
        group_id = params.number("group_id")
        if group_id is not None and not self._is_admin(token, abs(group_id)):
            raise VkApiError(15)
        upload_id = self._new_upload("wall", token, abs(group_id) if group_id else None)
        return {
            "album_id": WALL_ALBUM,
            "upload_url": f"{request.url.origin()}/vk/upload/wall?upload={upload_id}",
            "user_id": token.user_id,
        }

    def _photos_get_messages_upload(self, token: Token, params: _Params,
                                    request: web.Request) -> Any:
        """A community's token uploads for its own messages (PhotosPhotoUpload: album_id,
        upload_url, user_id, group_id)."""
        peer_id = params.number("peer_id")
        if peer_id is not None and peer_id == 0:
            raise _param_error("peer_id is invalid")
        upload_id = self._new_upload("messages", token, token.group_id
                                     if token.kind == "group" else None)
        answer: dict[str, Any] = {
            "album_id": MESSAGES_ALBUM,
            "upload_url": f"{request.url.origin()}/vk/upload/messages?upload={upload_id}",
            "user_id": token.user_id or 0,
        }
        if token.kind == "group":
            answer["group_id"] = token.group_id
        return answer

    def _new_upload(self, kind: str, token: Token, group_id: int | None) -> str:
        upload_id = secrets.token_hex(12)
        self.uploads[upload_id] = {
            "kind": kind,
            "user_id": token.user_id,
            "token_group": token.group_id if token.kind == "group" else None,
            "group_id": group_id,
            "created": self._now(),
            "files": [],
        }
        return upload_id

    def _photos_save_wall(self, token: Token, params: _Params, request: web.Request) -> Any:
        assert token.user_id is not None
        return self._save_uploaded("wall", token, params, request)

    def _photos_save_messages(self, token: Token, params: _Params, request: web.Request) -> Any:
        return self._save_uploaded("messages", token, params, request)

    def _save_uploaded(self, kind: str, token: Token, params: _Params,
                       request: web.Request) -> Any:
        """photos.saveWallPhoto / saveMessagesPhoto: what the upload server answered, checked
        as VK does — the upload's own kind (a wall upload is not a message photo: 100), its
        hash (121, errors.json api_error_param_hash), the token that asked for the server
        (15)."""
        raw_photo = params.text("photo", required=True)
        try:
            uploaded = json.loads(raw_photo or "")
        except ValueError:
            raise _param_error("photo is invalid") from None
        if not isinstance(uploaded, list) or not uploaded:
            raise _param_error("photo is undefined")
        group_id = params.number("group_id") if kind == "wall" else None
        saved = []
        for item in uploaded:
            ref = str(item.get("photo", "")) if isinstance(item, dict) else ""
            upload_id, _, index = ref.partition(":")
            upload = self.uploads.get(upload_id)
            if upload is None or not index.isdigit() or int(index) >= len(upload["files"]):
                raise _param_error("photo is invalid")
            if upload.get("kind", "wall") != kind:
                raise _param_error("photo is invalid")
            if params.text("hash") != _upload_hash(upload_id, upload):
                raise VkApiError(121)
            if (upload["user_id"], upload.get("token_group")) != (
                    token.user_id, token.group_id if token.kind == "group" else None):
                raise VkApiError(15)
            if group_id is not None and abs(group_id) != upload["group_id"]:
                raise VkApiError(15)
            file = upload["files"][int(index)]
            if file.get("saved"):
                saved.append(self.photos[file["saved"]])
                continue
            saved.append(self._saved_photo(upload, file, token, params, request))
        return saved

    def _saved_photo(self, upload: dict[str, Any], file: dict[str, Any], token: Token,
                     params: _Params, request: web.Request) -> dict[str, Any]:
        owner_id = -upload["group_id"] if upload["group_id"] else (token.user_id or 0)
        photo_id = self._next(f"photo:{owner_id}")
        key = f"{owner_id}_{photo_id}"
        url = f"{request.url.origin()}/vk/photo/{key}.jpg"
        photo = {
            "album_id": WALL_ALBUM if upload.get("kind", "wall") == "wall" else MESSAGES_ALBUM,
            "date": self._now(),
            "id": photo_id,
            "owner_id": owner_id,
            "access_key": secrets.token_hex(9),
            "sizes": [
                {"height": 75, "width": 75, "type": "s", "url": url},
                {"height": 604, "width": 604, "type": "x", "url": url},
            ],
            "text": params.text("caption", "") or "",
            "user_id": 100 if owner_id < 0 else (token.user_id or 0),
            "has_tags": False,
        }
        self.photos[key] = photo
        if file["blob"] in self.photo_bytes:
            self.photo_bytes[key] = self.photo_bytes[file["blob"]]
        file["saved"] = key
        return photo

    def _polls_create(self, token: Token, params: _Params, request: web.Request) -> Any:
        assert token.user_id is not None
        owner_id = params.number("owner_id", token.user_id)
        assert owner_id is not None
        if owner_id < 0 and not self._is_admin(token, -owner_id):
            raise VkApiError(15)
        question = params.text("question", required=True)
        try:
            answers = json.loads(params.text("add_answers", "[]") or "[]")
        except ValueError:
            raise _param_error("add_answers is invalid") from None
        if (
            not isinstance(answers, list)
            or not 1 <= len(answers) <= 10
            or not all(isinstance(a, str) and a for a in answers)
        ):
            raise _param_error("add_answers is invalid")
        poll_id = self._next(f"poll:{owner_id}")
        base = poll_id * 100
        poll = {
            "multiple": params.flag("is_multiple"),
            "end_date": params.number("end_date", 0) or 0,
            "closed": False,
            "is_board": False,
            "can_edit": True,
            "can_vote": True,
            "can_report": False,
            "can_share": True,
            "created": self._now(),
            "id": poll_id,
            "owner_id": owner_id,
            "question": question,
            "votes": 0,
            "disable_unvote": params.flag("disable_unvote"),
            "anonymous": params.flag("is_anonymous"),
            "answer_ids": [],
            "embed_hash": secrets.token_hex(16),
            "answers": [
                {"id": base + i + 1, "rate": 0, "text": text, "votes": 0}
                for i, text in enumerate(answers)
            ],
            "author_id": token.user_id,
        }
        self.votes[f"{owner_id}_{poll_id}"] = poll
        return poll

    # ------------------------------------------------------------------ wall records

    def _add_post(
        self,
        wall: _Wall,
        *,
        from_id: int,
        text: str,
        post_type: str,
        attachments: list[dict[str, Any]],
        via: str,
        created_by: int | None = None,
        guid: str | None = None,
        publish_date: int | None = None,
        date: int | None = None,
        post_id: int | None = None,
    ) -> dict[str, Any]:
        if post_id is None:
            post_id = wall.take_id()
        else:
            wall.next_id = max(wall.next_id, post_id + 1)
        post = {
            "id": post_id,
            "owner_id": wall.owner_id,
            "from_id": from_id,
            "created_by": created_by,
            "date": self._now() if date is None else date,
            "text": text,
            "post_type": post_type,
            "attachments": attachments,
            "guid": guid,
            "publish_date": publish_date,
            "via": via,
            "comments": [],
        }
        wall.posts[post_id] = post
        return post

    def _add_comment(
        self,
        wall: _Wall,
        post: dict[str, Any],
        *,
        from_id: int,
        text: str,
        reply_to: int | None,
        attachments: list[dict[str, Any]],
        via: str,
        guid: str | None = None,
    ) -> dict[str, Any]:
        parents: list[int] = []
        reply_to_user = None
        if reply_to is not None:
            target = wall.comments[reply_to]
            root = target["parents_stack"][0] if target["parents_stack"] else target["id"]
            parents = [root]
            reply_to_user = target["from_id"]
        comment = {
            "id": wall.take_id(),
            "owner_id": wall.owner_id,
            "post_id": post["id"],
            "from_id": from_id,
            "date": self._now(),
            "text": text,
            "reply_to_comment": reply_to,
            "reply_to_user": reply_to_user,
            "parents_stack": parents,
            "attachments": attachments,
            "guid": guid,
            "via": via,
            "deleted": False,
            "edited": None,
            "replies": [],
        }
        wall.comments[comment["id"]] = comment
        post["comments"].append(comment["id"])
        if parents:
            wall.comments[parents[0]]["replies"].append(comment["id"])
        return comment

    # ------------------------------------------------------------------ long poll, upload

    async def _longpoll(self, request: web.Request) -> web.Response:
        try:
            group_id = int(request.match_info["group_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        poll = self.polls.get(group_id)
        if poll is None:
            raise web.HTTPNotFound()
        query = request.query
        self._publish_due()
        if query.get("act") != "a_check":
            return web.json_response({"failed": 2})
        try:
            wait = float(query.get("wait", "25"))
        except ValueError:
            wait = 25.0
        answer = await poll.check(query.get("key", ""), query.get("ts", ""), wait)
        self.state.record(
            "vk",
            "longpoll.a_check",
            {"group_id": group_id, "key": "", "ts": query.get("ts", ""), "wait": wait},
            200,
        )
        return web.json_response(answer, dumps=_dumps)

    async def _upload(self, request: web.Request) -> web.Response:
        """An upload server: the multipart POST's answer is ``{server, photo, hash}``
        (vkbottle-types PhotosWallUploadResponseModel / PhotosMessageUploadResponseModel),
        or ``{"error": ...}`` for a URL it does not know or that has expired."""
        upload_id = request.query.get("upload", "")
        upload = self.uploads.get(upload_id)
        kind = request.path.rsplit("/", 1)[-1]
        if upload is None or upload.get("kind", "wall") != kind:
            return web.json_response({"error": "unknown upload url"}, status=400)
        if self._now() - int(upload.get("created", self._now())) > UPLOAD_TTL:
            return web.json_response({"error": "upload is expired"})
        photos: list[dict[str, Any]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if getattr(part, "filename", None) is None:
                continue
            data = await part.read()  # type: ignore[union-attr]
            if not data:
                continue
            if len(photos) >= UPLOAD_FILES_MAX:
                return web.json_response({"error": "too many files in one upload"})
            digest = hashlib.md5(data).hexdigest()
            blob = f"upload:{upload_id}:{len(upload['files'])}"
            self.photo_bytes[blob] = bytes(data)
            upload["files"].append({"md5": digest, "size": len(data), "blob": blob,
                                    "filename": part.filename})  # type: ignore[union-attr]
            photos.append({"photo": f"{upload_id}:{len(upload['files']) - 1}",
                           "sizes": [], "kid": digest})
        self.state.record("vk", f"upload.{kind}", {"files": len(photos)}, 200)
        return web.json_response(
            {
                "server": 100 + int(hashlib.md5(upload_id.encode()).hexdigest()[:4], 16) % 900,
                "photo": json.dumps(photos),
                "hash": _upload_hash(upload_id, upload),
            }
        )

    async def _photo_file(self, request: web.Request) -> web.Response:
        key = request.match_info["name"].removesuffix(".jpg")
        data = self.photo_bytes.get(key)
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="image/jpeg")

    # ------------------------------------------------------------------ control API

    async def _c_comment(self, request: web.Request) -> web.Response:
        body = await _json(request)
        group_id = _group(body)
        comment = self._control_comment(
            group_id,
            _required_int(body, "post_id"),
            _required_int(body, "from_id"),
            str(body.get("text", "")),
            reply_to=body.get("reply_to_comment"),
            attachments=body.get("attachments") or [],
        )
        return web.json_response({"comment_id": comment["id"]})

    async def _c_comments(self, request: web.Request) -> web.Response:
        """Many citizens' comments at once (benchmarks): one wake-up of the long poll."""
        body = await _json(request)
        group_id = _group(body)
        post_id = _required_int(body, "post_id")
        wall = self._wall(-group_id)
        post = self._ensure_post(wall, post_id)
        events = []
        ids = []
        for item in body.get("items") or []:
            comment = self._add_comment(
                wall, post, from_id=int(item["from_id"]), text=str(item.get("text", "")),
                reply_to=None, attachments=item.get("attachments") or [], via="control",
            )
            ids.append(comment["id"])
            events.append(("wall_reply_new", self._event_comment(wall, comment)))
        poll = self.polls.get(group_id)
        if poll is not None:
            poll.emit_many(events)
        return web.json_response({"comment_ids": ids})

    async def _c_edit_comment(self, request: web.Request) -> web.Response:
        body = await _json(request)
        group_id = _group(body)
        wall = self._wall(-group_id)
        comment = wall.comments.get(_required_int(body, "comment_id"))
        if comment is None or comment["deleted"]:
            raise _bad("no such comment")
        comment["text"] = str(body.get("text", ""))
        comment["edited"] = self._now()
        self._emit(group_id, "wall_reply_edit", self._event_comment(wall, comment))
        return web.json_response({"ok": True})

    async def _c_delete_comment(self, request: web.Request) -> web.Response:
        body = await _json(request)
        group_id = _group(body)
        wall = self._wall(-group_id)
        comment = wall.comments.get(_required_int(body, "comment_id"))
        if comment is None or comment["deleted"]:
            raise _bad("no such comment")
        comment["deleted"] = True
        deleter = int(body.get("deleter_id") or comment["from_id"])
        # dev.vk.com's community events name the deleter ``deleter_id``; VK's schema
        # (callback_wall_comment_delete) requires ``user_id``: both, until one is known wrong
        self._emit(
            group_id,
            "wall_reply_delete",
            {"owner_id": -group_id, "id": comment["id"], "deleter_id": deleter,
             "user_id": deleter, "post_id": comment["post_id"]},
        )
        return web.json_response({"ok": True})

    async def _c_post(self, request: web.Request) -> web.Response:
        """A citizen's post: on a public's wall, or suggested to a community with a token."""
        body = await _json(request)
        group_id = _group(body)
        wall = self._wall(-group_id)
        suggest = group_id in self.polls
        post = self._add_post(
            wall,
            from_id=_required_int(body, "from_id"),
            text=str(body.get("text", "")),
            post_type="suggest" if suggest else "post",
            attachments=body.get("attachments") or [],
            via="control",
        )
        if suggest:
            self._emit(group_id, "wall_post_new", self._post_view(post))
        return web.json_response({"post_id": post["id"]})

    async def _c_message(self, request: web.Request) -> web.Response:
        body = await _json(request)
        group_id = _group(body)
        if group_id not in self.polls:
            raise _bad(f"the bot holds no token for community {group_id}")
        from_id = _required_int(body, "from_id")
        box = self._mailbox(group_id)
        message_id, conv = box.take_id(from_id)
        message = {
            "date": self._now(),
            "from_id": from_id,
            "id": message_id,
            "out": 0,
            "version": message_id,
            "attachments": body.get("attachments") or [],
            "conversation_message_id": conv,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": from_id,
            "random_id": 0,
            "text": str(body.get("text", "")),
        }
        if body.get("payload") is not None:
            message["payload"] = str(body["payload"])
        box.received.append(message)
        box.allowed.add(from_id)
        self._emit(
            group_id,
            "message_new",
            {
                "message": message,
                "client_info": {
                    "button_actions": ["text", "vkpay", "open_app", "location", "open_link",
                                       "callback", "intent_subscribe", "intent_unsubscribe"],
                    "keyboard": True,
                    "inline_keyboard": True,
                    "carousel": True,
                    "lang_id": 0,
                },
            },
        )
        return web.json_response({"message_id": message_id})

    async def _c_photo_comment(self, request: web.Request) -> web.Response:
        return await self._object_comment(request, "photo", "photo_comment_new")

    async def _c_video_comment(self, request: web.Request) -> web.Response:
        return await self._object_comment(request, "video", "video_comment_new")

    async def _c_board_post(self, request: web.Request) -> web.Response:
        return await self._object_comment(request, "topic", "board_post_new")

    async def _object_comment(
        self, request: web.Request, kind: str, event_type: str
    ) -> web.Response:
        """A comment under a community's photo or video, or a post in its discussion board."""
        body = await _json(request)
        group_id = _group(body)
        object_id = _required_int(body, f"{kind}_id")
        comment_id = self._next(f"{kind}_comment:{group_id}")
        obj: dict[str, Any] = {
            "id": comment_id,
            "from_id": _required_int(body, "from_id"),
            "date": self._now(),
            "text": str(body.get("text", "")),
            f"{kind}_id": object_id,
            f"{kind}_owner_id": -group_id,
        }
        if kind != "topic":
            obj["owner_id"] = -group_id
            obj["parents_stack"] = []
            obj["thread"] = {"count": 0}
        if body.get("attachments"):
            obj["attachments"] = body["attachments"]
        self._emit(group_id, event_type, obj)
        return web.json_response({"comment_id": comment_id})

    async def _c_longpoll_fail(self, request: web.Request) -> web.Response:
        body = await _json(request)
        group_id = _group(body)
        poll = self.polls.get(group_id)
        if poll is None:
            raise _bad(f"community {group_id} has no long poll")
        try:
            poll.force(int(body.get("failed", 0)))
        except ValueError as error:
            raise _bad(str(error)) from None
        return web.json_response({"ok": True})

    async def _c_post_settings(self, request: web.Request) -> web.Response:
        """A post's comment rules, as its community's admins set them: ``comments_closed``
        (212), ``replies_denied`` (213), ``links_forbidden`` (222), ``owner_replies_max``
        — how many comments the wall's owner may leave under it (223; VK names no number,
        so there is none unless set here)."""
        body = await _json(request)
        group_id = _group(body)
        wall = self._wall(-group_id)
        post = wall.posts.get(_required_int(body, "post_id"))
        if post is None:
            raise _bad("no such post")
        for flag in ("comments_closed", "replies_denied", "links_forbidden"):
            if flag in body:
                post[flag] = bool(body[flag])
        if "owner_replies_max" in body:
            most = body["owner_replies_max"]
            if most is not None and (not isinstance(most, int) or most < 0):
                raise _bad("owner_replies_max: a number of comments, or null")
            post["owner_replies_max"] = most
        return web.json_response({k: post.get(k) for k in (
            "comments_closed", "replies_denied", "links_forbidden", "owner_replies_max")})

    async def _c_privacy(self, request: web.Request) -> web.Response:
        """A citizen's privacy settings: ``messages_closed`` — no community may write to
        them (messages.send answers 902 even after they wrote first)."""
        body = await _json(request)
        user_id = _required_int(body, "user_id")
        if body.get("messages_closed", True):
            self.messages_closed.add(user_id)
        else:
            self.messages_closed.discard(user_id)
        return web.json_response({"messages_closed": user_id in self.messages_closed})

    async def _c_rate_limits(self, request: web.Request) -> web.Response:
        """Play a bigger app: ``{"service": 5}`` (up to VK's maximum for the kind)."""
        body = await _json(request)
        for kind, value in body.items():
            top = VK_REQUESTS_PER_SECOND_MAX.get(kind)
            if top is None or not isinstance(value, int) or not 1 <= value <= top:
                raise _bad(f"{kind}: requests per second are 1..{top} "
                           f"for kinds {sorted(VK_REQUESTS_PER_SECOND_MAX)}")
            self.requests_per_second[kind] = value
        return web.json_response(self.requests_per_second)

    async def _c_wall(self, request: web.Request) -> web.Response:
        """Every post on a wall with every comment, as stored (bot's and citizens')."""
        try:
            owner_id = int(request.query["owner_id"])
        except (KeyError, ValueError):
            raise _bad("owner_id is required (e.g. -100001)") from None
        self._publish_due()
        wall = self.walls.get(owner_id)
        posts = []
        for post in sorted(wall.posts.values(), key=lambda p: p["id"]) if wall else []:
            assert wall is not None
            view = {k: v for k, v in post.items() if k != "comments"}
            view["from_group"] = post["from_id"] < 0
            view["date_iso"] = _iso(post["date"])
            view["publish_date_iso"] = _iso(post["publish_date"])
            view["poll"] = next(
                (a["poll"] for a in post["attachments"] if a.get("type") == "poll"), None
            )
            view["comments"] = [
                {
                    **{k: v for k, v in wall.comments[c].items() if k != "replies"},
                    "from_group": wall.comments[c]["from_id"] < 0,
                    "date_iso": _iso(wall.comments[c]["date"]),
                }
                for c in post["comments"]
            ]
            posts.append(view)
        return web.json_response(posts, dumps=_dumps)

    async def _c_messages(self, request: web.Request) -> web.Response:
        """What a community sent; ``?direction=in`` gives what citizens wrote to it."""
        try:
            group_id = int(request.query["group_id"])
        except (KeyError, ValueError):
            raise _bad("group_id is required") from None
        box = self.mailboxes.get(group_id)
        if box is None:
            return web.json_response([])
        chosen = box.received if request.query.get("direction") == "in" else box.sent
        return web.json_response(
            [{**m, "date_iso": _iso(m["date"])} for m in chosen], dumps=_dumps
        )

    def _ensure_post(self, wall: _Wall, post_id: int) -> dict[str, Any]:
        post = wall.posts.get(post_id)
        if post is None:
            post = self._add_post(
                wall, from_id=wall.owner_id, text=f"Запись {post_id}", post_type="post",
                attachments=[], via="control", post_id=post_id,
            )
        return post

    def _control_comment(
        self,
        group_id: int,
        post_id: int,
        from_id: int,
        text: str,
        reply_to: Any = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        wall = self._wall(-group_id)
        post = self._ensure_post(wall, post_id)
        reply_id = int(reply_to) if reply_to else None
        if reply_id is not None:
            target = wall.comments.get(reply_id)
            if target is None or target["post_id"] != post_id:
                raise _bad("reply_to_comment is not a comment under this post")
        comment = self._add_comment(
            wall, post, from_id=from_id, text=text, reply_to=reply_id,
            attachments=attachments or [], via="control",
        )
        self._emit(group_id, "wall_reply_new", self._event_comment(wall, comment))
        return comment


# ---------------------------------------------------------------------- module helpers


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


def _error_body(error: VkApiError, method: str, raw: dict[str, str]) -> dict[str, Any]:
    shown = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
    shown += [{"key": k, "value": str(v)} for k, v in raw.items() if k != "access_token"]
    body: dict[str, Any] = {
        "error_code": error.code, "error_msg": error.msg, "request_params": shown
    }
    if error.code == 14:  # clients read these to show the captcha
        sid = secrets.token_hex(6)
        body.update(captcha_sid=sid, captcha_img=f"https://api.vk.com/captcha.php?sid={sid}")
    return body


def _upload_hash(upload_id: str, upload: dict[str, Any]) -> str:
    digests = ",".join(f["md5"] for f in upload["files"])
    return hashlib.md5(f"{upload_id}:{digests}".encode()).hexdigest()


def _iso(unix: int | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat()


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _bad("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body is not a JSON object")
    return body


def _required_int(body: dict[str, Any], name: str) -> int:
    try:
        return int(body[name])
    except (KeyError, TypeError, ValueError):
        raise _bad(f"{name} is required (an integer)") from None


def _group(body: dict[str, Any]) -> int:
    group_id = abs(_required_int(body, "group_id"))
    if group_id not in _SCREEN_NAMES:
        raise _bad(f"unknown community {group_id}; the world has {sorted(_SCREEN_NAMES)}")
    return group_id
