"""Deadlines in the running process: reminders, escalation, first-reply alerts, /deadline.

The decrees judge the МЦУ by its deadlines (DESIGN.md, «Deadlines»), so the process
reminds the executor before the deadline (``config.sla.reminders``: by default half the
time gone, one hour left, the deadline itself), tells the coordinators and managers when
an incident is overdue (and marks its card), and alerts the coordinators when nobody has
taken or answered an incident within the first-reply time.

How the scan stays cheap and exact:

- ``deadline_queue`` (migration 0002) holds, for each incident that may still owe a
  notice, the earliest moment one can fall due. Triggers put an incident back at the
  front ('') whenever its state, assignee or deadlines change, whoever changed them, so
  the tick reads only the rows due now through an index, never every incident.
- What is owed is recomputed from the incident each time (``plan``, pure), so a
  reassignment or a new deadline simply yields new notice keys: the old ones are never
  sent. Each notice is recorded in ``notices`` in the same transaction as its outbox
  rows, so it goes out once, also across restarts and crashes.
- The executor's reminders count from the later of the assignment and the last time the
  deadline started again (a reopening: the citizen wrote again, or the coordinator's
  button), so after a reopening the 50 % point is half of the new clock, not a moment
  already long past that would fire at once.
- Office hours: unless the policy works every day, nothing is sent outside working time;
  a notice that falls due at night waits for the next working moment. Only the latest
  of the executor's reminders due at once is sent (after a night or a stop the executor
  gets one message, not three); the earlier ones are recorded as superseded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import SlaPolicy
from bot.domain import sla
from bot.domain.calendar import WorkCalendar
from bot.domain.incident import State
from bot.services import cards
from bot.services.hub import Hub
from storage import incidents as repo
from storage import notices
from storage.db import Conn, savepoint
from storage.incidents import iso
from storage.notices import Watch

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
BATCH = 200  # incidents per write transaction: keeps the writer lock short
GRACE = timedelta(seconds=60)  # a notice due at the end of the day may still go this late
RETRY_BROKEN = timedelta(hours=1)  # an incident whose notices failed: try again then
_EPS = timedelta(microseconds=1)  # overdue means strictly after the deadline

# The executor works on these; ``approved`` is done for them (publication is the bot's).
EXECUTOR_STATES = frozenset({State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                             State.REOPENED})
# Overdue and first-reply alerts: open work, the answer not yet approved.
ESCALATE_STATES = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                             State.REOPENED, State.ANSWER_READY})
ESCALATE_ROLES = ("coordinator", "manager", "curator")  # DESIGN.md: the curator oversees
FIRST_REPLY_ROLES = ("coordinator",)

REMIND = "remind:"
OVERDUE = "overdue"
OVERDUE_MARK = "overdue_mark"  # the card and overdue_at: not a message, never held
FIRST_REPLY = "first_reply"

@dataclass(frozen=True)
class Notice:
    """Something owed for an incident: ``(kind, due_key)`` is its identity in ``notices``.

    ``due_key`` names the deadline (and for reminders the assignment) it was computed
    for, so a new deadline or a new assignee gives new notices and the old never go.
    """

    kind: str
    due_key: str
    at: datetime  # when it falls due


@dataclass
class Plan:
    send: list[Notice] = field(default_factory=list)
    skip: list[Notice] = field(default_factory=list)  # superseded: recorded, not sent
    next_at: datetime | None = None  # look again then; None: nothing left to owe


def owed(w: Watch, policy: SlaPolicy, cal: WorkCalendar, points: list[str]) -> list[Notice]:
    """Every notice the incident owes in its current state, due or not yet."""
    notices: list[Notice] = []
    state = State(w.state)
    if w.due_at is not None and state in EXECUTOR_STATES and w.assignee_id is not None:
        start = w.work_started
        key = f"{iso(w.due_at)}|{w.assignee_id}|{iso(start)}"
        for point, moment in sla.reminder_times(policy, start, w.due_at, cal, points):
            notices.append(Notice(REMIND + point, key, moment))
    if w.due_at is not None and state in ESCALATE_STATES:
        key = iso(w.due_at)
        notices.append(Notice(OVERDUE_MARK, key, w.due_at + _EPS))
        notices.append(Notice(OVERDUE, key, w.due_at + _EPS))
    if (w.first_reply_due_at is not None and state in ESCALATE_STATES
            and w.first_reply_at is None and w.assignee_id is None):
        notices.append(Notice(FIRST_REPLY, iso(w.first_reply_due_at),
                              w.first_reply_due_at + _EPS))
    return notices


def may_send(now: datetime, due: datetime, policy: SlaPolicy, cal: WorkCalendar) -> bool:
    """Whether a notice due at ``due`` may go out ``now``: office hours, unless every day.

    A notice that falls due at the very end of a working interval (a deadline at 17:30)
    still goes within ``GRACE`` of it rather than the next morning.
    """
    if policy.every_day or cal.is_working_time(now):
        return True
    at_closing = cal.is_working_time(due - timedelta(seconds=1))
    return at_closing and now - due <= GRACE


def plan(w: Watch, policy: SlaPolicy, cal: WorkCalendar, points: list[str], now: datetime,
         handled: set[tuple[str, str]]) -> Plan:
    """What to send now, what is superseded, and when to look at the incident again."""
    pending = [n for n in owed(w, policy, cal, points) if (n.kind, n.due_key) not in handled]
    result = Plan()
    later = [n.at for n in pending if n.at > now]
    held = False
    reminders = sorted((n for n in pending if n.at <= now and n.kind.startswith(REMIND)),
                       key=lambda n: n.at)
    if reminders:
        latest = reminders[-1]
        if may_send(now, latest.at, policy, cal):
            result.send.append(latest)
            result.skip.extend(reminders[:-1])
        else:
            held = True
    for notice in pending:
        if notice.at > now or notice.kind.startswith(REMIND):
            continue
        if notice.kind == OVERDUE_MARK or may_send(now, notice.at, policy, cal):
            result.send.append(notice)
        else:
            held = True
    if held:
        later.append(cal.next_working_moment(now))
    if later:
        result.next_at = max(min(later), now + timedelta(seconds=1))
    return result


def _hours_minutes(left: timedelta) -> tuple[int, int]:
    minutes = max(0, math.ceil(left.total_seconds() / 60))
    return minutes // 60, minutes % 60


def card_link(chat_id: int | None, message_id: int | None) -> str:
    """A t.me link to the card, for staff (members of the supergroup) to open it."""
    if chat_id is None or message_id is None:
        return ""
    text = str(chat_id)
    if not text.startswith("-100"):
        return ""
    return f"https://t.me/c/{text[4:]}/{message_id}"


class Deadlines:
    """The scan job: ``tick()`` every second or so, on the domain clock."""

    def __init__(self, hub: Hub, batch: int = BATCH):
        self.hub = hub
        self.batch = batch

    def _policy(self, name: str) -> SlaPolicy:
        sla_config = self.hub.config.sla
        policy = sla_config.policies.get(name)
        if policy is None:  # the config dropped it: judge by the default
            policy = sla_config.policies[sla_config.default_policy]
        return policy

    async def tick(self) -> int:
        """Send what is due now; the number of notices recorded (sent or superseded)."""
        now = self.hub.clock.now()
        # the steady state: one indexed look on the reader, no write lock
        if not await notices.any_due(self.hub.db.reader, now):
            return 0
        total = 0
        while True:
            async with self.hub.db.tx() as conn:
                seen, recorded = await self._batch(conn, now)
            total += recorded
            if seen < self.batch:
                break
            await asyncio.sleep(0)  # let the others write between batches
        if total:
            self.hub.wake_outbox()
        return total

    async def _batch(self, conn: Conn, now: datetime) -> tuple[int, int]:
        """One transaction over up to ``batch`` due rows; a few statements, not a few a row."""
        watches = await notices.due(conn, now, self.batch)
        if not watches:
            return 0, 0
        handled = await notices.handled(conn, [w.id for w in watches])
        recorded = 0
        finished: list[int] = []
        later: list[tuple[int, datetime]] = []
        for w in watches:
            policy = self._policy(w.policy)
            todo = self._plan(w, policy, now, handled[w.id])
            if todo.send or todo.skip:
                # one incident's failure must neither lose its notices nor stop the others
                try:
                    async with savepoint(conn, "deadline_one"):
                        recorded += await self._carry_out(conn, w, todo, policy, now)
                except Exception:
                    log.exception("deadline notices of incident %s failed; retrying later",
                                  w.id)
                    todo = Plan(next_at=now + RETRY_BROKEN)
            if todo.next_at is None:
                finished.append(w.id)
            else:
                later.append((w.id, todo.next_at))
        await notices.reschedule(conn, finished, later)
        return len(watches), recorded

    def _plan(self, w: Watch, policy: SlaPolicy, now: datetime,
              handled: set[tuple[str, str]]) -> Plan:
        try:
            if State(w.state) not in ESCALATE_STATES:
                return Plan()  # approved, answered, closed, rejected: nothing is owed
            return plan(w, policy, self.hub.calendar, self.hub.config.sla.reminders, now,
                        handled)
        except Exception:  # e.g. a calendar without working time: say so, keep watching
            log.exception("deadlines of incident %s cannot be computed", w.id)
            return Plan(next_at=now + RETRY_BROKEN)

    async def _carry_out(self, conn: Conn, w: Watch, todo: Plan, policy: SlaPolicy,
                         now: datetime) -> int:
        recorded = 0
        for notice in todo.skip:
            recorded += await self._record(conn, w, notice, now)
        for notice in todo.send:
            if await self._record(conn, w, notice, now):
                recorded += 1
                await self._deliver(conn, w, notice, policy, now)
        return recorded

    async def _record(self, conn: Conn, w: Watch, notice: Notice, now: datetime) -> bool:
        """Mark the notice as done; False if it already was (it must not go again)."""
        return await notices.record(conn, w.id, notice.kind, notice.due_key, now)

    async def _deliver(self, conn: Conn, w: Watch, notice: Notice, policy: SlaPolicy,
                       now: datetime) -> None:
        hub = self.hub
        link = card_link(w.card_chat_id, w.card_message_id)
        due = hub.render.format_dt(w.due_at)
        base = f"deadline:{w.id}:{notice.kind}:{notice.due_key}"
        if notice.kind.startswith(REMIND):
            assert w.assignee_id is not None and w.due_at is not None
            if hub.config.staff_by_id(w.assignee_id) is None:
                log.warning("incident %s: assignee %s is not staff any more; no reminder",
                            w.id, w.assignee_id)
                return
            excerpt = _excerpt(w.text)
            left = sla.remaining(now, w.due_at, hub.calendar, policy)
            if notice.kind == REMIND + "0h" or left <= timedelta(0):
                text = hub.render.html("deadlines.j2:remind_due", id=w.id, block=w.block,
                                       due=due, excerpt=excerpt, link=link)
            else:
                text = hub.render.html(
                    "deadlines.j2:remind", id=w.id, block=w.block, due=due,
                    left=_left(hub, left),
                    working=sla.uses_working_time(policy), excerpt=excerpt, link=link)
            # purpose "prompt": a reply to the reminder is the executor's answer
            await hub.send(conn, w.assignee_id, text, key=f"{base}:{w.assignee_id}",
                           purpose="prompt", ref_id=w.id)
        elif notice.kind == OVERDUE_MARK:
            assert w.due_at is not None
            await repo.mark_overdue(conn, w.id, w.due_at)
            await repo.add_event(conn, w.id, w.due_at, "overdue", from_state=w.state,
                                 to_state=w.state)
            await cards.queue_sync(conn, hub.config, w.id, now, w.block)
        elif notice.kind == OVERDUE:
            text = hub.render.html(
                "deadlines.j2:overdue", id=w.id, block=w.block, due=due,
                assignee=hub.staff_name(w.assignee_id),
                state=hub.render.text(f"state_{w.state}"), link=link)
            for user_id in self._people(ESCALATE_ROLES):
                await hub.send(conn, user_id, text, key=f"{base}:{user_id}")
        elif notice.kind == FIRST_REPLY:
            text = hub.render.html(
                "deadlines.j2:first_reply", id=w.id, block=w.block,
                due=hub.render.format_dt(w.first_reply_due_at), link=link)
            for user_id in self._people(FIRST_REPLY_ROLES) or self._people(ESCALATE_ROLES):
                await hub.send(conn, user_id, text, key=f"{base}:{user_id}")

    def _people(self, roles: tuple[str, ...]) -> list[int]:
        """Staff holding any of the roles, each once."""
        return [m.telegram_id for m in self.hub.config.staff if set(m.roles) & set(roles)]


def _left(hub: Hub, left: timedelta) -> str:
    hours, minutes = _hours_minutes(left)
    return hub.render.text("deadlines.j2:hours_minutes", hours=hours, minutes=minutes)


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


# -- /deadline ---------------------------------------------------------------------------

_MOMENT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def policy_title(hub: Hub, name: str) -> str:
    """A policy's Russian name: its ``title`` in the config, else the built-in one."""
    policy = hub.config.sla.policies.get(name)
    return (policy.title if policy else "") or hub.render.text(
        "deadlines.j2:policy_title", key=name)


