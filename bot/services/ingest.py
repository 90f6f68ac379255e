"""From a platform event to a stored incident: filter, route, join or reopen, store, card.

Sources (VK long poll, VK publics, Telegram chats, forwarded messages) turn what they
see into ``Inbound`` and hand it here; nothing else creates incidents. The unique
``key`` makes the same event stored once however often it is delivered.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain import external, feedback
from bot.domain.incident import OPEN_STATES, Action, Actor, Refused, State, decide
from bot.domain.routing import Message
from bot.domain.text import is_noise
from bot.services import notices
from bot.services.hub import Hub
from bot.services.storms import Storms
from storage import cursors
from storage import external as external_store
from storage import incidents as repo
from storage.db import Conn
from storage.incidents import NewIncident

log = logging.getLogger(__name__)


@dataclass
class Inbound:
    """One citizen's message as a source saw it."""

    source: str  # "vk:100001", "tg:-1001000000002", "tg:private", "forward:pos"
    kind: str  # "vk_comment", "vk_message", "tg_chat", ...
    key: str  # the platform event's identity, unique across sources
    author_id: str  # "vk:500101", "tg:2001"
    text: str
    written_at: datetime
    author_name: str = ""
    author_link: str | None = None
    thread: str | None = None
    link: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_target: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of an inbound message: ``created``, ``joined``, ``reopened``,
    ``feedback`` (a thank-you after the answer), ``duplicate`` or ``skipped`` (with the
    reason)."""

    result: str
    incident_id: int | None = None
    reason: str = ""


class Ingest:
    def staff_changed(self) -> None:
        """Staff write in the city chats as themselves, not as citizens (and may change
        on a reload)."""
        config = self.hub.config
        self._staff_tg = {f"tg:{m.telegram_id}" for m in config.staff}
        self._staff_vk = {f"vk:{m.vk_id}" for m in config.staff if m.vk_id}

    def __init__(self, hub: Hub):
        self.hub = hub
        config = hub.config
        self.staff_changed()
        self._own_vk = {f"vk:-{c.id}" for c in config.vk.communities}
        # the official channel and its discussion group speaking as themselves (their
        # admins, anonymously) are the administration, not a citizen
        self._own_tg = {f"tg:{chat}" for chat in (config.telegram.channel,
                                                  config.telegram.discussion_group)
                        if chat is not None}
        self.storms = Storms(hub)

    def skip_reason(self, message: Inbound) -> str | None:
        """Staff, the bot, the communities themselves and noise are not incidents."""
        if message.author_id in self._staff_tg or message.author_id in self._staff_vk:
            return "staff"
        if (message.author_id in self._own_vk or message.author_id in self._own_tg
                or message.author_id == f"tg:{self.hub.bot_id}"):
            return "own"
        if self.hub.config.ingest.skip_noise and is_noise(
            message.text, bool(message.attachments)
        ):
            return "noise"
        return None

    async def receive(self, message: Inbound) -> Outcome:
        outcomes = await self.receive_many([message])
        return outcomes[0]

    async def receive_many(
        self, messages: list[Inbound], cursor: tuple[str, str] | None = None
    ) -> list[Outcome]:
        """Store a batch in one transaction: a storm is written at once, cards follow.

        ``cursor`` (name, value) is saved in the same transaction — a long-poll ts
        moves on exactly when the events before it are stored.
        """
        found: list[Outcome | None] = [None] * len(messages)
        async with self.hub.db.tx() as conn:
            await self._receive_batch(conn, messages, found)
            if cursor is not None:
                await cursors.put(conn, *cursor)
        outcomes = [o if o is not None else Outcome("skipped", reason="lost") for o in found]
        if any(o.result in ("created", "joined", "reopened", "feedback") for o in outcomes):
            self.hub.wake_outbox()
        return outcomes

    async def _receive_batch(self, conn: Conn, messages: list[Inbound],
                             found: list[Outcome | None]) -> None:
        """The same outcome as ``_receive`` one by one, in a few statements per batch.

        What is known is asked once for the whole batch (events stored already, threads
        the authors opened before); a message that is new in a new thread is stored with
        the others at once, anything else (a follow-up, a repeat within the batch) takes
        the one-by-one path after what came before it is stored.
        """
        live = []
        noisy: set[int] = set()  # «👍», «+»: only a word after an answer, else noise
        for n, message in enumerate(messages):
            reason = self.skip_reason(message)
            if reason == "noise" and message.thread and not message.attachments:
                noisy.add(n)
                live.append(n)
            elif reason is not None:
                found[n] = Outcome("skipped", reason=reason)
            else:
                live.append(n)
        if len(live) <= 1:
            for n in live:
                found[n] = await self._receive(conn, messages[n])
            return
        stored = await repo.stored_keys(conn, [messages[n].key for n in live])
        threads = await repo.threads_with_author(
            conn, sorted({m.thread for n in live if (m := messages[n]).thread}))
        pending: list[int] = []
        keys: set[str] = set()
        # with storms on, a message on a thread that already has a message may join it
        stormy = {thread for thread, _ in threads} if self.storms.enabled else set()
        for n in live:
            message = messages[n]
            if message.key in stored:
                found[n] = Outcome("duplicate")
                continue
            pair = (message.thread, message.author_id) if message.thread else None
            if n in noisy and (pair is None or pair not in threads):
                found[n] = Outcome("skipped", reason="noise")
                continue
            if (message.key in keys or (pair is not None and pair in threads)
                    or message.thread in stormy):
                await self._create_many(conn, [messages[i] for i in pending], pending, found)
                pending = []
                found[n] = await self._receive(conn, message)
            else:
                pending.append(n)
            keys.add(message.key)
            if pair is not None:
                threads.add(pair)  # a later message of this author here follows this one
                if self.storms.enabled:
                    stormy.add(pair[0])
        await self._create_many(conn, [messages[i] for i in pending], pending, found)

    async def _create_many(self, conn: Conn, messages: list[Inbound], places: list[int],
                           found: list[Outcome | None]) -> None:
        """New incidents at once: routed, with deadlines, an audit event and a card each."""
        if not messages:
            return
        now = self.hub.clock.now()
        news = []
        reasons = []  # why each went to its block: the card shows it, in Russian
        for message in messages:
            route = self.hub.router.route(
                Message(text=message.text, source=message.source, author=message.author_id))
            news.append(self._new(message, now, route))
            reasons.append(route.reason.to_detail() if route.reason else route.rule)
        ids = await repo.insert_many(conn, news)
        made: list[int] = []
        events = []
        for n, new, reason in zip(places, news, reasons, strict=True):
            incident_id = ids.get(new.source_key)
            if incident_id is None:
                found[n] = Outcome("duplicate")
                continue
            found[n] = Outcome("created", incident_id)
            made.append(incident_id)
            events.append((incident_id, now, "created", State.NEW.value, reason))
        await repo.add_events(conn, events)
        await self.hub.workspace.show_cards(conn, made, now)

    async def _receive(self, conn: Conn, message: Inbound) -> Outcome:
        reason = self.skip_reason(message)
        if reason == "noise" and message.thread and not message.attachments:
            return await self._noise_or_feedback(conn, message)
        if reason is not None:
            return Outcome("skipped", reason=reason)
        if await repo.by_source_key(conn, message.key) is not None:
            return Outcome("duplicate")
        if await self._seen(conn, message.key):  # a follow-up delivered again
            return Outcome("duplicate")
        now = self.hub.clock.now()
        if message.thread:
            previous = (await repo.latest_in_thread(conn, message.thread, message.author_id)
                        or await self.storms.answered_group(conn, message.thread,
                                                            message.author_id))
            if previous is not None:
                outcome = await self._follow_up(conn, previous, message, now)
                if outcome is not None:
                    return outcome
            joined = await self.storms.join(conn, message, now)
            if joined is not None:
                return Outcome("joined", joined)
        return await self._create(conn, message, now)

    async def _noise_or_feedback(self, conn: Conn, message: Inbound) -> Outcome:
        """«👍» or «+» is noise — unless it is the citizen's word on an answer they got."""
        if await repo.by_source_key(conn, message.key) is None and not await self._seen(
                conn, message.key) and message.thread:
            previous = (await repo.latest_in_thread(conn, message.thread, message.author_id)
                        or await self.storms.answered_group(conn, message.thread,
                                                            message.author_id))
            if previous is not None and State(previous.state) in (State.PUBLISHED,
                                                                  State.CLOSED):
                found = feedback.classify(message.text)
                if found is not None:
                    await self._feedback(conn, previous, message, found)
                    return Outcome("feedback", previous.id)
        return Outcome("skipped", reason="noise")

    async def _feedback(self, conn: Conn, incident: repo.Incident, message: Inbound,
                        found: feedback.Feedback) -> None:
        """A thank-you after the answer: recorded (and counted when it is gratitude); a
        published incident is closed by it — the loop is closed, nobody is reopened."""
        now = self.hub.clock.now()
        state = target = State(incident.state)
        if state == State.PUBLISHED:
            target = decide(state, Action.CLOSE, Actor.process(), incident.block,
                            incident.assignee_id)
            await repo.update(conn, incident.id, state=target.value, closed_at=now)
        # one event: the citizen's words, and the close they make (published → closed)
        action = "thanks" if found.satisfied else "feedback"
        await repo.add_event(conn, incident.id, now, action, from_state=state.value,
                             to_state=target.value, detail=message.text[:500])
        await cursors.claim(conn, f"seen:{message.key}", str(incident.id))
        await self.hub.workspace.show_card(conn, incident.id, now)

    async def _follow_up(self, conn: Conn, previous: repo.Incident, message: Inbound,
                         now: datetime) -> Outcome | None:
        """A message in a thread the author already opened: join it, reopen it, or — a
        thank-you after the answer — record it as feedback."""
        config = self.hub.config.ingest
        state = State(previous.state)
        if state in (State.PUBLISHED, State.CLOSED) and not message.attachments:
            found = feedback.classify(message.text)
            if found is not None:
                await self._feedback(conn, previous, message, found)
                return Outcome("feedback", previous.id)
        window = timedelta(minutes=config.thread_window_minutes)
        if (
            state in OPEN_STATES
            and state != State.APPROVED
            and message.written_at - previous.written_at <= window
        ):
            await self._append(conn, previous, message, now, "joined", state)
            return Outcome("joined", previous.id)
        reopen_until = (previous.published_at or now) + timedelta(days=config.reopen_days)
        if state == State.PUBLISHED and now <= reopen_until:
            try:
                target = decide(state, Action.CITIZEN_REPLY, Actor.process(), previous.block,
                                previous.assignee_id)
            except Refused:
                return None
            await self._append(conn, previous, message, now, "citizen_reply", target)
            if previous.assignee_id is not None:
                await notices.reopened(self.hub, conn, previous.id, previous.assignee_id,
                                       message.text, key=f"reopen:{previous.id}:{message.key}")
            return Outcome("reopened", previous.id)
        return None

    async def _append(self, conn: Conn, incident: repo.Incident, message: Inbound,
                      now: datetime, action: str, state: State) -> None:
        text = f"{incident.text}\n\n{message.text}".strip()
        changes: dict[str, Any] = {"text": text, "state": state.value}
        if message.attachments:
            changes["attachments"] = incident.attachments + message.attachments
        if incident.reply_target.get("unreachable") and message.reply_target:
            changes["reply_target"] = message.reply_target  # they write again: reachable
        if action == "citizen_reply":
            changes["reopens"] = incident.reopens + 1
            changes.update(self.hub.deadlines(incident.policy, now))
        await repo.update(conn, incident.id, **changes)
        # the follow-up's key is stored too, so its redelivery is a duplicate
        await repo.add_event(conn, incident.id, now, action, from_state=incident.state,
                             to_state=state.value, detail=message.key)
        await cursors.claim(conn, f"seen:{message.key}", str(incident.id))
        await self.hub.workspace.show_card(conn, incident.id, now)

    async def _create(self, conn: Conn, message: Inbound, now: datetime) -> Outcome:
        if await self._seen(conn, message.key):
            return Outcome("duplicate")
        route = self.hub.router.route(
            Message(text=message.text, source=message.source, author=message.author_id)
        )
        incident_id = await repo.insert(conn, self._new(message, now, route))
        if incident_id is None:
            return Outcome("duplicate")
        await repo.add_event(conn, incident_id, now, "created", to_state=State.NEW.value,
                             detail=route.reason.to_detail() if route.reason else route.rule)
        await self.hub.workspace.show_card(conn, incident_id, now)
        return Outcome("created", incident_id)

    def _new(self, message: Inbound, now: datetime, route: Any) -> NewIncident:
        deadlines = self.hub.deadlines(route.policy, now)
        return NewIncident(
            source=message.source,
            source_kind=message.kind,
            source_key=message.key,
            thread_key=message.thread,
            link=message.link,
            author_id=message.author_id,
            author_name=message.author_name,
            author_link=message.author_link,
            text=message.text,
            attachments=message.attachments,
            reply_target=message.reply_target,
            written_at=message.written_at,
            received_at=now,
            block=route.block,
            priority=route.priority,
            policy=route.policy,
            route_rule=route.rule,
            due_at=deadlines["due_at"],
            first_reply_due_at=deadlines["first_reply_due_at"],
        )

    async def _seen(self, conn: Conn, key: str) -> bool:
        return await cursors.get(conn, f"seen:{key}") is not None

    async def channel_post_seen(self, chat: int, root: int, channel: int, post: int) -> None:
        """A channel post's automatic forward in a discussion group: remembered, so that a
        comment naming only its thread (a reply to another comment) finds the post."""
        async with self.hub.db.tx() as conn:
            await cursors.put(conn, f"tg:post:{chat}:{root}", f"{channel}:{post}")

    async def post_of(self, chat: int, root: int) -> tuple[int, int] | None:
        """(channel, post) whose comment thread in ``chat`` starts at ``root``, if seen."""
        value = await cursors.get(self.hub.db.reader, f"tg:post:{chat}:{root}")
        if value is None:
            return None
        channel, _, post = value.partition(":")
        return int(channel), int(post)

    async def edit(self, key: str, text: str) -> bool:
        """The author edited the message: the text is updated and the change logged."""
        async with self.hub.db.tx() as conn:
            incident = await repo.by_source_key(conn, key)
            if incident is None or incident.text == text:
                return False
            now = self.hub.clock.now()
            await repo.update(conn, incident.id, text=text, edited_at=now)
            await repo.add_event(conn, incident.id, now, "edited", detail=incident.text[:500])
            await self.hub.workspace.show_card(conn, incident.id, now)
        self.hub.wake_outbox()
        return True

    async def delete(self, key: str) -> bool:
        """The author deleted the message: recorded, never erased."""
        async with self.hub.db.tx() as conn:
            incident = await repo.by_source_key(conn, key)
            if incident is None or incident.deleted_at is not None:
                return False
            now = self.hub.clock.now()
            await repo.update(conn, incident.id, deleted_at=now)
            await repo.add_event(conn, incident.id, now, "deleted")
            await self.hub.workspace.show_card(conn, incident.id, now)
        self.hub.wake_outbox()
        return True

    # -- a message staff forwarded to the bot (from ПОС, a portal, elsewhere) ------------

    async def _external(self, incident_id: int | None, source: str, text: str) -> None:
        """Its number and category in the system it came from, when it names them."""
        if incident_id is None or source not in external.SYSTEMS:
            return
        number, category = external.parse(text)
        async with self.hub.db.tx() as conn:
            await external_store.put(conn, incident_id, system=source, number=number,
                                     category=category)
            await self.hub.workspace.show_card(conn, incident_id, self.hub.clock.now())
        self.hub.wake_outbox()

    async def hold_forward(self, staff_id: int, message_id: int,
                           payload: dict[str, Any]) -> None:
        """Keep what was forwarded until they say where it came from."""
        async with self.hub.db.tx() as conn:
            await cursors.put(conn, f"fwd:{staff_id}:{message_id}",
                              json.dumps(payload, ensure_ascii=False))

    async def register_forward(self, staff_id: int, message_id: int,
                               source: str) -> Outcome | None:
        """The held message as an incident from ``source`` (``forward:<source>``); None
        when nothing is held (expired). A duplicate names the incident it already is."""
        key = f"fwd:{staff_id}:{message_id}"
        raw = await cursors.get(self.hub.db.reader, key)
        if raw is None:
            return None
        payload = json.loads(raw)
        outcome = await self.receive(Inbound(
            source=f"forward:{source}", kind="forwarded", key=key,
            author_id=f"forward:{payload['author'] or 'unknown'}", author_name=payload["author"],
            text=payload["text"], written_at=datetime.fromisoformat(payload["date"]),
            attachments=payload["attachments"], reply_target={"platform": "manual"},
        ))
        if outcome.result == "created":
            await self._external(outcome.incident_id, source, payload["text"])
            return outcome
        existing = await repo.by_source_key(self.hub.db.reader, key)
        return Outcome(outcome.result, existing.id if existing else None, outcome.reason)
