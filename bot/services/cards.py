"""The incident card: its text and its buttons, as the incident stands now.

The staff workspace (``bot.ports.StaffWorkspace``) posts the card and keeps the one
message up to date; it renders the card from here when the card goes, so ten quick
steps cost one edit and the card never shows an older state than the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.config import Config
from bot.domain.absence import Absence
from bot.domain.external import RESULTS
from bot.domain.incident import OPEN_STATES, State
from bot.domain.routing import Reason
from bot.ports import CardAction, CardButton, Keyboard
from bot.render import Renderer
from storage.external import External
from storage.incidents import Event, Incident
from storage.members import Member

TEXT_BUDGET = 1500  # citizen's text on the card; the whole card must stay under 4096
ANSWER_BUDGET = 1200
HISTORY_LINES = 8
NOTE_BUDGET = 200  # a note's words in the card's history


REJECT_REASONS = ["reason_not_ours", "reason_spam", "reason_duplicate", "reason_offtopic"]

_A = CardAction
_TAKE, _ASSIGN = (_A.TAKE, "btn_take"), (_A.ASSIGN, "btn_assign")
_INTERIM, _SUBMIT = (_A.SEND_INTERIM, "btn_interim"), (_A.ASK_FOR_ANSWER, "btn_submit")
_TEMPLATES, _REASSIGN = (_A.OFFER_TEMPLATES, "btn_templates"), (_A.REASSIGN, "btn_reassign")
_REJECT, _REOPEN = (_A.REJECT, "btn_reject"), (_A.REOPEN, "btn_reopen")
_APPROVE, _RETURN = (_A.APPROVE, "btn_approve"), (_A.RETURN_FOR_REVISION, "btn_return")
_MORE = (_A.MORE, "btn_more")  # the corrections: block, fast track, deadline, executor
# while an interim reply's draft waits: send it, change its text, or drop it
_DRAFT = [[(_A.INTERIM_SEND, "btn_interim_send"), (_A.INTERIM_EDIT, "btn_interim_edit")],
          [(_A.INTERIM_DROP, "btn_interim_drop")]]

# the card's buttons in each state: rows of (action, label phrase in texts.j2)
_BUTTONS: dict[str, list[list[tuple[CardAction, str]]]] = {
    State.NEW: [[_TAKE, _ASSIGN], [_INTERIM, _REJECT], [_MORE]],
    State.ASSIGNED: [[_INTERIM, _SUBMIT], [_TEMPLATES, _REASSIGN], [_REJECT, _MORE]],
    State.IN_PROGRESS: [[_INTERIM, _SUBMIT], [_TEMPLATES, _REASSIGN], [_REJECT, _MORE]],
    State.RETURNED: [[_SUBMIT, _TEMPLATES], [_REASSIGN, _MORE]],
    State.REOPENED: [[_TAKE, _ASSIGN], [_INTERIM, _SUBMIT], [_REJECT, _MORE]],
    State.ANSWER_READY: [[_APPROVE, _RETURN]],
    State.APPROVED: [],
    State.PUBLISHED: [[_REOPEN]],
    State.CLOSED: [[_REOPEN]],
    State.REJECTED: [[_REOPEN]],
}

_INTERIM_STATES = {State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.RETURNED,
                   State.REOPENED}
# the states where a card may be merged into another or a message split out of it
GROUPING = (State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.ANSWER_READY, State.RETURNED,
            State.REOPENED)
# history events whose detail is a card number, and the phrase's name for it
_NUMBERED = {"merge": "into", "merged_in": "origin", "split": "to"}

STATE_ICONS = {
    State.NEW: "🆕", State.ASSIGNED: "👷", State.IN_PROGRESS: "🛠", State.ANSWER_READY: "📝",
    State.APPROVED: "📤", State.PUBLISHED: "✅", State.CLOSED: "☑️", State.RETURNED: "↩️",
    State.REOPENED: "🔄", State.REJECTED: "🚫",
}


def citizen_photos(incident: Incident) -> list[dict[str, Any]]:
    """The photos the citizen sent (Telegram file ids, VK photos with their address)."""
    return [a for a in incident.attachments if a.get("type") in ("tg_photo", "vk_photo")]


def candidates(config: Config, block: str) -> list[tuple[int, str]]:
    """Who may be picked as the executor: the block's executors and its lead."""
    ids: list[int] = []
    spec = config.block(block)
    if spec is not None:
        ids.extend(spec.executors)
        if spec.lead is not None:
            ids.append(spec.lead)
    for member in config.staff:
        if block in member.blocks and {"executor", "block_lead"} & set(member.roles):
            ids.append(member.telegram_id)
    seen: dict[int, str] = {}
    for user_id in ids:
        if user_id not in seen:
            member = config.staff_by_id(user_id)
            seen[user_id] = member.name if member else str(user_id)
    return list(seen.items())


