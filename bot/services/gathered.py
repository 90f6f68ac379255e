"""Notices gathered per person: «Просрочено: N» along the escalation ladder, «3 ответа ждут
согласования», «Без первого ответа: N», «Обещано на сегодня: N».

Fifty overdue messages used to be 150 private messages (each to the coordinator, the
manager and the curator at once). Now each item is queued for the people the ladder
(``sla.escalation``, ``bot.domain.escalation``) says have reached it, once per person and
deadline, and each person gets one message listing what waits, at most once per interval
of its kind, in working time. An item resolved before its message goes is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from bot.domain import escalation
from bot.domain.escalation import Item, Rung
from bot.domain.inbox import OWED, PROMISE_STATES
from bot.domain.incident import State
from bot.services.hub import Hub
from storage import cursors, incidents, notices
from storage import inbox as repo
from storage.db import Conn
from storage.incidents import Incident, iso, parse_time

TICK_SECONDS = 5.0
OVERDUE, APPROVAL, FIRST_REPLY, PROMISE = "overdue", "approval", "first_reply", "promise"
KINDS = (OVERDUE, APPROVAL, FIRST_REPLY, PROMISE)
PROMISE_MISSED = "promise_missed"  # a notice and an event: the card marked once
FIRST_REPLY_STATES = frozenset({State.NEW, State.ASSIGNED, State.IN_PROGRESS,
                                State.REOPENED})
GRACE = timedelta(seconds=60)  # a notice due at closing time still goes this late
SHOWN = 20  # items listed (and buttons) in one message; the count says how many in all
STATES = sorted(s.value for s in PROMISE_STATES)


def answer_round(i: Incident) -> str:
    """Which answer is waiting: a new one after each return or publication."""
    return f"{i.returns}:{i.publications}"


def still_owed(kind: str, key: str, i: Incident | None, today: date) -> bool:
    """Whether a gathered item still stands (else it is dropped unsent)."""
    if i is None:
        return False
    state = State(i.state)
    if kind == OVERDUE:
        return state in OWED and i.due_at is not None and iso(i.due_at) == key
    if kind == APPROVAL:
        return state == State.ANSWER_READY and answer_round(i) == key
    if kind == FIRST_REPLY:
        return (state in FIRST_REPLY_STATES and i.first_reply_at is None
                and i.first_reply_due_at is not None and iso(i.first_reply_due_at) == key)
    if kind == PROMISE:
        return state in PROMISE_STATES and i.promised_on == key == today.isoformat()
    return False


class Gathering:
    """The job: queue what is due for whom, then send what may go now."""

    def __init__(self, hub: Hub):
        self.hub = hub

    @property
    def ladder(self) -> list[Rung]:
        return [Rung(r.role, timedelta(hours=r.after_hours))
                for r in self.hub.config.sla.escalation.ladder]

    @property
    def every(self) -> dict[str, timedelta]:
        e = self.hub.config.sla.escalation
        return {OVERDUE: timedelta(minutes=e.every_minutes),
                APPROVAL: timedelta(minutes=e.approvals_every_minutes),
                FIRST_REPLY: timedelta(minutes=e.approvals_every_minutes),
                PROMISE: timedelta(days=1)}

    def every_day(self, policy: str) -> bool:
        found = self.hub.config.sla.policies.get(policy)
        return found is not None and found.every_day

    def people(self, *roles: str) -> list[int]:
        return [m.telegram_id for m in self.hub.config.staff if set(m.roles) & set(roles)]

    def coordinators(self) -> list[int]:
        """Who approves and watches first replies: the coordinators, else the managers."""
        return self.people("coordinator") or self.people("manager")

    async def tick(self) -> int:
        """Queue and send; the number of gathered messages queued."""
        now = self.hub.clock.now()
        open_work = await repo.open_work(self.hub.db.reader, STATES)
        items = list(self.due_items(open_work, now))
        async with self.hub.db.tx() as conn:
            if items:
                await repo.gather(conn, [(i.user_id, i.kind, i.incident_id, i.key)
                                         for i in items], now)
            await self.mark_missed(conn, open_work, now)
            sent = await self.send(conn, now, {i.id: i for i in open_work})
        if sent:
            self.hub.wake_outbox()
        return sent

    def due_items(self, open_work: Iterable[Incident], now: datetime) -> Iterable[Item]:
        """What each person should hear of now (queued once; repeats are ignored)."""
        cal = self.hub.calendar
        ladder = self.ladder
        today = now.astimezone(cal.tz).date().isoformat()
        for i in open_work:
            state = State(i.state)
            if state in OWED and i.due_at is not None and i.due_at < now:
                for role in escalation.reached(i.due_at, now, ladder, cal,
                                               self.every_day(i.policy)):
                    for user_id in self.people(role):
                        yield Item(user_id, OVERDUE, i.id, iso(i.due_at))
            if state == State.ANSWER_READY:
                for user_id in self.coordinators():
                    yield Item(user_id, APPROVAL, i.id, answer_round(i))
            if (i.promised_on == today and state in PROMISE_STATES
                    and i.assignee_id is not None):
                yield Item(i.assignee_id, PROMISE, i.id, today)

    async def mark_missed(self, conn: Conn, open_work: Iterable[Incident],
                          now: datetime) -> None:
        """A promised date has passed with the work open: the card says so, once."""
        today = now.astimezone(self.hub.calendar.tz).date()
        for i in open_work:
            if not i.promised_on or State(i.state) not in PROMISE_STATES:
                continue
            if date.fromisoformat(i.promised_on) >= today:
                continue
            if await notices.record(conn, i.id, PROMISE_MISSED, i.promised_on, now):
                await incidents.add_event(conn, i.id, now, PROMISE_MISSED, detail=i.promised_on)
                await self.hub.workspace.show_card(conn, i.id, now)

    async def first_reply_missed(self, conn: Conn, incident_id: int, key: str) -> None:
        """The deadline scan's word: nobody replied in time; told to the coordinators."""
        await repo.gather(conn, [(user_id, FIRST_REPLY, incident_id, key)
                                 for user_id in self.coordinators()], self.hub.clock.now())

    async def send(self, conn: Conn, now: datetime, by_id: dict[int, Incident]) -> int:
        waiting = await repo.waiting(conn)
        if not waiting:
            return 0
        today = now.astimezone(self.hub.calendar.tz).date()
        dropped = [g for g in waiting if not still_owed(g.kind, g.due_key,
                                                        by_id.get(g.incident_id), today)]
        if dropped:
            await repo.mark_sent(conn, dropped, now)
        # the office reads them in working time; a policy that works every day, at once
        office = escalation.may_send(now, self.hub.calendar, GRACE)
        standing = {(g.user_id, g.kind, g.incident_id, g.due_key): g for g in waiting
                    if g not in dropped
                    and (office or self.every_day(by_id[g.incident_id].policy))}
        last = {}
        for user_id, kind in {(g.user_id, g.kind) for g in standing.values()}:
            at = parse_time(await cursors.get(conn, f"gathered:{user_id}:{kind}"))
            if at is not None:
                last[(user_id, kind)] = at
        batches = escalation.batches(
            [Item(g.user_id, g.kind, g.incident_id, g.due_key) for g in standing.values()],
            last, now, self.every)
        for (user_id, kind), items in batches.items():
            await self._send_one(conn, user_id, kind, [by_id[i.incident_id] for i in items],
                                 now)
            await repo.mark_sent(conn, [standing[(i.user_id, i.kind, i.incident_id, i.key)]
                                        for i in items], now)
            await cursors.put(conn, f"gathered:{user_id}:{kind}", iso(now))
        return len(batches)

    async def _send_one(self, conn: Conn, user_id: int, kind: str, items: list[Incident],
                        now: datetime) -> None:
        hub = self.hub
        if kind == OVERDUE:
            items.sort(key=lambda i: i.due_at or now)
        rows = [{"id": i.id, "block": i.block, "assignee": hub.staff_name(i.assignee_id),
                 "age": self._age(i.due_at, now), "excerpt": _excerpt(i.text)}
                for i in items[:SHOWN]]
        text = hub.render.html(f"inbox.j2:gathered_{kind}", n=len(items), items=rows)
        buttons = [(i.id, f"№{i.id}") for i in items[:SHOWN]]
        await hub.workspace.list_cards(conn, user_id, text, buttons,
                                       key=f"gathered:{user_id}:{kind}:{iso(now)}")

    def _age(self, since: datetime | None, now: datetime) -> str:
        if since is None:
            return ""
        minutes = max(0, int(self.hub.calendar.between(since, now).total_seconds() // 60))
        return self.hub.render.text("deadlines.j2:hours_minutes", hours=minutes // 60,
                                    minutes=minutes % 60)


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"

