"""Reports: the digest's numbers, ratings and the XLSX against a seeded database."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.render import Renderer
from bot.sandbox import world
from bot.services.hub import Hub
from bot.services.reports.figures import Topics, rises
from bot.services.reports.periods import Period, digest_period, report_period
from bot.services.reports.reports import Reports, fit, visible_len
from storage import cursors
from storage import incidents as repo
from storage.db import Database, fetch_all, fetch_value

TZ = ZoneInfo("Europe/Saratov")
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


@pytest.fixture
async def hub():
    config = parse_config(world.config_dict("http://sandbox", ":memory:"), environ={})
    db = await Database(":memory:").open()
    hub = make_hub(config=config, clock=FakeClock(TUESDAY_9), db=db,
              render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=Router(config))
    yield hub
    await db.close()


async def add(hub: Hub, *, block: str, source: str, text: str, received: datetime,
              due: datetime | None = None, events: list[tuple[str, datetime]] = (),
              **changes: Any) -> int:
    """An incident as the workflow would leave it: the row, its fields and audit events."""
    async with hub.db.tx() as conn:
        incident_id = await repo.insert(conn, repo.NewIncident(
            source=source, source_kind="vk_comment", source_key=f"{source}:{received}:{text}",
            author_id="vk:500101", text=text, written_at=received, received_at=received,
            block=block, priority="normal", policy="answer",
            due_at=due or hub.calendar.add(received, timedelta(hours=8)),
        ))
        assert incident_id is not None
        await repo.add_event(conn, incident_id, received, "created")
        for action, at in events:
            await repo.add_event(conn, incident_id, at, action)
        if changes:
            await repo.update(conn, incident_id, **changes)
    return incident_id


async def seed(hub: Hub) -> None:
    """Monday 23.11.2026 in Шиханы, and a quiet week before it."""
    # answered on time: first reply after 30 working minutes, published 2 h 50 min in
    await add(hub, block="ЖКХ", source="vk:100001", text="Нет отопления в доме 5",
              received=local(2026, 11, 23, 9, 10), state="published", assignee_id=1005,
              first_reply_at=local(2026, 11, 23, 9, 40), published_at=local(2026, 11, 23, 12, 0),
              rating=5, events=[("assign", local(2026, 11, 23, 9, 20)),
                                ("published", local(2026, 11, 23, 12, 0))])
    # answered late, after a return: 5 h to the first reply and to publication
    await add(hub, block="ЖКХ", source="vk:100001", text="Отопление снова отключили",
              received=local(2026, 11, 23, 10, 0), due=local(2026, 11, 23, 11, 0),
              state="published", assignee_id=1005, returns=1,
              first_reply_at=local(2026, 11, 23, 15, 0), published_at=local(2026, 11, 23, 15, 0),
              events=[("return", local(2026, 11, 23, 13, 0)),
                      ("published", local(2026, 11, 23, 15, 0))])
    # open, assigned, past its deadline
    await add(hub, block="Дороги и транспорт", source=f"tg:{world.CITY_CHAT}",
              text="Яма на дороге у школы", received=local(2026, 11, 23, 11, 0),
              due=local(2026, 11, 23, 13, 0), state="assigned", assignee_id=1006)
    # new, due tomorrow
    await add(hub, block="Образование", source="tg:private", text="В школе холодно",
              received=local(2026, 11, 23, 12, 0), due=local(2026, 11, 24, 12, 0))
    # rejected: counted as received, never as open
    await add(hub, block="Прочее", source="forward:pos", text="Спасибо за праздник",
              received=local(2026, 11, 23, 13, 0), state="rejected")
    # answered on Friday, reopened by the citizen on Monday: open and overdue again
    await add(hub, block="ЖКХ", source="vk:100001", text="Течёт крыша",
              received=local(2026, 11, 20, 10, 0), due=local(2026, 11, 20, 17, 0),
              state="reopened", assignee_id=1005, reopens=1,
              published_at=local(2026, 11, 20, 16, 0), first_reply_at=local(2026, 11, 20, 16, 0),
              events=[("published", local(2026, 11, 20, 16, 0)),
                      ("citizen_reply", local(2026, 11, 23, 14, 0))])
    # the week before: roads had two, ЖКХ none
    for day in (16, 18):
        await add(hub, block="Дороги и транспорт", source=f"tg:{world.CITY_CHAT}",
                  text="Гололёд на тротуаре", received=local(2026, 11, day, 10, 0),
                  state="closed", assignee_id=1006, published_at=local(2026, 11, day, 11, 0),
                  first_reply_at=local(2026, 11, day, 11, 0))


async def test_digest_numbers_match_the_seeded_day(hub):
    await seed(hub)
    reports = Reports(hub)
    period = digest_period(TUESDAY_9.date(), hub.calendar)
    assert period.first_day == period.last_day == local(2026, 11, 23).date()
    summary = await reports.summary(period, TUESDAY_9.astimezone(TZ))
    t = summary.totals
    assert (t.new, t.answered, t.late, t.reopened) == (5, 2, 1, 1)
    assert (t.open, t.unassigned, t.overdue) == (3, 1, 2)
    blocks = {row.name: row.counts for row in summary.blocks}
    zhkh = blocks["ЖКХ"]
    assert (zhkh.new, zhkh.open, zhkh.answered, zhkh.overdue, zhkh.reopened) == (2, 1, 2, 1, 1)
    roads = blocks["Дороги и транспорт"]
    assert (roads.new, roads.open, roads.answered, roads.overdue) == (1, 1, 0, 1)
    assert blocks["Прочее"].open == 0
    sources = {row.name: row.counts.new for row in summary.sources}
    assert sources == {"ВКонтакте «Администрация»": 2, "Telegram, городской чат": 1,
                       "Telegram, личные сообщения боту": 1, "ПОС (Госуслуги)": 1}
    assert [(o.id, o.executor) for o in summary.overdue] == [(6, "Исполнитель ЖКХ"),
                                                           (3, "Исполнитель дорог")]
    assert [r.name for r in summary.rising_blocks] == ["ЖКХ"]
    assert "отопление" in [r.name for r in summary.rising_words]
    assert ("отопление", 2) in summary.topics
    quotas = {q.page: q for q in summary.quotas}
    assert (quotas["Администрация"].published, quotas["Администрация"].expected) == (0, 5)
    assert quotas["Глава"].weekly

    text = reports.digest_text(summary)
    first, *_ = text.splitlines()
    assert "Сводка" in first and "23.11" in first
    assert ("Поступило <b>5</b>, отвечено <b>2</b> (с нарушением срока 1),"
            " возвращено в работу 1.") in text
    assert "• ЖКХ: 2 · 1 · 2 · 1 · 1" in text
    assert "№3 · Дороги и транспорт · Исполнитель дорог · срок 23.11 13:00" in text
    assert visible_len(text) <= 4096


async def test_ratings_per_block_and_executor(hub):
    await seed(hub)
    reports = Reports(hub)
    period = Period(local(2026, 11, 23), local(2026, 11, 24), TZ)
    blocks, executors = await reports.ratings(period)
    assert [r.name for r in blocks] == ["ЖКХ"]
    zhkh = blocks[0]
    assert (zhkh.handled, zhkh.on_time, zhkh.returns, zhkh.reopens) == (2, 1, 1, 0)
    assert zhkh.first_reply_hours == pytest.approx((0.5 + 5) / 2)
    assert zhkh.publish_hours == pytest.approx((2 + 50 / 60 + 5) / 2)
    assert (zhkh.rating, zhkh.rated) == (5, 1)
    assert [(r.name, r.handled) for r in executors] == [("Исполнитель ЖКХ", 2)]
    # working hours only: the week before, the roads' answers took an hour each
    week = Period(local(2026, 11, 16), local(2026, 11, 24), TZ)
    blocks, _ = await reports.ratings(week)
    roads = next(r for r in blocks if r.name == "Дороги и транспорт")
    assert (roads.handled, roads.on_time, roads.publish_hours) == (2, 2, 1.0)


async def test_empty_database_gives_a_one_line_digest(hub):
    reply = await Reports(hub).digest(TUESDAY_9)
    assert "\n" not in reply.text
    assert reply.text.startswith("📊 Сводка МЦУ Шиханы за 23.11 (пн)")
    assert reply.chart is None
    note = await Reports(hub).note("week", TUESDAY_9)
    assert "\n" not in note.text and "справка" in note.text
    rating = await Reports(hub).rating("month", TUESDAY_9)
    assert "\n" not in rating.text


async def test_weekly_note_and_chart(hub):
    await seed(hub)
    reply = await Reports(hub).note("week", TUESDAY_9)
    assert reply.text.splitlines()[0].startswith("📑 <b>Аналитическая справка")
    assert "Рейтинг блоков" in reply.text and "Исполнитель ЖКХ" in reply.text
    assert "в срок 67%" in reply.text  # Friday's answer is in the week too
    assert "<i>Сравнение с предыдущей неделей (11.11–17.11).</i>" in reply.text
    assert "<b>Рост сообщений.</b>" in reply.text
    assert reply.chart is not None and reply.chart.startswith(b"\x89PNG")


async def test_export_opens_and_holds_the_incidents(hub):
    await seed(hub)
    await add(hub, block="Прочее", source="tg:private", text="=HYPERLINK(\"x\")\x07",
              received=local(2026, 11, 24, 8, 0))
    reply = await Reports(hub).export("month", TUESDAY_9)
    assert reply.document is not None and reply.filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(reply.document))
    assert book.sheetnames == ["Сообщения", "Блоки", "Исполнители"]
    rows = list(book["Сообщения"].iter_rows(values_only=True))
    assert rows[0][:4] == ("№", "Поступило", "Источник", "Блок")
    assert sorted(r[0] for r in rows[1:]) == list(range(1, 10))
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id[1][1] == datetime(2026, 11, 23, 9, 10)  # local time, as people read it
    assert by_id[2][10] == "нет" and by_id[1][10] == "да"
    assert by_id[9][14] == "=HYPERLINK(\"x\")"  # text, not a formula
    assert book["Сообщения"].cell(row=10, column=15).data_type == "s"
    blocks = list(book["Блоки"].iter_rows(values_only=True))
    # a month: Friday's answer (on time, reopened since) counts too
    assert blocks[1][:4] == ("ЖКХ", 3, 2, 67)


def test_long_lists_are_trimmed_to_fit_telegram():
    def render(limit: int) -> str:
        shown = min(limit, 500)
        lines = [f"• №{i} · <b>ЖКХ</b> · очень длинная строка про просрочку" for i in range(shown)]
        return "📊 Сводка\n" + "\n".join(lines) + (f"\n…и ещё {500 - shown}" if shown < 500
                                                    else "")

    text = fit(render)
    assert visible_len(text) <= 4096
    assert text.startswith("📊 Сводка") and "…и ещё" in text


def test_topics_prefer_block_keywords_and_skip_noise():
    topics = Topics({"яма", "отопление"}, ["шиханы"])
    assert topics.of("Ямы на дороге! Ямы!") == {"яма", "дорога"}
    assert topics.of("В Шиханах сегодня нет отопления, спасибо") == {"отопление"}
    counted = Topics({"яма"}).count(["яма", "ямы", "яма"])
    assert rises(counted, {"яма": 3}, 1.0) == []  # as usual
    assert [r.name for r in rises(counted, {"яма": 7}, 1 / 7)] == ["яма"]


@pytest.mark.parametrize("text", [
    "Второй день нет света", "во втором подъезде", "второе обращение", "вторую неделю",
    "сто раз писали", "пять лет", "наш двор", "что делать", "который раз", "оба лифта",
])
def test_topics_are_never_numerals_or_pronouns(text: str):
    found = Topics(set()).of(text)
    assert not found & {"втора", "второе", "второй", "сто", "пять", "наш", "что", "который",
                         "оба"}, found
    assert "втора" not in Topics({"втора"}).of(text)


def test_topic_words_are_nouns_in_their_dictionary_form():
    text = ("Второй день нет отопления во втором подъезде, трубы холодные, ямы на дорогах, "
            "мусора полно, снега по колено")
    assert Topics({"яма", "отопление"}).of(text) == {
        "отопление", "подъезд", "труба", "яма", "дорога", "мусор", "снег", "колено"}


def test_periods():
    now = datetime(2026, 11, 24, 15, 0, tzinfo=TZ)
    week = report_period("week", now, TZ)
    assert (week.first_day.isoformat(), week.end) == ("2026-11-18", now)
    scheduled = report_period("week", now, TZ, scheduled=True)
    assert (scheduled.first_day.isoformat(), scheduled.last_day.isoformat()) == (
        "2026-11-17", "2026-11-23")


async def test_monday_digest_covers_the_weekend(hub):
    calendar = hub.calendar
    monday = digest_period(local(2026, 11, 30).date(), calendar)
    assert (monday.first_day.isoformat(), monday.last_day.isoformat()) == (
        "2026-11-27", "2026-11-29")


async def test_tick_sends_once_per_day_and_not_for_the_day_it_started(hub):
    clock = hub.clock
    assert isinstance(clock, FakeClock)
    clock.set(local(2026, 11, 23, 9, 30))  # first start: after Monday's digest time
    await Reports(hub).tick()
    reports = Reports(hub)  # a restart: the start is remembered in the database
    await reports.tick()
    assert await _queued(hub) == []
    await seed(hub)
    clock.set(local(2026, 11, 24, 8, 59))
    await reports.tick()
    assert await _queued(hub) == []
    clock.set(TUESDAY_9)
    await reports.tick()
    await reports.tick()
    queued = await _queued(hub)
    assert sorted(queued) == sorted(
        [f"digest:2026-11-24:{c}" for c in (1001, 1002, 1003)]
        + [f"digest:2026-11-24:{c}:chart" for c in (1001, 1002, 1003)])
    # the next Monday: the digest and the weekly note
    clock.set(local(2026, 11, 30, 9, 0))
    await reports.tick()
    queued = await _queued(hub)
    assert "weekly:2026-11-30:1001" in queued and "digest:2026-11-30:1001" in queued
    assert await cursors.get(hub.db.reader, "weekly:2026-11-30") is not None
    # Saturday: nothing
    clock.set(local(2026, 12, 5, 10, 0))
    before = len(await _queued(hub))
    await reports.tick()
    assert len(await _queued(hub)) == before


async def _queued(hub: Hub) -> list[str]:
    rows = await fetch_all(hub.db.reader, "SELECT key FROM outbox ORDER BY id")
    return [row[0] for row in rows]


async def test_queue_sends_text_then_chart_and_documents_alone(hub):
    from bot.services.reports.reports import Reply

    reports = Reports(hub)
    async with hub.db.tx() as conn:
        await reports.queue(conn, 1001, "k", Reply("текст", chart=b"png", chart_caption="c"))
        await reports.queue(conn, 1001, "d", Reply("подпись", document=b"x", filename="a.xlsx"))
    rows = await fetch_all(hub.db.reader, "SELECT key, method, params FROM outbox ORDER BY id")
    assert [(r["key"], r["method"]) for r in rows] == [
        ("k", "sendMessage"), ("k:chart", "sendPhoto"), ("d:document", "sendDocument")]
    assert json.loads(rows[2]["params"])["caption"] == "подпись"


async def test_a_fresh_start_on_sunday_sends_mondays_digest(hub):
    clock = hub.clock
    assert isinstance(clock, FakeClock)
    reports = Reports(hub)
    clock.set(local(2026, 11, 22, 12, 0))
    await reports.tick()
    clock.set(local(2026, 11, 23, 9, 0))
    await reports.tick()
    queued = await _queued(hub)
    assert "digest:2026-11-23:1001" in queued
    assert "weekly:2026-11-23:1001" in queued  # nothing to say: one line, but said


async def test_who_may_ask_for_reports(hub):
    reports = Reports(hub)
    assert [u for u in (1001, 1002, 1003, 1004, 1005, 1006, 1007, 2001)
            if reports.may_ask(u)] == [1001, 1002, 1003, 1004]


async def test_posting_quota_per_page_and_target(hub):
    """Each target is judged against its page's quota on its own (decree 004 §3.9, «не
    менее 5 постов в день»): a post refused for MAX (too long) or failed everywhere does
    not count there."""
    admin = ["vk:100001", f"tg:{world.CHANNEL}", f"max:{world.MAX_CHANNEL}",
             f"ok:{world.OK_GROUP}"]
    async with hub.db.tx() as conn:
        for hour, page, status, done in [
                (10, "Администрация", "published", admin),
                (11, "Администрация", "published", admin[:2] + admin[3:]),  # MAX refused
                (12, "Администрация", "failed", []),
                (13, "Глава", "published", ["vk:100002"])]:
            at = repo.iso(local(2026, 11, 23, hour, 0))
            post_id = await fetch_value(
                conn, "INSERT INTO posts(page, text, queued_at, status, published_at)"
                " VALUES (?, 'пост', ?, ?, ?) RETURNING id", (page, at, status, at))
            for target in (admin if page == "Администрация" else ["vk:100002"]):
                await conn.execute(
                    "INSERT INTO post_targets(post_id, target, status) VALUES (?, ?, ?)",
                    (post_id, target, "done" if target in done else
                     "refused" if status == "published" else "failed"))
    summary = await Reports(hub).summary(digest_period(TUESDAY_9.date(), hub.calendar),
                                         TUESDAY_9)
    quotas = {(q.page, q.target): (q.published, q.expected, q.days_short, q.weekly)
              for q in summary.quotas}
    assert quotas == {
        ("Администрация", "ВКонтакте «Администрация»"): (2, 5, 1, False),
        ("Администрация", "Telegram-канал"): (2, 5, 1, False),
        ("Администрация", "канал в MAX"): (1, 5, 1, False),
        ("Администрация", "Одноклассники «Администрация»"): (2, 5, 1, False),
        ("Глава", "ВКонтакте «Глава»"): (1, 5, 0, True)}
    text = Reports(hub).digest_text(summary)
    assert "• Администрация — ВКонтакте «Администрация»: 2 из 5 ⚠️ (дней ниже квоты: 1)" in text
    assert "• Администрация — канал в MAX: 1 из 5 ⚠️ (дней ниже квоты: 1)" in text
    assert "• Глава — ВКонтакте «Глава»: 1 из 5 за неделю ⚠️" in text


@pytest.mark.parametrize(("said", "kind"), [
    (None, "week"), ("", "week"), ("week", "week"), ("неделя", "week"), ("Неделю", "week"),
    ("месяц", "month"), ("КВАРТАЛ", "quarter"), ("год", "год"),
])
def test_report_periods_may_be_asked_in_russian(said, kind):
    from bot.services.reports.periods import report_kind

    assert report_kind(said, "week") == kind
