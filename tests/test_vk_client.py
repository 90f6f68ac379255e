"""The bot's VK adapter (real vk_api inside) against the VK sandbox over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.platforms.vk import VkClient, VkError, VkLongPoll, VkTransportError
from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.vk import VkSandbox

ADMIN = world.VK_ADMIN


class Sandbox:
    def __init__(self, vk: VkSandbox, base: str, http: aiohttp.ClientSession) -> None:
        self.vk = vk
        self.base = base
        self.http = http

    def client(self, token: str, timeout: float = 10) -> VkClient:
        return VkClient(token, f"{self.base}/vk/method", timeout=timeout)

    async def control(self, path: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/control/vk/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def wall(self, owner_id: int) -> list[dict[str, Any]]:
        url = f"{self.base}/control/vk/wall"
        async with self.http.get(url, params={"owner_id": str(owner_id)}) as response:
            return await response.json()


@contextlib.asynccontextmanager
async def serve(rate_limits: bool) -> AsyncIterator[Sandbox]:
    vk = VkSandbox(SandboxState(), rate_limits=rate_limits)
    app = web.Application()
    vk.register(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with aiohttp.ClientSession() as http:
        yield Sandbox(vk, f"http://127.0.0.1:{runner.addresses[0][1]}", http)
    await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with serve(rate_limits=False) as s:
        yield s


@pytest.fixture
async def limited() -> AsyncIterator[Sandbox]:
    async with serve(rate_limits=True) as s:
        yield s


async def test_calls_reach_the_configured_api_base(sandbox: Sandbox) -> None:
    client = sandbox.client(world.community_token(ADMIN))
    groups = await client.call("groups.getById")
    assert groups["groups"][0]["name"] == "Администрация"
    users = await client.call("users.get", user_ids=[500001, 500002])
    assert [u["id"] for u in users] == [500001, 500002]
    assert [e["method"] for e in sandbox.vk.state.log] == ["groups.getById", "users.get"]


async def test_vk_errors_surface_with_the_platforms_words(sandbox: Sandbox) -> None:
    client = sandbox.client(world.community_token(ADMIN))
    with pytest.raises(VkError) as caught:
        await client.call("wall.post", owner_id=-ADMIN, message="x")
    assert caught.value.code == 27
    assert caught.value.message == (
        "Group authorization failed: method is unavailable with group auth."
    )
    for code, words in [(9, "Flood control"), (14, "Captcha needed"), (10, "Internal")]:
        sandbox.vk.state.add_fault(platform="vk", kind="vk_error", code=code, count=1)
        with pytest.raises(VkError) as caught:
            await client.call("groups.getById")
        assert caught.value.code == code and caught.value.message.startswith(words)


async def test_error_6_is_raised_not_retried(limited: Sandbox) -> None:
    client = limited.client(world.community_token(ADMIN))
    started = time.monotonic()
    done = 0
    with pytest.raises(VkError) as caught:
        for _ in range(25):
            await client.call("groups.getById")
            done += 1
    assert caught.value.code == 6 and done == 20
    assert time.monotonic() - started < 1.0
    assert len(limited.vk.state.log) == 21  # no hidden retries
    assert limited.vk.state.log[-1]["status"] == 6


async def test_transport_failures(sandbox: Sandbox) -> None:
    client = sandbox.client(world.community_token(ADMIN), timeout=0.5)
    sandbox.vk.state.add_fault(platform="vk", kind="500", count=1)
    with pytest.raises(VkTransportError) as caught:
        await client.call("groups.getById")
    assert caught.value.status == 500
    sandbox.vk.state.add_fault(platform="vk", kind="timeout", count=1)
    with pytest.raises(VkTransportError):
        await client.call("groups.getById")
    assert (await client.call("groups.getById"))["groups"]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = VkClient("x", f"http://127.0.0.1:{port}/vk/method", timeout=1)
    with pytest.raises(VkTransportError):
        await nobody.call("users.get")


async def test_wall_post_with_an_uploaded_photo(sandbox: Sandbox) -> None:
    user = sandbox.client(world.user_token(ADMIN))
    photo = await user.upload_wall_photo(ADMIN, b"\xff\xd8\xff jpeg bytes", "pipe.jpg")
    assert photo == f"photo-{ADMIN}_1"
    poll = await user.call("polls.create", owner_id=-ADMIN, question="Удобно?",
                           add_answers='["Да", "Нет"]')
    done = await user.call("wall.post", owner_id=-ADMIN, from_group=True, message="Готово",
                           attachments=[photo, f"poll{poll['owner_id']}_{poll['id']}"],
                           guid="outbox-17")
    again = await user.call("wall.post", owner_id=-ADMIN, from_group=True, message="Готово",
                            attachments=[photo], guid="outbox-17")
    assert again == done
    [post] = await sandbox.wall(-ADMIN)
    assert post["from_group"] and post["guid"] == "outbox-17"
    assert post["attachments"][0]["photo"]["id"] == 1 and post["poll"]["question"] == "Удобно?"
    async with sandbox.http.get(post["attachments"][0]["photo"]["sizes"][0]["url"]) as got:
        assert await got.read() == b"\xff\xd8\xff jpeg bytes"


async def test_longpoll_delivers_a_control_comment(sandbox: Sandbox) -> None:
    longpoll = VkLongPoll(sandbox.client(world.community_token(ADMIN)), ADMIN, wait=5)
    waiting = asyncio.create_task(longpoll.check(None))
    await asyncio.sleep(0.2)
    made = await sandbox.control("comment", group_id=ADMIN, post_id=12, from_id=500100,
                                 text="Не вывозят мусор")
    ts, updates = await asyncio.wait_for(waiting, 3)
    assert [u["type"] for u in updates] == ["wall_reply_new"]
    assert updates[0]["object"]["id"] == made["comment_id"]
    assert updates[0]["object"]["from_id"] == 500100
    # a stored ts is honoured after a restart of the consumer
    await sandbox.control("message", group_id=ADMIN, from_id=500101, text="Привет")
    fresh = VkLongPoll(sandbox.client(world.community_token(ADMIN)), ADMIN, wait=1)
    _, updates = await fresh.check(ts)
    assert [u["type"] for u in updates] == ["message_new"]


async def test_longpoll_recovers_from_failed_1_2_3(sandbox: Sandbox) -> None:
    longpoll = VkLongPoll(sandbox.client(world.community_token(ADMIN)), ADMIN, wait=1)
    comment = {"group_id": ADMIN, "post_id": 1, "from_id": 500200}
    await sandbox.control("comment", **comment, text="до начала")  # before: not seen
    waiting = asyncio.create_task(longpoll.check(None))
    await asyncio.sleep(0.1)
    await sandbox.control("comment", **comment, text="первый")
    ts, updates = await waiting
    assert [u["object"]["text"] for u in updates] == ["первый"]

    # 1: history lost — go on from the ts VK gives
    await sandbox.control("comment", **comment, text="потерян")
    await sandbox.control("longpoll_fail", group_id=ADMIN, failed=1)
    ts, updates = await longpoll.check(ts)
    assert updates == []
    await sandbox.control("comment", **comment, text="после 1")
    ts, updates = await longpoll.check(ts)
    assert [u["object"]["text"] for u in updates] == ["после 1"]

    # 2: key expired — a new key, the same ts: nothing is lost
    await sandbox.control("longpoll_fail", group_id=ADMIN, failed=2)
    await sandbox.control("comment", **comment, text="во время 2")
    key = longpoll.key
    ts, updates = await longpoll.check(ts)
    assert updates == [] and longpoll.key != key
    ts, updates = await longpoll.check(ts)
    assert [u["object"]["text"] for u in updates] == ["во время 2"]

    # 3: information lost — a new key and ts
    await sandbox.control("longpoll_fail", group_id=ADMIN, failed=3)
    ts, updates = await longpoll.check(ts)
    assert updates == []
    await sandbox.control("comment", **comment, text="после 3")
    ts, updates = await longpoll.check(ts)
    assert [u["object"]["text"] for u in updates] == ["после 3"]
