"""Issue 18 §3 through the real process: a deputy while someone is away; staff changed
by rereading the config file on SIGHUP."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import tomli_w

from bot.sandbox import world
from tests.harness import CITY_CHAT, button, eventually, running
from tests.test_e2e_process import make_env

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
COORDINATOR, HOUSING, ROADS, MANAGER = 1004, 1005, 1006, 1003
HEATING = "У нас третий день нет отопления в доме 5 по ул. Ленина"


async def _texts(c, chat: int, words: str) -> list[str]:
    return [m["text"] for m in await c.sent(chat) if words in (m.get("text") or "")]


async def _clock_at(env, moment: datetime) -> bool:
    return env.app.clock.now() >= moment


async def _card_with(c, number: int, words: str) -> dict | None:
    card = await c.card(number)
    return card if card and words in (card["text"] + str(card.get("reply_markup"))) else None


async def _assign(c, number: int, who: str) -> dict:
    card = await eventually(lambda: c.card(number))
    await c.press(card, COORDINATOR, button(card, "Назначить"))
    card = await eventually(lambda: _card_with(c, number, who))
    await c.press(card, COORDINATOR, button(card, who))
    return await eventually(lambda: _card_with(c, number, "назначил"))


async def test_a_deputy_gets_the_assignment_and_reminders_until_friday(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(HOUSING, HOUSING, "/away 27.11 Исполнитель дорог")
        said = await eventually(lambda: _texts(c, HOUSING, "вас замещает"))
        assert "До 27.11 включительно вас замещает Исполнитель дорог" in said[0]
        await eventually(lambda: _texts(c, ROADS, "вы замещаете: Исполнитель ЖКХ"))

        await c.vk_comment(100001, 17, 500101, HEATING)
        card = await _assign(c, 1, "Исполнитель ЖКХ")
        assert ("Исполнитель: Исполнитель ЖКХ — отсутствует до 27.11, замещает "
                "Исполнитель дорог") in card["text"]
        notice = await eventually(lambda: _texts(c, ROADS, "Вам назначено сообщение №1"))
        assert "Вы замещаете: Исполнитель ЖКХ" in notice[0]
        assert not await _texts(c, HOUSING, "Вам назначено")

        # the reminder at half the time goes to the deputy, who may answer
        await c.set_clock(datetime(2026, 11, 23, 13, 0, 30, tzinfo=TZ))
        reminder = await eventually(lambda: _texts(c, ROADS, "Напоминание"))
        assert "Вы замещаете: Исполнитель ЖКХ" in reminder[0]
        assert not await _texts(c, HOUSING, "Напоминание")
        await c.tg_message(world.STAFF_GROUP, ROADS, "Отопление дадут сегодня к 18:00.",
                           reply_to_message_id=card["message_id"])
        await eventually(lambda: _card_with(c, 1, "на согласовании"))

        # Saturday: it ended by itself; the executor gets their own again
        await c.set_clock(SATURDAY)
        await eventually(lambda: _clock_at(env, SATURDAY))  # the bot follows the sandbox
        await c.vk_comment(100001, 18, 500102, "Батарея в подъезде холодная, дом 7")
        card = await _assign(c, 2, "Исполнитель ЖКХ")
        assert "замещает" not in card["text"]
        await eventually(lambda: _texts(c, HOUSING, "Вам назначено сообщение №2"))
        assert not await _texts(c, ROADS, "Вам назначено сообщение №2")
        await c.set_clock(datetime(2026, 11, 30, 12, 31, tzinfo=TZ))  # half of Monday's
        await eventually(lambda: _texts(c, HOUSING, "Напоминание"))
        assert len(await _texts(c, ROADS, "Напоминание")) == 1


async def test_bad_away_changes_nothing_and_says_why(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.tg_message(HOUSING, HOUSING, "/away 31.02 Исполнитель дорог")
        await eventually(lambda: _texts(c, HOUSING, "Не понял дату «31.02»"))
        await c.tg_message(HOUSING, HOUSING, "/away 27.11 Никто")
        await eventually(lambda: _texts(c, HOUSING, "Не нашёл сотрудника «Никто»"))
        await c.tg_message(HOUSING, HOUSING, "/away 27.11")  # no default deputy configured
        await eventually(lambda: _texts(c, HOUSING, "Кто вас замещает?"))
        assert env.app.hub.absences == []


NEWCOMER = 2050  # a citizen of the sandbox world who joins the МЦУ


def _write(path, base: str, db: str, *, newcomer: bool = False, bad: bool = False) -> None:
    raw = world.config_dict(base, db)
    if newcomer:
        raw["staff"].append({"telegram_id": NEWCOMER, "name": "Новый координатор",
                             "roles": ["coordinator"], "blocks": []})
    if bad:
        raw["staff"][4]["roles"] = ["exector"]
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")


async def test_sighup_rereads_staff_and_a_bad_file_changes_nothing(tmp_path):
    async with aiohttp.ClientSession() as session:
        env = await make_env(tmp_path, session)
        process = None
        try:
            db = str(tmp_path / "bot.sqlite3")
            process = await env.start()
            c = env.control
            await c.tg_message(CITY_CHAT, 2001, "Огромная яма на дороге по ул. Мира")
            card = await eventually(lambda: c.card(1), timeout=20)
            # not staff yet: refused
            await c.press(card, NEWCOMER, button(card, "Назначить"))
            refused = await eventually(lambda: _alerts(c, 1))
            assert refused[-1]["show_alert"]

            _write(env.config, env.sandbox.base_url, db, newcomer=True)
            process.send_signal(signal.SIGHUP)
            await eventually(lambda: _texts(c, MANAGER, "Настройки перечитаны"), timeout=20)
            assert "Добавлены: Новый координатор" in (await _texts(c, MANAGER, "перечитаны"))[0]
            await c.press(card, NEWCOMER, button(card, "Назначить"))
            await eventually(lambda: _card_with(c, 1, "Исполнитель дорог"))

            _write(env.config, env.sandbox.base_url, db, bad=True)
            process.send_signal(signal.SIGHUP)
            refusal = await eventually(lambda: _texts(c, MANAGER, "не принят"), timeout=20)
            assert "staff[4] (Исполнитель ЖКХ).roles" in refusal[0]
            assert "unknown role" in refusal[0]
            # the old config stays: the newcomer still acts, the executor still is one
            card = await c.card(1)
            await c.press(card, NEWCOMER, button(card, "Исполнитель дорог"))
            await eventually(lambda: _card_with(c, 1, "назначил"))
            assert process.returncode is None
        finally:
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 10)
            await env.sandbox.stop()


async def _alerts(c, n: int):
    alerts = [a for a in await c.callback_answers() if a["show_alert"]]
    return alerts if len(alerts) >= n else None


POS_TEXT = ("Сообщение № 4512873 на ПОС\nКатегория: Дороги\n"
            "Во дворе дома 4 по ул. Ленина яма на дороге, не проехать")


async def test_a_pos_forward_keeps_its_number_and_result_and_the_export_has_them(tmp_path):
    import io

    import openpyxl

    from tests.test_e2e_reports import _download

    rules = [{"source": "vk:100002", "priority": "fast"},
             {"source": "forward:pos", "policy": "portal"}]
    async with running(tmp_path, clock=MONDAY, **{"routing.rules": rules}) as env:
        c = env.control
        await c.tg_message(COORDINATOR, COORDINATOR, POS_TEXT,
                           forward_from={"name": "Житель с ПОС"})
        ask = await eventually(lambda: _message(c, COORDINATOR, "Откуда это сообщение"))
        await c.press(ask, COORDINATOR, button(ask, "ПОС"))
        card = await eventually(lambda: _card_with(c, 1, "№ 4512873 во внешней системе"))
        assert "категория: Дороги" in card["text"]
        assert "07.12 09:00" in card["text"]  # the portal's 14 calendar days

        await _assign(c, 1, "Исполнитель дорог")
        card = await c.card(1)
        await c.tg_message(world.STAFF_GROUP, ROADS, "Яму засыпали щебнем 23.11.",
                           reply_to_message_id=card["message_id"])
        card = await eventually(lambda: _card_with(c, 1, "Согласовать"))
        await c.press(card, COORDINATOR, button(card, "Согласовать"))
        card = await eventually(lambda: _card_with(c, 1, "Опубликовано вручную"))
        await c.press(card, COORDINATOR, button(card, "Опубликовано вручную"))
        card = await eventually(lambda: _card_with(c, 1, "Решено"))
        await c.press(card, ROADS, button(card, "Решено"))  # an executor may not
        await c.press(card, COORDINATOR, button(card, "Решено"))
        card = await eventually(lambda: _card_with(c, 1, "итог: решено"))

        await c.tg_message(1001, 1001, "/export month")
        document = await eventually(lambda: _message(c, 1001, "", "document"))
        book = openpyxl.load_workbook(io.BytesIO(await _download(c, document["file_id"])))
        header, row = list(book["Сообщения"].iter_rows(values_only=True))[:2]
        cells = dict(zip(header, row, strict=True))
        assert cells["Ответ"] == "Яму засыпали щебнем 23.11."
        assert cells["Исполнитель"] == "Исполнитель дорог"
        assert cells["Внешняя система"] == "ПОС (Госуслуги)"
        assert cells["Номер во внешней системе"] == "4512873"
        assert cells["Категория"] == "Дороги"
        assert cells["Итог"] == "решено"
        for step in ("Поступило", "Назначено", "Ответ подготовлен", "Согласовано",
                     "Опубликовано"):
            assert cells[step] is not None, step


async def _message(c, chat: int, words: str, kind: str = "text"):
    for m in await c.sent(chat):
        if kind == "document" and m.get("kind") == "document":
            return m
        if kind == "text" and words in (m.get("text") or ""):
            return m
    return None
