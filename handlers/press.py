"""The press secretary's commands in a private chat: /post, /poll, /queue, /plan and their
buttons. Thin: parse, check the role, call ``bot.services.publishing``, answer through the
outbox.

Only staff with the role ``press`` (or ``admin``) may use them; anyone else gets a
clear refusal (and a citizen's «/post …» is not taken for an appeal).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from bot.render import Renderer
from bot.services.hub import Hub
from bot.services.publishing.compose import Refused, parse_command, parse_poll, parse_when
from bot.services.publishing.queue import Publishing, Reply
from handlers import replies

ROLES = {"press", "admin"}
log = logging.getLogger(__name__)
ALBUM_WAIT = 1.2  # seconds to gather the photos of one album (they come as separate updates)


class DraftCb(CallbackData, prefix="pd"):
    """A button under a preview: a = q (queue), f (queue anyway), m (free slot instead of the
    fixed time), e (edit), x (cancel); id = the draft."""

    a: str
    id: int


class QueueCb(CallbackData, prefix="pq"):
    """A button under /queue: a = u (earlier), d (later), n (publish now), x (remove)."""

    a: str
    id: int


class PageCb(CallbackData, prefix="pp"):
    """The guided /post or /poll: k = p (post) or o (poll), i = the page's index in config."""

    k: str
    i: int


DRAFT_ACTIONS = ("q", "f", "m", "e", "x")
MAX_ID = 2**62  # forged ids beyond SQLite's integers are refused, not looked up
QUEUE_ACTIONS = ("u", "d", "n", "x")
KINDS = {"p": "post", "o": "poll"}


def draft_markup(render: Renderer, post_id: int, confirm: bool = False) -> dict[str, Any]:
    """«В очередь» / «Изменить» / «Отмена»; with a fixed-time conflict, the two ways out."""
    def button(label: str, action: str) -> dict[str, str]:
        return {"text": render.text(f"posts.j2:{label}"),
                "callback_data": DraftCb(a=action, id=post_id).pack()}

    first = ([button("btn_force", "f"), button("btn_free_slot", "m")] if confirm
             else [button("btn_queue", "q")])
    return {"inline_keyboard": [first, [button("btn_edit", "e"), button("btn_cancel", "x")]]}


def queue_buttons(render: Renderer, post_id: int) -> list[list[dict[str, str]]]:
    """One row per queued post: earlier, later, publish now, remove."""
    return [[{"text": render.text(f"posts.j2:btn_q_{action}", id=post_id),
              "callback_data": QueueCb(a=action, id=post_id).pack()}
             for action in QUEUE_ACTIONS]]


def markup(render: Renderer, reply: Reply) -> dict[str, Any] | None:
    """The keyboard a service reply asks for."""
    if reply.markup is not None:
        return reply.markup
    if reply.buttons in ("draft", "confirm") and reply.post_id is not None:
        return draft_markup(render, reply.post_id, confirm=reply.buttons == "confirm")
    if reply.buttons == "queue" and reply.queue_ids:
        return {"inline_keyboard": [row for post_id in reply.queue_ids
                                    for row in queue_buttons(render, post_id)]}
    return None


def allowed(hub: Hub, user_id: int) -> bool:
    member = hub.config.staff_by_id(user_id)
    return member is not None and bool(ROLES & set(member.roles))


async def _say(hub: Hub, chat_id: int, key: str, reply: Reply | str) -> None:
    """Answer through the outbox (rate limits, retries) rather than directly."""
    if isinstance(reply, str):
        reply = Reply(reply)
    await replies.reply(hub, chat_id, reply.text, key=f"press:{chat_id}:{key}",
                        markup=markup(hub.render, reply))


async def _edit(hub: Hub, query: CallbackQuery, *, text: str | None = None,
                keyboard: dict[str, Any] | None = None) -> None:
    """Bring the message under the pressed button up to date (its buttons, maybe its text)."""
    message = query.message
    if message is None:
        return
    await replies.edit(hub, message.chat.id, message.message_id, text=text, markup=keyboard)


