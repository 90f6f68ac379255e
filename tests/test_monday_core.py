"""The pure core of the coordinator's Monday: the search index and queries, the
escalation ladder and the gathering of notices, the inbox's lists."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from bot.domain import escalation, inbox, search
from bot.domain.calendar import WorkCalendar
from bot.domain.escalation import Item, Rung
from bot.domain.inbox import Work
from bot.sandbox import world

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
CAL = WorkCalendar(tz=TZ)
LADDER = [Rung("coordinator", timedelta(0)), Rung("manager", timedelta(hours=2)),
          Rung("curator", timedelta(hours=8))]


def at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


# -- search --------------------------------------------------------------------------


def _matches(query: str, text: str, author: str = "") -> bool:
    """What storage's LIKE does with the index: every word by one of its forms."""
    index = search.index_text(text, author)
    q = search.parse(query)
    return all(any(f" {form}" in index for form in forms) for forms in q.words)


@pytest.mark.parametrize(("query", "text"), [
    ("ленина", "Нет отопления в доме 5 по ул. Ленина"),
    ("ЛЕНИНА", "нет отопления, ул. ленина"),
    ("Ленин", "Нет воды на улице Ленина"),
    ("отоплением", "Нет отопления в доме 5"),
    ("трубы", "Течёт труба в подвале"),
    ("гололед", "Гололёд на тротуаре"),
    ("мира 12", "Яма у дома 12 по улице Мира"),
])
def test_case_and_word_forms_match(query: str, text: str):
    assert _matches(query, text)


@pytest.mark.parametrize(("query", "text"), [
    ("ленина", "Нет отопления на Садовой"),
    ("мира 12", "Яма у дома 125 по улице Мира"),  # a number is a whole word
    ("мира 12", "Яма у дома 12 по улице Ленина"),  # every word must match
])
def test_what_does_not_match(query: str, text: str):
    assert not _matches(query, text)


def test_the_author_is_searched_too():
    assert _matches("иванову", "Нет света", "Пётр Иванов")


def test_a_number_is_also_an_incident_number():
    assert search.parse("№12").number == 12
    assert search.parse("12").number == 12
    assert search.parse("ленина 12").number is None
    assert search.parse("???").empty and search.parse("").empty
    assert search.parse("9" * 30).number is None  # beyond any row: a word only


def test_the_index_is_lowercase_words_with_spaces_at_the_ends():
    index = search.index_text("Ул. ЛЕНИНА, 5")
    assert index.startswith(" ") and index.endswith(" ")
    assert " ленина " in index and " ленин " in index and " 5 " in index
    assert index == index.lower()


# -- the ladder -------------------------------------------------------------------------


def test_the_ladder_counts_working_time_past_the_deadline():
    due = at(MONDAY, "17:00")
    assert escalation.reached(due, due, LADDER, CAL) == []
    assert escalation.reached(due, at(MONDAY, "17:01"), LADDER, CAL) == ["coordinator"]
    tuesday = MONDAY + timedelta(days=1)
    # 17:00 → 17:30 is half an hour; the manager's two hours end Tuesday 10:00
    assert escalation.reached(due, at(tuesday, "09:59"), LADDER, CAL) == ["coordinator"]
    assert escalation.reached(due, at(tuesday, "10:00"), LADDER, CAL) == [
        "coordinator", "manager"]
    assert escalation.next_rung(due, at(tuesday, "10:00"), LADDER, CAL) == at(tuesday,
                                                                             "16:00")
    assert escalation.reached(due, at(tuesday, "16:00"), LADDER, CAL) == [
        "coordinator", "manager", "curator"]
    assert escalation.next_rung(due, at(tuesday, "16:00"), LADDER, CAL) is None


def test_an_every_day_policy_climbs_in_real_time():
    saturday = MONDAY + timedelta(days=5)
    due = at(saturday, "18:00")
    assert escalation.reached(due, at(saturday, "20:00"), LADDER, CAL, every_day=True) == [
        "coordinator", "manager"]
    assert escalation.reached(due, at(saturday, "20:00"), LADDER, CAL) == ["coordinator"]


def test_gathered_per_person_and_kind_at_most_once_an_interval():
    now = at(MONDAY, "10:00")
    every = {"overdue": timedelta(hours=1), "approval": timedelta(minutes=10)}
    waiting = [Item(1004, "overdue", n, "k") for n in range(50)]
    waiting += [Item(1004, "approval", 7, "0:0"), Item(1003, "overdue", 3, "k")]
    sent = escalation.batches(waiting, {}, now, every)
    assert {k: len(v) for k, v in sent.items()} == {
        (1004, "overdue"): 50, (1004, "approval"): 1, (1003, "overdue"): 1}
    last = {(1004, "overdue"): now - timedelta(minutes=59),
            (1004, "approval"): now - timedelta(minutes=10)}
    again = escalation.batches(waiting, last, now, every)
    assert set(again) == {(1004, "approval"), (1003, "overdue")}


