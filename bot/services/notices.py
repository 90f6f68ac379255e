"""What an executor is told about their incidents, so they can act from the notice itself.

The assignment notice carries the citizen's words (shortened), where they wrote (with
the link), the deadline, how many photos they sent, and buttons: open the card, the
block's answer templates. A reopening notice carries the citizen's new message. Both are
prompts: a reply to them is the executor's answer.

A notice Telegram refuses for good because of the person (they never pressed Start, or
blocked the bot) is said on the card — the incident's history and a line on it — and
the coordinators are told once per person and reason, until the person is reachable.
"""

from __future__ import annotations

from bot.ports import CardAction, CardButton, Keyboard
from bot.services import cards
from bot.services.answer_templates import for_block
from bot.services.hub import Hub
from storage import cursors
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import Incident

TEXT_BUDGET = 300  # the citizen's words in a notice; the card has them whole
NOTICE_FAILED = "notice_failed"  # the audit event: a notice about the incident not delivered


def short(text: str, budget: int = TEXT_BUDGET) -> str:
    text = " ".join(text.split())
    return text if len(text) <= budget else text[:budget - 1].rstrip() + "…"


def _actions(hub: Hub, incident: Incident) -> Keyboard:
    row: list[CardButton] = []
    link = hub.workspace.card_link(incident.card_chat_id, incident.card_message_id)
    if link:
        row.append(CardButton(hub.render.text("btn_open_card"), CardAction.BACK, url=link))
    if for_block(hub.render, incident.block):
        row.append(CardButton(hub.render.text("btn_templates"), CardAction.OFFER_TEMPLATES))
    return [row] if row else []


async def assigned(hub: Hub, conn: Conn, incident_id: int, user_id: int) -> None:
    """The executor's notice of an assignment (the incident as it is after the step)."""
    incident = await repo.get(conn, incident_id)
    if incident is None:
        return
    render = hub.render
    text = render.html(
        "notices.j2:assigned", id=incident.id, block=incident.block,
        due=render.format_dt(incident.due_at), text=short(incident.text),
        source=cards.source_label(hub.config, render, incident), link=incident.link or "",
        photos=len(cards.citizen_photos(incident)))
    await hub.workspace.notify(
        conn, user_id, text, key=f"assigned:{incident.id}:{incident.version}:{user_id}",
        purpose="prompt", ref_id=incident.id, about=incident, actions=_actions(hub, incident))


async def reopened(hub: Hub, conn: Conn, incident_id: int, user_id: int, words: str,
                   key: str) -> None:
    """The executor's notice that the citizen wrote again, with what they wrote."""
    incident = await repo.get(conn, incident_id)
    if incident is None:
        return
    text = hub.render.html("notices.j2:reopened", id=incident.id, text=short(words))
    await hub.workspace.notify(conn, user_id, text, key=f"notify:{user_id}:{key}",
                               purpose="prompt", ref_id=incident.id, about=incident,
                               actions=_actions(hub, incident))


async def undelivered(hub: Hub, conn: Conn, incident_id: int, user_id: int,
                      reason: str) -> None:
    """A notice about ``incident_id`` could not reach ``user_id`` (``reason``: blocked,
    deactivated, not_started): the card says so; the coordinators hear it once."""
    incident = await repo.get(conn, incident_id)
    if incident is None:
        return
    render = hub.render
    name = hub.staff_name(user_id)
    why = render.text(f"delivery.j2:staff_{reason}")
    now = hub.clock.now()
    await repo.add_event(conn, incident_id, now, NOTICE_FAILED, from_state=incident.state,
                         to_state=incident.state, detail=f"{name} — {why}")
    await hub.workspace.show_card(conn, incident_id, now)
    if not await cursors.claim(conn, f"notice:unreachable:{user_id}:{reason}", str(incident_id)):
        return
    for member in hub.config.staff:
        if "coordinator" in member.roles and member.telegram_id != user_id:
            await hub.workspace.notify(
                conn, member.telegram_id,
                render.html("notices.j2:notify_coordinator", name=name, id=incident_id,
                            reason=why),
                key=f"notice-undelivered:{member.telegram_id}:{user_id}:{reason}:{incident_id}")


async def reachable(conn: Conn, user_id: int) -> None:
    """They are back (pressed Start, unblocked): a later refusal is news again."""
    for reason in ("blocked", "deactivated", "not_started"):
        await cursors.drop(conn, f"notice:unreachable:{user_id}:{reason}")
