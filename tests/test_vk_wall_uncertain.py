"""A VK wall post whose first try's outcome is unknown (kill -9 after ``wall.post`` went
out, before the answer was recorded) goes again as ``uncertain``. VK dedupes ``guid``
for about an hour only (sandbox ``GUID_TTL``), and a restart may come later than that:
the adapter looks on the wall first and adopts its post rather than posting it twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.platforms.vk.client import VkClient
from bot.platforms.vk.page import VkPage
from bot.ports import PagePost
from bot.render import Renderer
from bot.sandbox import world
from bot.sandbox.client import Control
from bot.sandbox.server import Sandbox
from bot.sandbox.vk import GUID_TTL
from bot.services.publishing.compose import compose
from storage import outbox
from storage.db import Database
from storage.outbox import Item

TZ = ZoneInfo(world.TIMEZONE)
NOW = datetime(2026, 11, 24, 9, 48, 20, tzinfo=TZ)
GROUP = world.VK_ADMIN


@pytest.fixture
async def env(tmp_path):
    sandbox = Sandbox(rate_limits=True)
    sandbox.state.clock.set(NOW)
    base = await sandbox.start(0)
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    config = world.config(base, tmp_path / "db.sqlite3")
    client = VkClient(world.user_token(GROUP), f"{base}/vk/method")
    page = VkPage(config, FakeClock(NOW), Renderer(TZ), db,
                  clients={f"vk:user:{GROUP}": client})
    async with aiohttp.ClientSession() as session:
        yield {"page": page, "control": Control(base, session), "client": client,
               "config": config}
    client.close()
    await db.close()
    await sandbox.stop()


def _item(params: dict, *, uncertain: bool, attempts: int) -> Item:
    return Item(id=1, key=f"pub:7:vk:{GROUP}:0", platform="vkpub", lane=f"vk:user:{GROUP}",
                method="wall.post", params=params, purpose="publish", ref_id=7,
                status="sending", attempts=attempts, not_before=0.0, error=None, result=None,
                uncertain=uncertain)


async def _params(env, text: str) -> dict:
    """The row's params as ``VkPage.publish_post`` stores them."""
    page, config = env["page"], env["config"]
    composed = compose(page.render, config.page("Администрация"), text, 0, None)
    async with page.db.tx() as conn:
        await page.publish_post(conn, PagePost(7, composed.plain, composed.html, [], None, NOW),
                                GROUP, part=0, key=f"pub:7:vk:{GROUP}:0", purpose="publish",
                                now=NOW)
        items = await outbox.lane_heads(conn)
    return items[0].params


@pytest.mark.parametrize("later", [timedelta(seconds=5), timedelta(seconds=GUID_TTL + 60),
                                   timedelta(hours=2)])
async def test_an_uncertain_wall_post_is_on_the_wall_once_however_late_it_goes_again(
        env, later):
    params = await _params(env, "Новость 7\nТекст новости 7.")
    first = await env["page"].deliver_wall_post(_item(params, uncertain=False, attempts=0))
    # the process is killed before the answer is recorded; it restarts ``later``
    await env["control"].set_clock(NOW + later)
    again = await env["page"].deliver_wall_post(_item(params, uncertain=True, attempts=1))
    assert again["post_id"] == first["post_id"]
    wall = await env["control"].wall(GROUP)
    assert [p["text"].split("\n")[0] for p in wall] == ["Новость 7"]


async def test_a_post_with_the_same_text_from_before_is_not_taken_for_ours(env):
    params = await _params(env, "Новость\nТекст.")
    client: VkClient = env["client"]
    await env["control"].set_clock(NOW - timedelta(days=1))
    await client.call("wall.post", owner_id=-GROUP, from_group=1, message=params["message"])
    await env["control"].set_clock(NOW + timedelta(seconds=1))
    # a try that may have gone out (a timeout) but did not: the post goes now
    made = await env["page"].deliver_wall_post(_item(params, uncertain=True, attempts=1))
    assert not made.get("adopted")
    assert len(await env["control"].wall(GROUP)) == 2
