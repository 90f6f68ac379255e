"""Reminders, escalation, first-reply alerts and /deadline, on a FakeClock and a real DB."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain import sla
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.render import Renderer
from bot.sandbox import world
from bot.services import cards
from bot.services.deadlines.command import deadline_reply
from bot.services.deadlines.scan import Deadlines
from bot.services.gathered import Gathering
from bot.services.hub import Hub
from storage import incidents as repo
from storage.db import Database, fetch_all, fetch_value
from storage.incidents import NewIncident

TZ = ZoneInfo("Europe/Saratov")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a plain working Monday
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
EXECUTOR, OTHER_EXECUTOR, COORDINATOR, MANAGER = 1005, 1006, 1004, 1003


def at(day: datetime, hhmm: str, seconds: int = 0) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes, second=seconds)


@dataclass
class World:
    hub: Hub
    clock: FakeClock
    db: Database
    scan: Deadlines
    path: Path
    gathering: Gathering
    n: int = 0

    async def tick_at(self, moment: datetime) -> int:
        """The deadline scan, then the gathered notices (the order of the process's jobs)."""
        self.clock.set(moment)
        recorded = await self.scan.tick()
        await self.gathering.tick()
        return recorded

    async def incident(self, received: datetime, *, policy: str = "answer",
                       assignee: int | None = None, assigned: datetime | None = None,
                       state: str | None = None, replied: bool = False) -> int:
        """An incident as ingest stores it (deadlines from the policy), maybe assigned."""
        self.n += 1
        config = self.hub.config
        policies = config.sla.policies
        due = sla.deadline(policies[policy], received, self.hub.calendar)
        first = sla.deadline(policies[config.sla.first_reply_policy], received,
                             self.hub.calendar)
        async with self.db.tx() as conn:
            incident_id = await repo.insert(conn, NewIncident(
                source="vk:100001", source_kind="vk_comment", source_key=f"k{self.n}",
                author_id="vk:500101", text="Нет отопления в доме 5", written_at=received,
                received_at=received, block="ЖКХ", priority="normal", policy=policy,
                due_at=due, first_reply_due_at=first))
            assert incident_id is not None
            if replied:  # an interim reply at once: no first-reply alert is owed
                await repo.update(conn, incident_id, first_reply_at=received)
            if assignee is not None:
                await repo.update(conn, incident_id, state=state or "assigned",
                                  assignee_id=assignee, assigned_at=assigned or received)
            elif state is not None:
                await repo.update(conn, incident_id, state=state)
        return incident_id

    async def assign(self, incident_id: int, user_id: int, moment: datetime,
                     state: str = "assigned") -> None:
        async with self.db.tx() as conn:
            await repo.update(conn, incident_id, state=state, assignee_id=user_id,
                              assigned_at=moment)

    async def set(self, incident_id: int, **changes: Any) -> None:
        async with self.db.tx() as conn:
            await repo.update(conn, incident_id, **changes)

    async def messages(self, chat_id: int | None = None) -> list[str]:
        """Texts queued to Telegram private chats (the staff group's cards excluded)."""
        rows = await fetch_all(self.db.reader,
                               "SELECT lane, params FROM outbox WHERE platform = 'tg'"
                               " ORDER BY id")
        found = []
        for row in rows:
            params = json.loads(row["params"])
            if params["chat_id"] > 0 and (chat_id is None or params["chat_id"] == chat_id):
                found.append(params["text"])
        return found

    async def count(self, chat_id: int, word: str) -> int:
        return sum(word.lower() in text.lower() for text in await self.messages(chat_id))


def _config(path: Path, **sla_overrides: Any):
    raw = world.config_dict("http://sandbox.invalid", str(path))
    if sla_overrides:
        raw["sla"] = sla_overrides
    return parse_config(raw, environ={})


_ROUTERS: list[Router] = []


def _router(config: Any) -> Router:
    """The keyword router loads dictionaries (slow) and deadlines never route: build once."""
    if not _ROUTERS:
        _ROUTERS.append(Router(config))
    return _ROUTERS[0]


async def _world(path: Path, start: datetime = MONDAY, **sla_overrides: Any) -> World:
    config = _config(path, **sla_overrides)
    clock = FakeClock(start)
    db = await Database(str(path)).open()
    hub = make_hub(config=config, clock=clock, db=db, render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=_router(config))
    return World(hub=hub, clock=clock, db=db, scan=Deadlines(hub), path=path,
                 gathering=Gathering(hub))


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    made = await _world(tmp_path / "db.sqlite3")
    try:
        yield made
    finally:
        await made.db.close()


# -- the executor's reminders -------------------------------------------------------------


async def test_reminders_at_the_configured_points_each_once(w: World):
    # 8 working hours from Monday 09:00: due 17:00; reminders 13:00, 16:00, 17:00
    await w.incident(MONDAY, assignee=EXECUTOR)
    for moment, expected in [("09:00", 0), ("12:59", 0), ("13:00", 1), ("13:00:30", 1),
                             ("15:59", 1), ("16:00", 2), ("16:30", 2), ("17:00", 3)]:
        parts = moment.split(":")
        hhmm, seconds = f"{parts[0]}:{parts[1]}", int(parts[2]) if len(parts) > 2 else 0
        await w.tick_at(at(MONDAY, hhmm, seconds))
        assert await w.count(EXECUTOR, "Напоминание") == expected, moment
    texts = await w.messages(EXECUTOR)
    assert "осталось 4 ч рабочего времени" in texts[0]
    assert "осталось 1 ч рабочего времени" in texts[1]
    assert "наступил" in texts[2]
    assert "Нет отопления" in texts[0]  # what it is about, at a glance
    # no escalation before the deadline has passed
    assert await w.count(COORDINATOR, "Просрочено") == 0


async def test_reminder_points_come_from_the_config(tmp_path: Path):
    made = await _world(tmp_path / "db.sqlite3", reminders=["25%", "2h"])
    try:
        await made.incident(MONDAY, assignee=EXECUTOR)  # 09:00 -> 17:00
        for hhmm, expected in (("10:59", 0), ("11:00", 1), ("14:59", 1), ("15:00", 2),
                               ("17:00", 2)):
            await made.tick_at(at(MONDAY, hhmm))
            assert await made.count(EXECUTOR, "Напоминание") == expected, hhmm
    finally:
        await made.db.close()


async def test_a_reply_to_a_reminder_is_read_as_the_answer(w: World):
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "13:00"))
    rows = await fetch_all(w.db.reader, "SELECT purpose, ref_id FROM outbox"
                           " WHERE key LIKE 'deadline:%'")
    assert [(r["purpose"], r["ref_id"]) for r in rows] == [("prompt", incident_id)]


