"""The MAX and OK adapters against the sandbox over HTTP: what each platform's refusals
become for the outbox, and the look before an uncertain post goes again (neither
``POST /messages`` nor ``mediatopic.post`` has an idempotency key)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.outbox.outcomes import Permanent, Retry
from bot.platforms.max.client import MaxApiError, MaxClient, outbox_failure
from bot.platforms.max.page import MaxPage
from bot.platforms.ok.client import OkApiError, OkClient, sign
from bot.platforms.ok.page import OkPage
from bot.render import Renderer
from bot.sandbox import ok as ok_sandbox
from bot.sandbox import world
from bot.sandbox.client import Control
from bot.sandbox.server import Sandbox
from bot.sandbox.telegram import make_png
from storage.db import Database
from storage.outbox import Item

TZ = ZoneInfo(world.TIMEZONE)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


@pytest.fixture
async def env(tmp_path):
    sandbox = Sandbox(rate_limits=True)
    sandbox.state.clock.set(NOW)
    base = await sandbox.start(0)
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    config = world.config(base, tmp_path / "db.sqlite3")
    mx = MaxClient(config.max.api_base, world.MAX_BOT_TOKEN)
    ok = OkClient(config.ok.api_base, world.OK_APPLICATION_KEY,
                  world.OK_APPLICATION_SECRET_KEY, world.OK_GROUP_TOKEN)
    async with aiohttp.ClientSession() as session:
        yield {"config": config, "db": db, "max": mx, "ok": ok,
               "control": Control(base, session), "sandbox": sandbox}
    await mx.close()
    await ok.close()
    await db.close()
    await sandbox.stop()


def _item(platform: str, params: dict, *, uncertain: bool = False, attempts: int = 0) -> Item:
    return Item(id=1, key="pub:1:x:0", platform=platform, lane="x", method="m",
                params=params, purpose="publish", ref_id=1, status="sending",
                attempts=attempts, not_before=0.0, error=None, result=None,
                uncertain=uncertain)


async def test_max_refusals_become_outbox_outcomes(env):
    mx: MaxClient = env["max"]
    with pytest.raises(MaxApiError) as unknown:
        await mx.call("POST", "/messages", {"chat_id": -123}, {"text": "привет"})
    assert (unknown.value.status, unknown.value.code) == (404, "chat.not.found")
    assert isinstance(outbox_failure(unknown.value, 1), Permanent)

    with pytest.raises(MaxApiError) as too_long:
        await mx.call("POST", "/messages", {"chat_id": world.MAX_CHANNEL}, {"text": "я" * 4001})
    assert too_long.value.status == 400 and "4000" in too_long.value.message
    assert isinstance(outbox_failure(too_long.value, 1), Permanent)

    await env["control"].post("max/rate_limit", {"per_second": 2})
    with pytest.raises(MaxApiError) as flood:
        for _ in range(5):
            await mx.call("GET", "/me")
    assert (flood.value.status, flood.value.code) == (429, "too.many.requests")
    retry = outbox_failure(flood.value, 1)
    assert isinstance(retry, Retry) and retry.pause_lane and not retry.transient


async def test_max_uncertain_channel_post_is_adopted_not_sent_twice(env):
    page = MaxPage(env["config"], FakeClock(NOW), Renderer(TZ), env["db"], client=env["max"])
    params = {"chat_id": world.MAX_CHANNEL, "text": "Новость\n\nТекст", "photos": [],
              "since_ms": int(NOW.timestamp() * 1000)}
    first = await page.deliver_channel_post(_item("maxpub", params))
    # the answer was lost (kill -9 after the send): the row goes again, uncertain
    again = await page.deliver_channel_post(_item("maxpub", params, uncertain=True))
    assert again["mid"] == first["mid"] and first["url"]
    posts = [m for m in await env["control"].max_channel() if m["sender"]["is_bot"]]
    assert len(posts) == 1


async def test_ok_signature_is_the_one_ok_checks():
    params = {"application_key": "K", "method": "group.getInfo", "uids": "1", "format": "json"}
    assert sign(params, "tkn", "secret") == ok_sandbox.signature(params, "tkn", "secret")


async def test_ok_uncertain_topic_is_adopted_and_refusals_are_permanent(env):
    page = OkPage(env["config"], FakeClock(NOW), Renderer(TZ), env["db"],
                  clients={int(world.OK_GROUP): env["ok"]})
    params = {"gid": int(world.OK_GROUP), "text": "Новость\n\nТекст", "photos": [],
              "poll": None, "since_ms": int(NOW.timestamp() * 1000)}
    first = await page.deliver(_item("okpub", params))
    again = await page.deliver(_item("okpub", params, uncertain=True, attempts=1))
    assert again["topic_id"] == first["topic_id"] and again.get("adopted")
    assert len(await env["control"].ok_feed()) == 1
    # a group OK does not know: error 300 NOT_FOUND
    with pytest.raises(OkApiError) as denied:
        await env["ok"].call("mediatopic.getTopics", gid="70000000000099")
    assert denied.value.code == 300


async def test_max_answer_to_a_deleted_message_goes_without_the_reply(env):
    c = env["control"]
    page = MaxPage(env["config"], FakeClock(NOW), Renderer(TZ), env["db"], client=env["max"])
    made = await c.max_message(620005, "Нет света в подъезде")
    await c.post("max/remove", {"mid": made["mid"]})
    body = {"text": "Свет включили.", "link": {"type": "reply", "mid": made["mid"]}}
    sent = await page.deliver(_item("max", {"chat_id": made["chat_id"], "body": body}))
    assert sent["mid"]
    (answer,) = await c.max_sent(user_id=620005)
    assert answer["body"]["text"] == "Свет включили." and "link" not in answer


async def test_max_citizen_who_stopped_the_bot_is_unreachable(env):
    c = env["control"]
    page = MaxPage(env["config"], FakeClock(NOW), Renderer(TZ), env["db"], client=env["max"])
    made = await c.max_message(620006, "Яма во дворе")
    await c.max_block(620006)
    target = {"platform": "max", "private": True, "params": {"chat_id": made["chat_id"]}}
    with pytest.raises(Permanent) as refused:
        await page.deliver(_item("max", {"chat_id": made["chat_id"],
                                         "body": {"text": "Ответ"}}))
    assert "dialog.suspended" in str(refused.value)
    assert page.unreachable(target, str(refused.value)) == "blocked"


async def test_max_answer_with_photos_uploads_once_and_attaches_them(env):
    c = env["control"]
    await c.post("max/uploads", {"processing_seconds": 0.3})
    fetched: list[str] = []

    async def fetch(file_id: str) -> bytes:
        fetched.append(file_id)
        return make_png(40, 30)

    page = MaxPage(env["config"], FakeClock(NOW), Renderer(TZ), env["db"], client=env["max"],
                   fetch_photo=fetch)
    made = await c.max_message(620007, "Сломана скамейка")
    async with env["db"].tx() as conn:
        await page.publish_answer(conn, 1, {"platform": "max", "private": True,
                                            "params": {"chat_id": made["chat_id"]},
                                            "mid": made["mid"]},
                                  "Скамейку починили.", key="ans:1", purpose="answer",
                                  now=NOW, photos=["f1", "f2"])
    (row,) = [r for r in await _rows(env["db"]) if r.platform == "max"]
    assert row.params["photos"] == ["f1", "f2"]
    # the first try meets attachment.not.ready: retried, the uploads are not repeated
    with pytest.raises(Retry):
        await page.deliver(row)
    await asyncio.sleep(0.5)
    sent = await page.deliver(row)
    assert sent["mid"] and fetched == ["f1", "f2"]
    (answer,) = await c.max_sent(user_id=620007)
    assert [a["type"] for a in answer["body"]["attachments"]] == ["image", "image"]
    assert answer["link"]["message"]["mid"] == made["mid"]


async def _rows(db):
    from storage import outbox

    return await outbox.lane_heads(db.reader)
