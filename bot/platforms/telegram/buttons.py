"""Buttons as Telegram carries them: inline keyboards and their callback data.

Callback data is at most 64 bytes (Bot API, InlineKeyboardButton): a press carries ids
and a two-letter action code, never a payload. Anything that does not parse — forged,
malformed, another bot's — is refused before any query (``ID`` bounds every number).
"""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.config import Config
from bot.ports import CardAction, Keyboard
from bot.render import Renderer
from bot.services import cards
from storage.incidents import Incident

ID = Field(ge=0, lt=2**62)  # anything else is forged: refused before any query


class CardCb(CallbackData, prefix="c"):
    """A press on a card: incident id, the version the card showed, action, argument."""

    id: int = ID
    v: int = ID
    a: str = Field(min_length=2, max_length=2)  # a CardAction's code
    arg: int = Field(default=0, ge=0, lt=2**62)


class RatingCb(CallbackData, prefix="r"):
    """A citizen's 1–5 rating of a published answer."""

    id: int = ID
    s: int = Field(ge=1, le=5)


class OpenCb(CallbackData, prefix="o"):
    """«Show me this card»: a button of /inbox, /find and the gathered notices."""

    id: int = ID


def open_buttons(items: list[tuple[int, str]], per_row: int = 2) -> dict[str, Any]:
    """A button per incident (id, label) that brings up its card."""
    buttons = [{"text": label, "callback_data": OpenCb(id=incident_id).pack()}
               for incident_id, label in items]
    return {"inline_keyboard": [buttons[i:i + per_row]
                                for i in range(0, len(buttons), per_row)]}


def markup(incident: Incident, keyboard: Keyboard) -> dict[str, Any]:
    """A card's buttons as an inline keyboard: each press names the card's version."""
    return {"inline_keyboard": [
        [{"text": button.label, "url": button.url} if button.url else
         {"text": button.label,
          "callback_data": CardCb(id=incident.id, v=incident.version, a=button.action,
                                  arg=button.arg).pack()}
         for button in row]
        for row in keyboard]}


def card_keyboard(render: Renderer, incident: Incident,
                  config: Config | None = None) -> dict[str, Any]:
    """The card's own buttons in the incident's state (with the config: the one-press
    assignment to a block's only executor)."""
    return markup(incident, cards.buttons(render, incident, config))


def rating_keyboard(incident_id: int) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": str(s), "callback_data": RatingCb(id=incident_id,
                                                                           s=s).pack()}
                                 for s in range(1, 6)]]}


def action_of(data: CardCb) -> CardAction | None:
    """The action a press asks for; None for a code no button has."""
    try:
        return CardAction(data.a)
    except ValueError:
        return None
