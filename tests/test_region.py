"""The regional view: ``mcu-hub region-report`` over municipalities sharing PostgreSQL —
ranked, with a chart and a workbook, and once a period to the curator's Telegram chat."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import tomli_w
from openpyxl import load_workbook

from bot.cli import main
from bot.sandbox import world
from bot.sandbox.server import Sandbox
from storage import incidents as repo
from storage import posts
from storage.db import Database
from storage.incidents import NewIncident
from tests.harness import Control

CURATOR = 1004  # a chat the sandbox knows: the curator's private chat with the bot


def _new(key: str, at: datetime, due: datetime) -> NewIncident:
    return NewIncident(source="vk:100001", source_kind="vk_comment", source_key=key,
                       author_id="vk:500101", text="Яма во дворе", written_at=at,
                       received_at=at, block="ЖКХ", priority="normal", policy="answer",
                       due_at=due)


async def _fill(url: str, municipality: str, late: int, on_time: int, open_overdue: int,
                rating: int, daily_posts: int) -> None:
    db = await Database(url, municipality).open()
    # the Wednesday of the last full week (the period): a working day
    day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    day -= timedelta(days=next(d for d in range(1, 8) if (day - timedelta(days=d)).weekday() == 2))
    try:
        async with db.tx() as conn:
            for n in range(late + on_time):
                incident_id = await repo.insert(conn, _new(f"k{n}", day, day + timedelta(hours=4)))
                answered = day + timedelta(hours=6 if n < late else 2)
                await repo.update(conn, incident_id, state="published", published_at=answered,
                                  first_reply_at=answered, rating=rating)
            for n in range(open_overdue):
                await repo.insert(conn, _new(f"o{n}", day, day + timedelta(hours=1)))
            for n in range(daily_posts):
                post = await posts.add_draft(conn, page="Администрация", kind="post",
                                             text=f"Пост {n}", photos=[], poll=None,
                                             fixed_at=None, queued_at=day, queued_by=None)
                await conn.execute("UPDATE posts SET status = 'published', published_at = ?"
                                   " WHERE id = ?", (repo.iso(day + timedelta(minutes=n)), post))
    finally:
        await db.close()


@pytest.fixture
def region(postgres, tmp_path):
    if postgres.error:
        pytest.skip(postgres.error)
    url = postgres.database_for(":memory:")
    raw = {"region": {"name": "Саратовская область", "timezone": "UTC"},
           "storage": {"url": url},
           "municipalities": [{"id": "shikhany", "name": "Шиханы"},
                              {"id": "volsk", "name": "Вольск"},
                              {"id": "hvalynsk", "name": "Хвалынск"}]}
    return url, raw


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_every_municipality_ranked_with_a_chart_and_a_workbook(region, tmp_path,
                                                                     capsys):
    url, raw = region
    await _fill(url, "shikhany", late=1, on_time=3, open_overdue=2, rating=4, daily_posts=5)
    await _fill(url, "volsk", late=0, on_time=5, open_overdue=0, rating=5, daily_posts=2)
    # Хвалынск: nothing this week
    config = tmp_path / "region.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert await _cli("region-report", "--period", "week", "-c", str(config),
                      "--out", str(tmp_path / "out")) == 0
    text = capsys.readouterr().out
    assert "Саратовская область: МЦУ муниципалитетов за неделю" in text
    lines = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3, text
    assert lines[0].startswith("1. Вольск: 5 сообщений, в срок 100%, медиана до ответа 2,0 ч")
    assert lines[1].startswith("2. Шиханы: 6 сообщений, в срок 75%")
    assert "просрочено сейчас 2" in lines[1] and "оценка 4,0" in lines[1]
    assert lines[2].startswith("3. Хвалынск: 0 сообщений, в срок —")

    [xlsx] = (tmp_path / "out").glob("region-week-*.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.read_bytes())).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:3] == ("Место", "Муниципалитет", "Сообщений")
    assert [row[1] for row in table[1:]] == ["Вольск", "Шиханы", "Хвалынск"]
    assert table[2][4] == 75.0 and table[2][6] == 2
    # the posting floor (5 a day): Шиханы reached it on one of the week's working days
    assert table[2][9] == pytest.approx(100 / 5, abs=0.1) and table[1][9] == 0.0
    [png] = (tmp_path / "out").glob("region-week-*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_curator_gets_it_in_telegram_once_a_period(region, tmp_path, capsys):
    url, raw = region
    await _fill(url, "volsk", late=0, on_time=2, open_overdue=0, rating=5, daily_posts=0)
    sandbox = Sandbox()
    base = await sandbox.start(0)
    try:
        raw["telegram"] = {"token": world.BOT_TOKEN, "api_base": f"{base}/tg",
                           "chat_id": CURATOR}
        config = tmp_path / "region.toml"
        config.write_text(tomli_w.dumps(raw), encoding="utf-8")
        argv = ("region-report", "--period", "month", "-c", str(config), "--send",
                "--out", str(tmp_path))
        assert await _cli(*argv) == 0
        assert "sent to the curator's chat" in capsys.readouterr().out
        async with aiohttp.ClientSession() as session:
            sent = await Control(base, session).sent(CURATOR)
            assert any("1. Вольск: 2 сообщения" in (m.get("text") or "") for m in sent)
            assert {"photo", "document"} <= {m.get("kind") for m in sent}, sent[-1].keys()
            assert await _cli(*argv) == 0  # the timer fires again: nothing twice
            assert "sent already" in capsys.readouterr().out
            assert len(await Control(base, session).sent(CURATOR)) == len(sent)
    finally:
        await sandbox.stop()
