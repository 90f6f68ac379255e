"""A private chat with the bot: staff commands, forwarded registrations, citizens' DMs."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from pydantic import Field

from bot.platforms.telegram.buttons import ID, card_keyboard
from bot.services import failures, lookups
from bot.services.hub import Hub
from bot.services.ingest import Ingest
from bot.services.workflow.presses import Workflow
from bot.sources.telegram import attachments, from_private, origin_author, text_of
from handlers.replies import reply
from handlers.staff_group import handle_reply

if TYPE_CHECKING:
    from storage.incidents import Incident

SOURCES = ["pos", "portal", "other", "im"]  # new ones last: sent buttons keep their index


class ForwardCb(CallbackData, prefix="f"):
    """Which platform a forwarded message came from: index in SOURCES, message id."""

    s: int = Field(ge=0, lt=len(SOURCES))
    m: int = ID


def _roles(hub: Hub, user_id: int) -> list[str]:
    member = hub.config.staff_by_id(user_id)
    return list(member.roles) if member else []


async def _say(hub: Hub, message: Message, text: str,
               markup: dict[str, Any] | None = None) -> None:
    """Answer through the outbox (rate limits, retries) rather than directly."""
    await reply(hub, message.chat.id, text, key=f"reply:{message.chat.id}:{message.message_id}",
                markup=markup)


async def on_help(message: Message, hub: Hub) -> None:
    user = message.from_user
    assert user is not None
    roles = _roles(hub, user.id)
    member = hub.config.staff_by_id(user.id)
    if member is not None and (message.text or "").startswith("/start"):
        await failures.staff_reachable(hub, user.id)  # they can be written to now
    text = hub.render.render(
        "help.html.j2", municipality=hub.config.municipality.name, roles=roles,
        name=member.name if member else "",
        role_names=[hub.render.text(f"role_{r}") for r in roles],
    )
    await _say(hub, message, text)


async def on_my(message: Message, hub: Hub) -> None:
    user = message.from_user
    assert user is not None
    if not _roles(hub, user.id):
        await _say(hub, message, hub.render.html("staff_only"))
        return
    items = await lookups.mine(hub, user.id)
    await _say(hub, message, _list(hub, items, hub.render.text("my_title"),
                                   hub.render.text("my_empty")))


async def on_incident(message: Message, command: CommandObject, hub: Hub) -> None:
    user = message.from_user
    assert user is not None
    if not _roles(hub, user.id):
        await _say(hub, message, hub.render.html("staff_only"))
        return
    arg = (command.args or "").strip().lstrip("№#")
    if not arg.isdigit() or len(arg) > 12:
        await _say(hub, message, hub.render.html("incident_usage"))
        return
    found = await lookups.card(hub, int(arg))
    if found is None:
        await _say(hub, message, hub.render.html("refused_unknown_incident"))
        return
    incident, text = found
    await _say(hub, message, text, markup=card_keyboard(hub.render, incident))


async def on_new(message: Message, hub: Hub, ingest: Ingest) -> None:
    """``/new`` in reply to a message: register it as an incident."""
    user = message.from_user
    assert user is not None
    if not _roles(hub, user.id):
        await _say(hub, message, hub.render.html("staff_only"))
        return
    if message.reply_to_message is None:
        await _say(hub, message, hub.render.html("forward_nothing"))
        return
    await _ask_source(hub, ingest, message, message.reply_to_message)


def _list(hub: Hub, items: list[Incident], title: str, empty: str) -> str:
    states = {s: hub.render.text(f"state_{s}") for s in
              ["new", "assigned", "in_progress", "answer_ready", "approved", "published",
               "closed", "returned", "reopened", "rejected"]}
    return hub.render.render("incident_list.html.j2", items=items[:20], title=title,
                             empty=empty, states=states)


async def _ask_source(hub: Hub, ingest: Ingest, message: Message, original: Message) -> None:
    origin = original.forward_origin
    author = origin_author(origin)
    payload = {
        "text": text_of(original),
        "author": author,
        "date": (origin.date if origin is not None else original.date).astimezone(UTC)
        .isoformat(),
        "attachments": attachments(original),
    }
    user = message.from_user
    assert user is not None
    await ingest.hold_forward(user.id, original.message_id, payload)
    buttons = [[{"text": hub.render.text(f"src_{name}"),
                 "callback_data": ForwardCb(s=i, m=original.message_id).pack()}]
               for i, name in enumerate(SOURCES)]
    await _say(hub, message, hub.render.html("forward_ask"),
               markup={"inline_keyboard": buttons})


async def on_forward_source(query: CallbackQuery, callback_data: ForwardCb, hub: Hub,
                            ingest: Ingest) -> None:
    user = query.from_user
    if not _roles(hub, user.id) or not 0 <= callback_data.s < len(SOURCES):
        await query.answer(hub.render.text("refused_not_staff"), show_alert=True)
        return
    outcome = await ingest.register_forward(user.id, callback_data.m, SOURCES[callback_data.s])
    if outcome is None:
        await query.answer(hub.render.text("forward_expired"), show_alert=True)
    elif outcome.result == "created":
        await query.answer(hub.render.text("forward_done", id=outcome.incident_id))
    else:
        await query.answer(hub.render.text("forward_duplicate", id=outcome.incident_id or "?"))


async def on_reply(message: Message, hub: Hub, workflow: Workflow, ingest: Ingest) -> None:
    """A staff reply to the bot's notice is an answer; anything else goes on below."""
    user = message.from_user
    assert user is not None
    if _roles(hub, user.id) and await handle_reply(message, hub, workflow):
        return
    await on_text(message, hub, ingest)


async def on_text(message: Message, hub: Hub, ingest: Ingest) -> None:
    user = message.from_user
    if user is None:
        return
    if _roles(hub, user.id):
        if message.forward_origin is not None:
            await _ask_source(hub, ingest, message, message)
        elif (message.text or "").startswith("/"):
            await _say(hub, message, hub.render.html("unknown_command"))
        else:
            await _say(hub, message, hub.render.html("forward_nothing"))
        return
    inbound = from_private(message)
    if inbound is None:
        return
    outcome = await ingest.receive(inbound)
    if outcome.result == "created":
        await _say(hub, message, hub.render.html("received_private"))
    elif outcome.result == "feedback":  # a thank-you after the answer: nothing reopened
        await _say(hub, message, hub.render.html("received_thanks"))


async def on_bot_status(update: ChatMemberUpdated, hub: Hub) -> None:
    """A person blocked or unblocked the bot (Telegram tells with my_chat_member)."""
    if update.new_chat_member.status == "member" and hub.config.staff_by_id(update.chat.id):
        await failures.staff_reachable(hub, update.chat.id)


def build() -> Router:
    router = Router(name="private")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(on_bot_status)
    router.message.filter(F.chat.type == "private")
    router.message.register(on_help, CommandStart())
    router.message.register(on_help, Command("help"))
    router.message.register(on_my, Command("my"))
    router.message.register(on_incident, Command("incident"))
    router.message.register(on_new, Command("new"))
    router.callback_query.register(on_forward_source, ForwardCb.filter())
    router.message.register(on_reply, F.reply_to_message)
    router.message.register(on_text)
    return router
