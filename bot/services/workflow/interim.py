"""The interim reply with a promised date: chosen, shown as a draft on the card, its text
changed by a reply if need be, then sent to the citizen.

«Промежуточный ответ» offers the dates (today, tomorrow, the next working days, or none);
a date makes the draft — the template's text with the date — which the card shows with
«Отправить», «Изменить текст» and «Не отправлять». What is sent sets the promised date
(``promised_on``): on the card, in /inbox, reminded to the executor on the day
(``bot.services.gathered``), and overdue once the day has passed.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.incident import Action, Actor, Refusal, Refused, may
from bot.domain.wording import greeting_name
from bot.ports import CardAction
from bot.services import cards
from bot.services.workflow.replies import Replies
from bot.services.workflow.steps import Reply, check
from storage import cursors
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

NO_DATE = 99  # the picker's «Без даты работ»
DAYS_AHEAD = 4  # working days offered after tomorrow
MAX_OFFSET = 60
WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
TEXT_MAX = 1000  # an interim reply is short; the platforms' limits are far above


def _draft_date(incident_id: int) -> str:
    return f"interim:{incident_id}:date"


class Interim(Replies):
    def today(self) -> date:
        return self.hub.render.local(self.hub.clock.now()).date()

    def promise_choices(self) -> list[tuple[int, str]]:
        """(days from today, label): today, tomorrow, the next working days, none."""
        text, today = self.hub.render.text, self.today()
        choices = [(0, text("interim_today", day=today.strftime("%d.%m"))),
                   (1, text("interim_tomorrow",
                            day=(today + timedelta(days=1)).strftime("%d.%m")))]
        offset = 2
        while len(choices) < 2 + DAYS_AHEAD and offset <= MAX_OFFSET:
            day = today + timedelta(days=offset)
            if self.hub.calendar.is_working_day(day):
                choices.append((offset, text("interim_day", weekday=WEEKDAYS[day.weekday()],
                                             day=day.strftime("%d.%m"))))
            offset += 1
        choices.append((NO_DATE, text("interim_no_date")))
        return choices

    def promised_words(self, day: date | None) -> str:
        if day is None:
            return ""
        today = self.today()
        if day == today:
            return self.hub.render.text("promised_today")
        if day == today + timedelta(days=1):
            return self.hub.render.text("promised_tomorrow")
        return self.hub.render.text("promised_on", day=day.strftime("%d.%m.%Y"))

    async def send_interim(self, conn: Conn, actor: Actor, incident: Incident,
                           arg: int) -> Reply:
        """«Промежуточный ответ»: first, when the works will be done."""
        check(incident, Action.INTERIM, actor)
        await self.hub.workspace.offer_choices(
            conn, incident, CardAction.INTERIM_DATE,
            cards.picker(self.hub.render, CardAction.INTERIM_DATE, self.promise_choices()))
        return Reply(self.hub.render.text("choose_promise"))

    async def interim_date(self, conn: Conn, actor: Actor, incident: Incident,
                           offset: int) -> Reply:
        """A date chosen: the draft, on the card, to check before it goes."""
        if not (0 <= offset <= MAX_OFFSET or offset == NO_DATE):
            raise Refused(Refusal.STALE)
        check(incident, Action.INTERIM, actor)
        day = None if offset == NO_DATE else self.today() + timedelta(days=offset)
        text = self.hub.render.render(
            "interim.txt.j2", name=greeting_name(incident.author_name),
            due=self.hub.render.format_moment(incident.due_at),
            promised=self.promised_words(day))
        await cursors.put(conn, _draft_date(incident.id), day.isoformat() if day else "")
        await repo.update(conn, incident.id, interim_text=text)
        await self.hub.workspace.show_card(conn, incident.id, self.hub.clock.now())
        return Reply(self.hub.render.text("done_interim_draft"))

    async def interim_edit(self, conn: Conn, actor: Actor, incident: Incident,
                           arg: int) -> Reply:
        """«Изменить текст»: a question under the card, answered by replying."""
        self._has_draft(incident)
        check(incident, Action.INTERIM, actor)
        name = self.hub.staff_name(actor.user_id)
        await self.hub.workspace.ask(conn, incident, CardAction.INTERIM_EDIT, actor.user_id,
                                     self.hub.render.html("prompt_interim", name=name,
                                                          id=incident.id))
        return Reply(self.hub.render.text("done_interim_prompt"))

    async def interim_drop(self, conn: Conn, actor: Actor, incident: Incident,
                           arg: int) -> Reply:
        self._has_draft(incident)
        check(incident, Action.INTERIM, actor)
        await cursors.drop(conn, _draft_date(incident.id))
        await repo.update(conn, incident.id, interim_text=None)
        await self.hub.workspace.show_card(conn, incident.id, self.hub.clock.now())
        return Reply(self.hub.render.text("done_interim_dropped"))

    async def interim_send(self, conn: Conn, actor: Actor, incident: Incident,
                           arg: int) -> Reply:
        """The draft goes to the citizen; its date becomes the promise."""
        self._has_draft(incident)
        assert incident.interim_text is not None
        stored = await cursors.get(conn, _draft_date(incident.id))
        events = await repo.events(conn, incident.id)
        round_ = sum(1 for e in events if e.action == Action.INTERIM.value)
        check(incident, Action.INTERIM, actor)
        await self.publish(conn, incident, incident.interim_text,
                           f"interim:{incident.id}:{round_}", "interim")
        changes: dict[str, object] = {"interim_text": None}
        if stored:
            changes["promised_on"] = stored
        if incident.first_reply_at is None:
            changes["first_reply_at"] = self.hub.clock.now()
        day = date.fromisoformat(stored).strftime("%d.%m.%Y") if stored else ""
        await self.step(conn, actor, incident, Action.INTERIM, detail=day,
                        button=CardAction.INTERIM_SEND, **changes)
        await cursors.drop(conn, _draft_date(incident.id))
        return Reply(self.hub.render.text("done_interim"))

    def _has_draft(self, incident: Incident) -> None:
        if incident.interim_text is None:
            raise Refused(Refusal.STALE)

    async def edit_interim(self, user_id: int, incident_id: int, text: str) -> str:
        """The draft's new text, written as a reply to «пришлите новый текст»."""
        text = text.strip()[:TEXT_MAX]
        if not text:
            return self.hub.render.html("answer_empty")
        actor = self.actor(user_id)
        async with self.hub.db.tx() as conn:
            incident = await repo.get(conn, incident_id)
            if incident is None:
                return self.hub.render.html("refused_unknown_incident")
            refusal = may(actor, Action.INTERIM, incident.block, incident.assignee_id)
            if refusal is not None:
                return self.refusal_text(refusal)
            if incident.interim_text is None:
                return self.hub.render.html("interim_no_draft", id=incident_id)
            await repo.update(conn, incident_id, interim_text=text)
            await self.hub.workspace.show_card(conn, incident_id, self.hub.clock.now())
        self.hub.wake_outbox()
        return self.hub.render.html("interim_saved", id=incident_id)

