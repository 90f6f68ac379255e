"""The Одноклассники REST API stand-in over real HTTP, with a thin signing client written
here from OK's published rule (not the sandbox's own signer)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import world
from bot.sandbox.client import Control
from bot.sandbox.ok import signature
from bot.sandbox.server import Sandbox
from bot.sandbox.telegram import make_png

GID = world.OK_GROUP


def sign(params: dict[str, str], token: str, secret: str) -> str:
    """apiok.ru/dev/methods: secret = md5(access_token + application_secret_key); sig =
    md5(sorted k=v without access_token + secret), lower case."""
    secret_key = hashlib.md5((token + secret).encode()).hexdigest()
    joined = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hashlib.md5((joined + secret_key).encode()).hexdigest()


class Ok:
    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = sandbox.base_url
        self.http = http
        self.control = Control(self.base, http)

    async def raw(self, params: dict[str, str], *, post: bool = False
                  ) -> tuple[Any, str | None]:
        url = f"{self.base}/ok/fb.do"
        request = (self.http.post(url, data=params) if post
                   else self.http.get(url, params=params))
        async with request as response:
            assert response.status == 200
            return await response.json(), response.headers.get("invocation-error")

    async def call(self, method: str, *, session: str = world.OK_GROUP_TOKEN,
                   secret: str = world.OK_APPLICATION_SECRET_KEY, post: bool = True,
                   **values: Any) -> Any:
        params = {"application_key": world.OK_APPLICATION_KEY, "format": "json",
                  "method": method,
                  **{k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                     for k, v in values.items()}}
        params["sig"] = sign(params, session, secret)
        params["access_token"] = session
        body, _ = await self.raw(params, post=post)
        return body

    async def upload(self, count: int = 1) -> list[str]:
        target = await self.call("photosV2.getUploadUrl", gid=GID, count=str(count))
        assert len(target["photo_ids"]) == count and target["expires_ms"] > 0
        form = aiohttp.FormData()
        for i in range(count):
            form.add_field(f"pic{i + 1}", make_png(30 + i, 20), filename=f"{i}.png",
                           content_type="image/png")
        async with self.http.post(target["upload_url"], data=form) as response:
            answer = await response.json()
        return [answer["photos"][pid]["token"] for pid in target["photo_ids"]]


@pytest.fixture
async def ok() -> AsyncIterator[Ok]:
    sandbox = Sandbox(rate_limits=False)
    await sandbox.start()
    async with aiohttp.ClientSession() as http:
        yield Ok(sandbox, http)
    await sandbox.stop()


@pytest.fixture
async def ok_limited() -> AsyncIterator[Ok]:
    sandbox = Sandbox(rate_limits=True)
    await sandbox.start()
    async with aiohttp.ClientSession() as http:
        yield Ok(sandbox, http)
    await sandbox.stop()


def error(body: Any, code: int, name: str) -> None:
    assert isinstance(body, dict) and body["error_code"] == code, body
    assert body["error_msg"].startswith(name), body
    assert "error_data" in body


def test_signature_matches_the_published_example() -> None:
    # the worked example of OK's server-server signature (aiookru's API page, from
    # apiok.ru's rule): application_key, format and method signed for an access token
    params = {"application_key": "ABCDEFGHIGKLMNOPK", "format": "json",
              "method": "events.get"}
    token = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7"
    expected = "232c8eb921951c4dba9b72606f9ddb4c"
    assert sign(params, token, "ABC123DEF456GHI789JKL123") == expected
    assert signature({**params, "access_token": token, "sig": "x"}, token,
                     "ABC123DEF456GHI789JKL123") == expected


async def test_group_get_info(ok: Ok) -> None:
    info = await ok.call("group.getInfo", uids=GID, fields="name,members_count", post=False)
    assert info == [{"uid": GID, "name": "Администрация", "members_count": 1240}]
    assert await ok.call("group.getInfo", uids="1") == []
    error(await ok.call("group.getInfo"), 100, "PARAM")


async def test_signature_and_keys_are_checked(ok: Ok) -> None:
    body = await ok.call("group.getInfo", uids=GID, secret="wrong-secret")
    error(body, 104, "PARAM_SIGNATURE")
    params = {"application_key": world.OK_APPLICATION_KEY, "format": "json",
              "method": "group.getInfo", "uids": GID}
    params["sig"] = sign(params, world.OK_GROUP_TOKEN, world.OK_APPLICATION_SECRET_KEY)
    params["access_token"] = world.OK_GROUP_TOKEN
    body, header = await ok.raw({**params, "uids": "70000000000002"})  # changed after signing
    error(body, 104, "PARAM_SIGNATURE")
    assert header == "104"  # the code also goes in the invocation-error header
    body, _ = await ok.raw({k: v for k, v in params.items() if k != "sig"})
    error(body, 100, "PARAM")
    body, _ = await ok.raw({**params, "application_key": "OTHER"})
    error(body, 101, "PARAM_API_KEY")
    body, _ = await ok.raw({**params, "access_token": "expired"})
    error(body, 102, "PARAM_SESSION_EXPIRED")
    body, _ = await ok.raw({k: v for k, v in params.items() if k != "access_token"})
    error(body, 103, "PARAM_SESSION_KEY")
    error(await ok.call("wall.post"), 3, "METHOD")
    body, header = await ok.raw(params)
    assert header is None and body[0]["uid"] == GID
    # the method group/name form of the URL works as fb.do does
    async with ok.http.get(f"{ok.base}/ok/api/group/getInfo",
                           params={k: v for k, v in params.items() if k != "method"}) as r:
        assert (await r.json())[0]["uid"] == GID
    log = await ok.control.log(platform="ok")
    assert all(world.OK_GROUP_TOKEN not in str(e["params"]) for e in log)


async def test_text_topic_in_the_group(ok: Ok) -> None:
    topic_id = await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment={
        "media": [{"type": "text", "text": "Отключение воды 12 мая"}]})
    assert isinstance(topic_id, str) and topic_id.isdigit()
    feed = await ok.control.ok_feed()
    assert [(t["id"], t["media"]) for t in feed] == [
        (topic_id, [{"type": "text", "text": "Отключение воды 12 мая"}])]
    topics = await ok.call("mediatopic.getTopics", gid=GID)
    assert [t["id"] for t in topics["media_topics"]] == [topic_id]


async def test_photo_topic_after_upload(ok: Ok) -> None:
    tokens = await ok.upload(count=2)
    topic_id = await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment={
        "media": [{"type": "text", "text": "Субботник"},
                  {"type": "photo", "list": [{"id": t} for t in tokens]}]})
    assert topic_id.isdigit()
    media = (await ok.control.ok_feed())[0]["media"]
    assert media[1]["type"] == "photo" and [p["token"] for p in media[1]["list"]] == tokens
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment={
        "media": [{"type": "photo", "list": [{"id": "never-uploaded"}]}]}), 100, "PARAM")
    # commit (into an album) answers each photo's status
    target = await ok.call("photosV2.getUploadUrl", gid=GID)
    form = aiohttp.FormData()
    form.add_field("pic1", make_png(5, 5), filename="a.png", content_type="image/png")
    async with ok.http.post(target["upload_url"], data=form) as response:
        token = (await response.json())["photos"][target["photo_ids"][0]]["token"]
    committed = await ok.call("photosV2.commit", photo_id=target["photo_ids"][0], token=token)
    assert committed["photos"][0]["status"] == "SUCCESS"


async def test_upload_server_refuses_what_it_cannot_take(ok: Ok) -> None:
    target = await ok.call("photosV2.getUploadUrl", gid=GID)
    form = aiohttp.FormData()
    form.add_field("pic1", b"not an image", filename="a.png", content_type="image/png")
    async with ok.http.post(target["upload_url"], data=form) as response:
        error(await response.json(), 100, "PARAM")
    error(await ok.call("photosV2.getUploadUrl", gid=GID, count="11"), 100, "PARAM")
    error(await ok.call("photosV2.getUploadUrl", gid="70000000000009"), 300, "NOT_FOUND")


async def test_poll_topic(ok: Ok) -> None:
    poll = {"type": "poll", "question": "Где поставить лавочки?",
            "answers": [{"text": "У школы"}, {"text": "В парке"}],
            "options": "SingleChoice,AnonymousVoting"}
    topic_id = await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                             attachment={"media": [poll]})
    assert topic_id.isdigit()
    stored = (await ok.control.ok_feed())[0]["media"][0]
    assert stored["question"] == "Где поставить лавочки?" and len(stored["answers"]) == 2
    for broken in ({**poll, "answers": [{"text": "один"}]}, {**poll, "question": ""},
                   {**poll, "options": "Sometimes"}):
        error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                            attachment={"media": [broken]}), 100, "PARAM")


async def test_post_errors(ok: Ok) -> None:
    text = {"media": [{"type": "text", "text": "x"}]}
    error(await ok.call("mediatopic.post", gid=GID, attachment=text), 100, "PARAM")  # no type
    error(await ok.call("mediatopic.post", type="GROUP_THEME", attachment=text), 100, "PARAM")
    error(await ok.call("mediatopic.post", gid="70000000000009", type="GROUP_THEME",
                        attachment=text), 300, "NOT_FOUND")
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment="{x"),
          100, "PARAM")
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                        attachment={"media": []}), 100, "PARAM")
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment={
        "media": [{"type": "text", "text": "я" * 10001}]}), 100, "PARAM")
    ok.sandbox.ok.groups["70000000000002"] = {**ok.sandbox.ok.groups[GID],
                                              "uid": "70000000000002"}
    error(await ok.call("mediatopic.post", gid="70000000000002", type="GROUP_THEME",
                        attachment=text), 10, "PERMISSION_DENIED")  # another group's token
    assert await ok.control.ok_feed() == []


async def test_daily_topic_limit_by_moscow_day(ok: Ok) -> None:
    await ok.control.post("ok/daily_limit", {"topics_per_day": 2})
    text = {"media": [{"type": "text", "text": "пост"}]}
    for _ in range(2):
        assert (await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                              attachment=text)).isdigit()
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME", attachment=text),
          11, "LIMIT_REACHED")
    await ok.control.advance(24 * 3600)
    assert (await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                          attachment=text)).isdigit()
    assert len(await ok.control.ok_feed()) == 3


async def test_requests_per_second(ok_limited: Ok) -> None:
    bodies = [await ok_limited.call("group.getInfo", uids=GID) for _ in range(7)]
    assert all(isinstance(b, list) for b in bodies[:5])
    error(bodies[5], 8, "FLOOD_BLOCKED")


async def test_injected_ok_error(ok: Ok) -> None:
    await ok.control.fault(platform="ok", method="mediatopic.post", kind="ok_error", code=2)
    error(await ok.call("mediatopic.post", gid=GID, type="GROUP_THEME",
                        attachment={"media": [{"type": "text", "text": "x"}]}), 2, "SERVICE")
    assert await ok.control.ok_feed() == []
