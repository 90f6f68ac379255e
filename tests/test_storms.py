"""Comment storms: the similarity rule (pure), and grouping, merging and splitting in the
services against a real database (the outbox played by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import ConfigError, parse_config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.domain.storms import StormRule, similarity, topic
from bot.platforms.telegram.buttons import CardCb
from bot.ports import CardAction
from bot.render import Renderer
from bot.sandbox import world
from bot.services.hub import Hub
from bot.services.ingest import Inbound, Ingest
from bot.services.workflow.presses import Workflow
from storage import incidents as repo
from storage import members
from storage.db import Database, fetch_all

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
COORDINATOR = 1004
RULE = StormRule(window=timedelta(hours=3), threshold=0.5)
WATER = ["когда дадут воду?", "воды нет третий день", "где вода??",
         "Опять отключили горячую воду", "Вода будет сегодня?"]


# -- the rule ---------------------------------------------------------------------------

def test_topic_keeps_what_the_message_is_about() -> None:
    assert topic("когда дадут воду?") == {"вода"}
    assert topic("воды нет третий день") == {"вода"}
    assert topic("яма на дороге") == {"яма", "дорога"}
    assert topic("Не убирают снег во дворе дома 12") == {"убирать", "снег", "двор"}
    assert topic("??? !!!") == frozenset()


@pytest.mark.parametrize("text", WATER)
def test_water_messages_are_one_problem(text: str) -> None:
    others = [t for t in WATER if t != text]
    assert RULE.score(text, others) == 1.0
    assert RULE.joins(text, MONDAY, others, MONDAY - timedelta(minutes=5))


@pytest.mark.parametrize("text", ["яма на дороге", "Не убирают снег во дворе",
                                  "Спасибо за пост", "Когда починят светофор?"])
def test_another_problem_under_the_same_post_is_not(text: str) -> None:
    assert not RULE.joins(text, MONDAY, WATER, MONDAY)


def test_a_shared_address_alone_does_not_make_one_problem() -> None:
    assert similarity(topic("Яма у дома 5"), topic("Нет воды в доме 5")) == 0.0


def test_the_window_and_the_threshold_decide() -> None:
    late = MONDAY + timedelta(hours=3, minutes=1)
    assert not RULE.joins("где вода?", late, WATER, MONDAY)
    assert not RULE.joins("где вода?", MONDAY - timedelta(hours=4), WATER, MONDAY)
    # {вода, свет} and {свет, подъезд} share half of the shorter one
    assert RULE.score("Нет воды и света", ["Нет света в подъезде"]) == 0.5
    assert RULE.joins("Нет воды и света", MONDAY, ["Нет света в подъезде"], MONDAY)
    strict = StormRule(window=timedelta(hours=3), threshold=0.75)
    assert not strict.joins("Нет воды и света", MONDAY, ["Нет света в подъезде"], MONDAY)


def test_nothing_to_compare_is_no_storm() -> None:
    assert RULE.score("где вода", []) == 0.0
    assert not RULE.joins("+++", MONDAY, WATER, MONDAY)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("threshold", 0, ["storms.threshold", "must be greater than 0"]),
    ("threshold", 1.5, ["storms.threshold", "must be 1.0 or less"]),
    ("window_minutes", 0, ["storms.window_minutes", "must be 1 or more"]),
    ("windows_minutes", 5, ["storms.windows_minutes", "did you mean 'window_minutes'"]),
])
def test_check_config_names_the_key_and_the_fix(key: str, value: object,
                                                words: list[str]) -> None:
    raw = world.config_dict("http://sandbox.invalid")
    raw["storms"] = {key: value}
    with pytest.raises(ConfigError) as error:
        parse_config(raw, environ={})
    text = str(error.value)
    for word in words:
        assert word in text, text


# -- grouping in the services -------------------------------------------------------------

@dataclass
class World:
    hub: Hub
    clock: FakeClock
    db: Database
    ingest: Ingest
    workflow: Workflow

    async def get(self, incident_id: int) -> repo.Incident:
        incident = await repo.get(self.db.reader, incident_id)
        assert incident is not None
        return incident

    async def press(self, incident_id: int, action: CardAction, arg: int = 0,
                    user: int = COORDINATOR) -> str:
        incident = await self.get(incident_id)
        reply = await self.workflow.press(
            user, CardCb(id=incident_id, v=incident.version, a=action.value, arg=arg))
        return reply.text


def comment(post: int, n: int, text: str, at: datetime = MONDAY,
            author: int | None = None) -> Inbound:
    g = world.VK_ADMIN
    return Inbound(
        source=f"vk:{g}", kind="vk_comment", key=f"vk:{g}:wall_reply:{post}:{n}",
        author_id=f"vk:{500000 + (author or n)}", author_name=f"Житель {author or n}",
        text=text, written_at=at,
        thread=f"vk:{g}:wall:{post}", reply_target={
            "platform": "vk", "lane": f"vk:community:{g}", "method": "wall.createComment",
            "params": {"owner_id": -g, "post_id": post, "reply_to_comment": n,
                       "from_group": g}})


@pytest.fixture
async def w(tmp_path: Path):
    raw = world.config_dict("http://sandbox.invalid", str(tmp_path / "db.sqlite3"))
    raw["storms"] = {"enabled": True}
    config = parse_config(raw, environ={})
    clock = FakeClock(MONDAY)
    db = await Database(str(tmp_path / "db.sqlite3")).open()
    hub = make_hub(config=config, clock=clock, db=db, render=Renderer(config.municipality.tz),
                   calendar=WorkCalendar.from_config(config.municipality, config.calendar),
                   router=Router(config))
    try:
        yield World(hub=hub, clock=clock, db=db, ingest=Ingest(hub), workflow=Workflow(hub))
    finally:
        await db.close()


async def test_a_storm_in_one_batch_is_one_incident_counting_its_authors(w: World) -> None:
    batch = [comment(50, n, WATER[n % len(WATER)]) for n in range(1, 26)]
    batch.insert(10, comment(50, 99, "А ещё яма на дороге у школы"))
    outcomes = await w.ingest.receive_many(batch)
    results = [o.result for o in outcomes]
    assert results.count("created") == 2 and results.count("joined") == 24
    assert await repo.count(w.db.reader) == 2
    group = await members.of(w.db.reader, 1)
    assert len(group) == 24
    _, text = await _card(w, 1)
    assert "Об этом же написали: 25 жителей" in text and "25 сообщений" in text
    assert "Житель 25" in text and "Житель 2:" not in text  # the newest three only
    # redelivered, nothing changes
    again = await w.ingest.receive_many(batch)
    assert {o.result for o in again} == {"duplicate"}
    assert len(await members.of(w.db.reader, 1)) == 24


async def test_one_by_one_and_outside_the_window(w: World) -> None:
    assert (await w.ingest.receive(comment(51, 1, "когда дадут воду?"))).result == "created"
    assert (await w.ingest.receive(comment(51, 2, "где вода??",
                                           MONDAY + timedelta(hours=1)))).result == "joined"
    late = comment(51, 3, "воды нет третий день", MONDAY + timedelta(hours=5))
    assert (await w.ingest.receive(late)).result == "created"
    other_post = comment(52, 4, "где вода??")
    assert (await w.ingest.receive(other_post)).result == "created"


async def test_merge_and_split_and_bad_input(w: World) -> None:
    for n, text in enumerate(["когда дадут воду?", "где вода??"], start=1):
        await w.ingest.receive(comment(60, n, text))
    await w.ingest.receive(comment(61, 3, "Нет воды на Ленина 5"))  # card 2, other post
    await w.ingest.receive(comment(62, 4, "Яма на дороге"))  # card 3
    assert await repo.count(w.db.reader) == 3
    render = w.hub.render
    assert await w.press(2, CardAction.MERGE) == render.text("done_merge_prompt")
    before = await _dump(w)
    for text, phrase, kwargs in [
        ("двенадцать", "merge_not_a_number", {"id": 2}),
        ("2", "merge_itself", {"id": 2}),
        ("999", "merge_no_such", {"target": 999}),
    ]:
        assert await w.workflow.merge_into(COORDINATOR, 2, text) == render.html(phrase, **kwargs)
    assert await _dump(w) == before
    await w.press(3, CardAction.REJECT_WITH_REASON, 0)
    before = await _dump(w)
    assert await w.workflow.merge_into(COORDINATOR, 2, "3") == render.html(
        "merge_closed", target=3)
    assert await w.workflow.merge_into(1010, 2, "1") == render.text("refused_not_staff")
    assert await _dump(w) == before

    assert await w.workflow.merge_into(COORDINATOR, 2, "№1") == render.html(
        "done_merge", id=2, into=1)
    assert (await w.get(2)).state == "rejected"
    group = await members.of(w.db.reader, 1)
    assert [m.source_key for m in group][-1].endswith(":61:3") and group[-1].merged_from == 2
    _, text = await _card(w, 1)
    assert "Об этом же написали: 3 жителя" in text
    _, text = await _card(w, 2)
    assert "объединил(а) с сообщением №1" in text
    assert await w.workflow.merge_into(COORDINATOR, 2, "1") == render.html(
        "merge_this_closed", id=2)

    # split: the merged card comes back as itself; a storm member becomes a new card
    merged = group[-1]
    assert "№2" in await w.press(1, CardAction.SPLIT_ONE, merged.id)
    assert (await w.get(2)).state == "reopened"
    storm = (await members.of(w.db.reader, 1))[0]
    assert await w.press(1, CardAction.SPLIT_ONE, storm.id) == render.text("done_split", to=4)
    four = await w.get(4)
    assert four.source_key == storm.source_key and four.author_id == storm.author_id
    assert await members.of(w.db.reader, 1) == []
    assert await w.press(1, CardAction.SPLIT) == render.text("split_nothing")
    # a member of another card, or none at all: stale, nothing changes
    before = await _dump(w)
    assert await w.press(1, CardAction.SPLIT_ONE, 12345) == render.text("refused_stale")
    assert await _dump(w) == before


async def _card(w: World, incident_id: int) -> tuple[repo.Incident, str]:
    from bot.services import lookups
    found = await lookups.card(w.hub, incident_id)
    assert found is not None
    return found


async def _dump(w: World) -> list[tuple]:
    rows = []
    for table in ("incidents", "incident_members"):
        rows += [tuple(r) for r in await fetch_all(w.db.reader, f"SELECT * FROM {table}")]
    return rows



async def test_retention_erases_the_whole_group(w: World) -> None:
    from storage import retention
    await w.ingest.receive_many([comment(70, n, WATER[n % 5]) for n in range(1, 6)])
    async with w.db.tx() as conn:
        await retention.purge(conn, [(1, "vk:100001:wall_reply:70:1")], MONDAY, 30)
    assert {(m.text, m.author_name) for m in await members.of(w.db.reader, 1)} == {("", "")}


async def test_the_digest_counts_a_storm_as_one_incident_and_names_it(w: World) -> None:
    from bot.services.reports.periods import digest_period
    from bot.services.reports.reports import Reports
    batch = [comment(80, n, WATER[n % 5]) for n in range(1, 26)]
    await w.ingest.receive_many([*batch, comment(81, 30, "Яма на дороге у школы")])
    await w.ingest.receive(comment(82, 31, "И у нас воды нет"))  # card 3, merged into 1
    await w.press(3, CardAction.MERGE)
    assert "№1" in await w.workflow.merge_into(COORDINATOR, 3, "1")
    reports = Reports(w.hub)
    tuesday = MONDAY + timedelta(days=1)
    period = digest_period(tuesday.date(), w.hub.calendar)
    summary = await reports.summary(period, tuesday)
    assert summary.totals.new == 2  # the storm, the pothole; the merged card is the storm's
    assert [(s.id, s.authors) for s in summary.storms] == [(1, 26)]
    text = reports.digest_text(summary)
    assert "одна проблема, много жителей: №1 «воды нет третий день» — 26 жителей" in text, text
    assert "«вода» 2" not in text  # the merged card's words are the storm's, counted once



async def _published(w: World, incident_id: int) -> None:
    """Taken, answered, approved, and every answer delivered (the outbox's hooks)."""
    from storage import outbox
    await w.press(incident_id, CardAction.TAKE)
    await w.workflow.answer(COORDINATOR, incident_id, "Воду дадут к 18:00.", [])
    await w.press(incident_id, CardAction.APPROVE)
    rows = await fetch_all(w.db.reader, "SELECT id FROM outbox WHERE key LIKE ? ORDER BY id",
                           (f"answer:{incident_id}:1:%",))
    async with w.db.tx() as conn:
        for row in rows:
            item = await outbox.get(conn, row["id"])
            assert item is not None
            hook = w.workflow.published if item.purpose == "answer" else \
                w.workflow.member_published
            await hook(conn, item, {"comment_id": 1})


async def test_a_members_thanks_and_objection_are_words_on_the_groups_answer(w: World) -> None:
    await w.ingest.receive_many([comment(90, n, WATER[n % 5]) for n in range(1, 6)])
    await w.ingest.receive_many([comment(91, n, WATER[n % 5]) for n in range(6, 9)])
    for group in (1, 2):
        await _published(w, group)
    _, text = await _card(w, 1)
    assert "опубликовано 5 из 5" in text and (await w.get(1)).state == "published"
    thanks = await w.ingest.receive(comment(90, 13, "Спасибо, воду дали!",
                                            MONDAY + timedelta(hours=1), author=3))
    assert (thanks.result, thanks.incident_id) == ("feedback", 1)
    assert (await w.get(1)).state == "closed"
    w.clock.advance(3600)
    objection = comment(91, 14, "Так и не дали воду", MONDAY + timedelta(hours=2), author=7)
    assert (await w.ingest.receive(objection)).result == "reopened"
    assert (await w.get(2)).state == "reopened"
    assert await repo.count(w.db.reader) == 2


async def test_the_card_counts_how_far_the_answer_has_gone(w: World) -> None:
    from storage import outbox
    await w.ingest.receive_many([comment(95, n, WATER[n % 5]) for n in range(1, 26)])
    await w.press(1, CardAction.TAKE)
    await w.workflow.answer(COORDINATOR, 1, "Воду дадут к 18:00.", [])
    await w.press(1, CardAction.APPROVE)
    rows = await fetch_all(w.db.reader, "SELECT id FROM outbox WHERE purpose = 'member_answer'"
                                        " ORDER BY id LIMIT 17")
    async with w.db.tx() as conn:
        lead = await fetch_all(conn, "SELECT id FROM outbox WHERE purpose = 'answer'")
        for row in [*lead, *rows]:
            item = await outbox.get(conn, row["id"])
            assert item is not None
            hook = w.workflow.published if item.purpose == "answer" else \
                w.workflow.member_published
            await hook(conn, item, {"comment_id": 1})
    _, text = await _card(w, 1)
    assert "Ответ жителям: опубликовано 18 из 25" in text