async def test_overdue_climbs_the_ladder_each_person_told_once_and_marks_card(w: World):
    # the default ladder: the coordinator at once, the manager 2 and the curator 8 working
    # hours past the deadline (Monday 17:00 → Tuesday 10:00 and Tuesday 16:00)
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR, state="in_progress")
    await w.set(incident_id, first_reply_at=MONDAY)  # replied in time: overdue is the point
    await w.tick_at(at(MONDAY, "17:00"))  # on time still: the deadline itself
    assert await w.messages(COORDINATOR) == []
    await w.tick_at(at(MONDAY, "17:00", 1))
    for _ in range(3):
        await w.tick_at(at(MONDAY, "17:10"))
    tuesday = MONDAY + timedelta(days=1)
    await w.tick_at(at(tuesday, "09:59"))
    told = {p: await w.count(p, "Просрочено") for p in (COORDINATOR, MANAGER, 1002)}
    assert told == {COORDINATOR: 1, MANAGER: 0, 1002: 0}
    await w.tick_at(at(tuesday, "10:00", 1))
    await w.tick_at(at(tuesday, "15:59"))
    told = {p: await w.count(p, "Просрочено") for p in (COORDINATOR, MANAGER, 1002)}
    assert told == {COORDINATOR: 1, MANAGER: 1, 1002: 0}
    await w.tick_at(at(tuesday, "16:00", 1))
    await w.tick_at(at(tuesday, "17:00"))
    for person in (COORDINATOR, MANAGER, 1002):  # 1002: the curator
        texts = await w.messages(person)
        assert len(texts) == 1 and "Просрочено: 1" in texts[0], person
        assert "Исполнитель ЖКХ" in texts[0]
    for person in (1001, 1006, 1007):  # head, others: not them
        assert await w.messages(person) == []
    assert await w.count(EXECUTOR, "Просрочено") == 0

    incident = await repo.get(w.db.reader, incident_id)
    assert incident is not None and incident.overdue_at == MONDAY.replace(hour=17)
    events = [e.action for e in await repo.events(w.db.reader, incident_id)]
    assert events.count("overdue") == 1
    card = await fetch_value(w.db.reader, "SELECT count(*) FROM outbox WHERE key = ?",
                             (f"card:{incident_id}",))
    assert card == 1
    text = cards.card_text(w.hub.config, w.hub.render, incident,
                           await repo.events(w.db.reader, incident_id), w.clock.now())
    assert "ПРОСРОЧЕНО" in text and "срок ответа истёк" in text


