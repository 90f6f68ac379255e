"""Staff as configured: refreshed from the config at every start."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Conn


@dataclass(frozen=True)
class Person:
    telegram_id: int
    name: str
    roles: list[str]
    blocks: list[str]
    vk_id: int | None = None


async def replace_all(conn: Conn, people: Iterable[Person]) -> None:
    """The configured staff are active, with their names, roles and blocks; anyone
    else who was staff is kept (their name stays on the history) but inactive."""
    await conn.execute("UPDATE staff SET active = 0")
    for person in people:
        await conn.execute(
            "INSERT INTO staff(telegram_id, name, roles, blocks, vk_id, active)"
            " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(telegram_id) DO UPDATE SET"
            " name = excluded.name, roles = excluded.roles, blocks = excluded.blocks,"
            " vk_id = excluded.vk_id, active = 1",
            (person.telegram_id, person.name, json.dumps(person.roles, ensure_ascii=False),
             json.dumps(person.blocks, ensure_ascii=False), person.vk_id),
        )