def test_gathered_notices_go_in_office_hours_or_just_at_closing():
    grace = timedelta(seconds=60)
    assert escalation.may_send(at(MONDAY, "10:00"), CAL, grace)
    assert escalation.may_send(at(MONDAY, "17:30").replace(second=30), CAL, grace)
    assert not escalation.may_send(at(MONDAY, "17:45"), CAL, grace)
    assert not escalation.may_send(at(MONDAY + timedelta(days=5), "12:00"), CAL, grace)


# -- the inbox ----------------------------------------------------------------------


def _work(n: int, state: str, received: datetime, due: datetime | None = None,
          assignee: int | None = None, promised: date | None = None,
          block: str = "ЖКХ") -> Work:
    return Work(n, block, state, assignee, received, due, promised, f"текст {n}")


def test_the_inbox_sorts_the_open_work():
    now = at(MONDAY + timedelta(days=1), "09:00")  # Tuesday
    tuesday = now.date()
    works = [
        _work(1, "new", at(MONDAY, "09:00"), at(MONDAY, "17:00")),  # new and overdue
        _work(2, "answer_ready", at(MONDAY, "12:00"), at(now, "11:00"), 1005),
        _work(3, "in_progress", at(MONDAY, "16:00"), at(now, "15:30"), 1005,
              promised=tuesday),
        _work(4, "in_progress", at(MONDAY, "10:00"), at(now, "16:00"), 1005,
              promised=tuesday - timedelta(days=1)),  # the promise missed
        _work(5, "published", at(MONDAY, "09:00"), at(MONDAY, "17:00"), 1005),
        _work(6, "reopened", at(MONDAY, "09:30"), at(now, "17:00"), block="Дороги"),
    ]
    lists = inbox.sort_out(works, now, CAL)
    ids = {k: [e.work.id for e in v] for k, v in lists.items()}
    assert ids == {"new": [1, 6], "approval": [2], "due_today": [6, 2, 3],
                   "overdue": [1, 4], "promised_today": [3]}
    late = lists["overdue"][0]
    assert late.work.id == 1 and late.age == timedelta(hours=1)  # 17:00-17:30, 08:30-09:00
    assert lists["overdue"][1].promise_missed and not lists["overdue"][1].late
    assert lists["new"][0].age == timedelta(hours=9)  # Monday 09:00 → Tuesday 09:00
    table = inbox.counts_by_block(lists)
    assert table["ЖКХ"] == {"new": 1, "approval": 1, "due_today": 2, "overdue": 2,
                           "promised_today": 1}
    assert table["Дороги"]["new"] == 1


def test_the_ladder_config_is_checked():
    raw = world.config_dict("http://sandbox.invalid", "db.sqlite3")
    config = parse_config(raw, environ={})
    assert [r.role for r in config.sla.escalation.ladder] == ["coordinator", "manager",
                                                              "curator"]
    assert config.sla.escalation.every_minutes == 60
    raw["sla"] = {"escalation": {"ladder": [{"role": "manager", "after_hours": 4},
                                            {"role": "coordinator", "after_hours": 1}]}}
    with pytest.raises(Exception, match="must not decrease"):
        parse_config(raw, environ={})
    raw["sla"] = {"escalation": {"ladder": [{"role": "head", "after_hours": 1}]}}
    with pytest.raises(Exception, match="ladder"):
        parse_config(raw, environ={})
    raw["sla"] = {"escalation": {"every_minutes": 0}}
    with pytest.raises(Exception, match="every_minutes"):
        parse_config(raw, environ={})


def test_who_sees_which_inbox():
    from types import SimpleNamespace

    from bot.services.inbox import Inbox

    raw = world.config_dict("http://sandbox.invalid", "db.sqlite3")
    raw["staff"].append({"telegram_id": 1010, "name": "Начальник ЖКХ",
                         "roles": ["block_lead"], "blocks": ["ЖКХ"]})
    box = Inbox(SimpleNamespace(config=parse_config(raw, environ={})))  # type: ignore[arg-type]
    assert box.blocks_of(1004) is None  # the coordinator: every block
    assert box.blocks_of(1002) is None  # the curator too
    assert box.blocks_of(1010) == ["ЖКХ"]  # a block lead: theirs
    assert box.blocks_of(1005) == [] and box.blocks_of(2001) == []  # executors, citizens
