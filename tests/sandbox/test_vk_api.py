"""The VK stand-in, driven by the real vk_api library over HTTP.

Each test runs its own sandbox on a free port; vk_api calls run in a thread (they block).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import vk_api
from aiohttp import web
from jconfig.memory import MemoryConfig
from vk_api.bot_longpoll import VkBotEventType, VkBotLongPoll
from vk_api.exceptions import ApiError, ApiHttpError

from bot.platforms.vk.client import make_session
from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.vk import VkSandbox

ADMIN, HEAD, PUBLIC = world.VK_ADMIN, world.VK_HEAD, world.VK_PUBLIC
GROUP_TOKEN = world.community_token(ADMIN)
USER_TOKEN = world.user_token(ADMIN)


class VkWorld:
    """A running VK sandbox: vk_api sessions for its tokens and its control API."""

    def __init__(self, sandbox: VkSandbox, base: str, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = base
        self.http = http

    def api(self, token: str) -> vk_api.VkApi:
        vk = vk_api.VkApi(
            token=token,
            session=make_session(f"{self.base}/vk/method", timeout=10),
            api_version="5.199",
            config=MemoryConfig,
        )
        vk.RPS_DELAY = 0  # the sandbox's limits are under test, not vk_api's pacing
        return vk

    async def call(self, token: str | vk_api.VkApi, method: str, **values: Any) -> Any:
        vk = self.api(token) if isinstance(token, str) else token
        return await asyncio.to_thread(vk.method, method, values)

    async def control(self, path: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/control/vk/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def read(self, path: str, **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items()}
        async with self.http.get(f"{self.base}/control/vk/{path}", params=params) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@contextlib.asynccontextmanager
async def running(rate_limits: bool = False) -> AsyncIterator[VkWorld]:
    state = SandboxState()
    sandbox = VkSandbox(state, rate_limits=rate_limits)
    app = web.Application()
    sandbox.register(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        yield VkWorld(sandbox, f"http://127.0.0.1:{port}", http)
    await runner.cleanup()


@pytest.fixture
async def vk() -> AsyncIterator[VkWorld]:
    async with running(rate_limits=False) as w:
        yield w


@pytest.fixture
async def vk_limited() -> AsyncIterator[VkWorld]:
    async with running(rate_limits=True) as w:
        yield w


async def vk_error(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


# ------------------------------------------------------------------ comments


async def test_reply_to_comment_is_stored_and_threaded(vk: VkWorld) -> None:
    citizen = await vk.control("comment", group_id=ADMIN, post_id=7, from_id=500001,
                               text="Когда починят трубу?")
    answer = await vk.call(
        GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=7,
        message="Трубу починят завтра.", reply_to_comment=citizen["comment_id"],
        from_group=ADMIN, guid="incident-1",
    )
    assert answer["parents_stack"] == [citizen["comment_id"]]

    wall = await vk.read("wall", owner_id=-ADMIN)
    post = next(p for p in wall if p["id"] == 7)
    ours = post["comments"][-1]
    assert ours["id"] == answer["comment_id"]
    assert ours["from_id"] == -ADMIN and ours["from_group"] is True
    assert ours["reply_to_comment"] == citizen["comment_id"]
    assert ours["reply_to_user"] == 500001
    assert ours["guid"] == "incident-1" and ours["date_iso"]

    comments = await vk.call(USER_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=7,
                             thread_items_count=10, extended=1)
    assert comments["count"] == 2 and comments["current_level_count"] == 1
    top = comments["items"][0]
    assert top["from_id"] == 500001 and top["thread"]["count"] == 1
    assert top["thread"]["items"][0]["text"] == "Трубу починят завтра."
    assert {p["id"] for p in comments["profiles"]} >= {500001}
    assert comments["groups"][0]["name"] == "Администрация"


async def test_comment_guid_repeats_return_the_same_comment(vk: VkWorld) -> None:
    await vk.control("comment", group_id=ADMIN, post_id=3, from_id=500002, text="?")
    first = await vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=3,
                          message="Ответ", guid="g-1")
    again = await vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=3,
                          message="Ответ", guid="g-1")
    assert again["comment_id"] == first["comment_id"]
    wall = await vk.read("wall", owner_id=-ADMIN)
    assert [c["text"] for c in wall[0]["comments"]] == ["?", "Ответ"]


async def test_community_token_has_no_rights_on_another_wall(vk: VkWorld) -> None:
    await vk.control("comment", group_id=HEAD, post_id=1, from_id=500003, text="?")
    error = await vk_error(vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-HEAD,
                                   post_id=1, message="x"))
    assert error.code == 15
    error = await vk_error(vk.call(GROUP_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=1))
    assert error.code == 27


async def test_a_posts_comment_rules_refuse_as_vk_does(vk: VkWorld) -> None:
    """212 comments closed, 213 this author may not comment, 222 links forbidden, 223
    too many replies of the wall's owner: codes and words of VK's errors.json."""
    citizen = await vk.control("comment", group_id=ADMIN, post_id=9, from_id=500004,
                               text="Когда уберут снег?")

    async def comment(message: str) -> ApiError:
        return await vk_error(vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN,
                                      post_id=9, message=message,
                                      reply_to_comment=citizen["comment_id"]))

    await vk.control("post_settings", group_id=ADMIN, post_id=9, comments_closed=True)
    error = await comment("Уберут завтра")
    assert (error.code, error.error["error_msg"]) == (212, "Access to post comments denied")
    posts = await vk.call(USER_TOKEN, "wall.getById", posts=f"-{ADMIN}_9")
    assert posts["items"][0]["comments"]["can_post"] == 0
    error = await vk_error(vk.call(world.SERVICE_TOKEN, "wall.getComments",
                                   owner_id=-ADMIN, post_id=9))
    assert error.code == 212  # an outsider cannot read them either
    await vk.control("post_settings", group_id=ADMIN, post_id=9, comments_closed=False,
                     replies_denied=True)
    error = await comment("Уберут завтра")
    assert (error.code, error.error["error_msg"]) == (213, "Access to status replies denied")
    await vk.control("post_settings", group_id=ADMIN, post_id=9, replies_denied=False,
                     links_forbidden=True)
    for text in ("Подробности на https://gosuslugi.ru/help", "Смотрите www.shikhany.ru",
                 "Пишите на shikhany.рф"):
        error = await comment(text)
        assert (error.code, error.error["error_msg"]) == (222, "Hyperlinks are forbidden")
    await vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=9,
                  message="Уберут завтра, т.е. 25.11.")  # no link: goes
    await vk.control("post_settings", group_id=ADMIN, post_id=9, owner_replies_max=1)
    error = await comment("И ещё раз")
    assert (error.code, error.error["error_msg"]) == (223, "Too many replies")
    await vk.call(USER_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=9,
                  message="А я житель-админ")  # not the owner's reply: goes
    wall = await vk.read("wall", owner_id=-ADMIN)
    assert len(wall[0]["comments"]) == 3


async def test_privacy_settings_close_messages_with_902(vk: VkWorld) -> None:
    await vk.control("message", group_id=ADMIN, from_id=500021, text="Нет воды")
    await vk.control("privacy", user_id=500021, messages_closed=True)
    error = await vk_error(vk.call(GROUP_TOKEN, "messages.send", peer_id=500021,
                                   message="Разбираемся", random_id=5))
    assert error.code == 902
    assert error.error["error_msg"] == (
        "Can't send messages to this user due to their privacy settings")
    await vk.control("privacy", user_id=500021, messages_closed=False)
    assert await vk.call(GROUP_TOKEN, "messages.send", peer_id=500021,
                         message="Разбираемся", random_id=5)


# ------------------------------------------------------------------ posts


async def test_wall_post_needs_a_user_token(vk: VkWorld) -> None:
    error = await vk_error(vk.call(GROUP_TOKEN, "wall.post", owner_id=-ADMIN, message="x"))
    assert error.code == 27
    assert error.error["error_msg"] == (
        "Group authorization failed: method is unavailable with group auth."
    )
    keys = [p["key"] for p in error.error["request_params"]]
    assert keys[:2] == ["method", "oauth"] and "access_token" not in keys

    done = await vk.call(USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1,
                         message="Отключение воды 5 мая", guid="post-1")
    again = await vk.call(USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1,
                          message="Отключение воды 5 мая", guid="post-1")
    assert again["post_id"] == done["post_id"]
    posts = await vk.call(world.SERVICE_TOKEN, "wall.get", owner_id=-ADMIN)
    assert posts["count"] == 1
    item = posts["items"][0]
    assert item["from_id"] == -ADMIN and item["created_by"] == world.VK_ADMIN_USER
    assert item["text"] == "Отключение воды 5 мая"

    error = await vk_error(vk.call(USER_TOKEN, "wall.post", owner_id=-PUBLIC, message="x"))
    assert error.code == 15


async def test_postponed_post_goes_live_by_the_sandbox_clock(vk: VkWorld) -> None:
    at = int(vk.sandbox.state.clock.timestamp()) + 3600
    done = await vk.call(USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1,
                         message="Завтра субботник", publish_date=at)
    assert (await vk.call(USER_TOKEN, "wall.get", owner_id=-ADMIN))["count"] == 0
    postponed = await vk.call(USER_TOKEN, "wall.get", owner_id=-ADMIN, filter="postponed")
    assert postponed["items"][0]["post_type"] == "postpone"
    vk.sandbox.state.clock.advance(3601)
    live = await vk.call(USER_TOKEN, "wall.get", owner_id=-ADMIN)
    assert live["items"][0]["id"] == done["post_id"] and live["items"][0]["date"] == at
    wall = await vk.read("wall", owner_id=-ADMIN)
    assert wall[0]["publish_date"] == at and wall[0]["post_type"] == "post"


async def test_fifty_posts_a_day_then_error_214(vk: VkWorld) -> None:
    api = vk.api(world.user_token(HEAD))
    for n in range(50):
        await vk.call(api, "wall.post", owner_id=-HEAD, from_group=1, message=f"Пост {n}")
    error = await vk_error(vk.call(api, "wall.post", owner_id=-HEAD, message="51"))
    assert error.code == 214
    assert error.error["error_msg"].startswith("Access to adding post denied")
    # the other wall has its own count; the next day counts anew
    await vk.call(USER_TOKEN, "wall.post", owner_id=-ADMIN, message="ok")
    vk.sandbox.state.clock.advance(86400)
    await vk.call(api, "wall.post", owner_id=-HEAD, message="next day")


async def test_citizen_post_on_a_public_is_read_with_the_service_token(vk: VkWorld) -> None:
    made = await vk.control("post", group_id=PUBLIC, from_id=500010, text="Яма на Ленина")
    await vk.control("comment", group_id=PUBLIC, post_id=made["post_id"], from_id=500011,
                     text="И у нас тоже")
    posts = await vk.call(world.SERVICE_TOKEN, "wall.get", domain="podslushano_shikhany",
                          extended=1)
    assert posts["items"][0]["from_id"] == 500010
    assert posts["items"][0]["comments"]["count"] == 1
    assert {p["id"] for p in posts["profiles"]} == {500010}
    by_id = await vk.call(world.SERVICE_TOKEN, "wall.getById",
                          posts=f"-{PUBLIC}_{made['post_id']}")
    assert by_id["items"][0]["text"] == "Яма на Ленина"


# ------------------------------------------------------------------ messages


async def test_random_id_dedupes_messages(vk: VkWorld) -> None:
    error = await vk_error(vk.call(GROUP_TOKEN, "messages.send", peer_id=500020,
                                   message="Здравствуйте", random_id=1))
    assert error.code == 901  # the citizen has not written to the community

    await vk.control("message", group_id=ADMIN, from_id=500020, text="Нет света")
    first = await vk.call(GROUP_TOKEN, "messages.send", peer_id=500020,
                          message="Разбираемся", random_id=777)
    again = await vk.call(GROUP_TOKEN, "messages.send", peer_id=500020,
                          message="Разбираемся", random_id=777)
    assert first == again
    sent = await vk.read("messages", group_id=ADMIN)
    assert [(m["peer_id"], m["text"], m["random_id"]) for m in sent] == [
        (500020, "Разбираемся", 777)
    ]
    error = await vk_error(vk.call(GROUP_TOKEN, "messages.send", peer_id=500020, message="x"))
    assert error.code == 100 and "random_id" in error.error["error_msg"]


# ------------------------------------------------------------------ limits and faults


async def test_requests_per_second_limits(vk_limited: VkWorld) -> None:
    api = vk_limited.api(GROUP_TOKEN)
    user = vk_limited.api(world.user_token(HEAD))
    for session in (api, user):  # vk_api would sleep and retry error 6 without end
        session.error_handlers.pop(6)
    codes = []
    for _ in range(22):
        try:
            await vk_limited.call(api, "groups.getById")
            codes.append(0)
        except ApiError as error:
            codes.append(error.code)
    assert codes[:20] == [0] * 20 and codes[20:] == [6, 6]

    results = []
    for _ in range(4):
        try:
            await vk_limited.call(user, "users.get", user_ids=500001)
            results.append(0)
        except ApiError as error:
            results.append(error.code)
    assert results == [0, 0, 0, 6]
    await asyncio.sleep(1.0)
    await vk_limited.call(user, "users.get", user_ids=500001)


async def _codes(vk: VkWorld, session: vk_api.VkApi, n: int, method: str,
                 **values: Any) -> list[int]:
    codes = []
    for _ in range(n):
        try:
            await vk.call(session, method, **values)
            codes.append(0)
        except ApiError as error:
            codes.append(error.code)
    return codes


async def test_a_service_token_gets_a_small_apps_three_a_second(vk_limited: VkWorld) -> None:
    """VK gives a service token 3 requests/s for a small app (up to 5 for a big one),
    not a community token's 20; the refusal is error 6 in VK's words and shape."""
    service = vk_limited.api(world.SERVICE_TOKEN)
    service.error_handlers.pop(6)
    codes = await _codes(vk_limited, service, 5, "wall.get", owner_id=-PUBLIC)
    assert codes == [0, 0, 0, 6, 6]
    refused = vk_limited.sandbox.state.log[-1]
    assert refused["method"] == "wall.get" and refused["status"] == 6
    with pytest.raises(ApiError) as caught:
        await vk_limited.call(service, "wall.get", owner_id=-PUBLIC)
    assert caught.value.error["error_msg"] == "Too many requests per second"
    assert {"key": "method", "value": "wall.get"} in caught.value.error["request_params"]
    # a refused request counts too: hammering keeps it refused until the client slows down
    await asyncio.sleep(1.05)
    await vk_limited.control("rate_limits", service=5)  # play a bigger app
    codes = await _codes(vk_limited, service, 6, "wall.get", owner_id=-PUBLIC)
    assert codes == [0, 0, 0, 0, 0, 6]
    async with vk_limited.http.post(f"{vk_limited.base}/control/vk/rate_limits",
                                    json={"service": 6}) as response:
        assert response.status == 400  # past VK's maximum for the kind


async def test_faults_and_unknown_tokens(vk: VkWorld) -> None:
    vk.sandbox.state.add_fault(platform="vk", kind="vk_error", code=9, count=1,
                               method="wall.createComment")
    await vk.control("comment", group_id=ADMIN, post_id=1, from_id=500001, text="?")
    error = await vk_error(vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN,
                                   post_id=1, message="x"))
    assert error.code == 9 and error.error["error_msg"] == "Flood control"

    vk.sandbox.state.add_fault(platform="vk", kind="500", count=1)
    with pytest.raises(ApiHttpError):
        await vk.call(GROUP_TOKEN, "groups.getById")

    error = await vk_error(vk.call("vk1.a.forged", "users.get", user_ids=1))
    assert error.code == 5
    error = await vk_error(vk.call(GROUP_TOKEN, "wall.nothing"))
    assert error.code == 3
    log = [e for e in vk.sandbox.state.log if e["platform"] == "vk"]
    assert log[0]["params"]["access_token"] == "***" and log[0]["status"] == 9


# ------------------------------------------------------------------ long poll


async def test_real_bot_longpoll_receives_citizens(vk: VkWorld) -> None:
    api = vk.api(GROUP_TOKEN)
    longpoll = await asyncio.to_thread(VkBotLongPoll, api, ADMIN, 1)
    await vk.control("comment", group_id=ADMIN, post_id=5, from_id=500030, text="Мусор")
    await vk.control("message", group_id=ADMIN, from_id=500031, text="Автобус")
    await vk.control("post", group_id=ADMIN, from_id=500032, text="Предлагаю новость")
    events = await asyncio.to_thread(longpoll.check)
    assert [e.type for e in events] == [
        VkBotEventType.WALL_REPLY_NEW, VkBotEventType.MESSAGE_NEW, VkBotEventType.WALL_POST_NEW
    ]
    reply, message, post = events
    assert reply.obj.text == "Мусор" and reply.obj.post_owner_id == -ADMIN
    assert reply.obj.post_id == 5 and reply.group_id == ADMIN
    assert message.obj.message["text"] == "Автобус"
    assert message.obj.client_info["keyboard"] is True
    assert post.obj.post_type == "suggest" and post.obj.from_id == 500032
    # nothing new: the long poll waits `wait` seconds and answers empty
    started = time.monotonic()
    assert await asyncio.to_thread(longpoll.check) == []
    assert time.monotonic() - started >= 0.9


async def test_edit_delete_and_other_objects_reach_the_long_poll(vk: VkWorld) -> None:
    answer = await vk.call(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN)
    made = await vk.control("comment", group_id=ADMIN, post_id=2, from_id=500040, text="a")
    await vk.control("edit_comment", group_id=ADMIN, comment_id=made["comment_id"], text="b")
    await vk.control("delete_comment", group_id=ADMIN, comment_id=made["comment_id"])
    await vk.control("photo_comment", group_id=ADMIN, photo_id=9, from_id=500041, text="c")
    await vk.control("video_comment", group_id=ADMIN, video_id=8, from_id=500042, text="d")
    await vk.control("board_post", group_id=ADMIN, topic_id=4, from_id=500043, text="e")
    async with vk.http.get(answer["server"], params={
        "act": "a_check", "key": answer["key"], "ts": answer["ts"], "wait": 1,
    }) as response:
        body = await response.json()
    kinds = [u["type"] for u in body["updates"]]
    assert kinds == ["wall_reply_new", "wall_reply_edit", "wall_reply_delete",
                     "photo_comment_new", "video_comment_new", "board_post_new"]
    updates = body["updates"]
    assert updates[1]["object"]["text"] == "b"
    assert updates[2]["object"] == {"owner_id": -ADMIN, "id": made["comment_id"],
                                    "deleter_id": 500040, "user_id": 500040, "post_id": 2}
    assert updates[3]["object"]["photo_owner_id"] == -ADMIN
    assert updates[5]["object"]["topic_id"] == 4
    assert all(u["v"] == "5.199" and len(u["event_id"]) == 40 for u in updates)
    assert int(body["ts"]) == int(answer["ts"]) + 6


async def test_forced_longpoll_failures(vk: VkWorld) -> None:
    server = await vk.call(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN)

    async def check(key: str, ts: str) -> dict[str, Any]:
        async with vk.http.get(server["server"], params={
            "act": "a_check", "key": key, "ts": ts, "wait": 0,
        }) as response:
            return await response.json()

    await vk.control("comment", group_id=ADMIN, post_id=1, from_id=500050, text="x")
    await vk.control("longpoll_fail", group_id=ADMIN, failed=1)
    assert await check(server["key"], server["ts"]) == {"failed": 1, "ts": 2}
    await vk.control("longpoll_fail", group_id=ADMIN, failed=2)
    assert await check(server["key"], "2") == {"failed": 2}
    fresh = await vk.call(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN)
    assert (await check(fresh["key"], "2"))["updates"] == []
    await vk.control("longpoll_fail", group_id=ADMIN, failed=3)
    assert await check(fresh["key"], "2") == {"failed": 3}
    assert await check("nonsense", "2") == {"failed": 2}
    assert (await check((await vk.call(
        GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN))["key"], "0"))["failed"] == 1


async def test_bulk_comments_arrive_in_batches(vk: VkWorld) -> None:
    server = await vk.call(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN)
    started = time.monotonic()
    items = [{"from_id": 500001 + n % 999, "text": f"комментарий {n}"} for n in range(10_000)]
    made = await vk.control("comments", group_id=ADMIN, post_id=1, items=items)
    assert len(made["comment_ids"]) == 10_000
    ts, seen = server["ts"], 0
    while seen < 10_000:
        async with vk.http.get(server["server"], params={
            "act": "a_check", "key": server["key"], "ts": ts, "wait": 0,
        }) as response:
            body = await response.json()
        assert 0 < len(body["updates"]) <= 1000
        seen += len(body["updates"])
        ts = body["ts"]
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------ uploads, polls, names


async def test_photo_upload_chain_with_vk_upload(vk: VkWorld) -> None:
    api = vk.api(USER_TOKEN)
    photo = io.BytesIO(b"\xff\xd8\xff fake jpeg")
    photo.name = "yard.jpg"
    saved = await asyncio.to_thread(vk_api.VkUpload(api).photo_wall, [photo], group_id=ADMIN)
    ref = f"photo{saved[0]['owner_id']}_{saved[0]['id']}"
    assert saved[0]["owner_id"] == -ADMIN
    poll = await vk.call(api, "polls.create", owner_id=-ADMIN, question="Где поставить лавку?",
                         add_answers=json.dumps(["У школы", "В парке"], ensure_ascii=False))
    assert [a["text"] for a in poll["answers"]] == ["У школы", "В парке"]
    done = await vk.call(api, "wall.post", owner_id=-ADMIN, from_group=1, message="Опрос",
                         attachments=f"{ref},poll{poll['owner_id']}_{poll['id']}")
    wall = await vk.read("wall", owner_id=-ADMIN)
    post = wall[0]
    assert post["id"] == done["post_id"]
    assert [a["type"] for a in post["attachments"]] == ["photo", "poll"]
    assert post["poll"]["question"] == "Где поставить лавку?"
    error = await vk_error(vk.call(GROUP_TOKEN, "photos.getWallUploadServer", group_id=ADMIN))
    assert error.code == 27


async def test_message_photo_upload_chain_with_the_community_token(vk: VkWorld) -> None:
    await vk.control("message", group_id=ADMIN, from_id=500070, text="Фото ямы?")
    api = vk.api(GROUP_TOKEN)
    photo = io.BytesIO(b"\xff\xd8\xff repaired road")
    photo.name = "road.jpg"
    saved = await asyncio.to_thread(vk_api.VkUpload(api).photo_messages, [photo],
                                    peer_id=500070)
    assert saved[0]["owner_id"] == -ADMIN and saved[0]["album_id"] == -15
    ref = f"photo{saved[0]['owner_id']}_{saved[0]['id']}"
    await vk.call(api, "messages.send", peer_id=500070, message="Готово", attachment=ref,
                  random_id=41)
    sent = await vk.read("messages", group_id=ADMIN)
    assert [a["type"] for a in sent[-1]["attachments"]] == ["photo"]
    # a photo that was never saved, and more than ten, are refused as VK does (100)
    for attachment in ("photo-100001_999", ",".join([ref] * 11)):
        error = await vk_error(vk.call(api, "messages.send", peer_id=500070, message="x",
                                       attachment=attachment, random_id=42))
        assert error.code == 100


async def test_upload_steps_refuse_what_vk_refuses(vk: VkWorld) -> None:
    # a community token may not ask for a wall upload server (27) but may for messages
    assert (await vk_error(vk.call(GROUP_TOKEN, "photos.getWallUploadServer",
                                   group_id=ADMIN))).code == 27
    server = await vk.call(GROUP_TOKEN, "photos.getMessagesUploadServer", peer_id=500070)
    assert server["group_id"] == ADMIN and server["album_id"] == -15

    async def post(url: str, files: int = 1) -> dict[str, Any]:
        form = aiohttp.FormData()
        for n in range(files):
            form.add_field(f"file{n}", b"\xff\xd8\xff %d" % n, filename=f"{n}.jpg",
                           content_type="image/jpeg")
        async with vk.http.post(url, data=form) as response:
            return await response.json()

    assert "error" in await post(server["upload_url"], files=2)  # one photo per upload
    uploaded = await post(server["upload_url"])
    assert set(uploaded) == {"server", "photo", "hash"}
    forged = dict(uploaded, hash="0" * 32)
    assert (await vk_error(vk.call(GROUP_TOKEN, "photos.saveMessagesPhoto", **forged))
            ).code == 121
    # another token than the one that asked for the server (15); a wall save of it (100)
    assert (await vk_error(vk.call(USER_TOKEN, "photos.saveMessagesPhoto", **uploaded))
            ).code == 15
    assert (await vk_error(vk.call(USER_TOKEN, "photos.saveWallPhoto", **uploaded))
            ).code == 100
    saved = await vk.call(GROUP_TOKEN, "photos.saveMessagesPhoto", **uploaded)
    again = await vk.call(GROUP_TOKEN, "photos.saveMessagesPhoto", **uploaded)
    assert saved == again  # a save repeated is harmless
    # an upload URL of yesterday has expired
    late = await vk.call(GROUP_TOKEN, "photos.getMessagesUploadServer", peer_id=500070)
    vk.sandbox.state.clock.advance(2 * 3600)
    assert "error" in await post(late["upload_url"])


async def test_names_of_people_and_communities(vk: VkWorld) -> None:
    users = await vk.call(GROUP_TOKEN, "users.get", user_ids="500001,500002", fields="sex")
    again = await vk.call(world.SERVICE_TOKEN, "users.get", user_ids="500001")
    assert users[0]["first_name"] == again[0]["first_name"]
    assert users[0]["first_name"] and users[0]["last_name"] and users[0]["sex"] in (1, 2)
    groups = await vk.call(GROUP_TOKEN, "groups.getById")
    assert groups["groups"][0]["id"] == ADMIN
    named = await vk.call(GROUP_TOKEN, "groups.getById", group_ids=f"{HEAD},{PUBLIC}")
    assert [g["name"] for g in named["groups"]] == ["Глава", "Подслушано"]


async def test_state_survives_dump_and_load(vk: VkWorld) -> None:
    await vk.control("message", group_id=ADMIN, from_id=500060, text="?")
    await vk.call(GROUP_TOKEN, "messages.send", peer_id=500060, message="!", random_id=5)
    await vk.control("comment", group_id=ADMIN, post_id=4, from_id=500061, text="?")
    data = json.loads(json.dumps(vk.sandbox.dump()))
    copy = VkSandbox(SandboxState())
    copy.load(data)
    assert copy.dump() == data
    assert copy.mailboxes[ADMIN].random_ids == {"5": 2}  # message 1 was the citizen's
    assert copy.polls[ADMIN].next_ts == vk.sandbox.polls[ADMIN].next_ts
