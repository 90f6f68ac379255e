"""The newcomer's demo plays its week and says so."""

from __future__ import annotations

import io

import pytest

from bot.demo import run

pytestmark = pytest.mark.e2e


async def test_the_demo_week_plays_as_expected(tmp_path):
    out = io.StringIO()
    code = await run(out, keep=False, port=0, workdir=tmp_path)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "✓ The week played as expected." in text
    for seen in ("новая карточка", "Напоминание", "Просрочено", "Сводка", "переоткрыто",
                 "на доработке", "ВК «Администрация», ответ на комментарий"):
        assert seen in text, seen
