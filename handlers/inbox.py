"""The coordinator's Monday in a private chat: ``/inbox``, ``/find`` with its pages, and
the buttons that bring up a card (``OpenCb``) under /inbox, /find and gathered notices.

Thin: check who asks, call ``bot.services.inbox`` / ``bot.services.search``, answer
through the outbox. A card brought up here is a copy in the private chat with the card's
own buttons (they act on the incident as on the group's card) and a link to the card in
its topic.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from pydantic import Field

from bot.domain.search import parse
from bot.platforms.telegram.buttons import ID, OpenCb, card_keyboard, open_buttons
from bot.services import lookups
from bot.services.hub import Hub
from bot.services.inbox import Inbox
from bot.services.search import PAGE, Search
from handlers.replies import edit, reply, workspace

MAX_PAGES = 100  # «Дальше» stops here: a thousand results is not a search any more


class FindCb(CallbackData, prefix="fn"):
    """A page of /find: m = the /find message (whose query is remembered), p = the page."""

    m: int = ID
    p: int = Field(ge=0, lt=MAX_PAGES)


def _staff(hub: Hub, user_id: int) -> bool:
    return hub.config.staff_by_id(user_id) is not None


async def on_inbox(message: Message, hub: Hub, inbox: Inbox) -> None:
    user = message.from_user
    assert user is not None
    key = f"reply:{message.chat.id}:{message.message_id}"
    view = await inbox.view(user.id)
    if view is None:
        await reply(hub, message.chat.id, hub.render.html("inbox.j2:inbox_refused"), key=key)
        return
    await reply(hub, message.chat.id, view.text, key=key,
                markup=open_buttons(view.buttons) if view.buttons else None)


def _results(hub: Hub, items: list, query: str, page: int, more: bool,
             message_id: int) -> tuple[str, dict]:
    states = {i.state: hub.render.text(f"state_{i.state}") for i in items}
    text = hub.render.render(
        "incident_list.html.j2", items=items, states=states, empty=hub.render.text(
            "find_empty", query=query),
        title=hub.render.text("find_page", query=query, first=page * PAGE + 1,
                              last=page * PAGE + len(items)))
    markup = open_buttons([(i.id, f"№{i.id}") for i in items], per_row=5)
    moves = []
    if page > 0:
        moves.append({"text": hub.render.text("btn_find_back"),
                      "callback_data": FindCb(m=message_id, p=page - 1).pack()})
    if more and page + 1 < MAX_PAGES:
        moves.append({"text": hub.render.text("btn_find_more"),
                      "callback_data": FindCb(m=message_id, p=page + 1).pack()})
    if moves:
        markup["inline_keyboard"].append(moves)
    return text, markup


async def on_find(message: Message, command: CommandObject, hub: Hub, search: Search) -> None:
    user = message.from_user
    assert user is not None
    key = f"reply:{message.chat.id}:{message.message_id}"
    if not _staff(hub, user.id):
        await reply(hub, message.chat.id, hub.render.html("staff_only"), key=key)
        return
    query = (command.args or "").strip()[:100]
    if parse(query).empty:  # nothing to look for («/find», «/find ???»): the usage
        await reply(hub, message.chat.id, hub.render.html("find_usage"), key=key)
        return
    items, more = await search.find(query)
    if more:
        await search.remember(user.id, message.message_id, query)
    text, markup = _results(hub, items, query, 0, more, message.message_id)
    await reply(hub, message.chat.id, text, key=key, markup=markup)


async def on_find_page(query: CallbackQuery, callback_data: FindCb, hub: Hub,
                       search: Search) -> None:
    user = query.from_user
    remembered = await search.recall(user.id, callback_data.m)
    if not _staff(hub, user.id) or remembered is None or query.message is None:
        await query.answer(hub.render.text("find_expired"), show_alert=True)
        return
    items, more = await search.find(remembered, callback_data.p)
    text, markup = _results(hub, items, remembered, callback_data.p, more, callback_data.m)
    await query.answer()
    await edit(hub, query.message.chat.id, query.message.message_id, text=text, markup=markup)


async def on_open(query: CallbackQuery, callback_data: OpenCb, hub: Hub) -> None:
    """Bring up the card: a copy with its buttons in the presser's chat, and its link."""
    user = query.from_user
    if not _staff(hub, user.id):
        await query.answer(hub.render.text("refused_not_staff"), show_alert=True)
        return
    found = await lookups.card(hub, callback_data.id)
    if found is None:
        await query.answer(hub.render.text("refused_unknown_incident"), show_alert=True)
        return
    incident, text = found
    link = workspace(hub).card_link(incident.card_chat_id, incident.card_message_id)
    if link:
        text += "\n\n" + hub.render.html("open_in_topic", link=link)
    await query.answer()
    chat = query.message.chat.id if query.message else user.id
    await reply(hub, chat, text, key=f"open:{chat}:{incident.id}:{query.id}",
                markup=card_keyboard(hub.render, incident, hub.config))


def build() -> Router:
    """Before the private chat's catch-all (``bot.app`` says the order)."""
    router = Router(name="inbox")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_inbox, Command("inbox"))
    router.message.register(on_find, Command("find"))
    router.callback_query.register(on_find_page, FindCb.filter())
    router.callback_query.register(on_open, OpenCb.filter())
    return router
