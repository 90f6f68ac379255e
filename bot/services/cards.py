"""The incident card: its text, its buttons, and keeping the one message up to date.

A card is not sent as text fixed at the moment of a step: the outbox holds one "sync"
row per incident, and delivering it renders the incident as it stands then — a
``sendMessage`` the first time, an ``editMessageText`` afterwards. Ten quick steps
cost one edit, and the card can never show an older state than the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.config import Config
from bot.domain.incident import State
from bot.domain.routing import Reason
from bot.render import Renderer
from storage import incidents as repo
from storage import outbox
from storage.db import Conn
from storage.incidents import Event, Incident

TEXT_BUDGET = 1500  # citizen's text on the card; the whole card must stay under 4096
ANSWER_BUDGET = 1200
HISTORY_LINES = 8


# A forum's General topic: Telegram refuses it as message_thread_id ("message thread not
# found", telegram-bot-api Client.cpp); a message goes there without a thread id.
GENERAL_TOPIC = 1

ID = Field(ge=0, lt=2**62)  # anything else is forged: refused before any query


class CardCb(CallbackData, prefix="c"):
    """A press on a card: incident id, the version the card showed, action, argument."""

    id: int = ID
    v: int = ID
    a: str = Field(min_length=2, max_length=2)
    arg: int = Field(default=0, ge=0, lt=2**62)


# action codes on the wire (short: callback_data is at most 64 bytes)
TAKE, ASSIGN, REASSIGN, INTERIM, SUBMIT, TEMPLATES = "tk", "as", "ra", "im", "sb", "tl"
APPROVE, RETURN, REJECT, REOPEN, MANUAL = "ap", "rt", "rj", "ro", "pm"
PICK_EXECUTOR, PICK_REASON, PICK_TEMPLATE, BACK = "to", "rr", "tp", "bk"

REJECT_REASONS = ["reason_not_ours", "reason_spam", "reason_duplicate", "reason_offtopic"]

_BUTTONS: dict[str, list[list[tuple[str, str]]]] = {
    State.NEW: [[(TAKE, "btn_take"), (ASSIGN, "btn_assign")], [(INTERIM, "btn_interim"),
                (REJECT, "btn_reject")]],
    State.ASSIGNED: [[(INTERIM, "btn_interim"), (SUBMIT, "btn_submit")],
                     [(TEMPLATES, "btn_templates"), (REASSIGN, "btn_reassign")],
                     [(REJECT, "btn_reject")]],
    State.IN_PROGRESS: [[(INTERIM, "btn_interim"), (SUBMIT, "btn_submit")],
                        [(TEMPLATES, "btn_templates"), (REASSIGN, "btn_reassign")],
                        [(REJECT, "btn_reject")]],
    State.RETURNED: [[(SUBMIT, "btn_submit"), (TEMPLATES, "btn_templates")],
                     [(REASSIGN, "btn_reassign")]],
    State.REOPENED: [[(TAKE, "btn_take"), (ASSIGN, "btn_assign")],
                     [(INTERIM, "btn_interim"), (SUBMIT, "btn_submit")],
                     [(REJECT, "btn_reject")]],
    State.ANSWER_READY: [[(APPROVE, "btn_approve"), (RETURN, "btn_return")]],
    State.APPROVED: [],
    State.PUBLISHED: [[(REOPEN, "btn_reopen")]],
    State.CLOSED: [[(REOPEN, "btn_reopen")]],
    State.REJECTED: [[(REOPEN, "btn_reopen")]],
}

STATE_ICONS = {
    State.NEW: "🆕", State.ASSIGNED: "👷", State.IN_PROGRESS: "🛠", State.ANSWER_READY: "📝",
    State.APPROVED: "📤", State.PUBLISHED: "✅", State.CLOSED: "☑️", State.RETURNED: "↩️",
    State.REOPENED: "🔄", State.REJECTED: "🚫",
}


def button(render: Renderer, incident: Incident, action: str, label: str, arg: int = 0) -> dict:
    data = CardCb(id=incident.id, v=incident.version, a=action, arg=arg).pack()
    return {"text": render.text(label), "callback_data": data}


def keyboard(render: Renderer, incident: Incident) -> dict[str, Any]:
    rows = []
    manual = incident.reply_target.get("platform") == "manual"
    for row in _BUTTONS.get(State(incident.state), []):
        rows.append([button(render, incident, action, label) for action, label in row])
    if incident.state == State.APPROVED and manual:
        rows.append([button(render, incident, MANUAL, "btn_publish_manual")])
    return {"inline_keyboard": rows}


def picker(render: Renderer, incident: Incident, action: str,
           choices: list[tuple[int, str]]) -> dict[str, Any]:
    """A transient keyboard on the card: choose an executor, a reason, a template."""
    rows = [[{"text": label, "callback_data": CardCb(id=incident.id, v=incident.version,
                                                      a=action, arg=arg).pack()}]
            for arg, label in choices]
    rows.append([button(render, incident, BACK, "btn_back")])
    return {"inline_keyboard": rows}


def source_label(config: Config, render: Renderer, incident: Incident) -> str:
    """Where the message came from, as staff say it: «ВКонтакте «Администрация», комментарий».

    The words are texts.j2's ``source_*`` and ``kind_<source_kind>``; a kind without a
    phrase yet reads «сообщение», never the raw key.
    """
    platform, _, ident = incident.source.partition(":")
    phrase = f"kind_{incident.source_kind}"
    kind = render.text(phrase if hasattr(render._texts, phrase) else "kind_other")
    if platform == "vk" and ident.isdigit():
        community = config.community(int(ident))
        public = next((p for p in config.vk.publics if p.id == int(ident)), None)
        name = community.name if community else public.name if public else ident
        return render.text("source_vk", name=name, kind=kind)
    if platform == "tg":
        return render.text("source_tg", kind=kind)
    if platform == "forward":
        place = f"source_forward_{ident}"
        where = render.text(place if hasattr(render._texts, place) else "source_forward_other")
        return render.text("source_forward", where=where, kind=kind)
    return kind


def _clip(text: str, budget: int) -> tuple[str, bool]:
    if len(text) <= budget:
        return text, False
    return text[:budget].rstrip() + "…", True


def history_lines(render: Renderer, events: list[Event]) -> list[dict[str, Any]]:
    lines = []
    for event in events:
        name = f"ev_{event.action}"
        if not hasattr(render._texts, name):
            continue
        kwargs: dict[str, Any] = {}
        if event.action in ("assign", "reassign"):
            kwargs["to"] = event.detail
        elif event.action in ("return", "reject"):
            kwargs["reason"] = event.detail
        elif event.action == "created":
            kwargs["reason"] = Reason.from_detail(event.detail)  # None for rows before it
        elif event.action == "publish_failed":
            kwargs["error"] = event.detail
        elif event.action == "rating":
            kwargs["score"] = event.detail
        who = event.actor_name or render.text("system")
        lines.append({"at": event.at, "who": who, "what": render.text(name, **kwargs)})
    if len(lines) > HISTORY_LINES:
        lines = lines[:1] + lines[-(HISTORY_LINES - 1):]
    return lines


def card_text(config: Config, render: Renderer, incident: Incident, events: list[Event],
              now: datetime) -> str:
    text, truncated = _clip(incident.text, TEXT_BUDGET)
    answer, _ = _clip(incident.answer_text or "", ANSWER_BUDGET)
    assignee = None
    if incident.assignee_id is not None:
        member = config.staff_by_id(incident.assignee_id)
        assignee = member.name if member else str(incident.assignee_id)
    state = State(incident.state)
    overdue = bool(incident.overdue_at) or (
        state in (State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                  State.REOPENED, State.ANSWER_READY)
        and incident.due_at is not None and now > incident.due_at
    )
    return render.render(
        "card.html.j2",
        i=incident,
        text=text,
        truncated=truncated,
        answer=answer,
        assignee=assignee,
        overdue=overdue,
        state_icon=STATE_ICONS[state],
        state_label=render.text(f"state_{state.value}"),
        source_label=source_label(config, render, incident),
        author=incident.author_name or render.text(
            "author_vk" if incident.author_id.startswith("vk:") else "author_other"),
        history=history_lines(render, events),
    )


async def queue_sync(conn: Conn, config: Config, incident_id: int, now: datetime,
                     block: str) -> None:
    """Ask for the card to be brought up to date (sent the first time)."""
    chat = config.telegram.staff_group
    await outbox.enqueue(
        conn,
        key=f"card:{incident_id}",
        platform="card",
        lane=f"tg:{chat}",
        method="sync",
        params={},
        now=now,
        purpose="card",
        ref_id=incident_id,
        refresh=True,
    )


async def queue_sync_many(conn: Conn, config: Config, incident_ids: list[int],
                          now: datetime) -> None:
    """``queue_sync`` for many new incidents in one statement (a storm's cards)."""
    lane = f"tg:{config.telegram.staff_group}"
    await outbox.enqueue_refresh_many(
        conn, [(f"card:{i}", "card", lane, "sync", {}, "card", i) for i in incident_ids], now)


@dataclass
class CardCall:
    method: str
    params: dict[str, Any]


async def sync_call(conn: Conn, config: Config, render: Renderer, incident_id: int,
                    now: datetime, topics: dict[str, int]) -> CardCall | None:
    """The Bot API call that makes the card show the incident as it is now."""
    incident = await repo.get(conn, incident_id)
    if incident is None:
        return None
    events = await repo.events(conn, incident_id)
    text = card_text(config, render, incident, events, now)
    markup = keyboard(render, incident)
    if incident.card_message_id is None:
        chat, topic = config.telegram.staff_group, topics.get(incident.block)
        params: dict[str, Any] = {"chat_id": chat, "text": text, "reply_markup": markup}
        if topic is not None and topic != GENERAL_TOPIC:
            params["message_thread_id"] = topic
        return CardCall("sendMessage", params)
    return CardCall(
        "editMessageText",
        {
            "chat_id": incident.card_chat_id,
            "message_id": incident.card_message_id,
            "text": text,
            "reply_markup": markup,
        },
    )
