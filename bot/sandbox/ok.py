"""The Одноклассники (OK) REST API stand-in over HTTP, plus its control API.

Reference: apiok.ru/dev/methods (REST methods, «Расчет подписи запроса») and the method
pages mediatopic.post, photosV2.getUploadUrl, photosV2.commit, group.getInfo; the error
table of OK's REST API documentation (codes and names as the API docs list them: 1
UNKNOWN … 104 PARAM_SIGNATURE …).

Served under ``/ok``:

- ``/ok/fb.do?method=…`` and ``/ok/api/<group>/<name>`` (GET or POST form), signed as OK
  requires: ``sig = md5(sorted "k=v" of every parameter but sig and access_token +
  md5(access_token + application_secret_key))``, lower case. Answers are JSON; an error
  is ``{"error_code", "error_msg", "error_data"}`` with HTTP 200 and the code in the
  ``invocation-error`` header, as OK's server does.
- ``/ok/upload/<id>``: the photo upload server handed out by photosV2.getUploadUrl.
- ``/control/ok/...``: GET ``feed`` (a group's topics with their media), ``photos``;
  POST ``rate_limit``, ``daily_limit``. Faults go through ``/control/faults`` with
  platform ``ok`` (kind ``ok_error`` with an OK ``code``, or ``500``/``timeout``).

There is no idempotency key in mediatopic.post (no ``guid`` as in VK): a retried call
after a lost answer posts twice. mediatopic.getTopics lets a client look before it
retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import BodyPartReader, web

from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.telegram import image_info

Json = dict[str, Any]

# OK's error codes and names (apiok.ru REST API «Коды ошибок»; the same table is in the
# English «General information» page of OK's REST API)
ERRORS = {
    1: "UNKNOWN", 2: "SERVICE", 3: "METHOD", 4: "REQUEST", 7: "ACTION_BLOCKED",
    8: "FLOOD_BLOCKED", 9: "IP_BLOCKED", 10: "PERMISSION_DENIED", 11: "LIMIT_REACHED",
    100: "PARAM", 101: "PARAM_API_KEY", 102: "PARAM_SESSION_EXPIRED",
    103: "PARAM_SESSION_KEY", 104: "PARAM_SIGNATURE", 105: "PARAM_RESIGNATURE",
    300: "NOT_FOUND", 5000: "INVALID_RESPONSE",
}

# -- limits: OK publishes none of these numbers, so each is a stricter guess -----------
# requests a second for one application and token (error 8 FLOOD_BLOCKED past it)
REQUESTS_PER_SECOND = 5
# topics a group may publish in a (Moscow) day (error 11 LIMIT_REACHED past it);
# VK's 50 a wall, since OK names no number
TOPICS_PER_DAY = 50
# characters of text in one topic (not documented)
TOPIC_TEXT_MAX = 10000
# photos in one upload URL (photosV2.getUploadUrl ``count``; no maximum documented)
UPLOAD_COUNT_MAX = 10
# photos in one topic (not documented)
TOPIC_PHOTOS_MAX = 10
# a poll: 2..10 answers (not documented), question ≤ 255 characters (not documented)
POLL_ANSWERS = (2, 10)
POLL_QUESTION_MAX = 255
POLL_OPTIONS = {"SingleChoice", "MultipleChoice", "AnonymousVoting", "ResultsAfterVoting",
                "VotingClosed"}
# photosV2.getUploadUrl answers expires_ms/ttl_ms: one day here
UPLOAD_TTL_MS = 24 * 3600 * 1000
# image upload limits: OK's photo upload takes JPG/PNG/GIF; size not documented here,
# 30 MB and 10,000 px a side as a strict guess
PHOTO_BYTES_MAX = 30 * 1024 * 1024
PHOTO_SIDE_MAX = 10000

_MSK = ZoneInfo("Europe/Moscow")


class OkError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        name = ERRORS.get(code, "UNKNOWN")
        self.code = code
        self.msg = f"{name} : {detail}" if detail else name
        super().__init__(self.msg)

    def body(self) -> Json:
        return {"error_code": self.code, "error_msg": self.msg, "error_data": None}


def signature(params: dict[str, str], access_token: str, secret_key: str) -> str:
    """OK's request signature (apiok.ru/dev/methods «Расчет подписи запроса»)."""
    session_secret = hashlib.md5((access_token + secret_key).encode()).hexdigest().lower()
    joined = "".join(f"{k}={params[k]}" for k in sorted(params)
                     if k not in ("sig", "access_token", "session_key"))
    return hashlib.md5((joined + session_secret).encode()).hexdigest().lower()


