"""Issue 18's pure rules: learning from corrections, deputies, chosen deadlines, who may
correct a message."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Calendar, Municipality
from bot.domain import absence, deadline_choice
from bot.domain.absence import Absence
from bot.domain.calendar import WorkCalendar
from bot.domain.incident import Action, Actor, Refusal, Refused, State, adjust, decide
from bot.domain.learning import Correction, as_keywords, learn, nouns

TZ = ZoneInfo("Europe/Saratov")
CAL = WorkCalendar.from_config(Municipality(name="Шиханы", timezone="Europe/Saratov"),
                               Calendar())
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


# -- learning -------------------------------------------------------------------------

LEAVES = [Correction("Листва во дворе не убрана", "Прочее", "ЖКХ"),
          Correction("Опять листва лежит у подъезда", "Дороги и транспорт", "ЖКХ"),
          Correction("Уберите листву с площадки", "Прочее", "ЖКХ")]


def test_nouns_are_dictionary_forms_and_short_words_say_nothing():
    assert nouns("Трубы во дворе у дома гнилые") == {"труба", "двор"}


def test_a_noun_moved_into_a_block_three_times_is_learned():
    learned = learn(LEAVES)
    assert [(w.word, w.block, w.times) for w in learned if w.word == "листва"] == [
        ("листва", "ЖКХ", 3)]
    assert as_keywords(learned)["ЖКХ"][0] == "листва"


def test_twice_is_not_enough_and_the_threshold_is_the_config_s():
    assert not [w for w in learn(LEAVES[:2]) if w.word == "листва"]
    assert [w.word for w in learn(LEAVES[:2], min_times=2)] == ["листва"]


def test_a_word_moved_everywhere_teaches_nothing():
    spread = [*LEAVES, Correction("листва на дороге", "ЖКХ", "Дороги и транспорт"),
              Correction("листва в школе", "Прочее", "Образование")]
    assert not [w for w in learn(spread) if w.word == "листва"]  # 3 of 5 < 75 %


def test_known_keywords_and_words_taken_back_are_not_learned():
    assert not learn(LEAVES, known={"ЖКХ": ["листва"]})
    assert not [w for w in learn(LEAVES, unlearned={("листва", "ЖКХ")}) if w.word == "листва"]


def test_a_message_left_in_its_block_is_no_correction():
    assert learn([Correction("листва", "ЖКХ", "ЖКХ")] * 5) == []


# -- deputies -------------------------------------------------------------------------


def test_an_absence_ends_by_itself_after_its_last_day():
    away = [Absence(1005, 1006, date(2026, 11, 27))]
    assert absence.stand_in(1005, absence.active(away, date(2026, 11, 27))) == 1006
    assert absence.stand_in(1005, absence.active(away, date(2026, 11, 28))) == 1005
    assert absence.acting_for(1006, absence.active(away, date(2026, 11, 23))) == {1005}


def test_a_deputy_away_too_passes_it_on_and_a_loop_ends():
    away = absence.active([Absence(1, 2, date(2026, 12, 1)), Absence(2, 3, date(2026, 12, 1))],
                          date(2026, 11, 30))
    assert absence.stand_in(1, away) == 3
    assert absence.acting_for(3, away) == {1, 2}
    loop = absence.active([Absence(1, 2, date(2026, 12, 1)), Absence(2, 1, date(2026, 12, 1))],
                          date(2026, 11, 30))
    assert absence.stand_in(1, loop) == 2


@pytest.mark.parametrize(("said", "expected"), [
    ("27.11", date(2026, 11, 27)), ("27.11.2026", date(2026, 11, 27)),
    ("05.01", date(2027, 1, 5)),  # passed this year: next year's
    ("23.11", date(2026, 11, 23)), ("31.02", None), ("завтра", None),
    ("01.01.2026", None), ("01.01.2030", None),
])
def test_the_last_day_away(said, expected):
    assert absence.parse_until(said, date(2026, 11, 23)) == expected


def test_a_deputy_may_answer_for_the_absent_assignee_only():
    deputy = Actor(1006, frozenset({"executor"}), frozenset({"Дороги"}),
                   acting_for=frozenset({1005}))
    assert decide(State.ASSIGNED, Action.SUBMIT, deputy, "ЖКХ", 1005) == State.ANSWER_READY
    with pytest.raises(Refused):
        decide(State.ASSIGNED, Action.SUBMIT, deputy, "ЖКХ", 1007)


# -- corrections in the role matrix ---------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "manager", "curator"])
def test_the_decrees_roles_may_fast_track(role):
    actor = Actor(1, frozenset({role}))
    assert adjust(State.ASSIGNED, Action.FAST_TRACK, actor, "ЖКХ", 5) == State.ASSIGNED


@pytest.mark.parametrize("role", ["executor", "block_lead", "head", "press", "admin"])
def test_other_roles_may_not_fast_track(role):
    actor = Actor(1, frozenset({role}), frozenset({"ЖКХ"}))
    with pytest.raises(Refused) as refused:
        adjust(State.NEW, Action.FAST_TRACK, actor, "ЖКХ", None)
    assert refused.value.reason == Refusal.NOT_SUPERVISOR


def test_a_block_lead_moves_messages_out_of_their_own_block_only():
    lead = Actor(1, frozenset({"block_lead"}), frozenset({"ЖКХ"}))
    assert adjust(State.NEW, Action.CHANGE_BLOCK, lead, "ЖКХ", None) == State.NEW
    with pytest.raises(Refused):
        adjust(State.NEW, Action.CHANGE_BLOCK, lead, "Образование", None)


@pytest.mark.parametrize("state", [State.APPROVED, State.PUBLISHED, State.CLOSED,
                                   State.REJECTED])
def test_no_correction_after_approval(state):
    with pytest.raises(Refused) as refused:
        adjust(state, Action.SET_DEADLINE, Actor(1, frozenset({"coordinator"})), "ЖКХ", 5)
    assert refused.value.reason == Refusal.STALE


# -- chosen deadlines -----------------------------------------------------------------


def test_the_choices_on_monday_morning():
    offered = deadline_choice.offered(MONDAY_9, CAL, min_hours=1, max_days=30)
    by_kind = {c.kind: c for c in offered}
    assert by_kind["today"].due == datetime(2026, 11, 23, 17, 30, tzinfo=TZ)
    assert by_kind["next_day"].due == datetime(2026, 11, 24, 17, 30, tzinfo=TZ)
    hours = [c for c in offered if c.kind == "hours"]
    assert [c.due for c in hours] == [datetime(2026, 11, 23, 11, 0, tzinfo=TZ),
                                      datetime(2026, 11, 23, 13, 0, tzinfo=TZ)]
    days = [c.day for c in offered if c.kind == "day"]
    assert days == [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27),
                    date(2026, 11, 30), date(2026, 12, 1)]  # working days only


def test_friday_evening_next_day_is_monday_and_today_is_gone():
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
    offered = deadline_choice.offered(friday, CAL, min_hours=1, max_days=30)
    assert "today" not in {c.kind for c in offered}
    assert deadline_choice.resolve(deadline_choice.NEXT_DAY, friday, CAL).due == datetime(
        2026, 11, 30, 17, 30, tzinfo=TZ)


def test_bounds_are_kept_and_forged_codes_mean_nothing():
    late = MONDAY_9.replace(hour=17)
    assert deadline_choice.resolve(deadline_choice.TODAY, late, CAL) is not None
    today = deadline_choice.resolve(deadline_choice.TODAY, late, CAL).due
    assert not deadline_choice.within(today, late, CAL, min_hours=1, max_days=30)  # 30 min
    far = deadline_choice.DAY + (MONDAY_9.date() + timedelta(days=60)).toordinal()
    choice = deadline_choice.resolve(far, MONDAY_9, CAL)
    assert choice is not None and not deadline_choice.within(choice.due, MONDAY_9, CAL, 1, 30)
    for forged in (0, 3, 99, 200, 999_999, deadline_choice.DAY + 10**9, -5):
        assert deadline_choice.resolve(forged, MONDAY_9, CAL) is None


# -- external numbers, and what a reload may change -----------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Сообщение № 4512873 на ПОС\nКатегория: Дороги\nяма", ("4512873", "Дороги")),
    ("Номер: 2026-11-000123. Рубрика: Благоустройство.", ("2026-11-000123", "Благоустройство")),
    ("Во дворе школы №2 сломаны качели", ("", "")),  # a school's number is no card number
    ("просто текст", ("", "")),
])
def test_an_external_number_and_category_from_the_forwarded_text(text, expected):
    from bot.domain import external
    assert external.parse(text) == expected


def test_a_reload_may_change_staff_but_not_what_is_read_at_start():
    from bot.sandbox import world
    from bot.services.reload import _diff, restart_only

    old = world.config("http://127.0.0.1:1", "x.sqlite3")
    raw = world.config_dict("http://127.0.0.1:1", "x.sqlite3")
    raw["staff"].append({"telegram_id": 2050, "name": "Новый", "roles": ["executor"],
                         "blocks": ["ЖКХ"]})
    raw["staff"][4]["blocks"] = ["ЖКХ", "Образование"]
    from bot.config import parse_config
    new = parse_config(raw, environ={})
    assert restart_only(old, new) == []
    assert _diff(old, new) == (["Новый"], [], ["Исполнитель ЖКХ"])
    raw["telegram"]["token"] = "123:other"
    raw["storage"]["path"] = "y.sqlite3"
    changed = restart_only(old, parse_config(raw, environ={}))
    assert [p.split(":")[0] for p in changed] == ["telegram", "storage"]