async def test_fifty_overdue_are_one_message_per_person_an_hour(w: World):
    ids = [await w.incident(MONDAY, assignee=EXECUTOR, state="in_progress")
           for _ in range(50)]
    await w.tick_at(at(MONDAY, "17:05"))
    texts = await w.messages(COORDINATOR)
    overdue = [t for t in texts if "Просрочено" in t]
    assert len(overdue) == 1 and "Просрочено: 50" in overdue[0]
    # a new one an hour's interval later, the first fifty not again
    later = await w.incident(at(MONDAY, "09:20"), assignee=EXECUTOR)  # due 17:20
    await w.tick_at(at(MONDAY, "17:25"))  # within the hour: waits
    assert await w.count(COORDINATOR, "Просрочено") == 1
    tuesday = MONDAY + timedelta(days=1)
    await w.tick_at(at(tuesday, "08:30"))  # an hour of the clock has passed
    overdue = [t for t in await w.messages(COORDINATOR) if "Просрочено" in t]
    assert len(overdue) == 2 and "Просрочено: 1" in overdue[1] and f"№{later}" in overdue[1]
    assert f"№{ids[0]} " not in overdue[1]
    assert await w.count(MANAGER, "Просрочено") == 0  # not yet two working hours late


async def test_someone_with_both_roles_is_told_once(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    raw = world.config_dict("http://sandbox.invalid", str(path))
    for member in raw["staff"]:
        if member["telegram_id"] == MANAGER:
            member["roles"] = ["manager", "coordinator"]
    made = await _world(path)
    made.hub.config = parse_config(raw, environ={})
    try:
        await made.incident(MONDAY, assignee=EXECUTOR)
        await made.tick_at(at(MONDAY, "17:05"))
        assert await made.count(MANAGER, "Просрочено") == 1
        assert await made.count(COORDINATOR, "Просрочено") == 1
    finally:
        await made.db.close()


async def test_nothing_twice_across_a_restart(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    first = await _world(path)
    await first.incident(MONDAY, assignee=EXECUTOR)
    await first.tick_at(at(MONDAY, "13:00"))
    await first.tick_at(at(MONDAY, "17:05"))
    before = await first.messages()
    await first.db.close()

    second = await _world(path, start=at(MONDAY, "17:06"))
    try:
        for moment in ("17:06", "17:20", "17:29"):
            assert await second.tick_at(at(MONDAY, moment)) == 0
        assert await second.messages() == before
    finally:
        await second.db.close()


async def test_a_jump_sends_only_the_latest_reminder(w: World):
    await w.incident(MONDAY, assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "16:10"))  # 13:00 and 16:00 both passed
    texts = await w.messages(EXECUTOR)
    assert len(texts) == 1 and "осталось 50 мин" in texts[0]
    kinds = {r[0] for r in await fetch_all(w.db.reader, "SELECT kind FROM notices")}
    # the 50% one superseded, not pending
    assert kinds == {"remind:50%", "remind:1h", "first_reply"}
    await w.tick_at(at(MONDAY, "16:20"))
    assert len(await w.messages(EXECUTOR)) == 1


# -- office hours -------------------------------------------------------------------------


async def test_notices_due_at_night_wait_for_the_next_working_morning(w: World):
    # Monday 17:00 + 8 working hours: due Tuesday 16:00 (reminders 12:00, 15:00, 16:00)
    incident_id = await w.incident(at(MONDAY, "17:00"), assignee=EXECUTOR)
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    await w.tick_at(at(tuesday, "20:00"))  # the bot was away all Tuesday
    assert await w.messages() == []
    # the card is marked at once (an edit notifies nobody), the people are told later
    incident = await repo.get(w.db.reader, incident_id)
    assert incident is not None and incident.overdue_at is not None
    next_at = await fetch_value(w.db.reader, "SELECT next_at FROM deadline_queue")
    assert next_at == repo.iso(at(wednesday, "08:30"))
    await w.tick_at(at(wednesday, "03:00"))
    await w.tick_at(at(wednesday, "08:29", 59))
    assert await w.messages() == []
    await w.tick_at(at(wednesday, "08:30"))
    assert await w.count(EXECUTOR, "Напоминание") == 1  # the latest only: «наступил»
    assert "наступил" in (await w.messages(EXECUTOR))[0]
    assert await w.count(COORDINATOR, "Просрочено") == 1
    assert await w.count(MANAGER, "Просрочено") == 0  # 2 working hours late at 09:00
    await w.tick_at(at(wednesday, "09:00", 1))
    assert await w.count(MANAGER, "Просрочено") == 1


async def test_a_deadline_at_closing_time_is_told_at_closing_time(w: World):
    # Monday 09:30 + 8 h = 17:30, the end of the day: told then, not at 08:30 Tuesday
    await w.incident(at(MONDAY, "09:30"), assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "17:30"))
    assert "наступил" in (await w.messages(EXECUTOR))[-1]
    await w.tick_at(at(MONDAY, "17:30", 2))
    assert await w.count(COORDINATOR, "Просрочено") == 1


