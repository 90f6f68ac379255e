"""People who are away and their deputies (decree 004 §3.3), as the workflow needs them.

The absences are rows in storage (``storage.people``); the hub keeps the open ones in
memory (``Hub.absences``) so that who may act (``Steps.actor``) is known without a query.
Whether an absence is in force is always decided from the domain clock's local date
(``bot.domain.absence``), so it ends by itself at midnight after its last day; the
``absences`` job only refreshes the memory and the cards that name a deputy.

``Deputies`` wraps the staff workspace: a notice to someone away goes to whoever acts for
them, saying for whom.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.domain import absence
from bot.domain.absence import Absence
from bot.ports import StaffWorkspace
from bot.services.hub import Hub
from storage import people as store
from storage.db import Conn

TICK_SECONDS = 60.0


def today(hub: Hub) -> date:
    return hub.clock.now().astimezone(hub.config.municipality.tz).date()


def in_force(hub: Hub) -> dict[int, Absence]:
    return absence.active(hub.absences, today(hub))


def stand_in(hub: Hub, user_id: int) -> int:
    """Who acts for ``user_id`` today (themselves when present)."""
    return absence.stand_in(user_id, in_force(hub))


def acting_for(hub: Hub, user_id: int) -> frozenset[int]:
    return absence.acting_for(user_id, in_force(hub))


async def load(hub: Hub, conn: Conn) -> None:
    rows = await store.open_absences(conn, today(hub))
    hub.absences = [Absence(r.user_id, r.deputy_id, r.until) for r in rows]


async def refresh_cards(hub: Hub, conn: Conn, user_ids: set[int], now: datetime) -> None:
    """Bring up to date the open cards of these people (they name the deputy, or stop)."""
    for user_id in user_ids:
        for incident_id in await store.open_incidents_of(conn, user_id):
            await hub.workspace.show_card(conn, incident_id, now)


class Absences:
    """The ``absences`` job: the memory follows the calendar; the cards too."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self._seen: frozenset[tuple[int, int]] = frozenset()

    async def tick(self) -> None:
        async with self.hub.db.tx() as conn:
            await load(self.hub, conn)
            now_in_force = frozenset((a.user_id, a.deputy_id) for a in in_force(self.hub).values())
            changed = {user for user, _ in now_in_force ^ self._seen}
            if changed:
                await refresh_cards(self.hub, conn, changed, self.hub.clock.now())
            self._seen = now_in_force
        if changed:
            self.hub.wake_outbox()


class Deputies:
    """The staff workspace, with notices to an absent person going to their deputy.

    Everything but ``notify`` is the wrapped workspace's own (delegated as it is, so a
    method the port gains later needs nothing here)."""

    def __init__(self, hub: Hub, inner: StaffWorkspace):
        self.hub = hub
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def notify(self, conn: Conn, user_id: int, text: str, *, key: str,
                     **options: Any) -> bool:
        deputy = stand_in(self.hub, user_id)
        if deputy != user_id:
            text = self.hub.render.html("people.j2:for_absent",
                                        name=self.hub.staff_name(user_id)) + "\n" + text
            key = f"{key}:deputy:{deputy}"
        return await self.inner.notify(conn, deputy, text, key=key, **options)


# -- /away ------------------------------------------------------------------------------

_BACK_WORDS = ("нет", "вернулся", "вернулась", "конец")


def _find_person(hub: Hub, said: str) -> int | None:
    """A colleague named by telegram id, full name, or the unique start of a name."""
    said = said.strip()
    if said.lstrip("@").isdigit():
        member = hub.config.staff_by_id(int(said.lstrip("@")))
        return member.telegram_id if member else None
    folded = said.casefold().replace("ё", "е")
    names = [(m.telegram_id, m.name.casefold().replace("ё", "е")) for m in hub.config.staff]
    exact = [tid for tid, name in names if name == folded]
    starts = [tid for tid, name in names if name.startswith(folded)]
    found = exact or starts
    return found[0] if len(found) == 1 else None


async def away_reply(hub: Hub, user_id: int, args: str | None) -> str:
    """``/away ДД.ММ [заместитель]``: away through that day; ``/away нет``: back."""
    render = hub.render
    member = hub.config.staff_by_id(user_id)
    if member is None:
        return render.html("staff_only")
    words = (args or "").split(maxsplit=1)
    now = hub.clock.now()
    if not words:
        current = in_force(hub).get(user_id)
        return render.html("people.j2:away_usage", until=current.until.strftime("%d.%m")
                           if current else "", deputy=hub.staff_name(current.deputy_id)
                           if current else "")
    if words[0].casefold() in _BACK_WORDS:
        async with hub.db.tx() as conn:
            ended = await store.end(conn, user_id, now)
            await load(hub, conn)
            await refresh_cards(hub, conn, {user_id}, now)
        hub.wake_outbox()
        return render.html("people.j2:away_ended" if ended else "people.j2:away_none")
    until = absence.parse_until(words[0], today(hub))
    if until is None:
        return render.html("people.j2:away_bad_date", said=words[0])
    deputy = _find_person(hub, words[1]) if len(words) > 1 else member.deputy
    if deputy is None:
        return render.html("people.j2:away_no_deputy" if len(words) == 1
                           else "people.j2:away_unknown_deputy", said=words[-1])
    if deputy == user_id:
        return render.html("people.j2:away_self")
    async with hub.db.tx() as conn:
        await store.set_away(conn, user_id, deputy, until, now, user_id)
        await load(hub, conn)
        await refresh_cards(hub, conn, {user_id}, now)
        await hub.workspace.notify(
            conn, deputy, render.html("people.j2:you_stand_in", name=member.name,
                                      until=until.strftime("%d.%m")),
            key=f"standin:{user_id}:{deputy}:{until.isoformat()}:{now.isoformat()}")
    hub.wake_outbox()
    return render.html("people.j2:away_set", until=until.strftime("%d.%m"),
                       deputy=hub.staff_name(deputy))
