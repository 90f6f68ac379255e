"""``mcu-hub route`` with what the corrections taught: --explain marks learned words,
--learned lists them, --unlearn takes one back, --eval-history shows the gain."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from bot.cli.route import main
from bot.sandbox import world
from storage import corrections
from storage.db import Database
from storage.incidents import NewIncident, insert

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MOVED = ["Листва во дворе не убрана", "Опять листва лежит у подъезда дома 3",
         "Уберите листву с детской площадки", "Листва забила ливнёвку",
         "Кто уберёт листья и листву у гаражей?"]


async def _seed(path: str, municipality: str = "main") -> None:  # the config's municipality.id
    db = await Database(path).open()
    try:
        async with db.tx() as conn:
            for number, text in enumerate(MOVED, start=1):
                incident_id = await insert(conn, NewIncident(
                    source="vk:100001", source_kind="vk_comment", source_key=f"k{number}",
                    author_id="vk:1", text=text, written_at=NOW, received_at=NOW,
                    block="Прочее", priority="normal", policy="answer"))
                await corrections.add(conn, municipality, incident_id, NOW, 1004, "Прочее",
                                      "ЖКХ", text)
    finally:
        await db.close()


def _config(tmp_path):
    db = str(tmp_path / "bot.sqlite3")
    asyncio.run(_seed(db))
    return str(world.write_config(tmp_path / "bot.toml", "http://127.0.0.1:1", db))


def test_explain_marks_learned_words_and_an_admin_takes_one_back(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["Когда вывезут листву?", "--explain", "-c", config]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("ЖКХ")
    assert "листва" in out and "learned" in out

    assert main(["--learned", "-c", config]) == 0
    assert "ЖКХ: листва (moved there 5 times, 100% of its corrections)" in capsys.readouterr().out

    assert main(["--unlearn", "листва", "--block", "ЖКХ", "-c", config]) == 0
    capsys.readouterr()
    assert main(["Когда вывезут листву?", "-c", config]) == 0
    assert not capsys.readouterr().out.splitlines()[0].endswith("ЖКХ")
    assert main(["--learned", "-c", config]) == 0
    assert "листва" not in capsys.readouterr().out

    assert main(["--relearn", "листва", "--block", "ЖКХ", "-c", config]) == 0
    capsys.readouterr()
    assert main(["--learned", "-c", config]) == 0
    assert "листва" in capsys.readouterr().out


def test_eval_history_shows_the_gain(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["--eval-history", "-c", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads(lines[-1])
    assert summary["n"] == 5
    assert summary["before"] == 0.0 and summary["after"] == 1.0, lines
    assert "gain: +5" in lines


def test_without_a_database_it_says_what_is_needed(tmp_path, capsys):
    assert main(["--learned"]) == 2
    assert "storage.path" in capsys.readouterr().err
