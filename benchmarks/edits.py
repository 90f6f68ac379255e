"""Edits: 300 incidents, each changing state four times, in one staff group.

On a busy Monday every state change of every card is an edit, and Telegram counts edits
with sends: about 20 a minute in a group (tdlib/td#2592). Staff act on a card soon after
it appears: taken, answered, returned, answered again, ``STEP`` apart. Without
coalescing that is 300 sends + 1,200 edits (75 minutes at 20 a minute). The outbox keeps
one row a card, rendered when it goes, and lets new cards go before stale edits, so each
card needs one send and one edit showing its final state: the floor is 600 calls, 30
minutes. Windows are scaled by ``SCALE`` as in ``delivery`` (0.02: the floor is 36 s).

Figures: drain time from all cards queued to the last card showing its final state, its
ratio to the floor (target ≤ 1.10), 429s received (target 0), calls made, and when the
last new card went compared with the floor of the sends alone (new cards go first).
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import config, emit, quiet, scaled_sandbox, start, stop, wait_for
from bot.app import App
from bot.platforms.telegram.buttons import CardCb
from bot.ports import CardAction
from bot.sandbox import world
from bot.sandbox.client import CARD_NUMBER
from storage import incidents as repo
from storage.db import fetch_value

CARDS = 300
SCALE = 0.02
STEP = 15.0  # real seconds between a card's state changes (× SCALE)
GROUP = 100001
COORDINATOR = 1004
FINAL = "до 18:00"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))


async def main(cards: int = CARDS, scale: float = SCALE) -> None:
    quiet()
    sandbox = scaled_sandbox(scale)
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    telegram = sandbox.telegram
    sent_at: list[float] = []
    final_at: dict[int, float] = {}
    calls = {"send": 0, "edit": 0}
    changes: list[asyncio.Task[None]] = []
    app_box: list[App] = []

    def number(text: str) -> int | None:
        # the Bot API call carries HTML; the number is read as Telegram shows it
        found = CARD_NUMBER.search(re.sub(r"<[^>]+>", "", text))
        return int(found.group(1)) if found else None

    name, send = telegram._methods["sendmessage"]

    async def counted_send(params: dict[str, Any], files: dict[str, Any]) -> Any:
        result = await send(params, files)
        n = number(str(params.get("text", "")))
        if n is not None and str(params.get("chat_id")) == str(world.STAFF_GROUP):
            calls["send"] += 1
            sent_at.append(time.perf_counter())
            changes.append(asyncio.create_task(_act(app_box[0], n, STEP * scale)))
        return result

    edit_name, edit = telegram._methods["editmessagetext"]

    async def counted_edit(params: dict[str, Any], files: dict[str, Any]) -> Any:
        result = await edit(params, files)
        text = str(params.get("text", ""))
        if str(params.get("chat_id")) == str(world.STAFF_GROUP) and number(text):
            calls["edit"] += 1
            if FINAL in text:
                final_at[number(text) or 0] = time.perf_counter()
        return result

    telegram._methods["sendmessage"] = (name, counted_send)
    telegram._methods["editmessagetext"] = (edit_name, counted_edit)
    with tempfile.TemporaryDirectory() as tmp:
        app = App(config(base, Path(tmp) / "bot.sqlite3"), rate_scale=scale)
        app_box.append(app)
        task = await start(app, sandbox)
        await asyncio.sleep(1.0)  # the start-up messages go first
        before_429 = _refusals(sandbox)
        poll = sandbox.vk.polls[GROUP]
        wall = sandbox.vk._wall(-GROUP)
        post = sandbox.vk._ensure_post(wall, 7)
        events = []
        for n in range(cards):
            comment = sandbox.vk._add_comment(
                wall, post, from_id=620000 + n, text=f"Не горит фонарь у дома {n}",
                reply_to=None, attachments=[], via="control")
            events.append(("wall_reply_new", sandbox.vk._event_comment(wall, comment)))
        poll.emit_many(events)

        async def queued() -> bool:
            value = await fetch_value(app.db.reader,
                                      "SELECT count(*) FROM outbox WHERE purpose = 'card'")
            return int(value or 0) >= cards  # type: ignore[arg-type]

        await wait_for(queued, 60)
        queued_at = time.perf_counter()
        floor = 2 * cards / 20 * 60.0 * scale  # one send and one edit a card
        await wait_for(lambda: _all_final(final_at, cards), floor * 3 + 60, interval=0.05)
        drain = max(final_at.values()) - queued_at
        rows = await fetch_value(app.db.reader,
                                 "SELECT count(*) FROM outbox WHERE purpose = 'card'")
        await asyncio.gather(*changes)
        await stop(app, task)
    refusals = _refusals(sandbox) - before_429
    await sandbox.stop()
    ratio = drain / floor
    sends_floor = cards / 20 * 60.0 * scale
    emit({"benchmark": "edits", "cards": cards, "state_changes": 4 * cards, "scale": scale,
          "floor_seconds": round(floor, 2), "drain_seconds": round(drain, 2),
          "ratio": round(ratio, 3), "target_ratio": 1.10, "http_429": refusals,
          "card_sends": calls["send"], "card_edits": calls["edit"],
          "edits_without_coalescing": 4 * cards, "outbox_rows_for_cards": rows,
          "last_new_card_seconds": round(sent_at[-1] - queued_at, 2),
          "new_cards_floor_seconds": round(sends_floor, 2),
          "real_floor_minutes": round(2 * cards / 20, 1),
          "ok": ratio <= 1.10 and refusals == 0 and calls["edit"] == cards})


async def _act(app: App, incident_id: int, step: float) -> None:
    """Staff act on a card that just appeared: four state changes, ``step`` apart."""
    workflow = app.workflow
    await asyncio.sleep(step)
    incident = await repo.get(app.db.reader, incident_id)
    assert incident is not None
    await workflow.press(COORDINATOR, CardCb(id=incident_id, v=incident.version, a=CardAction.TAKE))
    await asyncio.sleep(step)
    await workflow.answer(COORDINATOR, incident_id, f"Фонарь заменят сегодня ({incident_id}).",
                          [])
    await asyncio.sleep(step)
    await workflow.return_with_reason(COORDINATOR, incident_id, "Уточните время")
    await asyncio.sleep(step)
    await workflow.answer(COORDINATOR, incident_id, f"Фонарь заменят {FINAL} ({incident_id}).",
                          [])


async def _all_final(final_at: dict[int, float], cards: int) -> bool:
    return len(final_at) >= cards


def _refusals(sandbox: Any) -> int:
    return sum(1 for e in sandbox.state.log if e["platform"] == "tg" and e["status"] == 429)


if __name__ == "__main__":
    asyncio.run(main(*(float(a) if "." in a else int(a) for a in sys.argv[1:])))
