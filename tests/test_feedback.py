"""The thank-you classifier (issue 17, item 5): thanks close the loop, questions reopen."""

from __future__ import annotations

import pytest

from bot.domain.feedback import Kind, classify
from bot.services.reports.periods import Period
from bot.services.reports.reports import Reports
from storage import incidents as repo
from tests.test_reports import TZ, hub, local, seed  # noqa: F401  (hub: the fixture)

THANKS = ["Спасибо!", "спасибо большое", "Спасибо, всё сделали", "Благодарю!",
          "Огромное спасибо за оперативность", "👍", "🙏🙏", "спс", "Спасибо что сделали",
          "Выражаю благодарность", "Благодарим вас", "Спасибо ❤️", "Молодцы, спасибо"]
ACKS = ["Понятно", "Хорошо", "ок", "Ясно, ладно", "+"]
FOLLOW_UPS = ["Спасибо, а когда починят?", "Спасибо, но так и не включили",
              "Так и не включили", "Спасибо за ничего", "Когда?", "Опять нет воды",
              "Спасибо, но во дворе снова яма", "👎", "Спасибо. Ещё бы мусор вывезли",
              "Почему так долго", "Спасибо, не помогло",
              "Спасибо за ответ, но подъезд до сих пор не убран и лампочки не горят, "
              "дети ходят в темноте, сколько можно ждать", "Это отписка", ""]


@pytest.mark.parametrize("text", THANKS)
def test_thanks_count_as_satisfaction(text: str) -> None:
    found = classify(text)
    assert found is not None and found.kind == Kind.THANKS and found.satisfied


@pytest.mark.parametrize("text", ACKS)
def test_a_plain_acknowledgement_closes_without_satisfaction(text: str) -> None:
    found = classify(text)
    assert found is not None and found.kind == Kind.ACK and not found.satisfied


@pytest.mark.parametrize("text", FOLLOW_UPS)
def test_a_question_or_a_new_complaint_is_no_thanks(text: str) -> None:
    assert classify(text) is None


def test_a_long_message_is_never_taken_for_thanks() -> None:
    assert classify("Спасибо " * 13) is None
    assert classify("Спасибо" + "!" * 300) is None



async def test_a_thank_you_counts_in_the_ratings(hub):  # noqa: F811
    await seed(hub)
    reports = Reports(hub)
    period = Period(local(2026, 11, 23), local(2026, 11, 24), TZ)
    blocks, _ = await reports.ratings(period)
    assert blocks[0].thanked == 0
    handled = [i for i in await repo.in_states(hub.db.reader, ["published", "closed"])
               if i.block == blocks[0].name]
    async with hub.db.tx() as conn:
        await repo.add_event(conn, handled[0].id, hub.clock.now(), "thanks",
                             from_state="published", to_state="closed", detail="Спасибо!")
    blocks, _ = await reports.ratings(period)
    assert blocks[0].thanked == 1
