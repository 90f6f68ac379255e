"""Retention of citizens' data: texts and names of long-finished incidents are erased."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.platforms.telegram.buttons import CardCb
from bot.render import Renderer
from bot.sandbox import world
from bot.services.hub import Hub
from bot.services.ingest import Inbound, Ingest
from bot.services.retention import Retention
from bot.services.workflow.presses import Workflow
from storage import cursors
from storage import incidents as repo
from storage import outbox as rows
from storage.db import Database, fetch_all

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
COORDINATOR = 1004

TEXTS = {
    1: ("Анна Смирнова", "Спам-объявление продам гараж недорого"),
    2: ("Иван Петров", "Нет отопления в доме 5 по улице Ленина"),
    3: ("Ольга Кузнецова", "Яма на дороге у остановки Школьная"),
    4: ("Пётр Сидоров", "Не вывозят мусор во дворе дома 9"),
    5: ("Житель с ПОС", "Сломаны качели во дворе школы номер два"),
}
EDITED = "Яма на дороге у остановки Школьная, глубокая, уже два колеса пробили"


@dataclass
class World:
    hub: Hub
    clock: FakeClock
    db: Database
    ingest: Ingest
    workflow: Workflow
    retention: Retention
    path: Path

    async def get(self, incident_id: int) -> repo.Incident:
        incident = await repo.get(self.db.reader, incident_id)
        assert incident is not None
        return incident

    async def press(self, incident_id: int, action: str, arg: int = 0) -> None:
        incident = await self.get(incident_id)
        reply = await self.workflow.press(
            COORDINATOR, CardCb(id=incident_id, v=incident.version, a=action, arg=arg))
        assert not reply.alert, reply.text

    async def deliver_all(self) -> None:
        """Play the outbox worker: every pending row delivered, with a plausible result."""
        for item in await _pending(self.db):
            async with self.db.tx() as conn:
                await rows.mark_sending(conn, item.id)
                result: Any = {"comment_id": 900 + item.id}
                if item.platform == "card":
                    incident = await repo.get(conn, item.ref_id or 0)
                    assert incident is not None
                    result = {"method": "sendMessage", "result": {
                        "message_id": 100 + item.id, "chat": {"id": world.STAFF_GROUP},
                        "text": f"Сообщение №{incident.id} {incident.author_name}:"
                                f" {incident.text}"}}
                await rows.mark_done(conn, item.id, result, self.clock.now())
                if item.purpose == "answer":
                    await self.workflow.published(conn, item, result)

    async def dump(self) -> str:
        """Everything the database holds, as text (whichever backend)."""
        if self.db.dialect == "postgresql":
            tables = await fetch_all(self.db.reader, "SELECT table_name FROM"
                                     " information_schema.tables WHERE table_schema = 'public'")
            found = []
            for (table,) in tables:
                found += [row[0] for row in await fetch_all(
                    self.db.reader, f"SELECT t::text FROM {table} t")]
            return "\n".join(found)
        db = sqlite3.connect(self.path)
        try:
            return "\n".join(db.iterdump())
        finally:
            db.close()


async def _pending(db: Database) -> list[rows.Item]:
    found = await fetch_all(db.reader, "SELECT id FROM outbox WHERE status = 'pending'"
                                       " ORDER BY id")
    items = [await rows.get(db.reader, row["id"]) for row in found]
    return [item for item in items if item is not None]


async def _world(path: Path, days: int) -> World:
    raw = world.config_dict("http://sandbox.invalid", str(path))
    raw["storage"]["retention_days"] = days
    config = parse_config(raw, environ={})
    clock = FakeClock(MONDAY)
    db = await Database(str(path)).open()
    hub = make_hub(config=config, clock=clock, db=db, render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=Router(config))
    return World(hub=hub, clock=clock, db=db, ingest=Ingest(hub), workflow=Workflow(hub),
                 retention=Retention(hub), path=path)


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    made = await _world(tmp_path / "db.sqlite3", days=30)
    try:
        yield made
    finally:
        await made.db.close()


async def _store_five(w: World) -> None:
    for n, (name, text) in TEXTS.items():
        forwarded = n == 5
        key = f"fwd:{COORDINATOR}:77" if forwarded else f"vk:100001:wall_reply:17:{n}"
        if forwarded:
            async with w.db.tx() as conn:
                await cursors.put(conn, key, f'{{"text": "{text}", "author": "{name}"}}')
        outcome = await w.ingest.receive(Inbound(
            source="forward:pos" if forwarded else "vk:100001",
            kind="forwarded" if forwarded else "vk_comment", key=key,
            author_id=f"vk:{500100 + n}", author_name=name,
            author_link=f"https://vk.com/id{500100 + n}", text=text,
            written_at=w.clock.now(), thread=None if forwarded else f"vk:100001:wall:{n}",
            attachments=[{"type": "vk_photo", "id": f"photo{500100 + n}_1"}],
            reply_target={"platform": "manual"} if forwarded else {
                "platform": "vk", "lane": "vk:community:100001",
                "method": "wall.createComment",
                "params": {"owner_id": -100001, "post_id": 17, "reply_to_comment": n,
                           "from_group": 100001}},
        ))
        assert outcome.result == "created" and outcome.incident_id == n


async def _scenario(w: World) -> None:
    """1 rejected now, 2 answered and closed in 3 days, 3 edited and rejected on day 20,
    4 left open, 5 (forwarded) rejected now."""
    await _store_five(w)
    await w.ingest.edit("vk:100001:wall_reply:17:3", EDITED)
    await w.press(1, "rr", 1)
    await w.press(5, "rr", 1)
    await w.press(2, "tk")
    await w.workflow.answer(COORDINATOR, 2, "Отопление включат к 18:00.", [])
    assert (await w.get(2)).state == "answer_ready"
    await w.press(2, "ap")
    await w.deliver_all()
    assert (await w.get(2)).state == "published"
    w.clock.set(MONDAY + timedelta(days=3))
    assert await w.workflow.close_quiet() == 1
    w.clock.set(MONDAY + timedelta(days=20))
    await w.press(3, "rr", 0)
    await w.deliver_all()


async def test_purges_finished_incidents_after_the_period_and_keeps_the_statistics(w: World):
    await _scenario(w)
    before = {n: await w.get(n) for n in TEXTS}
    w.clock.set(MONDAY + timedelta(days=34))
    assert await w.retention.tick() == 3  # 1 and 5 (34 days), 2 (closed 31 days ago)
    assert await w.retention.tick() == 0  # once a day

    for n in (1, 2, 5):
        incident = await w.get(n)
        assert incident.text == "" and incident.author_name == ""
        assert incident.author_link is None and incident.attachments == []
        assert incident.purged_at == w.clock.now()
        old = before[n]
        # what the digests and ratings count is kept, and the card's buttons stay valid
        for name in ("state", "block", "priority", "source", "source_kind", "author_id",
                     "received_at", "published_at", "closed_at", "due_at", "returns",
                     "reopens", "rating", "version", "assignee_id", "card_message_id"):
            assert getattr(incident, name) == getattr(old, name), name
        events = await repo.events(w.db.reader, n)
        assert events[-1].action == "purged"
    for n in (3, 4):
        incident = await w.get(n)
        assert incident.text and incident.author_name and incident.purged_at is None
    assert await cursors.get(w.db.reader, f"fwd:{COORDINATOR}:77") is None

    dump = await w.dump()
    for n in (1, 2, 5):
        name, text = TEXTS[n]
        assert text not in dump and name not in dump, n
        assert name.split()[0] + "," not in dump  # the answer's greeting
    assert TEXTS[3][1] in dump and TEXTS[4][1] in dump

    # the next day nothing new is old enough; on day 51 incident 3 (rejected on day 20)
    w.clock.set(MONDAY + timedelta(days=35))
    assert await w.retention.tick() == 0
    w.clock.set(MONDAY + timedelta(days=51))
    assert await w.retention.tick() == 1
    dump = await w.dump()
    assert TEXTS[3][1] not in dump and EDITED not in dump and TEXTS[3][0] not in dump
    assert TEXTS[4][1] in dump  # still open: kept whatever its age
    assert await repo.count(w.db.reader) == 5


async def test_reopened_after_purge_is_not_purged_again_until_it_finishes_again(w: World):
    await _scenario(w)
    w.clock.set(MONDAY + timedelta(days=34))
    assert await w.retention.tick() == 3
    await w.press(2, "ro")
    w.clock.set(MONDAY + timedelta(days=80))
    assert await w.retention.tick() == 1  # only 3; 2 is open again
    assert (await w.get(2)).state == "reopened"


async def test_zero_days_keeps_everything_forever(tmp_path: Path):
    w = await _world(tmp_path / "db.sqlite3", days=0)
    try:
        await _scenario(w)
        w.clock.set(MONDAY + timedelta(days=3650))
        assert await w.retention.tick() == 0
        assert await w.retention.purge(w.clock.now()) == 0
        dump = await w.dump()
        for _, text in TEXTS.values():
            assert text in dump or text in EDITED
    finally:
        await w.db.close()


async def test_a_big_backlog_is_purged_in_batches(w: World, monkeypatch: pytest.MonkeyPatch):
    import bot.services.retention

    monkeypatch.setattr(bot.services.retention, "BATCH", 7)
    for n in range(40):
        await w.ingest.receive(Inbound(
            source="vk:100001", kind="vk_comment", key=f"k{n}", author_id=f"vk:{500200 + n}",
            author_name=f"Житель {n}", text=f"Обращение про мусор номер {n}",
            written_at=w.clock.now(), reply_target={"platform": "manual"}))
        await w.press(n + 1, "rr", 1)
    w.clock.set(MONDAY + timedelta(days=31))
    assert await w.retention.tick() == 40
    left = await fetch_all(w.db.reader, "SELECT count(*) FROM incidents WHERE text != ''")
    assert left[0][0] == 0


def test_the_process_runs_the_purge_daily(tmp_path):
    """The composition root adds the daily job and hands the service to the handlers."""
    from bot.app import App

    app = App(world.config("http://127.0.0.1:1", tmp_path / "db.sqlite3"))
    added = [(name, seconds) for name, _, seconds in app.jobs.ticks if name == "retention"]
    assert added and added[0][0] == "retention" and "retention" in app.dispatcher.workflow_data
