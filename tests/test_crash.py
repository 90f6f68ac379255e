"""kill -9 of the real process (``python -m bot run``) at random points, then a restart.

During a burst of incoming messages, during an approval and during the publication of an
answer: no incident lost, no card twice, no answer twice on the VK wall, and the database
passes ``PRAGMA integrity_check``. Plus ``mcu-hub backup`` while the bot runs, and the
restore the README describes.

The process is the console command itself. Its pacing windows are shrunk for speed by a
``sitecustomize`` (``MCU_TEST_RATE_SCALE``) with the sandbox's flood limits scaled to
match — the same rules, faster; nothing else about the process changes.

A Telegram *send* interrupted between the platform's answer and the bot's record of it
is uncertain after the restart: the Bot API has no idempotency key, so the bot looks for
its own orphan above the message id it recorded before the call and adopts it
(bot/platforms/telegram/sends.py). Every card appears exactly once — also when a kill lands
exactly there, which the test sees (the card row was ``sending`` and the sandbox already
holds the card) and counts; one test puts a kill there on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.sandbox import world
from bot.sandbox.server import Sandbox
from bot.sandbox.telegram import RateLimiter
from tests.harness import CITY_CHAT, Control, button, eventually

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
GROUP = 100001
SCALE = 0.02
CARD_NUMBER = re.compile(r"Сообщение №(\d+) ")
SEED = int(os.environ.get("MCU_CRASH_SEED", "0")) or random.randrange(1, 10**6)

SITECUSTOMIZE = '''
import os
_scale = os.environ.get("MCU_TEST_RATE_SCALE")
if _scale:
    import bot.app

    _init = bot.app.App.__init__

    def _scaled(self, config, clock=None, rate_scale=float(_scale)):
        _init(self, config, clock, rate_scale)

    bot.app.App.__init__ = _scaled
'''


class Proc:
    """The sandbox in this process, the bot as a child process, its database on disk."""

    def __init__(self, tmp: Path, sandbox: Sandbox, control: Control):
        self.tmp = tmp
        self.sandbox = sandbox
        self.control = control
        self.config = tmp / "bot.toml"
        self.db = tmp / "bot.sqlite3"
        self.log = tmp / "bot.log"
        self.site = tmp / "site"
        self.site.mkdir()
        (self.site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        world.write_config(self.config, sandbox.base_url, str(self.db))
        self.process: asyncio.subprocess.Process | None = None
        self.in_doubt: set[int] = set()  # cards whose send the kill may have cut
        self.kills = 0

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(self.site), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path,
                "MCU_TEST_RATE_SCALE": str(SCALE)}

    async def start(self, extra: list[str] | None = None) -> None:
        before = len(await self.control.log(method="getUpdates"))
        servers = len(await self.control.log(method="groups.getLongPollServer"))
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(self.config), *(extra or []),
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log.open("ab"), env=self.env())
        process = self.process

        async def polling() -> bool:
            if process.returncode is not None:
                raise AssertionError(self.log.read_text()[-3000:])
            listening = await self.control.log(method="groups.getLongPollServer")
            return (len(await self.control.log(method="getUpdates")) > before
                    and len(listening) >= servers + 2)
        try:
            await eventually(polling, timeout=30, interval=0.05)
        except AssertionError:
            raise AssertionError("the bot did not start polling: "
                                 + self.log.read_text()[-3000:]) from None

    async def kill9(self) -> None:
        """SIGKILL, then note the cards whose send was cut between answer and record."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1
        with self.read() as db:
            sending = {row[0] for row in db.execute(
                "SELECT o.ref_id FROM outbox o JOIN incidents i ON i.id = o.ref_id"
                " WHERE o.platform = 'card' AND o.status = 'sending'"
                " AND i.card_message_id IS NULL")}
        delivered = await card_counts(self.control)
        self.in_doubt |= {n for n in sending if delivered[n]}

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A short-lived reader (closed after use: the file may be replaced later)."""
        db = sqlite3.connect(self.db, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    def count(self, sql: str, *params: Any) -> int:
        with self.read() as db:
            return int(db.execute(sql, params).fetchone()[0])

    def integrity(self) -> str:
        with self.read() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def card_counts(c: Control) -> Counter[int]:
    found: Counter[int] = Counter()
    for message in await c.cards():
        match = CARD_NUMBER.search(message["text"])
        if match:
            found[int(match.group(1))] += 1
    return found


async def make(tmp: Path, session: aiohttp.ClientSession) -> Proc:
    sandbox = Sandbox()
    sandbox.telegram.limiter = RateLimiter(
        burst=3, per_chat_rate=1 / SCALE, group_per_minute=round(20 / SCALE),
        global_per_second=round(30 / SCALE))
    sandbox.state.clock.set(MONDAY)
    base = await sandbox.start(0)
    return Proc(tmp, sandbox, Control(base, session))


async def every_card_once(p: Proc, n: int) -> None:
    """Cards 1..n each in the staff group exactly once, also those whose send a kill cut
    (a removed orphan does not count: people no longer see it)."""

    async def all_there() -> Counter[int] | None:
        counts = await card_counts(p.control)
        return counts if set(range(1, n + 1)) <= set(counts) else None

    counts = await eventually(all_there, timeout=40)
    await asyncio.sleep(0.5)  # an orphan's removal would come right after its resend
    counts = await card_counts(p.control)
    assert set(counts) == set(range(1, n + 1))
    twice = sorted(number for number, times in counts.items() if times > 1)
    assert not twice, (f"cards {twice} posted twice (seed {SEED}; cut by a kill: "
                       f"{sorted(p.in_doubt)})")


async def test_kill_9_during_a_burst_loses_nothing_and_repeats_nothing(tmp_path):
    rng = random.Random(SEED)
    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        keys: list[str] = []
        try:
            await p.start()
            for burst in range(3):
                items = [{"from_id": 510000 + burst * 100 + i,
                          "text": f"Не убирают снег во дворе дома {burst}-{i}"}
                         for i in range(25)]
                made = await c.post("vk/comments", {"group_id": GROUP, "post_id": 50 + burst,
                                                    "items": items})
                keys += [f"vk:{GROUP}:wall_reply:{50 + burst}:{cid}"
                         for cid in made["comment_ids"]]
                for i in range(4):
                    sent = await c.tg_message(CITY_CHAT, 2001 + burst * 4 + i,
                                              f"Яма на дороге у дома {burst}-{i}")
                    keys.append(f"tg:{CITY_CHAT}:{sent['message_id']}")
                await asyncio.sleep(rng.uniform(0.05, 0.8))
                await p.kill9()
                await p.start()

            def stored() -> bool:
                return p.count("SELECT count(*) FROM incidents") >= len(keys)
            with contextlib.suppress(AssertionError):
                await eventually(lambda: _sync(stored), timeout=30)
            with p.read() as db:
                found = Counter(row[0] for row in db.execute("SELECT source_key FROM incidents"))
            missing = [k for k in keys if found[k] == 0]
            assert not missing, f"lost: {missing} (seed {SEED})"
            assert all(found[k] == 1 for k in keys) and len(found) == len(keys)
            await every_card_once(p, len(keys))
            print(f"seed {SEED}: {p.kills} kills, sends cut between answer and record:"
                  f" {sorted(p.in_doubt)}, each card once")
            await p.stop()
            assert p.integrity() == "ok"
        finally:
            await p.stop()
            await p.sandbox.stop()


async def _sync(check: Any) -> Any:
    return check()


def _restore(copy: Path, live: Path) -> None:
    """README «Backup and restore»: replace the file, remove -wal and -shm beside it."""
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, live)


async def _ready_to_approve(p: Proc, number: int, post: int) -> None:
    """The coordinator takes the incident and answers by replying to its card."""
    c = p.control

    async def card_with(word: str) -> dict | None:
        card = await c.card(number)
        return card if card and word in str(card["reply_markup"]) else None

    card = await eventually(lambda: card_with("Взять"), timeout=20)
    await c.press(card, 1004, button(card, "Взять"))
    card = await eventually(lambda: card_with("Ответ готов"), timeout=20)
    await c.tg_message(world.STAFF_GROUP, 1004, f"Ответ на обращение {post}: сделаем.",
                       reply_to_message_id=card["message_id"])
    await eventually(lambda: card_with("Согласовать"), timeout=20)


async def _replies(p: Proc, post: int) -> list[dict[str, Any]]:
    wall = p.sandbox.vk.walls.get(-GROUP)
    if wall is None:
        return []
    return [m for m in wall.comments.values()
            if m["post_id"] == post and m["from_id"] == -GROUP and not m["deleted"]]


async def test_kill_9_during_approval_and_publishing_publishes_each_once(tmp_path):
    """Three answers, three deaths: just after «Согласовать» is pressed (a random
    moment), while the comment request hangs at VK, and the moment the comment is on
    the wall but not yet recorded (VK's ``guid`` makes the repeat harmless)."""
    rng = random.Random(SEED)
    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        moments = {61: "approval", 62: "in_flight", 63: "on_the_wall"}
        posts = list(moments)
        try:
            await p.start()
            for n, post in enumerate(posts):
                await c.vk_comment(GROUP, post, 520001 + n, f"Не работает фонтан в парке {n}")
            for n, post in enumerate(posts):
                await _ready_to_approve(p, n + 1, post)
            for n, post in enumerate(posts):
                number = n + 1
                card = await c.card(number)
                assert card is not None
                if moments[post] == "in_flight":
                    await c.fault(platform="vk", method="wall.createComment", kind="timeout",
                                  count=1)
                await c.press(card, 1004, button(card, "Согласовать"))
                if moments[post] == "approval":
                    await asyncio.sleep(rng.uniform(0.0, 0.3))
                elif moments[post] == "in_flight":  # VK holds the request: it hangs
                    await eventually(lambda: _held(c), timeout=15, interval=0.01)
                else:
                    await eventually(lambda post=post: _replies(p, post), timeout=15,
                                     interval=0.001)
                await p.kill9()
                await p.start()

                def state(i: int = number) -> str:
                    with p.read() as db:
                        return str(db.execute("SELECT state FROM incidents WHERE id = ?",
                                              (i,)).fetchone()[0])
                # a press the process died holding is given again by Telegram: nobody
                # has to press twice
                await eventually(lambda: _sync(lambda: state() == "published"), timeout=15)
            await asyncio.sleep(1.0)
            for post in posts:
                assert len(await _replies(p, post)) == 1, post
            assert p.count("SELECT count(*) FROM incidents WHERE state = 'published'") == 3
            await every_card_once(p, 3)
            print(f"seed {SEED}: {p.kills} kills, sends cut between answer and record:"
                  f" {sorted(p.in_doubt)}, each card once")
            await p.stop()
            assert p.integrity() == "ok"
        finally:
            await p.stop()
            await p.sandbox.stop()


async def _held(c: Control) -> bool:
    return any(e["status"] == 504 for e in await c.log(method="wall.createComment"))


async def test_kill_9_between_telegrams_answer_and_the_record_posts_the_card_once(tmp_path):
    """The moment the Bot API cannot cover: the card is in the group, its answer has not
    reached the bot's database. The sandbox holds the answer of the card's send; the bot
    dies; after the restart the card's row is uncertain, the bot finds its own message
    above the id it knew and adopts it: no second send, no copy to remove."""
    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        telegram = p.sandbox.telegram
        name, send = telegram._methods["sendmessage"]
        held = asyncio.Event()
        release = asyncio.Event()

        async def answer_held(params: dict, files: dict) -> dict:
            result = await send(params, files)
            if "Сообщение №" in str(params.get("text", "")) and not held.is_set():
                held.set()
                await release.wait()  # the card is posted; the bot never hears so
            return result

        telegram._methods["sendmessage"] = (name, answer_held)
        try:
            await p.start()
            await c.vk_comment(GROUP, 80, 540001, "Не работает светофор у школы")
            await asyncio.wait_for(held.wait(), 20)
            assert (await card_counts(c))[1] == 1
            await p.kill9()
            release.set()
            assert p.in_doubt == {1}  # the kill landed between the answer and the record
            await p.start()

            def recorded() -> bool:
                return p.count("SELECT count(*) FROM incidents WHERE card_message_id"
                               " IS NOT NULL") == 1
            await eventually(lambda: _sync(recorded), timeout=20)
            await every_card_once(p, 1)
            sends = [e for e in await c.log(method="sendMessage")
                     if "Сообщение №" in str(e["params"].get("text", ""))]
            assert len(sends) == 1  # adopted, not sent again
            assert not [e for e in await c.log() if e["method"].startswith("delete")]
            # and the card lives on: a press on it works
            card = await c.card(1)
            assert card is not None
            await c.press(card, 1004, button(card, "Взять"))

            async def taken() -> bool:
                shown = await c.card(1)
                return bool(shown) and "в работе" in shown["text"]
            await eventually(taken, timeout=20)
            await p.stop()
            assert p.integrity() == "ok"
        finally:
            release.set()
            await p.stop()
            await p.sandbox.stop()


async def test_backup_while_running_then_restore(tmp_path):
    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        try:
            await p.start()
            items = [{"from_id": 530000 + i, "text": f"Нет света в подъезде дома {i}"}
                     for i in range(200)]
            await c.post("vk/comments", {"group_id": GROUP, "post_id": 70, "items": items})
            await eventually(lambda: _sync(lambda: p.count(
                "SELECT count(*) FROM incidents") > 0), timeout=15)
            copy = tmp_path / "backup.sqlite3"
            done = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "backup", str(copy), "-c", str(p.config),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await done.communicate()
            assert done.returncode == 0, err.decode()
            assert "backup written" in out.decode()
            backup = sqlite3.connect(copy)
            assert backup.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            saved = backup.execute("SELECT count(*) FROM incidents").fetchone()[0]
            assert 0 < saved <= 200
            assert backup.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
            assert backup.execute("SELECT value FROM cursors WHERE name = ?",
                                  (f"vk:longpoll:{GROUP}",)).fetchone() is not None
            backup.close()
            # a second backup to the same file is refused, the first is kept
            again = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "backup", str(copy), "-c", str(p.config),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            assert await again.wait() == 2

            # restore as the README says: stop, replace the file, drop -wal/-shm, start
            await eventually(lambda: _sync(lambda: p.count(
                "SELECT count(*) FROM incidents") == 200), timeout=15)
            await p.stop()
            _restore(copy, p.db)
            assert p.count("SELECT count(*) FROM incidents") == saved
            await p.start()
            # what VK still holds after the backup's long-poll ts comes back again
            await eventually(lambda: _sync(lambda: p.count(
                "SELECT count(*) FROM incidents") == 200), timeout=20)
            made = await c.vk_comment(GROUP, 71, 531000, "Во дворе дома 3 прорвало трубу")
            key = f"vk:{GROUP}:wall_reply:71:{made['comment_id']}"
            await eventually(lambda: _sync(lambda: p.count(
                "SELECT count(*) FROM incidents WHERE source_key = ?", key) == 1), timeout=15)
            assert p.count("SELECT count(DISTINCT source_key) FROM incidents") == 201
            await p.stop()
            assert p.integrity() == "ok"
        finally:
            await p.stop()
            await p.sandbox.stop()


async def test_a_telegram_message_the_bot_died_holding_is_delivered_again(tmp_path):
    """kill -9 while a city-chat message waits for the database (another writer holds
    it, as a storm's batch would): after the restart it must still become an incident —
    Telegram gives an update again until the bot confirms it, and the bot confirms it
    only once it is stored (``handle_as_tasks=False`` in bot/app.py)."""
    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        try:
            await p.start()
            holder = sqlite3.connect(p.db, timeout=10, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # the bot's writes wait (busy_timeout)
            try:
                sent = await p.control.tg_message(CITY_CHAT, 2042, "Яма у школы номер 2")
                await asyncio.sleep(1.5)  # the bot has the update; its handler waits
                await p.kill9()
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            await p.start()
            key = f"tg:{CITY_CHAT}:{sent['message_id']}"
            await eventually(lambda: _sync(lambda: p.count(
                "SELECT count(*) FROM incidents WHERE source_key = ?", key) == 1), timeout=10)
        finally:
            await p.stop()
            await p.sandbox.stop()
