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

from bot.domain.limits import VK_REQUESTS_PER_SECOND
from bot.platforms.vk.client import (
    Pacer,
    VkClient,
    VkClients,
    VkError,
    VkLongPoll,
    VkTransportError,
)
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
        return VkClient(token, f"{self.base}/vk/method", timeout=timeout,
                        requests_per_second=20)

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


async def test_every_call_keeps_the_tokens_limit(limited: Sandbox) -> None:
    """25 calls on a community token (20/s) and 7 on a service token (3/s), as fast as
    the callers can ask, concurrently: the client paces them, VK never says error 6."""
    clients = VkClients(f"{limited.base}/vk/method", limits=VK_REQUESTS_PER_SECOND)
    community = clients.get(world.community_token(ADMIN), "community")
    service = clients.get(world.SERVICE_TOKEN, "service")
    assert clients.get(world.SERVICE_TOKEN, "service") is service  # one pacer per token
    started = time.monotonic()
    await asyncio.gather(
        *[community.call("groups.getById") for _ in range(25)],
        *[service.call("wall.get", owner_id=-world.VK_PUBLIC) for _ in range(7)],
    )
    elapsed = time.monotonic() - started
    statuses = [e["status"] for e in limited.vk.state.log]
    assert statuses == [200] * 32
    assert elapsed >= 2 * 1.05  # the 7th service call waits for two windows to pass
    # a token given for two kinds keeps the stricter limit
    shared = clients.get(world.user_token(ADMIN), "community")
    assert clients.get(world.user_token(ADMIN), "user").pacer.per_second == 3
    assert shared.pacer.per_second == 3


async def test_error_6_is_raised_not_retried_and_holds_the_token(limited: Sandbox) -> None:
    client = limited.client(world.community_token(ADMIN))
    limited.vk.state.add_fault(platform="vk", kind="vk_error", code=6, count=1)
    with pytest.raises(VkError) as caught:
        await client.call("groups.getById")
    assert caught.value.code == 6 and caught.value.message == "Too many requests per second"
    assert len(limited.vk.state.log) == 1  # no hidden retries (vk_api's would loop)
    started = time.monotonic()
    await client.call("groups.getById")  # the token waits out VK's second first
    assert time.monotonic() - started >= 0.9


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_pacer_counts_a_call_from_its_end() -> None:
    clock = FakeTime()
    pacer = Pacer(3, window=1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    for duration in (0.5, 0.01, 0.01):  # a slow first call, two fast ones
        await pacer.acquire()
        clock.now += duration
        pacer.release()
    assert clock.slept == []
    await pacer.acquire()  # the 4th waits for the 1st call's *end* (100.5) + 1 s
    assert clock.now == pytest.approx(101.5)
    pacer.release()
    pacer.pause(2.0)
    await pacer.acquire()
    assert clock.now == pytest.approx(103.5)


async def test_pacer_counts_calls_in_flight() -> None:
    clock = FakeTime()
    pacer = Pacer(2, window=1.0, monotonic=clock.monotonic, sleep=clock.sleep)
    await pacer.acquire()
    await pacer.acquire()
    assert pacer.wait(clock.now) > 0  # both places taken by calls not yet answered
    pacer.release()
    assert pacer.wait(clock.now) == pytest.approx(1.0)


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


def test_rate_limits_in_the_config_default_to_vks_and_stop_at_its_maximum() -> None:
    from bot.config import ConfigError

    limits = world.config("http://127.0.0.1:1", "x.sqlite3").vk.rate_limits
    assert limits.model_dump() == {"community": 20, "user": 3, "service": 3}
    assert world.config("http://127.0.0.1:1", "x.sqlite3",
                        **{"vk.rate_limits": {"service": 5}}).vk.rate_limits.service == 5
    with pytest.raises(ConfigError) as caught:
        world.config("http://127.0.0.1:1", "x.sqlite3",
                     **{"vk.rate_limits": {"service": 6, "community": 25}})
    text = str(caught.value)
    assert text.startswith("vk.rate_limits: ")
    assert "service token at most 5/s" in text and "community token at most 20/s" in text
