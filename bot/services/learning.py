"""The router relearns from the municipality's corrections (``bot.domain.learning``).

Called at start and after every «Сменить блок»; the CLI (``mcu-hub route``) reads the
same words to explain, list, undo and evaluate them.
"""

from __future__ import annotations

from bot.config import Config
from bot.domain.learning import Correction, Learned, as_keywords, learn
from bot.domain.routing import Router
from bot.services.hub import Hub
from storage import corrections
from storage.db import Conn


async def history(conn: Conn, config: Config) -> list[Correction]:
    rows = await corrections.all_for(conn, config.municipality.id)
    return [Correction(r.text, r.from_block, r.to_block) for r in rows]


def taught(config: Config, corrected: list[Correction],
           taken_back: set[tuple[str, str]]) -> list[Learned]:
    """What the corrections teach under this config (nothing when learning is off)."""
    times = config.routing.learn_min_corrections
    if times <= 0:
        return []
    known = {b.name: [*b.keywords, *b.weak_keywords] for b in config.blocks}
    return learn(corrected, known, taken_back, min_times=times)


async def learned_words(conn: Conn, config: Config) -> list[Learned]:
    taken_back = await corrections.unlearned(conn, config.municipality.id)
    return taught(config, await history(conn, config), taken_back)


async def relearn(hub: Hub, conn: Conn) -> list[Learned]:
    """Rebuild the hub's router with what the corrections teach now."""
    words = await learned_words(conn, hub.config)
    hub.router = Router(hub.config, as_keywords(words))
    return words
