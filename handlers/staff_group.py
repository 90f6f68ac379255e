"""The staff group: replies to a card or to the bot's prompt — the assignee's (or the asked
person's) is the answer, anyone else's a note; a reply to «Причина возврата?» the reason."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.config import Config
from bot.ports import CardAction
from bot.services.hub import Hub
from bot.services.workflow.presses import Workflow
from bot.sources.telegram import text_of
from handlers.replies import reply, workspace


def build(config: Config) -> Router:
    router = Router(name="staff_group")
    router.message.filter(F.chat.id == config.telegram.staff_group)

    @router.message(F.reply_to_message)
    async def on_reply(message: Message, hub: Hub, workflow: Workflow) -> None:
        await handle_reply(message, hub, workflow)

    @router.message(F.media_group_id, F.photo)
    async def on_album_photo(message: Message, hub: Hub, workflow: Workflow) -> None:
        """A photo of an album whose first message was a reply (Telegram may carry the
        reply on the first only): it joins that answer's draft."""
        await album_rest(message, workflow)

    @router.message()
    async def ignore(message: Message) -> None:
        """Staff talk among themselves: not the bot's business."""

    return router


def _album(message: Message) -> str | None:
    return f"{message.chat.id}:{message.media_group_id}" if message.media_group_id else None


def _photos(message: Message) -> list[str]:
    return [message.photo[-1].file_id] if message.photo else []


async def album_rest(message: Message, workflow: Workflow) -> None:
    album = _album(message)
    if album is None or message.from_user is None:
        return
    incident_id = await workflow.album_incident(album)
    if incident_id is not None:
        await workflow.add_to_answer(message.from_user.id, incident_id, text_of(message),
                                     _photos(message), album, str(message.message_id))


async def handle_reply(message: Message, hub: Hub, workflow: Workflow) -> bool:
    """A reply to one of the bot's messages: an answer draft, a note or a return reason."""
    replied = message.reply_to_message
    if replied is None or message.from_user is None or replied.from_user is None:
        return False
    if replied.from_user.id != hub.bot_id:
        return False
    chat = message.chat.id
    about = await workspace(hub).replied_to(hub.db.reader, chat, replied.message_id)
    if about is None:
        return False
    incident_id, asked, asked_of = about
    user_id = message.from_user.id
    mine = asked_of in (None, user_id)
    if asked == CardAction.RETURN_FOR_REVISION and mine:
        text = await workflow.return_with_reason(user_id, incident_id, text_of(message))
    elif asked == CardAction.INTERIM_EDIT and mine:
        text = await workflow.edit_interim(user_id, incident_id, text_of(message))
    elif asked == CardAction.MERGE and mine:
        text = await workflow.merge_into(user_id, incident_id, text_of(message))
    elif asked in (CardAction.RETURN_FOR_REVISION, CardAction.INTERIM_EDIT, CardAction.MERGE):
        # someone else's word on a return, an interim draft or a merge: a note in the
        # history (an album is one note, as under the card)
        text = await workflow.note(user_id, incident_id, text_of(message), _photos(message),
                                   album=_album(message))
    else:
        text = await workflow.reply(user_id, incident_id, text_of(message), _photos(message),
                                    asked=asked_of, album=_album(message),
                                    photo_key=str(message.message_id))
    if text:
        await reply(hub, chat, text, key=f"ack:{chat}:{message.message_id}",
                    to=message.message_id)
    return True
