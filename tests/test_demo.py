"""The newcomer's demo: the same week every time, in order, and a failure when it is not."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.cli import demo
from bot.cli.demo import EXPECTED, count_problems, run
from bot.cli.demo_week import DemoFailed, Week

pytestmark = pytest.mark.e2e

WEEKDAYS = ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница")


def _summary(text: str) -> str:
    return text[text.index("── Итоги недели ──"):]


def _check_transcript(text: str) -> None:
    # one header per day, the five working days in order
    headers = re.findall(r"^═══ (\w+), \d+ ноября 2026 ═══$", text, re.M)
    assert headers == list(WEEKDAYS), headers
    # every line of what happened has its time, and time never goes back within a day
    day_lines: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("═══"):
            day_lines.append([])
        elif day_lines and re.match(r"^\d\d:\d\d  ", line):
            day_lines[-1].append(line[:5])
    for times in day_lines:
        assert times == sorted(times), times
    # the draft's notice comes before the answer is published, not after it
    body = text[text.index("«Проверим отопление.»"):]
    assert body.index("Черновик ответа по сообщению №1 сохранён") < body.index(
        "ответ опубликован")
    # each digest once, naming everyone it went to; the chart as a chart
    digests = re.findall(r"^\d\d:\d\d  💬 (.+?): 📊 Сводка МЦУ Шиханы (за [\d.–]+)", text, re.M)
    assert len(digests) == EXPECTED["digests"]
    assert len({period for _, period in digests}) == len(digests)
    assert all(who == "Глава, Куратор МЦУ, Руководитель МЦУ" for who, _ in digests)
    assert re.search(r"\[график: МЦУ Шиханы: сообщения по блокам и дням за ", text)
    # greeted once, by name; the reopening starts a new clock: no reminder for №1
    assert "Здравствуйте, Ксения! Заменили задвижку" in text
    assert "Здравствуйте! Здравствуйте" not in text and "здравствуйте! Здравствуйте" not in text
    assert "Напоминание</b>: сообщение №1" not in text and "Напоминание: сообщение №1" not in text
    assert "… ещё 1 строка" in text and "ещё 1 строк\n" not in text  # the plural helper
    for seen in ("новая карточка", "Напоминание", "Просрочено", "возвращено в работу",
                 "на доработке", "ВКонтакте «Администрация», ответ на комментарий"):
        assert seen in text, seen
    assert "обращени" not in text.lower()
    assert "✓ Неделя прошла как должна" in text


@pytest.mark.timeout(360)
async def test_two_runs_from_two_directories_show_the_same_week(tmp_path, monkeypatch):
    outputs = []
    for name in ("first", "second"):
        workdir = tmp_path / name
        workdir.mkdir()
        monkeypatch.chdir(workdir)
        out = io.StringIO()
        code = await run(out, keep=False, port=0, workdir=workdir)
        text = out.getvalue()
        assert code == 0, text[-4000:]
        _check_transcript(text)
        outputs.append(text)
    assert _summary(outputs[0]) == _summary(outputs[1])
    for key, label in demo.COUNT_LABELS:
        assert f"  {label}: {EXPECTED[key]}\n" in outputs[0]


async def test_a_step_that_does_not_happen_fails_the_demo(tmp_path, monkeypatch):
    async def broken(self: Week) -> None:
        await self.set_clock(demo.START.replace(hour=9, minute=5))
        await self.c.vk_comment(demo.world.VK_ADMIN, 17, 500101, "Нет отопления")
        await self.card(1)
        # a reminder nobody is owed yet: the step fails
        await self.expect("напоминание, которого не будет",
                          lambda: self.private(1005, "Напоминание"), wait=2)

    async def private(self: Week, chat: int, words: str, after: int = 0):
        for m in await self.c.sent(chat):
            if words in (m.get("text") or ""):
                return m
        return None

    monkeypatch.setattr(Week, "play", broken)
    monkeypatch.setattr(Week, "private", private)
    out = io.StringIO()
    code = await run(out, keep=False, port=0, workdir=tmp_path)
    text = out.getvalue()
    assert code == 1, text
    assert "✗ Неделя прошла не так, как должна: не дождались: напоминание" in text
    assert "✓" not in text


async def test_counts_that_differ_fail_the_demo(tmp_path, monkeypatch):
    async def short_week(self: Week) -> None:  # every step happens, but only two of them
        await self.set_clock(demo.START.replace(hour=9, minute=5))
        await self.c.vk_comment(demo.world.VK_ADMIN, 17, 500101, "Нет отопления")
        await self.card(1)

    monkeypatch.setattr(Week, "play", short_week)
    texts = []
    for _ in range(2):  # the same directory twice: each run starts from an empty database
        out = io.StringIO()
        code = await run(out, keep=False, port=0, workdir=tmp_path)
        text = out.getvalue()
        assert code == 1, text
        assert "✗ Неделя прошла не так, как должна — не сходятся итоги:" in text
        assert "  карточек сообщений: 1, а должно быть 2" in text
        assert "✓" not in text
        texts.append(_summary(text))
    assert texts[0] == texts[1]


def test_count_problems_name_each_difference():
    assert count_problems(dict(EXPECTED)) == []
    wrong = {**EXPECTED, "reminders": 4, "digests": 3}
    assert count_problems(wrong) == ["напоминаний исполнителям: 4, а должно быть 3",
                                     "утренних сводок главе: 3, а должно быть 5"]


def test_demo_failed_is_an_exception_with_the_step():
    assert str(DemoFailed("не дождались: x")) == "не дождались: x"


def test_the_demo_files_are_its_own():
    assert all(Path(name).name.startswith("demo.") for name in demo.DEMO_FILES)
