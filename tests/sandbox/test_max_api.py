"""The MAX Bot API stand-in over real HTTP, with plain aiohttp (what a thin adapter sends).

Each test runs the whole sandbox server (MAX under ``/max`` beside Telegram, VK and OK)
on a free port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import world
from bot.sandbox.client import Control, max_button
from bot.sandbox.server import Sandbox
from bot.sandbox.telegram import make_png

TOKEN = world.MAX_BOT_TOKEN
CITIZEN = 620001
CHANNEL, CITY = world.MAX_CHANNEL, world.MAX_CITY_CHAT


class Max:
    """A running sandbox: raw MAX calls, the control API, the sandbox object."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = sandbox.base_url
        self.http = http
        self.control = Control(self.base, http)

    async def call(self, verb: str, path: str, *, token: str | None = TOKEN,
                   params: dict[str, Any] | None = None, json: Any = None,
                   data: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": token} if token is not None else {}
        query = {k: str(v) for k, v in (params or {}).items()}
        async with self.http.request(verb, f"{self.base}/max{path}", headers=headers,
                                     params=query, json=json, data=data) as response:
            return response.status, await response.json(content_type=None)

    async def ok(self, verb: str, path: str, **kw: Any) -> Any:
        status, body = await self.call(verb, path, **kw)
        assert status == 200, (status, body)
        return body

    async def send(self, params: dict[str, Any], **body: Any) -> tuple[int, Any]:
        return await self.call("POST", "/messages", params=params, json=body)

    async def updates(self, **params: Any) -> Any:
        params.setdefault("timeout", 0)
        return await self.ok("GET", "/updates", params=params)

    async def upload_image(self, png: bytes | None = None) -> str:
        endpoint = await self.ok("POST", "/uploads", params={"type": "image"})
        form = aiohttp.FormData()
        form.add_field("data", png or make_png(40, 30), filename="photo.png",
                       content_type="image/png")
        async with self.http.post(endpoint["url"], data=form) as response:
            assert response.status == 200, await response.text()
            answer = await response.json()
        return next(iter(answer["photos"].values()))["token"]


async def _running(rate_limits: bool) -> AsyncIterator[Max]:
    sandbox = Sandbox(rate_limits=rate_limits)
    await sandbox.start()
    sandbox.max.processing_seconds = 0.0
    async with aiohttp.ClientSession() as http:
        yield Max(sandbox, http)
    await sandbox.stop()


@pytest.fixture
async def mx() -> AsyncIterator[Max]:
    async for m in _running(rate_limits=False):
        yield m


@pytest.fixture
async def mx_limited() -> AsyncIterator[Max]:
    async for m in _running(rate_limits=True):
        yield m


# ------------------------------------------------------------------ authorization


async def test_me_needs_the_token_in_the_authorization_header(mx: Max) -> None:
    me = await mx.ok("GET", "/me")
    assert me["user_id"] == world.MAX_BOT_ID and me["is_bot"] is True
    assert me["username"] == world.MAX_BOT_USERNAME and me["first_name"]

    for token in (None, "wrong"):
        status, body = await mx.call("GET", "/me", token=token)
        assert (status, body) == (401, {"code": "verify.token",
                                        "message": "Invalid access_token"})
    # the deprecated query parameter is refused, even beside a good header
    status, body = await mx.call("GET", "/me", token=None, params={"access_token": TOKEN})
    assert (status, body["code"]) == (401, "verify.token")
    status, body = await mx.call("GET", "/me", params={"access_token": TOKEN})
    assert (status, body["code"]) == (401, "verify.token")
    log = await mx.control.log(platform="max")
    assert all(TOKEN not in str(e["params"]) for e in log)


async def test_unknown_paths_and_the_retired_chat_list(mx: Max) -> None:
    status, body = await mx.call("GET", "/chats")
    assert status == 404 and body["code"] == "method.not.found"
    assert "/chats is not recognized" in body["message"]
    status, body = await mx.call("GET", "/nothing/here")
    assert (status, body["code"]) == (404, "method.not.found")
    status, body = await mx.call("PATCH", "/messages")
    assert (status, body["code"]) == (404, "method.not.found")


# ------------------------------------------------------------------ chats


async def test_chat_by_id_and_unknown_chat(mx: Max) -> None:
    channel = await mx.ok("GET", f"/chats/{CHANNEL}")
    assert channel["type"] == "channel" and channel["status"] == "active"
    assert channel["title"] == "Администрация" and channel["owner_id"] == world.MAX_ADMIN_USER
    assert channel["link"] == f"https://max.ru/{world.MAX_CHANNEL_LINK}"
    assert {"participants_count", "is_public", "last_event_time", "icon",
            "description"} <= set(channel)
    city = await mx.ok("GET", f"/chats/{CITY}")
    assert city["type"] == "chat"
    by_link = await mx.ok("GET", f"/chats/@{world.MAX_CHANNEL_LINK}")
    assert by_link["chat_id"] == CHANNEL

    status, body = await mx.call("GET", "/chats/-123")
    assert (status, body) == (404, {"code": "chat.not.found", "message": "Chat -123 not found"})

    sent = await mx.control.max_message(CITIZEN, "Здравствуйте")
    dialog = await mx.ok("GET", f"/chats/{sent['chat_id']}")
    assert dialog["type"] == "dialog" and dialog["participants_count"] == 2
    assert dialog["dialog_with_user"]["user_id"] == CITIZEN


# ------------------------------------------------------------------ long polling


async def test_long_polling_with_marker_limit_and_types(mx: Max) -> None:
    first = await mx.updates()  # no marker: only the latest update, nothing here
    assert first["updates"] == [] and isinstance(first["marker"], int)
    marker = first["marker"]

    await mx.control.max_message(CITIZEN, "Яма у школы")  # bot_started + message_created
    await mx.control.max_message(CITIZEN, "И ещё одна", chat_id=CITY)
    batch = await mx.updates(marker=marker)
    kinds = [u["update_type"] for u in batch["updates"]]
    assert kinds == ["bot_started", "message_created", "message_created"]
    started, dialog_msg, city_msg = batch["updates"]
    assert started["user"]["user_id"] == CITIZEN and started["chat_id"] > 0
    msg = dialog_msg["message"]
    assert msg["recipient"] == {"chat_id": started["chat_id"], "chat_type": "dialog",
                                "user_id": CITIZEN}
    assert msg["sender"]["user_id"] == CITIZEN and msg["sender"]["is_bot"] is False
    assert msg["body"]["text"] == "Яма у школы" and msg["body"]["mid"].startswith("mid.")
    assert isinstance(msg["body"]["seq"], int) and msg["timestamp"] > 10**12  # ms
    assert dialog_msg["user_locale"] == "ru"
    assert city_msg["message"]["recipient"] == {"chat_id": CITY, "chat_type": "chat"}

    # the same marker again: nothing confirmed yet, the same batch
    again = await mx.updates(marker=marker)
    assert [u["update_type"] for u in again["updates"]] == kinds
    # the returned marker confirms them
    after = await mx.updates(marker=batch["marker"])
    assert after["updates"] == [] and after["marker"] == batch["marker"]

    await mx.control.max_message(CITIZEN, "раз")
    await mx.control.max_message(CITIZEN, "два")
    one = await mx.updates(marker=after["marker"], limit=1)
    assert [u["message"]["body"]["text"] for u in one["updates"]] == ["раз"]
    two = await mx.updates(marker=one["marker"], types="message_callback,message_created")
    assert [u["message"]["body"]["text"] for u in two["updates"]] == ["два"]
    only_callbacks = await mx.updates(marker=two["marker"], types="message_callback")
    assert only_callbacks["updates"] == []


async def test_without_a_marker_only_the_latest_update_comes(mx: Max) -> None:
    for text in ("первое", "второе", "третье"):
        await mx.control.max_message(CITIZEN, text)
    latest = await mx.updates()
    assert [u["message"]["body"]["text"] for u in latest["updates"]] == ["третье"]


async def test_long_poll_waits_for_an_update_and_bounds_its_parameters(mx: Max) -> None:
    marker = (await mx.updates())["marker"]
    waiting = asyncio.create_task(mx.updates(marker=marker, timeout=5))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await mx.control.max_message(CITIZEN, "Свет не горит")
    got = await asyncio.wait_for(waiting, 3)
    assert [u["update_type"] for u in got["updates"]][-1] == "message_created"

    start = time.monotonic()
    empty = await mx.updates(marker=got["marker"], timeout=1)
    assert empty["updates"] == [] and 0.9 <= time.monotonic() - start < 3
    for bad in ({"limit": 0}, {"limit": 1001}, {"timeout": 91}, {"types": "nonsense"},
                {"marker": "abc"}):
        status, body = await mx.call("GET", "/updates", params={"timeout": 0, **bad})
        assert status == 400 and body["code"] == "proto.payload", bad


async def test_webhook_subscription_turns_long_polling_off(mx: Max) -> None:
    assert await mx.ok("GET", "/subscriptions") == {"subscriptions": []}
    status, body = await mx.call("POST", "/subscriptions",
                                 json={"url": "http://bot.example/hook"})
    assert (status, body["code"]) == (400, "proto.payload")  # HTTPS only since 25 May 2026
    status, body = await mx.call("POST", "/subscriptions",
                                 json={"url": "https://bot.example/hook", "secret": "no"})
    assert (status, body["code"]) == (400, "proto.payload")  # ^[a-zA-Z0-9_-]{5,256}$
    assert await mx.ok("POST", "/subscriptions", json={
        "url": "https://bot.example/hook", "update_types": ["message_created"],
        "secret": "s3cret-value"}) == {"success": True}
    subs = (await mx.ok("GET", "/subscriptions"))["subscriptions"]
    assert [(s["url"], s["update_types"]) for s in subs] == [
        ("https://bot.example/hook", ["message_created"])]
    assert isinstance(subs[0]["time"], int)
    status, _body = await mx.call("GET", "/updates", params={"timeout": 0})
    assert status == 405
    assert await mx.ok("DELETE", "/subscriptions",
                       params={"url": "https://bot.example/hook"}) == {"success": True}
    assert (await mx.updates())["updates"] == []


# ------------------------------------------------------------------ sending


async def test_send_to_a_user_and_to_chats(mx: Max) -> None:
    status, body = await mx.send({"user_id": CITIZEN}, text="Здравствуйте")
    assert status == 404 and body["code"] == "chat.not.found"  # never started the bot

    started = await mx.control.post("max/start", {"user_id": CITIZEN})
    sent = await mx.send({"user_id": CITIZEN}, text="Здравствуйте!", notify=False)
    assert sent[0] == 200
    message = sent[1]["message"]
    assert message["recipient"] == {"chat_id": started["chat_id"], "chat_type": "dialog",
                                    "user_id": CITIZEN}
    assert message["sender"]["user_id"] == world.MAX_BOT_ID
    assert message["body"]["text"] == "Здравствуйте!"
    same_dialog = await mx.send({"chat_id": started["chat_id"]}, text="Ещё")
    assert same_dialog[0] == 200

    post = (await mx.send({"chat_id": CHANNEL}, text="Новость"))[1]["message"]
    assert post["recipient"] == {"chat_id": CHANNEL, "chat_type": "channel"}
    assert post["url"].startswith(f"https://max.ru/{world.MAX_CHANNEL_LINK}/")
    assert post["stat"] == {"views": 0}
    assert [p["body"]["text"] for p in await mx.control.max_channel()] == ["Новость"]
    assert (await mx.send({"chat_id": CITY}, text="В чат"))[0] == 200
    sent_now = await mx.control.max_sent(user_id=CITIZEN)
    assert [m["body"]["text"] for m in sent_now] == ["Здравствуйте!", "Ещё"]


async def test_send_errors(mx: Max) -> None:
    status, body = await mx.send({"chat_id": -999}, text="x")
    assert (status, body) == (404, {"code": "chat.not.found", "message": "Chat -999 not found"})
    for params in ({}, {"chat_id": CHANNEL, "user_id": CITIZEN}, {"chat_id": "abc"}):
        status, body = await mx.send(params, text="x")
        assert (status, body["code"]) == (400, "proto.payload"), params
    for body_fields in ({}, {"text": ""}, {"text": 5}, {"text": "x", "format": "bbcode"},
                        {"text": "x", "attachments": {}}, {"text": "x", "notify": "yes"}):
        status, body = await mx.send({"chat_id": CHANNEL}, **body_fields)
        assert (status, body["code"]) == (400, "proto.payload"), body_fields
    async with mx.http.post(f"{mx.base}/max/messages", params={"chat_id": CHANNEL},
                            headers={"Authorization": TOKEN}, data=b"{not json") as response:
        assert response.status == 400
        assert (await response.json())["code"] == "proto.payload"


async def test_text_limit_is_4000(mx: Max) -> None:
    assert (await mx.send({"chat_id": CHANNEL}, text="я" * 4000))[0] == 200
    status, body = await mx.send({"chat_id": CHANNEL}, text="я" * 4001)
    assert status == 400 and body["code"] == "proto.payload" and "4000" in body["message"]
    # counted as sent, before the markup is parsed, in UTF-16 units
    status, _ = await mx.send({"chat_id": CHANNEL}, text="**" + "я" * 3997 + "**",
                              format="markdown")
    assert status == 400
    status, _ = await mx.send({"chat_id": CHANNEL}, text="😀" * 2001)
    assert status == 400
    assert len(await mx.control.max_channel()) == 1


async def test_formatting_markdown_and_html(mx: Max) -> None:
    _, md = await mx.send({"chat_id": CHANNEL}, format="markdown",
                          text="**Важно**: [сайт](https://shikhany.ru) и `код`")
    body = md["message"]["body"]
    assert body["text"] == "Важно: сайт и код"
    assert body["markup"] == [
        {"type": "strong", "from": 0, "length": 5},
        {"type": "link", "from": 7, "length": 4, "url": "https://shikhany.ru"},
        {"type": "monospaced", "from": 14, "length": 3},
    ]
    _, html = await mx.send({"chat_id": CHANNEL}, format="html",
                            text="<b>Отключение</b> воды &amp; <i>света</i><span>!</span>")
    body = html["message"]["body"]
    assert body["text"] == "Отключение воды & света!"
    assert body["markup"] == [{"type": "strong", "from": 0, "length": 10},
                              {"type": "emphasized", "from": 18, "length": 5}]
    _, plain = await mx.send({"chat_id": CHANNEL}, text="**как есть**")
    assert plain["message"]["body"]["text"] == "**как есть**"
    assert "markup" not in plain["message"]["body"]


async def test_a_citizen_who_stopped_the_bot_cannot_be_written_to(mx: Max) -> None:
    await mx.control.max_message(CITIZEN, "Спасибо")
    await mx.control.max_block(CITIZEN, "stopped")
    status, body = await mx.send({"user_id": CITIZEN}, text="Ответ")
    assert (status, body) == (403, {"code": "chat.denied", "message": "error.dialog.suspended"})
    updates = await mx.updates(marker=1)
    assert [u["update_type"] for u in updates["updates"]][-1] == "bot_stopped"
    await mx.control.max_block(CITIZEN, "active")
    assert (await mx.send({"user_id": CITIZEN}, text="Ответ"))[0] == 200
    await mx.control.max_block(CITIZEN, "removed")
    kinds = [u["update_type"] for u in (await mx.updates(marker=1))["updates"]]
    assert kinds[-2:] == ["dialog_removed", "bot_stopped"]


async def test_bot_removed_from_a_chat_and_added_back(mx: Max) -> None:
    await mx.control.post("max/membership", {"chat_id": CITY, "state": "removed"})
    status, body = await mx.send({"chat_id": CITY}, text="x")
    assert (status, body["code"]) == (404, "chat.not.found")
    status, _ = await mx.call("GET", f"/chats/{CITY}")
    assert status == 404
    await mx.control.post("max/membership", {"chat_id": CITY, "state": "active"})
    assert (await mx.send({"chat_id": CITY}, text="x"))[0] == 200
    await mx.control.post("max/user_added", {"chat_id": CITY, "user_id": CITIZEN})
    kinds = [(u["update_type"], u.get("is_channel"))
             for u in (await mx.updates(marker=1))["updates"]]
    assert kinds == [("bot_removed", False), ("bot_added", False), ("user_added", False)]


# ------------------------------------------------------------------ keyboards and callbacks


def keyboard(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "inline_keyboard", "payload": {"buttons": list(rows)}}


def cb(text: str, payload: str) -> dict[str, Any]:
    return {"type": "callback", "text": text, "payload": payload}


async def test_callback_press_and_answer(mx: Max) -> None:
    await mx.control.post("max/start", {"user_id": CITIZEN})
    _, sent = await mx.send({"user_id": CITIZEN}, text="Оцените ответ",
                            attachments=[keyboard([cb("Спасибо", "rate:5"),
                                                  cb("Плохо", "rate:1")])])
    message = sent["message"]
    kb = message["body"]["attachments"][0]
    assert kb["type"] == "inline_keyboard" and kb["callback_id"]
    assert kb["payload"]["buttons"][0][0] == {"type": "callback", "text": "Спасибо",
                                              "payload": "rate:5", "intent": "default"}
    marker = (await mx.updates(marker=1))["marker"]

    assert max_button(message, "Спасибо") == "rate:5"
    press = await mx.control.max_press(message, CITIZEN, "rate:5")
    with pytest.raises(AssertionError):
        await mx.control.max_press(message, CITIZEN, "rate:9")  # no such button
    update = (await mx.updates(marker=marker))["updates"][0]
    assert update["update_type"] == "message_callback"
    assert update["callback"]["callback_id"] == press["callback_id"]
    assert update["callback"]["payload"] == "rate:5"
    assert update["callback"]["user"]["user_id"] == CITIZEN
    assert update["message"]["body"]["mid"] == message["body"]["mid"]

    for params, body in (({}, {"notification": "x"}),
                         ({"callback_id": "nope"}, {"notification": "x"}),
                         ({"callback_id": press["callback_id"]}, {})):
        status, answer = await mx.call("POST", "/answers", params=params, json=body)
        assert (status, answer["code"]) == (400, "proto.payload"), (params, body)
    assert await mx.ok("POST", "/answers", params={"callback_id": press["callback_id"]},
                       json={"notification": "Спасибо за оценку",
                             "message": {"text": "Оценка принята", "attachments": []}}) == {
        "success": True}
    answers = await mx.control.max_callback_answers()
    assert answers[-1]["notification"] == "Спасибо за оценку"
    now = (await mx.control.max_sent(user_id=CITIZEN))[-1]
    assert now["body"]["text"] == "Оценка принята" and "attachments" not in now["body"]


async def test_keyboard_limits(mx: Max) -> None:
    ok_kb = keyboard(*[[cb(f"{r}-{c}", f"{r}:{c}") for c in range(7)] for r in range(30)])
    assert (await mx.send({"chat_id": CHANNEL}, text="ok", attachments=[ok_kb]))[0] == 200
    bad = [
        keyboard(*[[cb("x", "x")] for _ in range(31)]),  # 31 rows
        keyboard([cb(str(i), str(i)) for i in range(8)]),  # 8 in a row
        keyboard([{"type": "link", "text": str(i), "url": "https://a.ru"} for i in range(4)]),
        keyboard([cb("x" * 129, "x")]),  # text over 128
        keyboard([cb("", "x")]),
        keyboard([cb("x", "p" * 1025)]),  # payload over 1024
        keyboard([{"type": "callback", "text": "x"}]),  # no payload
        keyboard([{"type": "link", "text": "x", "url": "https://a.ru/" + "a" * 2048}]),
        keyboard([{"type": "teleport", "text": "x"}]),
        keyboard([]),
        {"type": "inline_keyboard", "payload": {}},
    ]
    for attachment in bad:
        status, body = await mx.send({"chat_id": CHANNEL}, text="x", attachments=[attachment])
        assert (status, body["code"]) == (400, "proto.payload"), attachment
    status, _ = await mx.send({"chat_id": CHANNEL}, text="x",
                              attachments=[keyboard([cb("a", "a")]), keyboard([cb("b", "b")])])
    assert status == 400


# ------------------------------------------------------------------ uploads


async def test_image_upload_flow_and_attachment_not_ready(mx: Max) -> None:
    mx.sandbox.max.processing_seconds = 0.6
    status, body = await mx.call("POST", "/uploads", params={"type": "photo"})
    assert status == 400  # type=photo is no longer supported
    status, body = await mx.call("POST", "/uploads", params={"type": "gif"})
    assert status == 400
    token = await mx.upload_image()
    status, body = await mx.send({"chat_id": CHANNEL}, text="Фото",
                                 attachments=[{"type": "image", "payload": {"token": token}}])
    assert (status, body) == (400, {"code": "attachment.not.ready",
                                    "message": "Key: errors.process.attachment.file."
                                               "not.processed"})
    assert await mx.control.max_channel() == []  # nothing posted
    await asyncio.sleep(0.7)
    status, body = await mx.send({"chat_id": CHANNEL}, text="Фото",
                                 attachments=[{"type": "image", "payload": {"token": token}}])
    assert status == 200
    image = body["message"]["body"]["attachments"][0]
    assert image["type"] == "image" and image["payload"]["token"] == token
    assert isinstance(image["payload"]["photo_id"], int) and image["payload"]["url"]
    # the token can be used again, and the "photos" form works too
    status, _ = await mx.send({"chat_id": CITY}, attachments=[
        {"type": "image", "payload": {"photos": {"1": {"token": token}}}}])
    assert status == 200
    uploads = await mx.control.get("max/uploads")
    assert [u["type"] for u in uploads][-1] == "image" and uploads[-1]["done"]


async def test_upload_url_takes_one_valid_image(mx: Max) -> None:
    endpoint = await mx.ok("POST", "/uploads", params={"type": "image"})
    async with mx.http.post(endpoint["url"], data={"data": "not an image"}) as response:
        assert response.status == 400
        assert "File extension is forbidden" in await response.text()
    form = aiohttp.FormData()
    form.add_field("data", make_png(8, 8), filename="a.png", content_type="image/png")
    async with mx.http.post(endpoint["url"], data=form) as response:
        assert response.status == 200
    form = aiohttp.FormData()
    form.add_field("data", make_png(8, 8), filename="a.png", content_type="image/png")
    async with mx.http.post(endpoint["url"], data=form) as response:
        assert response.status == 400  # one file per URL
    huge = await mx.ok("POST", "/uploads", params={"type": "image"})
    form = aiohttp.FormData()
    form.add_field("data", make_png(7681, 1), filename="a.png", content_type="image/png")
    async with mx.http.post(huge["url"], data=form) as response:
        assert response.status == 400  # over 7680 px
    for payload in ({"token": "never-uploaded"}, {}, {"token": "a", "url": "https://a.ru/1.png"}):
        status, _body = await mx.send({"chat_id": CHANNEL}, text="x",
                                     attachments=[{"type": "image", "payload": payload}])
        assert status == 400, payload


async def test_file_and_video_tokens(mx: Max) -> None:
    video = await mx.ok("POST", "/uploads", params={"type": "video"})
    assert video["token"]  # video and audio: the token comes with the URL
    async with mx.http.post(video["url"], data={"data": "mp4 bytes"}) as response:
        assert response.status == 200 and "retval" in await response.text()
    doc = await mx.ok("POST", "/uploads", params={"type": "file"})
    assert "token" not in doc
    async with mx.http.post(doc["url"], data={"data": "pdf bytes"}) as response:
        file_token = (await response.json())["token"]
    status, _ = await mx.send({"chat_id": CHANNEL}, text="Файл", attachments=[
        {"type": "file", "payload": {"token": file_token}}])
    assert status == 200
    status, _ = await mx.send({"chat_id": CHANNEL}, text="Файл", attachments=[
        {"type": "file", "payload": {"token": file_token}},
        {"type": "video", "payload": {"token": video["token"]}}])
    assert status == 400  # a file must be the only attachment


# ------------------------------------------------------------------ edits and deletes


async def test_edit_and_delete(mx: Max) -> None:
    _, sent = await mx.send({"chat_id": CHANNEL}, text="Черновик",
                            attachments=[keyboard([cb("Да", "yes")])])
    mid = sent["message"]["body"]["mid"]
    assert await mx.ok("PUT", "/messages", params={"message_id": mid},
                       json={"text": "<b>Итог</b>", "format": "html"}) == {"success": True}
    now = (await mx.control.max_channel())[0]
    assert now["body"]["text"] == "Итог" and now["edited"]
    assert now["body"]["attachments"][0]["type"] == "inline_keyboard"  # null keeps them
    await mx.ok("PUT", "/messages", params={"message_id": mid},
                json={"text": None, "attachments": []})
    assert "attachments" not in (await mx.control.max_channel())[0]["body"]
    status, body = await mx.call("PUT", "/messages", params={"message_id": mid},
                                 json={"text": "я" * 4001})
    assert status == 400
    status, body = await mx.call("PUT", "/messages", params={"message_id": "mid.nope"},
                                 json={"text": "x"})
    assert (status, body["code"]) == (404, "not.found")
    got = await mx.ok("GET", f"/messages/{mid}")
    assert got["body"]["text"] == "Итог"

    citizen = await mx.control.max_message(CITIZEN, "Моё", chat_id=CITY)
    status, body = await mx.call("PUT", "/messages", params={"message_id": citizen["mid"]},
                                 json={"text": "чужое"})
    assert status == 403
    assert await mx.ok("DELETE", "/messages", params={"message_id": mid}) == {"success": True}
    assert await mx.control.max_channel() == []
    status, _ = await mx.call("DELETE", "/messages", params={"message_id": mid})
    assert status == 404
    status, _ = await mx.call("GET", f"/messages/{mid}")
    assert status == 404


async def test_dialog_messages_without_keyboard_edit_for_seven_days(mx: Max) -> None:
    await mx.control.post("max/start", {"user_id": CITIZEN})
    _, plain = await mx.send({"user_id": CITIZEN}, text="Без кнопок")
    _, with_kb = await mx.send({"user_id": CITIZEN}, text="С кнопками",
                               attachments=[keyboard([cb("Да", "yes")])])
    await mx.control.advance(7 * 24 * 3600 + 60)
    status, _ = await mx.call("PUT", "/messages",
                              params={"message_id": plain["message"]["body"]["mid"]},
                              json={"text": "поздно"})
    assert status == 403
    status, _ = await mx.call("PUT", "/messages",
                              params={"message_id": with_kb["message"]["body"]["mid"]},
                              json={"text": "можно"})
    assert status == 200


async def test_citizens_edit_and_remove_reach_the_bot(mx: Max) -> None:
    sent = await mx.control.max_message(CITIZEN, "Яма", chat_id=CITY)
    await mx.control.post("max/edit", {"mid": sent["mid"], "text": "Большая яма"})
    await mx.control.post("max/remove", {"mid": sent["mid"]})
    updates = (await mx.updates(marker=1))["updates"]
    assert [u["update_type"] for u in updates] == ["message_created", "message_edited",
                                                    "message_removed"]
    assert updates[1]["message"]["body"]["text"] == "Большая яма"
    assert updates[2] == {"update_type": "message_removed", "timestamp": updates[2]["timestamp"],
                          "message_id": sent["mid"], "chat_id": CITY, "user_id": CITIZEN}


async def test_reply_link(mx: Max) -> None:
    citizen = await mx.control.max_message(CITIZEN, "Вопрос", chat_id=CITY)
    _, sent = await mx.send({"chat_id": CITY}, text="Ответ",
                            link={"type": "reply", "mid": citizen["mid"]})
    link = sent["message"]["link"]
    assert link["type"] == "reply" and link["message"]["mid"] == citizen["mid"]
    assert link["sender"]["user_id"] == CITIZEN
    status, _ = await mx.send({"chat_id": CITY}, text="x", link={"type": "reply", "mid": "m"})
    assert status == 404


# ------------------------------------------------------------------ limits and faults


async def test_thirty_requests_a_second(mx_limited: Max) -> None:
    statuses = []
    for _ in range(35):
        status, body = await mx_limited.call("GET", "/me")
        statuses.append((status, body.get("code")))
    assert statuses[:30] == [(200, None)] * 30
    assert (429, "too.many.requests") in statuses[30:]
    await asyncio.sleep(1.1)
    assert (await mx_limited.call("GET", "/me"))[0] == 200


async def test_long_polling_two_requests_a_second(mx_limited: Max) -> None:
    results = [await mx_limited.call("GET", "/updates", params={"timeout": 0})
               for _ in range(3)]
    assert [s for s, _ in results] == [200, 200, 429]
    assert results[2][1]["code"] == "too.many.requests"


async def test_injected_faults(mx: Max) -> None:
    await mx.control.fault(platform="max", method="POST /messages", kind="429")
    status, body = await mx.send({"chat_id": CHANNEL}, text="x")
    assert (status, body["code"]) == (429, "too.many.requests")
    await mx.control.fault(platform="max", method="POST /messages", kind="503")
    assert (await mx.send({"chat_id": CHANNEL}, text="x"))[0] == 503
    await mx.control.fault(platform="max", method="POST /messages", kind="500")
    assert (await mx.send({"chat_id": CHANNEL}, text="x"))[0] == 500
    assert await mx.control.max_channel() == []
    assert (await mx.send({"chat_id": CHANNEL}, text="x"))[0] == 200
    # a fault for sends is not swallowed by the long poll
    await mx.control.fault(platform="max", method="POST /messages", kind="500")
    assert (await mx.updates())["updates"] == []
    assert (await mx.send({"chat_id": CHANNEL}, text="x"))[0] == 500


# ------------------------------------------------------------------ persistence


async def test_state_survives_a_restart(tmp_path) -> None:
    path = tmp_path / "state.json"
    sandbox = Sandbox(rate_limits=False, state_path=str(path))
    await sandbox.start()
    async with aiohttp.ClientSession() as http:
        control = Control(sandbox.base_url, http)
        await control.max_message(CITIZEN, "До перезапуска")
        async with http.post(f"{sandbox.base_url}/max/messages", params={"chat_id": CHANNEL},
                             headers={"Authorization": TOKEN}, json={"text": "Пост"}) as r:
            assert r.status == 200
    await sandbox.stop()
    again = Sandbox(rate_limits=False, state_path=str(path))
    await again.start()
    async with aiohttp.ClientSession() as http:
        control = Control(again.base_url, http)
        assert [p["body"]["text"] for p in await control.max_channel()] == ["Пост"]
        async with http.get(f"{again.base_url}/max/updates", params={"marker": "1",
                                                                     "timeout": "0"},
                            headers={"Authorization": TOKEN}) as r:
            kinds = [u["update_type"] for u in (await r.json())["updates"]]
        assert kinds == ["bot_started", "message_created"]
    await again.stop()


def test_world_config_connects_max_and_ok(tmp_path) -> None:
    raw = world.config_dict("http://127.0.0.1:1")
    config = world.config("http://127.0.0.1:1", tmp_path / "db.sqlite3")  # valid
    assert raw["max"]["api_base"] == "http://127.0.0.1:1/max"
    assert config.max.channel == CHANNEL and config.max.city_chats == [CITY]
    assert config.ok.groups[0].id == int(world.OK_GROUP)
    admin = config.page("Администрация")
    assert admin is not None
    assert [t.platform for t in admin.targets] == ["vk", "telegram", "max", "ok"]
