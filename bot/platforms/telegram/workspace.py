"""The staff workspace in Telegram (``bot.ports.StaffWorkspace``): the staff group, a forum
with a topic per block and a card per incident, and each person's private chat.

Every method queues Bot API calls as outbox rows (the lane of a chat is ``tg:<chat id>``);
``bot.platforms.telegram.delivery`` sends them. A card is one "sync" row per incident
(platform ``card``): delivering it renders the incident as it stands then — a
``sendMessage`` the first time, an ``editMessageText`` afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.domain import absence, limits
from bot.platforms.telegram import buttons
from bot.platforms.telegram.bot_api import upload
from bot.ports import CardAction, Keyboard
from bot.render import Renderer
from bot.services import cards
from storage import cursors, external, members, outbox, people
from storage import incidents as repo
from storage.db import Conn
from storage.inbox import BOARD_AT, BOARD_MESSAGE
from storage.incidents import Incident, iso
from storage.outbox import Item

# A forum's General topic: Telegram refuses it as message_thread_id ("message thread not
# found", telegram-bot-api Client.cpp); a message goes there without a thread id.
GENERAL_TOPIC = 1
# a bot deletes its own group message only within 48 hours (Bot API, deleteMessage);
# an hour's margin for a card posted a little after its message came
DELETABLE_FOR = timedelta(hours=47)
PROMPT = "prompt"  # outbox purpose: a reply to this message answers for an incident
BOARD = "board"  # outbox purpose: the status message in the General topic


@dataclass
class CardCall:
    method: str
    params: dict[str, Any]


async def card_call(conn: Conn, config: Config, render: Renderer, incident_id: int,
                    now: datetime, topics: dict[str, int]) -> CardCall | None:
    """The Bot API call that makes the card show the incident as it is now."""
    incident = await repo.get(conn, incident_id)
    if incident is None:
        return None
    events = await repo.events(conn, incident_id)
    away = None
    if incident.assignee_id is not None:
        today = now.astimezone(config.municipality.tz).date()
        rows = await people.open_absences(conn, today)
        away = absence.active([absence.Absence(r.user_id, r.deputy_id, r.until)
                               for r in rows], today).get(incident.assignee_id)
    text = cards.card_text(config, render, incident, events, now, away,
                           await external.get(conn, incident_id),
                           group=await members.of(conn, incident_id))
    markup = buttons.card_keyboard(render, incident, config)
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


def _under_card(incident: Incident) -> dict[str, Any]:
    """Parameters that put a message under the incident's card (or in its topic)."""
    params: dict[str, Any] = {}
    if incident.card_message_id is not None:
        params["reply_parameters"] = {"message_id": incident.card_message_id,
                                      "allow_sending_without_reply": True}
    elif incident.card_thread_id is not None:
        params["message_thread_id"] = incident.card_thread_id
    return params


