"""Staff and blocks change without a restart: ``kill -HUP`` rereads the config file.

The file is validated in full first (``bot.config.load_config``: every problem with its
key). A bad file, or one that changes what only a restart can change (tokens, chats,
storage, the clock…), changes nothing: the process keeps the config it runs with and the
admins are told the key and the problem. A good file replaces the live sections —
``LIVE`` — in the one config object every part of the process reads, in one step of the
event loop (nothing runs in between); the router relearns, the staff table follows, and
the admins are told what changed. A person added can press buttons at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.services import learning
from bot.services.hub import Hub
from storage import staff

log = logging.getLogger(__name__)

LIVE = ("staff", "blocks", "routing", "sla", "digest", "ingest")


def restart_only(old: Config, new: Config) -> list[str]:
    """The sections outside ``LIVE`` the new file changes: ``key: why``."""
    problems = []
    for name in type(old).model_fields:
        if name in LIVE:
            continue
        # python mode: a SecretStr compares by its value, so a new token counts
        if old.model_dump(include={name}) != new.model_dump(include={name}):
            problems.append(f"{name}: changed, and this section is read only at start "
                            f"(restart mcu-hub to apply it; reloading changes only "
                            f"{', '.join(LIVE)})")
    return problems


def _diff(old: Config, new: Config) -> tuple[list[str], list[str], list[str]]:
    """Who was added, who removed, who changed (names)."""
    before = {m.telegram_id: m for m in old.staff}
    after = {m.telegram_id: m for m in new.staff}
    added = [after[i].name for i in after if i not in before]
    removed = [before[i].name for i in before if i not in after]
    changed = [after[i].name for i in after if i in before and after[i] != before[i]]
    return added, removed, changed


async def reload(hub: Hub, path: str | Path) -> bool:
    """Reread ``path``; True when applied. Either way the admins are told."""
    try:
        new = load_config(path)
        problems = restart_only(hub.config, new)
    except ConfigError as exc:
        problems = exc.problems
    admins = [m.telegram_id for m in hub.config.staff if "admin" in m.roles]
    now = hub.clock.now()
    stamp = now.isoformat()
    if problems:
        log.warning("config %s not reloaded, the old one stays: %s", path, "; ".join(problems))
        async with hub.db.tx() as conn:
            for user_id in admins:
                await hub.notify(conn, user_id, "people.j2:reload_refused",
                                 key=f"reload:{stamp}", problems=problems)
        hub.wake_outbox()
        return False
    added, removed, changed = _diff(hub.config, new)
    for name in LIVE:  # the one object everyone holds, so all see the new staff at once
        object.__setattr__(hub.config, name, getattr(new, name))
    log.info("config %s reloaded: staff +%d -%d ~%d", path, len(added), len(removed),
             len(changed))
    async with hub.db.tx() as conn:
        await staff.replace_all(conn, [
            staff.Person(m.telegram_id, m.name, m.roles, m.blocks, m.vk_id)
            for m in hub.config.staff])
        await learning.relearn(hub, conn)
        for user_id in {*admins, *(m.telegram_id for m in hub.config.staff
                                   if "admin" in m.roles)}:
            await hub.notify(conn, user_id, "people.j2:reload_done", key=f"reload:{stamp}",
                             added=added, removed=removed, changed=changed)
    hub.wake_outbox()
    return True
