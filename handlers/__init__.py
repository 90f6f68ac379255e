"""aiogram routers: what a person's button or message does. Thin: parse, call, answer."""

from __future__ import annotations

from aiogram import Router

from bot.config import Config


def build_router(config: Config, features: list[Router] | None = None) -> Router:
    """All routers, in the order they must see updates: the features' commands come
    before the private chat's catch-all and the unknown-button fallback."""
    from handlers import card_buttons, chats, private, staff_group

    root = Router(name="root")
    root.include_router(card_buttons.build())
    for router in features or []:
        root.include_router(router)
    root.include_router(staff_group.build(config))
    root.include_router(private.build())
    root.include_router(chats.build(config))
    root.include_router(card_buttons.build_fallback())
    return root
