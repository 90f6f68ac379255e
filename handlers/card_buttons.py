"""Presses on incident cards and on citizens' rating buttons.

The callback is answered directly (it is a reply to the press, not a message); what
the press changes goes out through the outbox.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.platforms.telegram.buttons import CardCb, RatingCb
from bot.services.hub import Hub
from bot.services.workflow.presses import Workflow


async def on_card(query: CallbackQuery, callback_data: CardCb, workflow: Workflow) -> None:
    reply = await workflow.press(query.from_user.id, callback_data)
    await query.answer(reply.text, show_alert=reply.alert)


async def on_rating(query: CallbackQuery, callback_data: RatingCb, workflow: Workflow) -> None:
    text = await workflow.rate(query.from_user.id, callback_data.id, callback_data.s)
    await query.answer(text)


async def on_unknown(query: CallbackQuery, hub: Hub) -> None:
    """Forged, malformed or foreign callback data: refused, nothing changes."""
    await query.answer(hub.render.text("refused_bad_button"), show_alert=True)


def build() -> Router:
    router = Router(name="card_buttons")
    router.callback_query.register(on_card, CardCb.filter())
    router.callback_query.register(on_rating, RatingCb.filter())
    return router


def build_fallback() -> Router:
    """Last in line: a press no other router knew."""
    router = Router(name="unknown_buttons")
    router.callback_query.register(on_unknown)
    return router
