"""What every step of the workflow shares: who is acting, the state machine's word, the
transition written with its audit event, and the card brought up to date.

Each step runs in one write transaction: read the incident, ask the state machine,
write the new state and the audit event, queue what must go out (card, answer,
notices). A refused step writes nothing. Two presses at once are serialised by the
writer lock; the second sees the new version and is told the card is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.incident import Action, Actor, Refusal, State, decide
from bot.ports import CardAction
from bot.services import cards, people
from bot.services.answer_templates import for_block
from bot.services.hub import Hub
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident


@dataclass
class Reply:
    """What the presser is told (a callback answer); ``alert`` for a refusal."""

    text: str
    alert: bool = False


def storable(number: int) -> bool:
    """Whether an id from callback data fits SQLite's INTEGER (forged data may not)."""
    return -(2**63) <= number < 2**63


def check(incident: Incident, action: Action, actor: Actor) -> State:
    """The state machine's word on this step for this incident (raises ``Refused``)."""
    return decide(State(incident.state), action, actor, incident.block, incident.assignee_id)


class Steps:
    def __init__(self, hub: Hub):
        self.hub = hub

    # -- who is acting ------------------------------------------------------------------

    def actor(self, user_id: int) -> Actor:
        member = self.hub.config.staff_by_id(user_id)
        if member is None:
            return Actor(user_id=user_id)
        return Actor(user_id=user_id, roles=frozenset(member.roles),
                     blocks=frozenset(member.blocks),
                     acting_for=people.acting_for(self.hub, user_id))

    def candidates(self, block: str) -> list[tuple[int, str]]:
        """Who may be picked as the executor: the block's executors and its lead."""
        return cards.candidates(self.hub.config, block)

    def refusal_text(self, reason: Refusal) -> str:
        return self.hub.render.text(f"refused_{reason.value}")

    def templates(self, block: str) -> list[tuple[str, str]]:
        """The block's template answers: (title, body)."""
        return for_block(self.hub.render, block)

    # -- one transition -----------------------------------------------------------------

    async def step(self, conn: Conn, actor: Actor, incident: Incident, action: Action,
                   detail: str = "", button: CardAction | None = None,
                   **changes: Any) -> State:
        """Apply one transition: state, audit event (with the button pressed), card."""
        target = check(incident, action, actor)
        now = self.hub.clock.now()
        await repo.update(conn, incident.id, state=target.value, **changes)
        await repo.add_event(
            conn, incident.id, now, action.value, actor_id=actor.user_id,
            actor_name=self.hub.staff_name(actor.user_id), from_state=incident.state,
            to_state=target.value, button=button.value if button else None, detail=detail,
        )
        await self.hub.workspace.show_card(conn, incident.id, now)
        return target