async def test_closing_time_grace_is_short(w: World):
    await w.incident(at(MONDAY, "09:30"), assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "16:31"))  # the 1h reminder
    await w.tick_at(at(MONDAY, "17:45"))  # the tick came late: evening now
    assert await w.count(COORDINATOR, "Просрочено") == 0
    assert await w.count(EXECUTOR, "Напоминание") == 1
    await w.tick_at(at(MONDAY + timedelta(days=1), "08:30"))
    assert await w.count(COORDINATOR, "Просрочено") == 1
    assert await w.count(EXECUTOR, "Напоминание") == 2


async def test_an_every_day_policy_reminds_at_the_weekend(w: World):
    # governor: every day, by 18:00; Saturday 10:00 -> due Saturday 18:00 (real time)
    await w.incident(SATURDAY, policy="governor", assignee=EXECUTOR)
    await w.tick_at(at(SATURDAY, "14:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 1
    texts = await w.messages(EXECUTOR)
    assert "осталось 4 ч." in texts[0]  # real time: no «рабочего времени»
    await w.tick_at(at(SATURDAY, "17:00"))
    await w.tick_at(at(SATURDAY, "18:00", 1))
    assert await w.count(EXECUTOR, "Напоминание") == 3
    assert await w.count(COORDINATOR, "Просрочено") == 1


async def test_an_office_hours_policy_stays_silent_at_the_weekend(w: World):
    friday = MONDAY + timedelta(days=4)
    await w.incident(at(friday, "13:30"), assignee=EXECUTOR)  # due Monday 12:30
    for day, hhmm in ((friday, "17:30"), (SATURDAY, "12:00"), (SATURDAY, "23:59")):
        await w.tick_at(at(day, hhmm))
    assert await w.count(EXECUTOR, "Напоминание") == 1  # 50%: Friday 17:30 sharp
    await w.tick_at(at(SATURDAY + timedelta(days=1), "12:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 1
    await w.tick_at(at(MONDAY + timedelta(days=7), "11:30"))
    assert await w.count(EXECUTOR, "Напоминание") == 2


# -- reassignment, states -----------------------------------------------------------------


async def test_reassignment_restarts_the_reminders_for_the_new_executor(w: World):
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "13:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 1
    await w.assign(incident_id, OTHER_EXECUTOR, at(MONDAY, "13:30"))
    # from 13:30 to 17:00: 50% at 15:15, 1 h left at 16:00, the deadline at 17:00
    await w.tick_at(at(MONDAY, "15:14"))
    assert await w.count(OTHER_EXECUTOR, "Напоминание") == 0
    await w.tick_at(at(MONDAY, "15:15"))
    await w.tick_at(at(MONDAY, "16:00"))
    await w.tick_at(at(MONDAY, "17:00"))
    assert await w.count(OTHER_EXECUTOR, "Напоминание") == 3
    assert await w.count(EXECUTOR, "Напоминание") == 1  # the former executor: no more


async def _reopen(w: World, incident_id: int, moment: datetime, action: str) -> None:
    """What a reopening does (the citizen writes again, or the coordinator's button):
    the state goes back to work and the deadlines start again from that moment."""
    incident = await repo.get(w.db.reader, incident_id)
    assert incident is not None
    w.clock.set(moment)
    async with w.db.tx() as conn:
        await repo.update(conn, incident_id, state="reopened", reopens=incident.reopens + 1,
                          **w.hub.deadlines(incident.policy, moment))
        await repo.add_event(conn, incident_id, moment, action, from_state=incident.state,
                             to_state="reopened")


@pytest.mark.parametrize("action", ["citizen_reply", "reopen"])
async def test_a_reopening_restarts_the_reminders_from_the_reopening(w: World, action: str):
    # assigned Monday 09:00, answered and published in time; no reminder was needed
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "10:00"))
    await w.set(incident_id, state="published", published_at=at(MONDAY, "10:00"))
    await w.tick_at(at(MONDAY, "12:00"))
    # Tuesday 09:00 the incident reopens: a new 8-hour clock, due Tuesday 17:00
    tuesday = MONDAY + timedelta(days=1)
    await _reopen(w, incident_id, tuesday, action)
    await w.tick_at(tuesday)
    await w.tick_at(at(tuesday, "12:59"))
    # the 50 % point of the new clock is 13:00, not at once (half of Monday 09:00 → Tue 17:00)
    assert await w.count(EXECUTOR, "Напоминание") == 0
    await w.tick_at(at(tuesday, "13:00"))
    texts = await w.messages(EXECUTOR)
    assert len(texts) == 1 and "осталось 4 ч рабочего времени" in texts[0]
    await w.tick_at(at(tuesday, "16:00"))
    await w.tick_at(at(tuesday, "17:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 3


async def test_a_reopening_answered_at_once_sends_no_reminder(w: World):
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.set(incident_id, state="published", published_at=at(MONDAY, "10:00"))
    tuesday = MONDAY + timedelta(days=1)
    await _reopen(w, incident_id, tuesday, "citizen_reply")
    for minute in range(0, 30, 5):  # the executor answers within half an hour
        await w.tick_at(tuesday + timedelta(minutes=minute))
    await w.set(incident_id, state="published", published_at=tuesday + timedelta(minutes=30))
    await w.tick_at(at(tuesday, "17:30"))
    assert await w.messages(EXECUTOR) == []


async def test_answer_ready_does_not_remind_but_still_escalates(w: World):
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.set(incident_id, state="answer_ready")
    await w.tick_at(at(MONDAY, "13:00"))
    await w.tick_at(at(MONDAY, "17:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 0
    await w.tick_at(at(MONDAY, "17:01"))
    assert await w.count(COORDINATOR, "Просрочено") == 1
    assert await w.count(MANAGER, "Просрочено") == 0  # the ladder: two working hours later
    await w.tick_at(at(MONDAY + timedelta(days=1), "10:00", 1))
    assert await w.count(MANAGER, "Просрочено") == 1


async def test_approved_and_closed_owe_nothing_and_leave_the_queue(w: World):
    approved = await w.incident(MONDAY, assignee=EXECUTOR)
    closed = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.set(approved, state="approved")
    await w.set(closed, state="closed")
    await w.tick_at(at(MONDAY, "17:05"))
    assert await w.messages() == []
    assert await fetch_value(w.db.reader, "SELECT count(*) FROM deadline_queue") == 0
    # back to work (publication failed): watched again
    await w.set(approved, state="answer_ready")
    await w.tick_at(at(MONDAY, "17:06"))
    assert await w.count(COORDINATOR, "Просрочено") == 1


async def test_the_answer_in_time_stops_everything(w: World):
    incident_id = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.tick_at(at(MONDAY, "13:00"))
    await w.set(incident_id, state="published")
    await w.tick_at(at(MONDAY, "17:30"))
    assert len(await w.messages(EXECUTOR)) == 1
    assert await w.count(COORDINATOR, "Просрочено") == 0
    assert await fetch_value(w.db.reader, "SELECT count(*) FROM deadline_queue") == 0


# -- the first reply ---------------------------------------------------------------------


async def test_no_first_reply_and_no_assignee_alerts_the_coordinator_once(w: World):
    await w.incident(MONDAY)  # first reply due 10:00
    await w.tick_at(at(MONDAY, "10:00"))
    assert await w.messages() == []
    await w.tick_at(at(MONDAY, "10:00", 1))
    await w.tick_at(at(MONDAY, "10:30"))
    texts = await w.messages(COORDINATOR)
    assert len(texts) == 1 and "Без первого ответа: 1" in texts[0]
    assert await w.messages(MANAGER) == []


async def test_an_interim_reply_or_an_answer_in_time_means_no_alert(w: World):
    replied = await w.incident(MONDAY)
    answered = await w.incident(MONDAY, assignee=EXECUTOR, state="answer_ready")
    await w.set(replied, first_reply_at=at(MONDAY, "09:40"))
    await w.tick_at(at(MONDAY, "10:30"))
    assert await w.count(COORDINATOR, "первого ответа") == 0
    assert await w.count(COORDINATOR, "ждёт согласования") == 1  # the answer, for approval
    assert answered


async def test_an_assignment_alone_is_no_first_reply(w: World):
    # assigned at 09:20, but neither an interim reply nor an answer by 10:00: alerted
    assigned = await w.incident(MONDAY)
    await w.assign(assigned, EXECUTOR, at(MONDAY, "09:20"))
    await w.tick_at(at(MONDAY, "10:00", 1))
    texts = await w.messages(COORDINATOR)
    assert len(texts) == 1 and "Без первого ответа: 1" in texts[0]
    assert "Исполнитель ЖКХ" in texts[0]


async def test_first_reply_alert_seen_at_night_waits_for_the_morning(w: World):
    await w.incident(at(MONDAY, "16:00"))  # first reply due 17:00
    await w.tick_at(at(MONDAY, "23:00"))  # the process was stopped until late
    assert await w.messages() == []
    await w.tick_at(at(MONDAY + timedelta(days=1), "08:29"))
    assert await w.messages() == []
    await w.tick_at(at(MONDAY + timedelta(days=1), "08:30"))
    assert await w.count(COORDINATOR, "без первого ответа") == 1


# -- the scan's cost ----------------------------------------------------------------------


async def test_the_scan_reads_the_queue_through_its_index(w: World):
    if w.db.dialect == "postgresql":  # its planner weighs statistics: may it use the index?
        conn = w.db.reader.raw  # type: ignore[attr-defined]
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = await conn.fetch(
                "EXPLAIN SELECT i.id FROM deadline_queue q JOIN incidents i"
                " ON i.id = q.incident_id WHERE q.next_at <= $1 ORDER BY q.next_at LIMIT 200",
                "2026-11-23T10:00:00+00:00")
        assert "deadline_queue_next" in " ".join(row[0] for row in plan)
        return
    plan = await fetch_all(
        w.db.reader,
        "EXPLAIN QUERY PLAN SELECT i.id FROM deadline_queue q JOIN incidents i"
        " ON i.id = q.incident_id WHERE q.next_at <= ? ORDER BY q.next_at LIMIT 200",
        ("2026-11-23T10:00:00+00:00",))
    details = " ".join(row["detail"] for row in plan)
    assert "deadline_queue_next" in details and "SCAN" not in details.replace(
        "SCAN q USING INDEX", "").replace("SCAN q USING COVERING INDEX", "")


async def test_idle_incidents_are_not_looked_at_until_their_next_point(w: World):
    await w.incident(MONDAY, assignee=EXECUTOR, replied=True)
    await w.tick_at(at(MONDAY, "09:05"))
    next_at = await fetch_value(w.db.reader, "SELECT next_at FROM deadline_queue")
    assert next_at == repo.iso(at(MONDAY, "13:00"))
    assert await w.scan.tick() == 0


async def test_many_due_at_once_go_in_batches(tmp_path: Path):
    made = await _world(tmp_path / "db.sqlite3")
    made.scan.batch = 7
    try:
        for _ in range(30):
            await made.incident(MONDAY, assignee=EXECUTOR, replied=True)
        assert await made.tick_at(at(MONDAY, "13:00")) == 30
        assert await made.count(EXECUTOR, "Напоминание") == 30
    finally:
        await made.db.close()


async def test_one_broken_incident_neither_loses_its_notices_nor_blocks_others(
        w: World, monkeypatch: pytest.MonkeyPatch):
    broken = await w.incident(MONDAY, assignee=EXECUTOR)
    await w.incident(MONDAY, assignee=OTHER_EXECUTOR)
    deliver = Deadlines._deliver

    async def failing(self, conn, watch, notice, policy, now):
        if watch.id == broken:
            raise RuntimeError("boom")
        await deliver(self, conn, watch, notice, policy, now)

    monkeypatch.setattr(Deadlines, "_deliver", failing)
    await w.tick_at(at(MONDAY, "13:00"))
    assert await w.count(OTHER_EXECUTOR, "Напоминание") == 1
    assert await w.count(EXECUTOR, "Напоминание") == 0
    kinds = await fetch_all(w.db.reader, "SELECT kind FROM notices WHERE incident_id = ?",
                            (broken,))
    assert kinds == []  # rolled back: still owed
    monkeypatch.setattr(Deadlines, "_deliver", deliver)
    await w.tick_at(at(MONDAY, "13:30"))
    assert await w.count(EXECUTOR, "Напоминание") == 0  # not retried every second
    await w.tick_at(at(MONDAY, "14:00"))
    assert await w.count(EXECUTOR, "Напоминание") == 1


# -- /deadline ---------------------------------------------------------------------------


def test_deadline_command_for_a_policy_and_a_moment(w: World):
    reply = deadline_reply(w.hub, COORDINATOR, "fast_track 06.03.2026 17:00")
    assert reply == ("Срок по регламенту «срочный» (4 рабочих часа) для сообщения, поступившего"
                     " 06.03.2026 17:00: <b>10.03.2026 12:00</b> по местному времени.")
    # the Russian name is what staff see, and they may type it too
    assert deadline_reply(w.hub, COORDINATOR, "Срочный 06.03.2026 17:00") == reply
    first = deadline_reply(w.hub, COORDINATOR, "первый ответ 06.03.2026 17:00")
    assert first.startswith("Срок по регламенту «первый ответ» (1 рабочий час)")


def test_deadline_command_defaults_to_now_and_the_default_policy(w: World):
    reply = deadline_reply(w.hub, EXECUTOR, "")
    assert "«обычный» (8 рабочих часов)" in reply
    assert "23.11.2026 09:00: <b>23.11.2026 17:00</b>" in reply
    reply = deadline_reply(w.hub, EXECUTOR, "23.11.2026 17:00")
    assert "«обычный»" in reply and "<b>24.11.2026 16:00</b>" in reply
    assert "«губернатор» (в тот же день до 18:00)" in deadline_reply(w.hub, EXECUTOR,
                                                                      "GOVERNOR")
    assert "(14 календарных дней)" in deadline_reply(w.hub, EXECUTOR, "портал")


def test_deadline_command_agrees_with_the_sla_module(w: World):
    policies = w.hub.config.sla.policies
    for name in policies:
        for start in (MONDAY, at(SATURDAY, "23:15"), datetime(2026, 12, 30, 16, 45, tzinfo=TZ)):
            due = sla.deadline(policies[name], start, w.hub.calendar)
            reply = deadline_reply(w.hub, COORDINATOR, f"{name} {start:%d.%m.%Y %H:%M}")
            assert f"<b>{due.astimezone(TZ):%d.%m.%Y %H:%M}</b>" in reply


@pytest.mark.parametrize("args", ["завтра", "answer 32.01.2026 10:00", "answer 06.03.2026",
                                  "06.03.2026 25:00", "answer 06.03.2026 10:00 лишнее",
                                  "answer 06.03.1800 10:00", "<b>", "x" * 200])
def test_deadline_command_with_junk_shows_the_usage(w: World, args: str):
    reply = deadline_reply(w.hub, COORDINATOR, args)
    assert "/deadline [регламент]" in reply
    assert "Срок по регламенту" not in reply


def test_deadline_command_names_an_unknown_policy(w: World):
    reply = deadline_reply(w.hub, COORDINATOR, "urgent 06.03.2026 10:00")
    assert "Нет регламента «urgent»" in reply and "«срочный» — 4 рабочих часа" in reply
    assert "fast_track" not in reply and "Europe" not in reply  # no raw keys or zone ids


def test_a_policy_title_from_the_config_is_shown_and_understood(tmp_path: Path):
    policies = {"answer": {"kind": "working_hours", "hours": 8},
                "first_reply": {"kind": "working_hours", "hours": 1},
                "fast_track": {"kind": "working_hours", "hours": 4},
                "school": {"kind": "calendar_days", "days": 3, "title": "школьный"}}
    config = _config(tmp_path / "db.sqlite3", policies=policies)
    hub = make_hub(config=config, clock=FakeClock(MONDAY), db=None,  # type: ignore[arg-type]
              render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=_router(config))
    reply = deadline_reply(hub, COORDINATOR, "школьный 23.11.2026 10:00")
    assert reply.startswith("Срок по регламенту «школьный» (3 календарных дня)")


def test_deadline_command_is_for_staff_only(w: World):
    assert deadline_reply(w.hub, 2001, "answer") == w.hub.render.html("staff_only")
