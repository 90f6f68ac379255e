"""Issue 18 §2 through the real process: a coordinator corrects a message — another
block, the fast track, a deadline of its own, an executor of another block."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox import world
from storage import corrections
from storage import incidents as repo
from tests.harness import STAFF_GROUP, button, eventually, running

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
COORDINATOR, ROADS = 1004, 1006


async def _card_after(c, number: int, predicate, timeout: float = 10.0):
    async def check():
        card = await c.card(number)
        return card if card and predicate(card) else None
    return await eventually(check, timeout=timeout)


async def _answer(c, index: int) -> dict:
    return await eventually(lambda: _nth_answer(c, index))


async def _nth_answer(c, index: int):
    answers = await c.callback_answers()
    return answers[index] if len(answers) > index else None


def _minute(moment: datetime) -> datetime:
    """The sandbox clock runs on in real time: compare to the minute."""
    return moment.astimezone(TZ).replace(second=0, microsecond=0)


async def _incident(env, number: int):
    return await repo.get(env.app.db.reader, number)


async def test_move_fast_track_deadline_and_an_executor_of_another_block(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        topics = env.config.telegram.topics
        await c.vk_comment(100001, 17, 500101, "Когда уберут листву во дворе школы №2?")
        card = await eventually(lambda: c.card(1))
        assert card["message_thread_id"] == topics["Образование"]

        # «Ещё» → «Сменить блок» → «Прочее»: the card moves to that block's topic
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Сменить блок" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Сменить блок"))
        card = await _card_after(c, 1, lambda m: "Прочее" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Прочее"))
        card = await _card_after(c, 1, lambda m: m["message_thread_id"] == topics["Прочее"])
        assert "сменил(а) блок: Образование → Прочее" in card["text"]
        old = [m for m in await c.sent(STAFF_GROUP)
               if m.get("message_thread_id") == topics["Образование"] and "№1" in m["text"]]
        assert all(m.get("deleted") for m in old), "the old card is removed"
        moved = (await c.callback_answers())[-1]
        assert "нет исполнителей" in moved["text"] and "Руководитель МЦУ" in moved["text"]
        rows = await corrections.all_for(env.app.db.reader, env.app.config.municipality.id)
        assert [(r.from_block, r.to_block) for r in rows] == [("Образование", "Прочее")]

        # «Срочно»: fast-track policy, deadline recomputed (4 working hours: 13:00)
        before = (await _incident(env, 1)).due_at
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Срочно" in str(m["reply_markup"]))
        # an executor may not put a message on the fast track
        seen = len(await c.callback_answers())
        await c.press(card, ROADS, button(card, "Срочно"))
        refused = await _answer(c, seen)
        assert refused["show_alert"]
        await c.press(card, COORDINATOR, button(card, "Срочно"))
        card = await _card_after(c, 1, lambda m: "отметил(а) как срочное" in m["text"])
        urgent = await _incident(env, 1)
        assert urgent.policy == "fast_track" and urgent.priority == "fast"
        assert _minute(urgent.due_at) == datetime(2026, 11, 23, 13, 0, tzinfo=TZ)
        assert urgent.due_at != before
        assert "23.11 13:00" in card["text"]

        # and back: the policy it had
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Обычный срок" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Обычный срок"))
        card = await _card_after(c, 1, lambda m: "снял(а) срочность" in m["text"])
        assert (await _incident(env, 1)).policy == "answer"

        # a deadline of its own: the next working day's end
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Срок" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "📅 Срок"))
        card = await _card_after(c, 1, lambda m: "Следующий рабочий день" in str(
            m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Следующий рабочий день"))
        card = await _card_after(c, 1, lambda m: "назначил(а) срок" in m["text"])
        chosen = await _incident(env, 1)
        assert _minute(chosen.due_at) == datetime(2026, 11, 24, 17, 30, tzinfo=TZ)
        assert chosen.policy == "answer"

        # an executor of another block: every executor, by block
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Другой исполнитель" in str(m["reply_markup"]))
        seen = len(await c.callback_answers())
        await c.press(card, COORDINATOR, button(card, "Другой исполнитель"))
        said = await _answer(c, seen)
        card = await _card_after(c, 1, lambda m: "Дороги и транспорт: Исполнитель дорог" in str(
            m["reply_markup"]))
        labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
        assert "ЖКХ: Исполнитель ЖКХ" in labels
        assert "«Образование»" in said["text"] and "«Прочее»" in said["text"]
        await c.press(card, COORDINATOR, button(card, "Дороги и транспорт: Исполнитель дорог"))
        card = await _card_after(c, 1, lambda m: "Исполнитель: Исполнитель дорог" in m["text"])
        notices = await eventually(lambda: _notices(c, ROADS, "№1"))
        assert "24.11 17:30" in notices[-1]["text"]  # the chosen deadline, not the policy's

        # each step is in the history, in order
        events = [e.action for e in await repo.events(env.app.db.reader, 1)]
        assert events == ["created", "change_block", "fast_track", "fast_track",
                          "set_deadline", "assign"]


async def _notices(c, user_id: int, words: str):
    found = [m for m in await c.sent(user_id) if words in (m.get("text") or "")]
    return found or None


async def test_corrections_teach_the_router_and_an_admin_takes_a_word_back(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        texts = ["Листва во дворе не убрана", "Опять листва лежит у подъезда дома 3",
                 "Уберите листву с детской площадки"]
        for number, text in enumerate(texts, start=1):
            await c.vk_comment(100001, 17 + number, 500100 + number, text)
            card = await eventually(lambda n=number: c.card(n))
            assert "ЖКХ" not in card["text"].split("\n")[0]
            await c.press(card, COORDINATOR, button(card, "Ещё"))
            card = await _card_after(c, number, lambda m: "Сменить блок" in str(
                m["reply_markup"]))
            await c.press(card, COORDINATOR, button(card, "Сменить блок"))
            card = await _card_after(c, number, lambda m: "ЖКХ" in str(m["reply_markup"]))
            await c.press(card, COORDINATOR, button(card, "ЖКХ"))
            # the new card, in the block's topic, offers the block's executors
            card = await _card_after(c, number, lambda m: "сменил(а) блок" in m["text"]
                                     and "Исполнитель ЖКХ" in str(m["reply_markup"]))
            assert card["message_thread_id"] == env.config.telegram.topics["ЖКХ"]
        await c.press(card, COORDINATOR, button(card, "Исполнитель ЖКХ"))
        await _card_after(c, 3, lambda m: "Исполнитель: Исполнитель ЖКХ" in m["text"])
        # the fourth message about leaves goes to ЖКХ by the learned word
        await c.vk_comment(100001, 30, 500200, "Когда вывезут листву?")
        card = await eventually(lambda: c.card(4))
        assert card["message_thread_id"] == env.config.telegram.topics["ЖКХ"]
        assert "листва" in card["text"]


async def test_a_card_too_old_to_delete_says_where_it_went(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 17, 500101, "Когда уберут листву во дворе школы №2?")
        card = await eventually(lambda: c.card(1))
        await c.set_clock(datetime(2026, 11, 26, 10, 0, tzinfo=TZ))  # Thursday: past 48 h
        await eventually(lambda: _after(env, datetime(2026, 11, 26, 10, 0, tzinfo=TZ)))
        await c.press(card, COORDINATOR, button(card, "Ещё"))
        card = await _card_after(c, 1, lambda m: "Сменить блок" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "Сменить блок"))
        card = await _card_after(c, 1, lambda m: "ЖКХ" in str(m["reply_markup"]))
        await c.press(card, COORDINATOR, button(card, "ЖКХ"))
        await _card_after(c, 1, lambda m: m["message_thread_id"] == env.config.telegram.topics[
            "ЖКХ"])

        async def stub():
            for m in await c.sent(world.STAFF_GROUP):
                if m["message_id"] == card["message_id"] and "перенесено" in m["text"]:
                    return m
            return None
        old = await eventually(stub)
        assert "перенесено в блок «ЖКХ»" in old["text"] and not old.get("deleted")
        assert not (old.get("reply_markup") or {}).get("inline_keyboard")


async def _after(env, moment: datetime) -> bool:
    return env.app.clock.now() >= moment