def policy_rule(hub: Hub, policy: SlaPolicy) -> str:
    """What a policy means, in words: «8 рабочих часов», «в тот же день до 18:00»."""
    return hub.render.text("deadlines.j2:policy_rule", kind=policy.kind, hours=policy.hours,
                           days=policy.days, by=policy.by)


def _find_policy(hub: Hub, words: list[str]) -> tuple[str | None, int]:
    """The policy named by the first words (its title or its key) and how many words."""
    names = list(hub.config.sla.policies)
    for count in range(len(words), 0, -1):
        said = " ".join(words[:count]).casefold().replace("ё", "е")
        for name in names:
            if said in (name.casefold(), policy_title(hub, name).casefold().replace("ё", "е")):
                return name, count
    return None, 0


def deadline_reply(hub: Hub, user_id: int, args: str | None) -> str:
    """The answer to ``/deadline [policy] [DD.MM.YYYY HH:MM]`` (Telegram HTML).

    Staff only: the policies and the calendar are internal. The policy is named as staff
    read it («срочный», or its config key); the moment is local time in the
    municipality's zone; without it, now.
    """
    render = hub.render
    if hub.config.staff_by_id(user_id) is None:
        return render.html("staff_only")
    sla_config = hub.config.sla
    listed = [{"title": policy_title(hub, name), "rule": policy_rule(hub, policy)}
              for name, policy in sla_config.policies.items()]
    example = policy_title(hub, sla_config.fast_track_policy)
    usage = render.html("deadlines.j2:deadline_usage", policies=listed,
                        default=policy_title(hub, sla_config.default_policy), example=example)
    words = (args or "").split()
    policy_name = sla_config.default_policy
    named = words[:next((i for i, w in enumerate(words) if _MOMENT.match(w)), len(words))]
    if named:
        found, count = _find_policy(hub, named)
        if found is None or count != len(named):
            said = " ".join(named)
            if len(said) > 40 or not re.fullmatch(r"[\w -]+", said):
                return usage
            return render.html("deadlines.j2:deadline_unknown_policy", name=said,
                               policies=listed) + "\n\n" + usage
        policy_name = found
        words = words[count:]
    tz = hub.config.municipality.tz
    if not words:
        start = hub.clock.now().astimezone(tz)
    else:
        start_or_none = _parse_moment(words, tz)
        if start_or_none is None:
            return usage
        start = start_or_none
    policy = sla_config.policies[policy_name]
    try:
        due = sla.deadline(policy, start, hub.calendar)
    except ValueError:
        return usage
    return render.html("deadlines.j2:deadline_answer", policy=policy_title(hub, policy_name),
                       rule=policy_rule(hub, policy), start=start.strftime("%d.%m.%Y %H:%M"),
                       due=due.astimezone(tz).strftime("%d.%m.%Y %H:%M"))


def _parse_moment(words: list[str], tz: ZoneInfo) -> datetime | None:
    """``DD.MM.YYYY HH:MM`` as local time; None when it is not that (or not a real date)."""
    if len(words) != 2:
        return None
    day, clock = _MOMENT.match(words[0]), _TIME.match(words[1])
    if day is None or clock is None:
        return None
    d, m, y = (int(g) for g in day.groups())
    hh, mm = (int(g) for g in clock.groups())
    if not 2000 <= y <= 2100:
        return None
    try:
        local = datetime(y, m, d, hh, mm)
    except ValueError:
        return None
    # resolve the wall time in the zone (through UTC, like the SLA module does)
    return local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


# -- the extension point -----------------------------------------------------------------


def install(app: App) -> None:
    """Add the scan job and the ``/deadline`` command to the process."""
    from handlers import deadlines as handler

    scanner = Deadlines(app.hub)
    app.jobs.add("deadlines", scanner.tick, TICK_SECONDS)
    app.routers.append(handler.build())
    app.dp_data["deadlines"] = scanner