async def _draft_from(publishing: Publishing, user_id: int, state: dict[str, Any], text: str,
                      photos: list[str]) -> Reply:
    """A draft from an awaited message: the page and time chosen before, the text now."""
    hub = publishing.hub
    page = hub.config.page(state["page"])
    if page is None:
        raise Refused(f"Нет страницы «{state['page']}»")
    when = datetime.fromisoformat(state["when"]) if state.get("when") else None
    first, _, rest = text.strip().partition("\n")
    if first.strip() and rest.strip():
        try:  # a first line that is only a time sets the time
            when = parse_when(first, hub.clock.now(), hub.config.municipality.tz)
            text = rest
        except Refused:
            pass
    if state.get("replaces"):
        old = await publishing.post(int(state["replaces"]))
        if old is not None and not photos:
            photos = old.photos  # a new text for the same photos
        await publishing.cancel(int(state["replaces"]))
    if state.get("kind") == "poll":
        return await publishing.draft(user_id, page=page, poll=parse_poll(text), when=when)
    return await publishing.draft(user_id, page=page, text=text, photos=photos, when=when)


# -- commands -------------------------------------------------------------------------------


async def on_post(message: Message, command: CommandObject, hub: Hub,
                  publishing: Publishing) -> None:
    """``/post PAGE [time]`` + text, ``/poll PAGE [time]`` + question and options."""
    user = message.from_user
    assert user is not None
    key = str(message.message_id)
    if not allowed(hub, user.id):
        await _say(hub, message.chat.id, key, hub.render.html("posts.j2:refused_role"))
        return
    kind = "poll" if command.command == "poll" else "post"
    await publishing.await_text(user.id, None)
    if not (command.args or "").strip():
        await _say(hub, message.chat.id, key, _page_picker(hub, kind))
        return
    try:
        parsed = parse_command(command.args, hub.config, hub.clock.now())
        if not parsed.text:
            state = {"page": parsed.page.name, "kind": kind,
                     "when": parsed.when.isoformat() if parsed.when else None}
            await publishing.await_text(user.id, state)
            await _say(hub, message.chat.id, key,
                       hub.render.html(f"posts.j2:ask_{kind}", page=parsed.page.name))
            return
        if kind == "poll":
            reply = await publishing.draft(user.id, page=parsed.page,
                                           poll=parse_poll(parsed.text), when=parsed.when)
        else:
            reply = await publishing.draft(user.id, page=parsed.page, text=parsed.text,
                                           when=parsed.when)
    except Refused as exc:
        reply = Reply(hub.render.html("posts.j2:refused", reason=str(exc)), ok=False)
    await _say(hub, message.chat.id, key, reply)


def _page_picker(hub: Hub, kind: str) -> Reply:
    code = "o" if kind == "poll" else "p"
    buttons = [[{"text": page.name, "callback_data": PageCb(k=code, i=i).pack()}]
               for i, page in enumerate(hub.config.pages)]
    if not buttons:
        return Reply(hub.render.html("posts.j2:no_pages"), ok=False)
    return Reply(hub.render.html(f"posts.j2:choose_page_{kind}"),
                 markup={"inline_keyboard": buttons})