def buttons(render: Renderer, incident: Incident, config: Config | None = None) -> Keyboard:
    """The card's buttons in the incident's state (an interim reply's draft first), and
    «Фото (N)» when the citizen sent photos: one tap shows them under the card.

    A new message of a block with one executor also gets «👷 <name>»: assigned in one
    press, where «Назначить» would offer that one name (the Monday's 50 messages are 50
    presses fewer); «Переназначить» undoes a wrong one.
    """
    state = State(incident.state)
    layout = _BUTTONS.get(state, [])
    if incident.interim_text is not None and state in _INTERIM_STATES:
        layout = _DRAFT
    rows = [[CardButton(render.text(label), action) for action, label in row]
            for row in layout]
    if config is not None and state == State.NEW and incident.interim_text is None:
        only = candidates(config, incident.block)
        if len(only) == 1:
            rows.insert(0, [CardButton(render.text("btn_assign_to", name=only[0][1]),
                                       CardAction.ASSIGN_TO, only[0][0])])
    photos = len(citizen_photos(incident))
    if photos:
        rows.append([CardButton(render.text("btn_photos", count=photos),
                                CardAction.SHOW_PHOTOS)])
    if incident.state in GROUPING:
        rows.append([CardButton(render.text("btn_merge"), CardAction.MERGE),
                     CardButton(render.text("btn_split"), CardAction.SPLIT)])
    if incident.state == State.APPROVED and incident.reply_target.get("platform") == "manual":
        rows.append([CardButton(render.text("btn_publish_manual"),
                                CardAction.PUBLISHED_MANUALLY)])
    if incident.state in (State.PUBLISHED, State.CLOSED):  # the regional report's result
        rows.append([CardButton(render.text(f"people.j2:btn_result_{key}"), CardAction.RESULT,
                                number) for number, key in enumerate(RESULTS)])
    return rows


def picker(render: Renderer, action: CardAction, choices: list[tuple[int, str]]) -> Keyboard:
    """A transient choice on the card (an executor, a reason, a template), and «Назад»."""
    rows = [[CardButton(label, action, arg)] for arg, label in choices]
    rows.append([CardButton(render.text("btn_back"), CardAction.BACK)])
    return rows


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
    if platform == "max":
        return render.text("source_max", kind=kind)
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
        elif event.action == "interim":
            kwargs["day"] = event.detail  # the promised date, if any
        elif event.action == "rating":
            kwargs["score"] = event.detail
        elif event.action in ("note", "feedback"):
            kwargs["text"] = _clip(event.detail or "", NOTE_BUDGET)[0]
        elif event.action == "notice_failed":
            kwargs["reason"] = event.detail
        elif event.action in _NUMBERED:
            kwargs[_NUMBERED[event.action]] = event.detail
        elif event.action in ("change_block", "set_deadline", "result"):
            kwargs["detail"] = event.detail
        elif event.action == "fast_track":
            kwargs["on"] = event.detail.startswith("on")
        who = event.actor_name or render.text("system")
        lines.append({"at": event.at, "who": who, "what": render.text(name, **kwargs)})
    if len(lines) > HISTORY_LINES:
        lines = lines[:1] + lines[-(HISTORY_LINES - 1):]
    return lines


def group_view(config: Config, incident: Incident,
               group: list[Member]) -> dict[str, Any] | None:
    """A storm on the card: how many wrote, the newest few, how far the answer has gone."""
    if not group:
        return None
    authors = {incident.author_id} | {m.author_id for m in group}
    shown = [{"author": m.author_name, "text": _clip(m.text, NOTE_BUDGET)[0],
              "at": m.written_at} for m in group[-config.storms.shown:]]
    round_ = incident.publications
    lead_done = incident.published_at is not None and incident.state in (
        State.PUBLISHED, State.CLOSED, State.REOPENED)
    published = int(lead_done) + sum(1 for m in group if round_ and m.published_round == round_)
    return {"authors": len(authors), "messages": len(group) + 1, "shown": shown,
            "published": published, "total": len(group) + 1,
            "failed": sum(1 for m in group if m.failed),
            "publishing": round_ > 0 and incident.state in (
                State.APPROVED, State.PUBLISHED, State.CLOSED)}


def card_text(config: Config, render: Renderer, incident: Incident, events: list[Event],
              now: datetime, away: Absence | None = None,
              external: External | None = None, group: list[Member] | None = None) -> str:
    """The card; ``away``: the assignee's absence in force, to name the deputy too;
    ``external``: its number and category elsewhere, and its result; ``group``: the other
    citizens' messages of a storm joined to it."""
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
        citizen_photos=len(citizen_photos(incident)),
        group=group_view(config, incident, group or []),
        notes=sum(1 for e in events if e.action == "note"),
        thanked=any(e.action == "thanks" for e in events),
        notice_failed=next((e.detail for e in reversed(events)
                            if e.action == "notice_failed"), None),
        deputy=render_deputy(config, away),
        away_until=away.until.strftime("%d.%m") if away else "",
        external=external,
        promised=_promised(incident),
        promise_missed=_promise_missed(incident, now, render),
    )


def render_deputy(config: Config, away: Absence | None) -> str:
    if away is None:
        return ""
    member = config.staff_by_id(away.deputy_id)
    return member.name if member else str(away.deputy_id)


def _promised(incident: Incident) -> date | None:
    return date.fromisoformat(incident.promised_on) if incident.promised_on else None


def _promise_missed(incident: Incident, now: datetime, render: Renderer) -> bool:
    """The promised date has passed and the work is still open."""
    promised = _promised(incident)
    return (promised is not None and promised < render.local(now).date()
            and State(incident.state) in OPEN_STATES)
