"""``/inbox`` and the status message: the coordinator's open work at a glance.

``/inbox`` lists, for the coordinator (all blocks) or a block lead (their blocks), what is
new and unassigned, awaiting approval, due today, overdue and promised today, with ages
in working time and a button per message that brings up its card. The status message in
the staff group's General topic shows the same counts per block, edited in place at most
once a minute and only when they changed (edits count toward Telegram's per-chat limits);
if it was deleted, the next change posts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain import inbox
from bot.domain.inbox import CATEGORIES, Entry, Work
from bot.domain.incident import SUPERVISORS
from bot.services.hub import Hub
from storage import cursors
from storage import inbox as repo
from storage.incidents import Incident, iso, parse_time

TICK_SECONDS = 5.0
BOARD_EVERY = timedelta(minutes=1)  # the status message is edited at most this often
SHOWN = 5  # messages listed per category (all are counted)
STATES = sorted(s.value for s in inbox.PROMISE_STATES)
ICONS = {inbox.NEW: "🆕", inbox.APPROVAL: "📝", inbox.DUE_TODAY: "⏳", inbox.OVERDUE: "⛔",
         inbox.PROMISED: "📅"}


def work(i: Incident) -> Work:
    return Work(id=i.id, block=i.block, state=i.state, assignee_id=i.assignee_id,
                received_at=i.received_at, due_at=i.due_at,
                promised_on=date.fromisoformat(i.promised_on) if i.promised_on else None,
                text=i.text)


@dataclass
class View:
    text: str
    buttons: list[tuple[int, str]]  # (incident id, label): each brings up the card


class Inbox:
    def __init__(self, hub: Hub):
        self.hub = hub

    def blocks_of(self, user_id: int) -> list[str] | None:
        """Whose work a person sees: every block (None) for the coordinator and those
        above, their blocks for a block lead; ``[]`` for anyone else."""
        member = self.hub.config.staff_by_id(user_id)
        if member is None:
            return []
        roles = set(member.roles)
        if roles & (SUPERVISORS | {"admin"}):
            return None
        if "block_lead" in roles:
            return list(member.blocks)
        return []

    async def lists(self, blocks: list[str] | None) -> dict[str, list[Entry]]:
        found = await repo.open_work(self.hub.db.reader, STATES, blocks)
        return inbox.sort_out([work(i) for i in found], self.hub.clock.now(),
                              self.hub.calendar)

    def age(self, age: timedelta) -> str:
        minutes = max(0, int(age.total_seconds() // 60))  # an age: whole minutes gone
        return self.hub.render.text("deadlines.j2:hours_minutes", hours=minutes // 60,
                                    minutes=minutes % 60)

    async def view(self, user_id: int) -> View | None:
        """The person's inbox; None when they have no blocks to watch."""
        blocks = self.blocks_of(user_id)
        if blocks == []:
            return None
        lists = await self.lists(blocks)
        render = self.hub.render
        sections = []
        buttons: dict[int, str] = {}
        for category in CATEGORIES:
            entries = lists[category]
            shown = [{"id": e.work.id, "block": e.work.block, "age": self.age(e.age),
                      "missed": e.promise_missed, "late": e.late,
                      "excerpt": _excerpt(e.work.text)}
                     for e in entries[:SHOWN]]
            sections.append({"icon": ICONS[category], "title": render.text(
                f"inbox.j2:title_{category}"), "count": len(entries), "entries": shown,
                "overdue": category == inbox.OVERDUE})
            for e in entries[:SHOWN]:
                buttons.setdefault(e.work.id, render.text(
                    "inbox.j2:button", icon=ICONS[category], id=e.work.id,
                    age=self.age(e.age)))
        text = render.html("inbox.j2:inbox", sections=sections,
                           everything=blocks is None, blocks=", ".join(blocks or []))
        return View(text, list(buttons.items()))

    # -- the status message ------------------------------------------------------------

    async def board_text(self) -> str:
        table = inbox.counts_by_block(await self.lists(None))
        totals = {c: sum(row[c] for row in table.values()) for c in CATEGORIES}
        rows = [{"block": block, **counts} for block, counts in table.items()]
        return self.hub.render.html("inbox.j2:board", rows=rows, totals=totals,
                                    icons=ICONS, at=self.hub.clock.now())

    async def board_tick(self) -> bool:
        """Post or edit the status message when its counts changed; True if queued."""
        hub = self.hub
        now = hub.clock.now()
        reader = hub.db.reader
        last_at = parse_time(await cursors.get(reader, repo.BOARD_AT))
        if last_at is not None and now - last_at < BOARD_EVERY and now >= last_at:
            return False
        text = await self.board_text()
        shown = await cursors.get(reader, repo.BOARD_TEXT)
        message = await cursors.get(reader, repo.BOARD_MESSAGE)
        if message == "":
            return False  # posted, its id not known yet
        # the time in the text changes every minute: compare the counts only
        counts = _counts_only(text)
        if message is not None and shown == counts:
            return False
        async with hub.db.tx() as conn:
            await hub.workspace.show_board(conn, text, int(message) if message else None)
            if message is None:
                await cursors.put(conn, repo.BOARD_MESSAGE, "")
            await cursors.put(conn, repo.BOARD_TEXT, counts)
            await cursors.put(conn, repo.BOARD_AT, iso(now))
        hub.wake_outbox()
        return True


def _counts_only(text: str) -> str:
    """The status message without its last line (the time it was brought up to date)."""
    return text.rsplit("\n", 1)[0]


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
