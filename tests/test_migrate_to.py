"""Moving over: ``mcu-hub migrate-to URL -c CONFIG`` copies a SQLite database that the
bot has used into PostgreSQL, checks it, can run again, and the bot goes on there."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from bot.cli import main
from bot.sandbox import world
from storage import incidents as repo
from storage.db import Database
from tests.harness import STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
COORDINATOR = 1004


def _counts(path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type ="
                                           " 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


async def test_a_used_sqlite_database_moves_to_postgresql_and_the_bot_goes_on(
        tmp_path, postgres, capsys):
    if postgres.error:
        pytest.skip(postgres.error)
    url = postgres.database_for(":memory:")
    sqlite_path = tmp_path / "bot.sqlite3"
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 40, 500101, "Яма на дороге у школы, колесо пробил")
        card = await eventually(lambda: c.card(1), timeout=20)
        await c.press(card, COORDINATOR, button(card, "Взять"))
        await eventually(lambda: _taken(env, 1), timeout=15)
        await env.stop_bot()

        config = tmp_path / "bot.toml"
        raw = world.config_dict(env.sandbox.base_url, str(sqlite_path))
        raw["municipality"]["id"] = "shikhany"
        config.write_text(tomli_w.dumps(raw), encoding="utf-8")
        source = _counts(sqlite_path)
        assert source["incidents"] == 1 and source["outbox"] >= 1 and source["cursors"] >= 1

        assert await _cli("migrate-to", url, "-c", str(config)) == 0
        first = capsys.readouterr().out
        assert "incidents                1 rows  ok" in first
        assert "DIFFERS" not in first
        # again: nothing doubled, everything still the same
        assert await _cli("migrate-to", url, "-c", str(config)) == 0
        assert capsys.readouterr().out == first

        moved = await Database(url, "shikhany").open()
        try:
            incident = await repo.get(moved.reader, 1)
            assert incident is not None and incident.text.startswith("Яма на дороге")
            assert incident.card_chat_id == STAFF_GROUP and incident.assignee_id is not None
        finally:
            await moved.close()

        # the bot on PostgreSQL: the card it knows, the next message numbered on
        await env.start_bot(**{"storage.url": url, "municipality.id": "shikhany"})
        await c.vk_comment(100001, 40, 500102, "Не горит фонарь на Садовой, темно")
        await eventually(lambda: c.card(2), timeout=20)
        assert len(await c.cards()) == 2


async def test_migrate_to_refuses_while_a_process_of_the_municipality_runs(tmp_path, postgres,
                                                                           capsys):
    if postgres.error:
        pytest.skip(postgres.error)
    url = postgres.database_for(":memory:")
    config = world.write_config(tmp_path / "bot.toml", "http://sandbox.invalid",
                                str(tmp_path / "bot.sqlite3"))
    db = await Database(str(tmp_path / "bot.sqlite3")).open()
    await db.close()
    running_one = await Database(url, "main").open()
    leader = running_one.leadership()
    try:
        assert await leader.try_lead()
        assert await _cli("migrate-to", url, "-c", str(config)) == 1
        assert "is running on" in capsys.readouterr().err
        assert await _cli("migrate-to", "mysql://x@y/z", "-c", str(config)) == 2
        assert "expected postgresql://" in capsys.readouterr().err
    finally:
        await leader.release()
        await running_one.close()


async def _cli(*argv: str) -> int:
    """The command as an operator runs it (its own event loop, in a thread here)."""
    return await asyncio.to_thread(main, list(argv))


async def _taken(env, incident_id: int) -> bool:
    incident = await repo.get(env.app.db.reader, incident_id)
    return incident is not None and incident.assignee_id is not None
