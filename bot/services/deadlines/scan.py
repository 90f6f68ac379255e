"""Deadlines in the running process: reminders, escalation, first-reply alerts, /deadline.

The decrees judge the МЦУ by its deadlines (DESIGN.md, «Deadlines»), so the process
reminds the executor before the deadline (``config.sla.reminders``: by default half the
time gone, one hour left, the deadline itself), marks an overdue incident's card (who
hears of it and when is the escalation ladder's: ``bot.services.gathered``), and queues
a gathered alert for the coordinators when nobody has replied to an incident (neither an
interim reply nor an answer, assigned or not) within the first-reply time.

How the scan stays cheap and exact:

- ``deadline_queue`` (migration 0002) holds, for each incident that may still owe a
  notice, the earliest moment one can fall due. Triggers put an incident back at the
  front ('') whenever its state, assignee or deadlines change, whoever changed them, so
  the tick reads only the rows due now through an index, never every incident.
- What is owed is recomputed from the incident each time (``owed``, pure), so a
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
from datetime import datetime, timedelta

from bot.config import SlaPolicy
from bot.domain import sla
from bot.domain.incident import State
from bot.services import gathered as gathered_kind
from bot.services.deadlines.owed import (
    ESCALATE_STATES,
    FIRST_REPLY,
    FIRST_REPLY_ROLES,
    OVERDUE_MARK,
    REMIND,
    Notice,
    Plan,
    plan,
)
from bot.services.hub import Hub
from storage import inbox as gathered
from storage import incidents as repo
from storage import notices
from storage.db import Conn, savepoint
from storage.notices import Watch

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
BATCH = 200  # incidents per write transaction: keeps the writer lock short
RETRY_BROKEN = timedelta(hours=1)  # an incident whose notices failed: try again then


def _hours_minutes(left: timedelta) -> tuple[int, int]:
    minutes = max(0, math.ceil(left.total_seconds() / 60))
    return minutes // 60, minutes % 60


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
        link = hub.workspace.card_link(w.card_chat_id, w.card_message_id)
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
            await hub.workspace.notify(conn, w.assignee_id, text, key=f"{base}:{w.assignee_id}",
                                       purpose="prompt", ref_id=w.id)
        elif notice.kind == OVERDUE_MARK:
            assert w.due_at is not None
            await repo.mark_overdue(conn, w.id, w.due_at)
            await repo.add_event(conn, w.id, w.due_at, "overdue", from_state=w.state,
                                 to_state=w.state)
            await hub.workspace.show_card(conn, w.id, now)
        elif notice.kind == FIRST_REPLY:
            # gathered: one «Без первого ответа: N» per coordinator (bot.services.gathered)
            people = self._people(FIRST_REPLY_ROLES) or self._people(("manager",))
            await gathered.gather(conn, [(user_id, gathered_kind.FIRST_REPLY, w.id,
                                          notice.due_key) for user_id in people], now)

    def _people(self, roles: tuple[str, ...]) -> list[int]:
        """Staff holding any of the roles, each once."""
        return [m.telegram_id for m in self.hub.config.staff if set(m.roles) & set(roles)]


def _left(hub: Hub, left: timedelta) -> str:
    hours, minutes = _hours_minutes(left)
    return hub.render.text("deadlines.j2:hours_minutes", hours=hours, minutes=minutes)


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