class Albums:
    """Photos of one album arrive as separate messages: gather them, then act once.

    The handler must not wait for the rest of the album: updates are handled one at a
    time (so none is confirmed before it is stored), and the other photos come after it.
    The first photo starts a short timer; the album is acted on when it runs out.
    """

    def __init__(self) -> None:
        self.pending: dict[str, list[Message]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def add(self, message: Message, act: Callable[[list[Message]], Awaitable[None]]) -> None:
        key = f"{message.chat.id}:{message.media_group_id}"
        group = self.pending.get(key)
        if group is not None:
            group.append(message)
            return
        self.pending[key] = [message]
        task = asyncio.create_task(self._later(key, act))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _later(self, key: str, act: Callable[[list[Message]], Awaitable[None]]) -> None:
        await asyncio.sleep(ALBUM_WAIT)
        messages = sorted(self.pending.pop(key), key=lambda m: m.message_id)
        try:
            await act(messages)
        except Exception:  # a failed album must not be an unhandled task error
            log.exception("album %s could not be queued", key)


def _on_photo(albums: Albums) -> Callable[..., Awaitable[None]]:
    async def on_photo(message: Message, hub: Hub, publishing: Publishing) -> None:
        """Photos with ``/post PAGE`` in the caption (one photo or an album)."""
        if message.media_group_id:
            albums.add(message, lambda messages: _post_photos(messages, hub, publishing))
        else:
            await _post_photos([message], hub, publishing)

    return on_photo


async def _post_photos(messages: list[Message], hub: Hub, publishing: Publishing) -> None:
    message = messages[0]
    user = message.from_user
    assert user is not None
    key = str(messages[0].message_id)
    if not allowed(hub, user.id):
        await _say(hub, message.chat.id, key, hub.render.html("posts.j2:refused_role"))
        return
    caption = next((m.caption for m in messages if m.caption), "") or ""
    photos = [m.photo[-1].file_id for m in messages if m.photo]
    try:
        if caption.startswith("/post"):
            args = caption.removeprefix("/post").lstrip(" ")
            if args.startswith("@"):  # /post@botname
                args = args.partition(" ")[2]
            await publishing.await_text(user.id, None)
            parsed = parse_command(args, hub.config, hub.clock.now())
            reply = await publishing.draft(user.id, page=parsed.page, text=parsed.text,
                                           photos=photos, when=parsed.when)
        else:
            state = await publishing.awaiting(user.id)
            if state is None or state.get("kind") == "poll":
                reply = Reply(hub.render.html("posts.j2:photo_hint"), ok=False)
            else:
                await publishing.await_text(user.id, None)
                reply = await _draft_from(publishing, user.id, state, caption, photos)
    except Refused as exc:
        reply = Reply(hub.render.html("posts.j2:refused", reason=str(exc)), ok=False)
    await _say(hub, message.chat.id, key, reply)


async def awaited(message: Message, publishing: Publishing) -> bool | dict[str, Any]:
    """Filter: a press secretary's text that answers the bot's «пришлите текст»."""
    user = message.from_user
    if user is None or not message.text or message.text.startswith("/"):
        return False
    state = await publishing.awaiting(user.id)
    return {"awaiting": state} if state else False


async def on_awaited(message: Message, hub: Hub, publishing: Publishing,
                     awaiting: dict[str, Any]) -> None:
    user = message.from_user
    assert user is not None
    await publishing.await_text(user.id, None)
    try:
        reply = await _draft_from(publishing, user.id, awaiting, message.text or "", [])
    except Refused as exc:
        reply = Reply(hub.render.html("posts.j2:refused", reason=str(exc)), ok=False)
    await _say(hub, message.chat.id, str(message.message_id), reply)


async def on_queue(message: Message, hub: Hub, publishing: Publishing) -> None:
    user = message.from_user
    assert user is not None
    if not allowed(hub, user.id):
        reply: Reply | str = hub.render.html("posts.j2:refused_role")
    else:
        reply = await publishing.queue_view()
    await _say(hub, message.chat.id, str(message.message_id), reply)


async def on_plan(message: Message, hub: Hub, publishing: Publishing) -> None:
    user = message.from_user
    assert user is not None
    if not allowed(hub, user.id):
        reply: Reply | str = hub.render.html("posts.j2:refused_role")
    else:
        reply = await publishing.plan_view()
    await _say(hub, message.chat.id, str(message.message_id), reply)


# -- buttons --------------------------------------------------------------------------------


async def on_page_pick(query: CallbackQuery, callback_data: PageCb, hub: Hub,
                       publishing: Publishing) -> None:
    pages = hub.config.pages
    if not allowed(hub, query.from_user.id):
        await query.answer(hub.render.text("posts.j2:refused_role"), show_alert=True)
        return
    if callback_data.k not in KINDS or not 0 <= callback_data.i < len(pages):
        await query.answer(hub.render.text("refused_bad_button"), show_alert=True)
        return
    kind = KINDS[callback_data.k]
    page = pages[callback_data.i]
    await publishing.await_text(query.from_user.id, {"page": page.name, "kind": kind})
    await query.answer()
    await _edit(hub, query, text=hub.render.html(f"posts.j2:ask_{kind}", page=page.name))


async def on_draft_button(query: CallbackQuery, callback_data: DraftCb, hub: Hub,
                          publishing: Publishing) -> None:
    user_id = query.from_user.id
    if not allowed(hub, user_id):
        await query.answer(hub.render.text("posts.j2:refused_role"), show_alert=True)
        return
    action = callback_data.a
    if action not in DRAFT_ACTIONS or not 0 < callback_data.id < MAX_ID:
        await query.answer(hub.render.text("refused_bad_button"), show_alert=True)
        return
    if action == "x":
        reply = await publishing.cancel(callback_data.id)
    elif action == "e":
        post = await publishing.post(callback_data.id)
        if post is None or post.status != "draft":
            reply = Reply(hub.render.text("posts.j2:draft_gone"), alert=True, ok=False)
        else:
            await publishing.await_text(user_id, {
                "page": post.page, "kind": post.kind, "replaces": post.id,
                "when": post.fixed_at.isoformat() if post.fixed_at else None})
            reply = Reply(hub.render.html(f"posts.j2:ask_edit_{post.kind}", id=post.id))
    else:
        try:
            reply = await publishing.confirm(callback_data.id, user_id, action)
        except Refused as exc:
            reply = Reply(str(exc), alert=True, ok=False)
    if reply.alert:
        await query.answer(reply.text, show_alert=True)
        keyboard = markup(hub.render, reply)
        if keyboard:
            await _edit(hub, query, keyboard=keyboard)
        return
    await query.answer()
    await _edit(hub, query)  # the preview's buttons are spent
    await _say(hub, query.message.chat.id if query.message else user_id, f"cb:{query.id}", reply)


async def on_queue_button(query: CallbackQuery, callback_data: QueueCb, hub: Hub,
                          publishing: Publishing) -> None:
    if not allowed(hub, query.from_user.id):
        await query.answer(hub.render.text("posts.j2:refused_role"), show_alert=True)
        return
    action = callback_data.a
    if action not in QUEUE_ACTIONS or not 0 < callback_data.id < MAX_ID:
        await query.answer(hub.render.text("refused_bad_button"), show_alert=True)
        return
    if action in ("u", "d"):
        reply = await publishing.move(callback_data.id, -1 if action == "u" else 1)
    elif action == "n":
        reply = await publishing.publish_now(callback_data.id)
    else:
        reply = await publishing.remove(callback_data.id)
    await query.answer(reply.text, show_alert=reply.alert)
    view = await publishing.queue_view()
    await _edit(hub, query, text=view.text, keyboard=markup(hub.render, view))


def build() -> Router:
    router = Router(name="press")
    router.message.filter(F.chat.type == "private")
    albums = Albums()
    router.message.register(on_post, Command("post", "poll"), F.photo.is_(None))
    router.message.register(
        _on_photo(albums), F.photo, F.forward_origin.is_(None), F.reply_to_message.is_(None),
        F.from_user.func(lambda u: u is not None),
        _press_member)
    router.message.register(on_queue, Command("queue"))
    router.message.register(on_plan, Command("plan"))
    router.message.register(on_awaited, awaited)
    router.callback_query.register(on_page_pick, PageCb.filter())
    router.callback_query.register(on_draft_button, DraftCb.filter())
    router.callback_query.register(on_queue_button, QueueCb.filter())
    return router


async def _press_member(message: Message, hub: Hub) -> bool:
    """Filter: photos from the press secretary (anyone else's go on to the other routers)."""
    user = message.from_user
    if user is None or not allowed(hub, user.id):
        caption = message.caption or ""
        # a citizen's «/post» caption is refused, not taken for an appeal
        return caption.startswith(("/post", "/poll"))
    return True