def _tokens() -> dict[str, Json]:
    return {world.OK_GROUP_TOKEN: {"kind": "group", "gid": world.OK_GROUP}}


class OkSandbox:
    """OK's REST API for a group's posting, its upload server and control API."""

    def __init__(self, state: SandboxState, rate_limits: bool = True,
                 timeout_hang: float = 75.0) -> None:
        self.state = state
        self.rate_limits = rate_limits
        self.timeout_hang = timeout_hang
        self.tokens = _tokens()
        self.requests_per_second = REQUESTS_PER_SECOND
        self.topics_per_day = TOPICS_PER_DAY
        self._calls: dict[str, deque[float]] = {}
        self._origin = "http://127.0.0.1"
        self.groups: dict[str, Json] = {
            world.OK_GROUP: {"uid": world.OK_GROUP, "name": world.OK_GROUP_NAME,
                             "description": "Официальная группа администрации ЗАТО Шиханы",
                             "shortname": "adm.shikhany", "members_count": 1240,
                             "admin_uid": world.OK_ADMIN_USER},
        }
        self.topics: list[Json] = []
        self.uploads: dict[str, Json] = {}
        self.photos: dict[str, Json] = {}  # upload token -> photo
        self.day_topics: dict[str, int] = {}  # "gid:YYYY-MM-DD" -> topics
        self.next_topic = 160000000000001
        self.next_photo = 930000000000001
        self.methods: dict[str, Callable[[Json, Json], Any]] = {
            "group.getinfo": self._group_get_info,
            "photosv2.getuploadurl": self._get_upload_url,
            "photosv2.commit": self._commit,
            "mediatopic.post": self._post,
            "mediatopic.gettopics": self._get_topics,
        }

    # ------------------------------------------------------------------ persistence

    def dump(self) -> Json:
        return {"topics": self.topics, "uploads": self.uploads, "photos": self.photos,
                "day_topics": self.day_topics, "next_topic": self.next_topic,
                "next_photo": self.next_photo}

    def load(self, data: Json) -> None:
        self.topics = data["topics"]
        self.uploads = data["uploads"]
        self.photos = data["photos"]
        self.day_topics = data["day_topics"]
        self.next_topic = data["next_topic"]
        self.next_photo = data["next_photo"]

    # ------------------------------------------------------------------ wiring

    def register(self, app: web.Application) -> None:
        app.router.add_route("*", "/ok/fb.do", self._api)
        app.router.add_route("*", "/ok/api/{group}/{name}", self._api)
        app.router.add_post("/ok/upload/{upload_id}", self._upload)
        for verb, name, handler in [
            ("GET", "feed", self._c_feed),
            ("GET", "photos", self._c_photos),
            ("POST", "rate_limit", self._c_rate_limit),
            ("POST", "daily_limit", self._c_daily_limit),
        ]:
            app.router.add_route(verb, f"/control/ok/{name}", self._control(handler))

    @staticmethod
    def _reply(body: Any, error: int | None = None) -> web.Response:
        headers = {"invocation-error": str(error)} if error is not None else None
        return web.json_response(body, headers=headers,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    # ------------------------------------------------------------------ the API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        raw: dict[str, str] = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            raw.update({k: v for k, v in form.items() if isinstance(v, str)})
        if "name" in request.match_info:
            raw.setdefault("method", f"{request.match_info['group']}."
                                     f"{request.match_info['name']}")
        method = raw.get("method", "")
        self._origin = str(request.url.origin())  # where the upload server is
        status = 0
        try:
            token = self._check(raw)
            fault = self.state.take_fault("ok", method)
            if fault is not None:
                await self._apply_fault(fault.kind, fault.code)
            result = self.methods[method.lower()](token, raw)
            return self._reply(result)
        except OkError as error:
            status = error.code
            return self._reply(error.body(), error.code)
        finally:
            self.state.record("ok", method, {k: v for k, v in raw.items() if k != "sig"},
                              status or 200)

    def _check(self, raw: dict[str, str]) -> Json:
        """Application key, method, token and signature, in the order OK checks them."""
        if raw.get("application_key") != world.OK_APPLICATION_KEY:
            raise OkError(101, "Application key is invalid")
        if raw.get("method", "").lower() not in self.methods:
            raise OkError(3, f"Method {raw.get('method', '')} does not exist")
        if raw.get("format", "json").lower() != "json":
            # the sandbox speaks JSON only (apiok.ru: «поддерживается только формат JSON»)
            raise OkError(100, "format: only JSON is supported")
        access_token = raw.get("access_token") or raw.get("session_key")
        if not access_token:
            raise OkError(103, "No session key")
        token = self.tokens.get(access_token)
        if token is None:
            raise OkError(102, "Session expired")
        sig = raw.get("sig")
        if not sig:
            raise OkError(100, "Missing required parameter sig")
        if sig.lower() != signature(raw, access_token, world.OK_APPLICATION_SECRET_KEY):
            raise OkError(104, "Invalid signature")
        if self.rate_limits:
            now = time.monotonic()
            calls = self._calls.setdefault(access_token, deque())
            while calls and now - calls[0] >= 1.0:
                calls.popleft()
            calls.append(now)  # a refused call counts too (stricter)
            if len(calls) > self.requests_per_second:
                raise OkError(8, "Too many requests")
        return token

    async def _apply_fault(self, kind: str, code: int | None) -> None:
        if kind == "timeout":
            await asyncio.sleep(self.timeout_hang)
            raise web.HTTPGatewayTimeout()
        if kind == "500":
            raise web.HTTPInternalServerError()
        raise OkError(code or 2, "Injected fault")

    def _gid(self, token: Json, raw: dict[str, str], required: bool = True) -> str | None:
        gid = raw.get("gid")
        if not gid:
            if required:
                raise OkError(100, "Missing required parameter gid")
            return None
        if gid not in self.groups:
            raise OkError(300, f"Group {gid} not found")
        if token.get("gid") != gid:
            # a group access token acts for its own group only
            raise OkError(10, f"No permission to act for group {gid}")
        return gid

    # ------------------------------------------------------------------ methods

    def _group_get_info(self, token: Json, raw: dict[str, str]) -> Any:
        uids = [u for u in raw.get("uids", "").split(",") if u]
        if not uids:
            raise OkError(100, "Missing required parameter uids")
        fields = {f.strip().lower() for f in raw.get("fields", "").split(",") if f.strip()}
        out = []
        for uid in uids:
            group = self.groups.get(uid)
            if group is None:
                continue  # OK leaves unknown groups out of the list
            view = {"uid": uid}
            for name in ("name", "description", "shortname", "members_count"):
                if not fields or name in fields:
                    view[name] = group[name]
            out.append(view)
        return out

    def _get_upload_url(self, token: Json, raw: dict[str, str]) -> Any:
        gid = self._gid(token, raw, required=True)
        try:
            count = int(raw.get("count", "1"))
        except ValueError:
            raise OkError(100, "count must be an integer") from None
        if not 1 <= count <= UPLOAD_COUNT_MAX:
            raise OkError(100, f"count must be between 1 and {UPLOAD_COUNT_MAX}")
        upload_id = secrets.token_urlsafe(12)
        photo_ids = [secrets.token_urlsafe(16) for _ in range(count)]
        now_ms = int(self.state.clock.timestamp() * 1000)
        self.uploads[upload_id] = {"gid": gid, "photo_ids": photo_ids, "done": False,
                                   "expires_ms": now_ms + UPLOAD_TTL_MS}
        return {"upload_url": f"{self._origin}/ok/upload/{upload_id}",
                "photo_ids": photo_ids, "expires_ms": now_ms + UPLOAD_TTL_MS,
                "ttl_ms": UPLOAD_TTL_MS}

    async def _upload(self, request: web.Request) -> web.Response:
        """Stage two: the photos as multipart fields ``pic1`` … ``picN``; the answer
        gives each photo id its token."""
        upload = self.uploads.get(request.match_info["upload_id"])
        now_ms = int(self.state.clock.timestamp() * 1000)
        if upload is None or upload["done"] or now_ms > upload["expires_ms"]:
            return self._reply(OkError(100, "Upload URL is invalid or expired").body(), 100)
        if not request.content_type.startswith("multipart/"):
            return self._reply(OkError(100, "Expected multipart/form-data").body(), 100)
        files: list[bytes] = []
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.filename is not None:
                files.append(bytes(await part.read()))
        if not files or len(files) > len(upload["photo_ids"]):
            return self._reply(OkError(100, "Wrong number of photos").body(), 100)
        photos: Json = {}
        for photo_id, data in zip(upload["photo_ids"], files, strict=False):
            info = image_info(data)
            if info is None or info[0] not in ("png", "jpg", "gif"):
                return self._reply(OkError(100, "Unsupported image format").body(), 100)
            if len(data) > PHOTO_BYTES_MAX or max(info[1], info[2]) > PHOTO_SIDE_MAX:
                return self._reply(OkError(100, "Image is too large").body(), 100)
            token = secrets.token_urlsafe(32)
            self.photos[token] = {"photo_id": photo_id, "gid": upload["gid"],
                                  "width": info[1], "height": info[2],
                                  "assigned_id": str(self.next_photo), "committed": False}
            self.next_photo += 1
            photos[photo_id] = {"token": token}
        upload["done"] = True
        return self._reply({"photos": photos})

    def _commit(self, token: Json, raw: dict[str, str]) -> Any:
        photo_id, photo_token = raw.get("photo_id"), raw.get("token")
        if not photo_id or not photo_token:
            raise OkError(100, "Missing required parameter photo_id or token")
        photo = self.photos.get(photo_token)
        if photo is None or photo["photo_id"] != photo_id:
            raise OkError(300, "Photo not found")
        photo["committed"] = True
        return {"photos": [{"photo_id": photo_id, "status": "SUCCESS",
                            "assigned_photo_id": photo["assigned_id"]}]}

    def _post(self, token: Json, raw: dict[str, str]) -> Any:
        kind = raw.get("type", "USER")
        gid = self._gid(token, raw, required=False)
        if gid is None or kind not in ("GROUP_THEME", "GROUP_THEME_PROMO"):
            # mediatopic.post: gid needs type=GROUP_THEME (or _PROMO); a group token
            # cannot post to a user's page
            raise OkError(100, "gid and type=GROUP_THEME are required for a group token")
        try:
            attachment = json.loads(raw.get("attachment", ""))
        except json.JSONDecodeError:
            raise OkError(100, "attachment is not valid JSON") from None
        media = attachment.get("media") if isinstance(attachment, dict) else None
        if not isinstance(media, list) or not media:
            raise OkError(100, "attachment.media must be a non-empty list")
        stored = [self._media(gid, item) for item in media]
        text = sum(len(m["text"]) for m in stored if m["type"] == "text")
        if text > TOPIC_TEXT_MAX:
            raise OkError(100, f"text is too long (at most {TOPIC_TEXT_MAX} characters)")
        if sum(len(m.get("list", [])) for m in stored if m["type"] == "photo") > \
                TOPIC_PHOTOS_MAX:
            raise OkError(100, f"too many photos (at most {TOPIC_PHOTOS_MAX})")
        day = f"{gid}:{datetime.fromtimestamp(self.state.clock.timestamp(), _MSK).date()}"
        if self.day_topics.get(day, 0) >= self.topics_per_day:
            raise OkError(11, f"Topics limit reached for group {gid}")
        self.day_topics[day] = self.day_topics.get(day, 0) + 1
        topic_id = str(self.next_topic)
        self.next_topic += 1
        self.topics.append({"id": topic_id, "gid": gid, "type": kind, "media": stored,
                            "created_ms": int(self.state.clock.timestamp() * 1000),
                            "hidden": raw.get("hidden_post", "").lower() == "true"})
        for item in stored:
            for photo in item.get("list", []):
                self.photos[photo["token"]]["used"] = True
        return topic_id  # mediatopic.post answers the new topic's id, a JSON string

    def _media(self, gid: str, item: Any) -> Json:
        if not isinstance(item, dict):
            raise OkError(100, "media item must be an object")
        kind = item.get("type")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str) or not text.strip():
                raise OkError(100, "text media needs text")
            return {"type": "text", "text": text}
        if kind == "photo":
            photos = item.get("list")
            if not isinstance(photos, list) or not photos:
                raise OkError(100, "photo media needs a list")
            out = []
            for entry in photos:
                token = entry.get("id") if isinstance(entry, dict) else None
                photo = self.photos.get(token) if isinstance(token, str) else None
                if photo is None or photo["gid"] != gid:
                    raise OkError(100, f"photo {token!r} is not an uploaded photo of {gid}")
                out.append({"token": token, "photo_id": photo["assigned_id"]})
            return {"type": "photo", "list": out}
        if kind == "poll":
            question = item.get("question")
            answers = item.get("answers")
            if not isinstance(question, str) or not question.strip() or \
                    len(question) > POLL_QUESTION_MAX:
                raise OkError(100, f"poll question: 1..{POLL_QUESTION_MAX} characters")
            if not isinstance(answers, list) or not \
                    POLL_ANSWERS[0] <= len(answers) <= POLL_ANSWERS[1] or not all(
                        isinstance(a, dict) and isinstance(a.get("text"), str)
                        and a["text"].strip() for a in answers):
                raise OkError(100, f"poll answers: {POLL_ANSWERS[0]}..{POLL_ANSWERS[1]} "
                                   "answers with text")
            options = [o for o in str(item.get("options", "")).split(",") if o]
            if set(options) - POLL_OPTIONS:
                raise OkError(100, f"poll options: {', '.join(sorted(POLL_OPTIONS))}")
            return {"type": "poll", "question": question,
                    "answers": [{"text": a["text"]} for a in answers], "options": options}
        if kind == "link":
            url = item.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise OkError(100, "link media needs a url")
            return {"type": "link", "url": url}
        raise OkError(100, f"unsupported media type {kind!r}")

    def _get_topics(self, token: Json, raw: dict[str, str]) -> Any:
        """The group's topics, newest first (``count`` ≤ 100)."""
        gid = self._gid(token, raw, required=True)
        try:
            count = min(max(int(raw.get("count", "20")), 1), 100)
        except ValueError:
            raise OkError(100, "count must be an integer") from None
        topics = [t for t in reversed(self.topics) if t["gid"] == gid][:count]
        return {"media_topics": [self._topic_view(t) for t in topics],
                "has_more": len([t for t in self.topics if t["gid"] == gid]) > count}

    @staticmethod
    def _topic_view(topic: Json) -> Json:
        return {"id": topic["id"], "created_ms": topic["created_ms"],
                "media": [{k: v for k, v in m.items()} for m in topic["media"]]}

    # ------------------------------------------------------------------ control

    def _control(self, handler: Callable[[Json], Any]) -> Callable[
            [web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            if request.method == "POST":
                try:
                    body = await request.json()
                except ValueError:
                    return web.json_response({"error": "body is not JSON"}, status=400)
            else:
                body = dict(request.query)
            try:
                return web.json_response(handler(body),
                                         dumps=lambda o: json.dumps(o, ensure_ascii=False))
            except (KeyError, TypeError, ValueError) as error:
                return web.json_response({"error": f"bad control request: {error}"},
                                         status=400)
        return run

    def _c_feed(self, body: Json) -> list[Json]:
        gid = str(body.get("gid", world.OK_GROUP))
        return [dict(t) for t in self.topics if t["gid"] == gid]

    def _c_photos(self, body: Json) -> list[Json]:
        return list(self.photos.values())

    def _c_rate_limit(self, body: Json) -> Json:
        self.requests_per_second = int(body["per_second"])
        return {"per_second": self.requests_per_second}

    def _c_daily_limit(self, body: Json) -> Json:
        self.topics_per_day = int(body["topics_per_day"])
        return {"topics_per_day": self.topics_per_day}