@dataclass
class TelegramWorkspace:
    config: Config
    clock: Clock
    # block -> forum topic of the staff group: from the config, plus topics the bot made
    topics: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.topics = {**self.config.telegram.topics, **self.topics}

    @property
    def group(self) -> int:
        return self.config.telegram.staff_group

    async def send(self, conn: Conn, chat_id: int, text: str, *, key: str, purpose: str = "",
                   ref_id: int | None = None, **params: Any) -> bool:
        """Queue a Telegram message (HTML) to any chat, once per key."""
        return await outbox.enqueue(
            conn, key=key, platform="tg", lane=f"tg:{chat_id}", method="sendMessage",
            params={"chat_id": chat_id, "text": text, **params}, now=self.clock.now(),
            purpose=purpose, ref_id=ref_id)

    # -- the port ---------------------------------------------------------------------

    async def show_card(self, conn: Conn, incident_id: int, now: datetime) -> None:
        # a choice not yet put under the card would bring back buttons of an older state
        await outbox.supersede(conn, f"picker:{incident_id}:", now)
        await outbox.enqueue(conn, key=f"card:{incident_id}", platform="card",
                             lane=f"tg:{self.group}", method="sync", params={}, now=now,
                             purpose="card", ref_id=incident_id, refresh=True)

    async def show_cards(self, conn: Conn, incident_ids: list[int], now: datetime) -> None:
        lane = f"tg:{self.group}"
        await outbox.enqueue_refresh_many(
            conn, [(f"card:{i}", "card", lane, "sync", {}, "card", i) for i in incident_ids],
            now)

    async def move_card(self, conn: Conn, incident: Incident, now: datetime,
                        note: str) -> None:
        """A card cannot change topic in Telegram: the old message is deleted and the
        next sync posts the card anew in the block's topic. Telegram deletes a message
        only within 48 hours of sending it (deleteMessage, Bot API): an older card
        becomes a line saying where the message went, without buttons."""
        if incident.card_message_id is not None and incident.card_chat_id is not None:
            old = {"chat_id": incident.card_chat_id, "message_id": incident.card_message_id}
            if now - incident.received_at < DELETABLE_FOR:
                method, params = "deleteMessage", old
            else:
                method = "editMessageText"
                params = {**old, "reply_markup": {"inline_keyboard": []},
                          "text": note}
            await outbox.enqueue(
                conn, key=f"movecard:{incident.id}:{incident.version}", platform="tg",
                lane=f"tg:{incident.card_chat_id}", method=method, params=params, now=now)
            await repo.forget_card(conn, incident.id)
        await self.show_card(conn, incident.id, now)

    def card_link(self, card_chat_id: int | None, card_message_id: int | None) -> str:
        """A t.me link to the card, for staff (members of the supergroup) to open it."""
        if card_chat_id is None or card_message_id is None:
            return ""
        text = str(card_chat_id)
        if not text.startswith("-100"):
            return ""
        return f"https://t.me/c/{text[4:]}/{card_message_id}"

    async def offer_choices(self, conn: Conn, incident: Incident, action: CardAction,
                            choices: Keyboard) -> None:
        if incident.card_message_id is None:
            # the card is being posted anew (moved to another block's topic): the choice
            # waits for it (``choices_waiting``)
            await cursors.put(conn, f"choices:{incident.id}", json.dumps(
                {"v": incident.version, "markup": buttons.markup(incident, choices)},
                ensure_ascii=False))
            return
        await outbox.enqueue(
            conn, key=f"picker:{incident.id}:{incident.version}:{action}",
            platform="tg", lane=f"tg:{incident.card_chat_id}",
            method="editMessageReplyMarkup",
            params={"chat_id": incident.card_chat_id, "message_id": incident.card_message_id,
                    "reply_markup": buttons.markup(incident, choices)},
            now=self.clock.now(), refresh=True,
        )

    async def choices_waiting(self, conn: Conn, incident_id: int) -> None:
        """The card was posted: a choice offered meanwhile goes under it, unless the
        incident has moved on since (its buttons would be stale)."""
        waiting = await cursors.get(conn, f"choices:{incident_id}")
        if waiting is None:
            return
        await cursors.drop(conn, f"choices:{incident_id}")
        offer = json.loads(waiting)
        incident = await repo.get(conn, incident_id)
        if incident is None or incident.version != offer["v"] or incident.card_message_id is None:
            return
        await outbox.enqueue(
            conn, key=f"picker:{incident.id}:{incident.version}:waiting", platform="tg",
            lane=f"tg:{incident.card_chat_id}", method="editMessageReplyMarkup",
            params={"chat_id": incident.card_chat_id, "message_id": incident.card_message_id,
                    "reply_markup": offer["markup"]}, now=self.clock.now(), refresh=True)

    async def ask(self, conn: Conn, incident: Incident, action: CardAction,
                  user_id: int | None, text: str) -> None:
        """A message under the card that the person answers by replying to it."""
        await self.send(conn, incident.card_chat_id or self.group, text,
                        key=f"prompt:{incident.id}:{action}:{user_id}:{incident.version}",
                        purpose=PROMPT, ref_id=incident.id,
                        reply_markup={"force_reply": True, "selective": True},
                        **_under_card(incident))

    async def show_photos(self, conn: Conn, incident: Incident, photos: list[str], *,
                          key: str) -> None:
        """One photo, or albums of up to 10 (Bot API sendMediaGroup: 2–10 media), replying
        to the card in its topic."""
        chat = incident.card_chat_id or self.group
        place = _under_card(incident)
        if incident.card_thread_id is not None:
            place["message_thread_id"] = incident.card_thread_id
        for n in range(0, len(photos), limits.TG_MEDIA_GROUP_MAX):
            chunk = photos[n:n + limits.TG_MEDIA_GROUP_MAX]
            if len(chunk) == 1:
                method, params = "sendPhoto", {"chat_id": chat, "photo": chunk[0], **place}
            else:
                method, params = "sendMediaGroup", {
                    "chat_id": chat, "media": [{"type": "photo", "media": p} for p in chunk],
                    **place}
            await outbox.enqueue(conn, key=f"{key}:{n}", platform="tg", lane=f"tg:{chat}",
                                 method=method, params=params, now=self.clock.now(),
                                 ref_id=incident.id)

    async def notify(self, conn: Conn, user_id: int, text: str, *, key: str,
                     purpose: str = "", ref_id: int | None = None,
                     about: Incident | None = None, actions: Keyboard | None = None) -> bool:
        extra: dict[str, Any] = {}
        if about is not None and actions:
            extra["reply_markup"] = buttons.markup(about, actions)
        return await self.send(conn, user_id, text, key=key, purpose=purpose, ref_id=ref_id,
                               **extra)

    async def post(self, conn: Conn, text: str, *, key: str,
                   about: Incident | None = None) -> bool:
        if about is None:
            return await self.send(conn, self.group, text, key=key)
        return await self.send(conn, about.card_chat_id or self.group, text, key=key,
                               **_under_card(about))

    async def list_cards(self, conn: Conn, user_id: int, text: str,
                         items: list[tuple[int, str]], *, key: str) -> bool:
        params = {"reply_markup": buttons.open_buttons(items)} if items else {}
        return await self.send(conn, user_id, text, key=key, **params)

    async def show_board(self, conn: Conn, text: str, message_id: int | None) -> None:
        """Posted to the General topic (no thread id: Telegram refuses topic 1), then
        edited in place; purpose ``board`` (its hooks keep the message id)."""
        now = self.clock.now()
        if message_id is None:  # a new message each time one is needed (the old is gone)
            await outbox.enqueue(conn, key=f"board:new:{iso(now)}", platform="tg",
                                 lane=f"tg:{self.group}", method="sendMessage", purpose=BOARD,
                                 now=now, params={"chat_id": self.group, "text": text})
            return
        await outbox.enqueue(conn, key=f"board:{message_id}", platform="tg",
                             lane=f"tg:{self.group}", method="editMessageText", purpose=BOARD,
                             now=now, refresh=True,
                             params={"chat_id": self.group, "message_id": message_id,
                                     "text": text})

    async def board_sent(self, conn: Conn, item: Item, result: Any) -> None:
        """Outbox hook: the status message's id, for the next edits."""
        if item.method == "sendMessage" and isinstance(result, dict) and "message_id" in result:
            await cursors.put(conn, BOARD_MESSAGE, str(result["message_id"]))

    async def board_failed(self, conn: Conn, item: Item, error: Any) -> None:
        """Outbox hook: the status message was deleted (or never went): the next tick
        posts a new one."""
        if item.method == "sendMessage" or "not found" in str(error):
            await cursors.drop(conn, BOARD_MESSAGE)
            await cursors.drop(conn, BOARD_AT)

    async def send_report(self, conn: Conn, chat_id: int, text: str, *, key: str,
                          chart: bytes | None = None, chart_caption: str = "",
                          document: bytes | None = None, filename: str = "") -> None:
        now = self.clock.now()
        lane = f"tg:{chat_id}"
        if document is not None:
            await outbox.enqueue(
                conn, key=f"{key}:document", platform="tg", lane=lane, method="sendDocument",
                now=now, params={"chat_id": chat_id, "caption": text,
                                 "document": upload(document, filename)},
            )
            return
        await self.send(conn, chat_id, text, key=key)
        if chart is not None:
            await outbox.enqueue(
                conn, key=f"{key}:chart", platform="tg", lane=lane, method="sendPhoto",
                now=now, params={"chat_id": chat_id, "caption": chart_caption,
                                 "photo": upload(chart, "chart.png")},
            )

    # -- what the Telegram handlers also need -------------------------------------------

    async def reply(self, conn: Conn, chat_id: int, text: str, *, key: str,
                    markup: dict[str, Any] | None = None, to: int | None = None) -> bool:
        """An answer in the chat a person wrote in: with buttons, under their message."""
        params: dict[str, Any] = {}
        if markup:
            params["reply_markup"] = markup
        if to is not None:
            params["reply_parameters"] = {"message_id": to, "allow_sending_without_reply": True}
        return await self.send(conn, chat_id, text, key=key, **params)

    async def edit(self, conn: Conn, chat_id: int, message_id: int, *,
                   text: str | None = None, markup: dict[str, Any] | None = None) -> None:
        """Bring a message of the bot's up to date: its buttons, maybe its text."""
        base = {"chat_id": chat_id, "message_id": message_id,
                "reply_markup": markup or {"inline_keyboard": []}}
        method, params = "editMessageReplyMarkup", base
        if text is not None:
            method, params = "editMessageText", {**base, "text": text}
        await outbox.enqueue(conn, key=f"pressedit:{method}:{chat_id}:{message_id}",
                             platform="tg", lane=f"tg:{chat_id}", method=method,
                             params=params, now=self.clock.now(), refresh=True)

    async def prompt_sent(self, conn: Conn, item: Item, result: Any) -> None:
        """Outbox hook: remember what a prompt message asks for, and of whom, to read the
        reply (a question under the card names its person; a notice is to its chat)."""
        if not isinstance(result, dict) or "message_id" not in result:
            return
        parts = item.key.split(":")
        kind = parts[2] if item.key.startswith("prompt:") else CardAction.ASK_FOR_ANSWER.value
        chat = result.get("chat", {}).get("id", item.params.get("chat_id"))
        asked = parts[3] if item.key.startswith("prompt:") and len(parts) > 3 else str(chat)
        await cursors.put(conn, f"prompt:{chat}:{result['message_id']}",
                          f"{item.ref_id}:{kind}:{asked if asked.isdigit() else ''}")

    async def replied_to(self, conn: Conn, chat_id: int,
                         message_id: int) -> tuple[int, CardAction, int | None] | None:
        """The incident a reply to the bot's message is about, what the reply is (an
        answer: a reply to a card or a notice; a reason: ``RETURN_FOR_REVISION``) and who
        was asked (None for the card itself)."""
        value = await cursors.get(conn, f"prompt:{chat_id}:{message_id}")
        if value is not None:
            incident_id, _, rest = value.partition(":")
            kind, _, asked = rest.partition(":")
            action = (CardAction(kind) if kind in (CardAction.RETURN_FOR_REVISION,
                                                   CardAction.INTERIM_EDIT, CardAction.MERGE)
                      else CardAction.ASK_FOR_ANSWER)
            return int(incident_id), action, int(asked) if asked.isdigit() else None
        incident_id_or_none = await repo.by_card(conn, chat_id, message_id)
        if incident_id_or_none is None:
            return None
        return incident_id_or_none, CardAction.ASK_FOR_ANSWER, None
