"""Bad input, generated: forged buttons, junk commands, odd messages, broken VK events.

Volume goes straight into the real aiogram Dispatcher (``feed_update``) of a real App
whose Bot talks to a running sandbox — the same routers, filters and handlers as in
production, without the long poll in between — and into the VK long-poll consumer.
Each input must get a clear answer or be ignored, must not raise out of the handler,
and must change nothing it should not: the incidents' rows and audit log are compared
before and after.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Update
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.platforms.telegram.buttons import CardCb
from bot.sandbox import world
from bot.sandbox.server import Sandbox
from bot.services.ingest import Inbound
from bot.sources import vk_events
from bot.sources.vk import CommunityLongPoll
from storage import incidents as repo
from storage.db import fetch_all
from tests.harness import CITY_CHAT, STAFF_GROUP, eventually, running, sandbox_config

T = TypeVar("T")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
STAFF = [tid for tid, *_ in world.STAFF]
CITIZENS = [2001, 2002, 2050]
STRANGERS = [42, 999_999_999, 7_000_000_002]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

# -- JSON-ish junk --------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "100001", "abc", "1e9", " 7 "]),
)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)

VK_KEYS = ["id", "post_id", "from_id", "owner_id", "date", "text", "attachments", "message",
           "peer_id", "conversation_message_id", "post_type", "signer_id", "topic_id",
           "photo_id", "video_id", "reply_to_comment"]
VK_TYPES = ["wall_reply_new", "wall_reply_edit", "wall_reply_delete", "message_new",
            "wall_post_new", "board_post_new", "photo_comment_new", "video_comment_new",
            "group_join", "", "wall_repost"]


@st.composite
def vk_objects(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(junk)
    keys = draw(st.lists(st.sampled_from(VK_KEYS), unique=True, max_size=len(VK_KEYS)))
    obj: dict[str, Any] = {}
    for key in keys:
        choice = draw(st.integers(0, 3))
        if key in ("text",) or choice == 0:
            obj[key] = draw(st.one_of(st.text(max_size=200), junk))
        elif key == "attachments":
            obj[key] = draw(st.one_of(junk, st.lists(st.fixed_dictionaries(
                {"type": st.sampled_from(["photo", "video", "doc"]), "photo": junk}),
                max_size=3)))
        elif key == "message":
            obj[key] = draw(st.one_of(junk, vk_objects()))
        elif key == "post_type":
            obj[key] = draw(st.sampled_from(["suggest", "post", None, 5]))
        else:
            obj[key] = draw(st.one_of(st.integers(-(2**66), 2**66), st.integers(1, 600000),
                                      scalars))
    return obj


@st.composite
def vk_updates(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 14)) == 0:
        return draw(junk)
    update: dict[str, Any] = {}
    if draw(st.booleans()):
        update["type"] = draw(st.one_of(st.sampled_from(VK_TYPES), junk))
    if draw(st.integers(0, 5)):
        update["object"] = draw(vk_objects())
    if draw(st.booleans()):
        update["group_id"] = draw(st.one_of(st.sampled_from([100001, 100002, 100003, 1]),
                                            scalars))
    return update


def test_vk_events_never_raise_on_missing_or_odd_fields():
    @SETTINGS
    @given(group=st.sampled_from([100001, 100002]), update=vk_updates(),
           can_reply=st.booleans())
    def check(group: int, update: Any, can_reply: bool) -> None:
        inbound = vk_events.from_update(group, update, can_reply=can_reply)
        if inbound is not None:
            assert isinstance(inbound, Inbound)
            assert inbound.key.startswith(f"vk:{group}:")
            assert inbound.author_id.startswith("vk:")
            assert isinstance(inbound.text, str) and isinstance(inbound.written_at, datetime)
            json.dumps(inbound.reply_target)
            json.dumps(inbound.attachments)
        change = vk_events.edit_key(group, update)
        if change is not None:
            action, key, text = change
            assert action in ("edit", "delete") and key.startswith(f"vk:{group}:")
            assert isinstance(text, str)
        for post in (update, update.get("object") if isinstance(update, dict) else None):
            vk_events.from_public_post(100003, post)  # type: ignore[arg-type]
            vk_events.from_public_comment(100003, 17, post)  # type: ignore[arg-type]

    check()


# -- a storm stored at once is stored as if one by one ----------------------------------------

inbound_specs = st.lists(st.tuples(
    st.integers(0, 7),  # key (repeats: the same event delivered again)
    st.sampled_from([None, "t0", "t1"]),  # thread
    st.sampled_from(["vk:500001", "vk:500002", "tg:1004", "vk:-100001"]),  # author
    st.sampled_from(["Нет отопления в доме 5", "Яма на дороге", "+", "Спасибо!", ""]),
    st.integers(0, 90),  # minutes after the first message
), max_size=14)


def test_a_batch_is_stored_exactly_as_one_by_one():
    """``receive_many`` (a long-poll batch) ends where ``receive`` one at a time does,
    whatever the repeats, threads, authors and noise; and a redelivery changes nothing."""
    from bot.app import make_hub
    from bot.clock import FakeClock
    from bot.config import parse_config
    from bot.domain.calendar import WorkCalendar
    from bot.domain.routing import Router
    from bot.render import Renderer
    from bot.services.ingest import Ingest
    from storage.db import Database

    config = parse_config(world.config_dict("http://sandbox.invalid", ":memory:"), environ={})
    loop = asyncio.new_event_loop()

    async def fresh() -> tuple[Ingest, Database]:
        db = await Database(":memory:").open()
        hub = make_hub(config=config, clock=FakeClock(MONDAY), db=db,
                  render=Renderer(config.municipality.tz),
                  calendar=WorkCalendar.from_config(config.municipality, config.calendar),
                  router=Router(config))
        return Ingest(hub), db

    def inbound(spec: tuple[int, str | None, str, str, int]) -> Inbound:
        key, thread, author, text, minutes = spec
        return Inbound(source="vk:100001", kind="vk_comment", key=f"k{key}", author_id=author,
                       text=text, thread=thread, written_at=MONDAY + timedelta(minutes=minutes),
                       author_name="Житель", reply_target={"platform": "manual"})

    async def state(db: Database) -> list[Any]:
        return [
            [tuple(r) for r in await fetch_all(db.reader, "SELECT * FROM incidents")],
            sorted(tuple(r) for r in await fetch_all(
                db.reader, "SELECT incident_id, action, from_state, to_state, detail"
                           " FROM incident_events")),
            sorted(tuple(r) for r in await fetch_all(
                db.reader, "SELECT key, lane, method, params, status FROM outbox")),
            sorted(tuple(r) for r in await fetch_all(db.reader, "SELECT * FROM cursors")),
        ]

    @SETTINGS
    @given(specs=inbound_specs, cuts=st.lists(st.integers(1, 5), max_size=6))
    def check(specs: list[tuple[int, str | None, str, str, int]], cuts: list[int]) -> None:
        loop.run_until_complete(one(specs, cuts))

    async def one(specs: list[tuple[int, str | None, str, str, int]], cuts: list[int]) -> None:
        single, single_db = await fresh()
        batched, batched_db = await fresh()
        try:
            for spec in specs:
                await single.receive(inbound(spec))
            messages = [inbound(spec) for spec in specs]
            start = 0
            for cut in [*cuts, len(messages)]:
                await batched.receive_many(messages[start:start + cut])
                start += cut
            await batched.receive_many(messages[start:])
            expected = await state(single_db)
            assert await state(batched_db) == expected
            outcomes = await batched.receive_many([inbound(spec) for spec in specs])
            for spec in specs:
                outcomes.append(await single.receive(inbound(spec)))
            assert all(o.result in ("duplicate", "skipped") for o in outcomes), outcomes
            assert await state(batched_db) == expected
            assert await state(single_db) == expected
        finally:
            await single_db.close()
            await batched_db.close()

    try:
        check()
    finally:
        loop.close()


# -- a real App fed directly ------------------------------------------------------------


@dataclass
class Fed:
    """A sandbox and an App (not polling) whose dispatcher is fed built updates."""

    loop: asyncio.AbstractEventLoop
    sandbox: Sandbox
    app: App
    next_id: int = 1

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def uid(self) -> int:
        self.next_id += 1
        return self.next_id

    async def feed(self, kind: str, payload: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": self.uid(), kind: payload},
                                       context={"bot": self.app.bot})
        await self.app.dispatcher.feed_update(self.app.bot, update)

    def register_query(self, query_id: str, chat_id: int, user: int, data: str) -> None:
        """The sandbox knows the press, as if made through it (answers are checked)."""
        self.sandbox.telegram.callbacks[query_id] = {
            "at": time.time(), "answered": False, "chat_id": chat_id, "message_id": 1,
            "from_id": user, "data": data}

    def answered(self, query_id: str) -> dict[str, Any] | None:
        for answer in self.sandbox.telegram.callback_answers:
            if answer["callback_query_id"] == query_id:
                return answer
        return None

    async def snapshot(self) -> tuple[list[tuple], int]:
        rows = await fetch_all(self.app.db.reader, "SELECT * FROM incidents ORDER BY id")
        events = await fetch_all(self.app.db.reader, "SELECT count(*) FROM incident_events")
        return [tuple(row) for row in rows], int(events[0][0])

    async def outbox_count(self) -> int:
        rows = await fetch_all(self.app.db.reader, "SELECT count(*) FROM outbox")
        return int(rows[0][0])

    async def replies_to(self, chat_id: int, message_id: int) -> list[str]:
        rows = await fetch_all(self.app.db.reader, "SELECT params FROM outbox WHERE key = ?",
                               (f"reply:{chat_id}:{message_id}",))
        return [json.loads(row["params"])["text"] for row in rows]


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"Тест{user_id}",
            "last_name": "Фаззов", "username": f"user{user_id}"}


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"Тест{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Чат {chat_id}"}


def _message(message_id: int, chat_id: int, from_id: int, text: str | None,
             reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "date": int(MONDAY.timestamp()),
                               "chat": _chat(chat_id), "from": _user(from_id)}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


def _bot_message(chat_id: int, message_id: int) -> dict[str, Any]:
    return {"message_id": message_id, "date": int(MONDAY.timestamp()), "chat": _chat(chat_id),
            "from": {"id": world.BOT_ID, "is_bot": True, "first_name": "МЦУ",
                     "username": world.BOT_USERNAME}, "text": "Сообщение №1"}


async def _seed(app: App) -> None:
    """Five incidents in different states, as the workflow leaves them; no cards."""
    for n in range(1, 6):
        await app.ingest.receive(Inbound(
            source="vk:100001", kind="vk_comment", key=f"vk:100001:wall_reply:9:{n}",
            author_id=f"vk:{500100 + n}", author_name=f"Житель {n}",
            text=f"Нет отопления в доме {n}", written_at=MONDAY,
            thread=f"vk:100001:wall:9:{n}", reply_target={
                "platform": "vk", "lane": "vk:community:100001", "method": "wall.createComment",
                "params": {"owner_id": -100001, "post_id": 9, "reply_to_comment": n,
                           "from_group": 100001}}))
    wf = app.workflow

    async def press(incident_id: int, action: str, arg: int = 0, user: int = 1004) -> None:
        incident = await repo.get(app.db.reader, incident_id)
        assert incident is not None
        reply = await wf.press(user, CardCb(id=incident_id, v=incident.version, a=action,
                                            arg=arg))
        assert not reply.alert, reply.text

    await press(2, "to", 1005)
    for n in (3, 4):
        await press(n, "tk")
        await wf.answer(1004, n, f"Ответ {n}", [])
    await press(4, "ap")
    await press(5, "rr", 1)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    loop = asyncio.new_event_loop()
    sandbox = Sandbox(rate_limits=False)
    sandbox.state.clock.set(MONDAY)
    base = loop.run_until_complete(sandbox.start(0))
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = sandbox_config(base, tmp / "bot.sqlite3")
    app = App(config)
    made = Fed(loop=loop, sandbox=sandbox, app=app)
    loop.run_until_complete(app.db.open())
    loop.run_until_complete(app._sync_staff())
    app.hub.bot_id = world.BOT_ID
    loop.run_until_complete(_seed(app))
    try:
        yield made
    finally:
        loop.run_until_complete(app.bot.session.close())
        loop.run_until_complete(app.db.close())
        loop.run_until_complete(sandbox.stop())
        loop.close()


ACTIONS = ["tk", "as", "ra", "to", "im", "id", "ie", "is", "ix", "sb", "tl", "tp", "ap", "rt",
           "rj", "rr", "ro", "pm",
           "bk", "", "zz", "tk:0", "ap\n"]
big_ints = st.one_of(st.integers(-3, 8), st.integers(-(2**80), 2**80),
                     st.sampled_from([2**63, -(2**63) - 1, 2**80, 10**20]))


@st.composite
def callback_data(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.text(min_size=1, max_size=64))
    if kind == 1:
        return draw(st.text(alphabet="c:0123456789-tkapro", min_size=1, max_size=64))
    if kind == 2:
        return f"r:{draw(big_ints)}:{draw(big_ints)}"
    if kind == 3:
        return f"f:{draw(big_ints)}:{draw(big_ints)}"
    parts = [draw(big_ints), draw(big_ints), draw(st.sampled_from(ACTIONS)), draw(big_ints)]
    if kind == 4:
        parts[0] = draw(st.integers(0, 6))
        parts[1] = draw(st.integers(0, 8))
    return "c:" + ":".join(str(p) for p in parts)


def test_forged_callback_data_through_the_dispatcher(fed: Fed):
    @SETTINGS
    @example(data=f"c:{2**80}:0:tk:0", user=1004, chat=STAFF_GROUP)
    @example(data=f"r:{2**64}:5", user=2001, chat=2001)
    @example(data=f"c:1:{2**64}:tk:0", user=1004, chat=STAFF_GROUP)
    @example(data=f"c:2:1:to:{2**64}", user=1004, chat=STAFF_GROUP)
    @example(data=f"f:0:{2**64}", user=1004, chat=1004)
    @given(data=callback_data(),
           user=st.sampled_from(STAFF + CITIZENS + STRANGERS),
           chat=st.sampled_from([STAFF_GROUP, CITY_CHAT, -100999, 2001]))
    def check(data: str, user: int, chat: int) -> None:
        fed.run(one(data, user, chat))

    async def one(data: str, user: int, chat: int) -> None:
        before = await fed.snapshot()
        query_id = f"q{fed.uid()}"
        fed.register_query(query_id, chat, user, data)
        await fed.feed("callback_query", {
            "id": query_id, "from": _user(user), "chat_instance": "1", "data": data,
            "message": _bot_message(chat, 5)})
        answer = fed.answered(query_id)
        assert answer is not None, f"no answer to {data!r}"
        after = await fed.snapshot()
        if user not in STAFF or not _may_change(data, before[0]):
            assert after == before, data
        else:
            _versions_only_grow(before[0], after[0])

    check()


def test_forged_card_presses_on_the_service_layer(fed: Fed):
    """Many more presses, straight into ``Workflow.press`` with forged ``CardCb`` values."""

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(user=st.sampled_from(STAFF + CITIZENS + STRANGERS), incident=big_ints,
           version=big_ints, action=st.one_of(st.sampled_from(ACTIONS), st.text(max_size=5)),
           arg=big_ints)
    def check(user: int, incident: int, version: int, action: str, arg: int) -> None:
        # constructed without validation: the service must not rely on the filter's checks
        fed.run(one(user, CardCb.model_construct(id=incident, v=version, a=action, arg=arg)))

    async def one(user: int, data: CardCb) -> None:
        before = await fed.snapshot()
        reply = await fed.app.workflow.press(user, data)
        assert isinstance(reply.text, str)
        after = await fed.snapshot()
        if user not in STAFF or not _may_change(data, before[0]):
            assert after == before, data
            assert reply.alert or reply.text == "", data
        else:
            _versions_only_grow(before[0], after[0])

    check()


def _may_change(data: str | CardCb, rows: list[tuple]) -> bool:
    """A staff press can change an incident only with its current version."""
    try:
        cb = data if isinstance(data, CardCb) else CardCb.unpack(data)
    except (TypeError, ValueError):
        return False
    versions = {row[0]: row[_VERSION] for row in rows}
    return versions.get(cb.id) == cb.v


_VERSION = [f for f in repo._COLUMNS].index("version")


def _versions_only_grow(before: list[tuple], after: list[tuple]) -> None:
    old = {row[0]: row[_VERSION] for row in before}
    for row in after:
        assert row[_VERSION] >= old.get(row[0], 0)


COMMANDS = ["/start", "/help", "/my", "/find", "/incident", "/new", "/deadline", "/report",
            "/post", "/queue", "/plan", "/rating", "/export", "/unknown", "/incident@other_bot"]
ARGS = st.one_of(
    st.just(""), st.text(max_size=40),
    st.sampled_from(["abc", "-1", "0", "99999999999999999999999", "№1", "#3", "1 2",
                     "%", "_", "\\", "' OR 1=1 --", "<b>x</b>", "𝕏" * 50]),
    st.builds(lambda chunk, n: (chunk * n)[:10_000], st.text("яма%_ \\", min_size=1,
                                                              max_size=8),
              st.just(10_000)),
)


@st.composite
def texts(draw: st.DrawFn) -> str | None:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return None  # no text at all (a sticker, a service message)
    if kind == 1:
        return draw(st.sampled_from(["", " ", "\n", "+", "👍"]))
    if kind == 2:
        return draw(st.text(max_size=300))
    if kind == 3:
        return "Яма на дороге " + "очень большая " * draw(st.integers(0, 800))
    return f"{draw(st.sampled_from(COMMANDS))} {draw(ARGS)}".rstrip()


def test_messages_and_commands_with_junk_through_the_dispatcher(fed: Fed):
    unknown_chats = [-100999, -1001234567890, -5]

    @SETTINGS
    @given(text=texts(), user=st.sampled_from(STAFF + CITIZENS + STRANGERS),
           where=st.sampled_from(["private", "city", "staff", "unknown"]),
           unknown=st.sampled_from(unknown_chats), edited=st.integers(0, 4),
           reply=st.sampled_from([None, "bot", "person"]))
    def check(text: str | None, user: int, where: str, unknown: int, edited: int,
              reply: str | None) -> None:
        chat = {"private": user, "city": CITY_CHAT, "staff": STAFF_GROUP,
                "unknown": unknown}[where]
        fed.run(one(text, user, chat, edited == 0, reply))

    async def one(text: str | None, user: int, chat: int, edited: bool,
                  reply: str | None) -> None:
        before = await fed.snapshot()
        outbox_before = await fed.outbox_count()
        message_id = fed.uid()
        replied = None
        if reply == "bot":
            replied = _bot_message(chat, 3)
        elif reply == "person":
            replied = _message(4, chat, 2002, "Было сообщение")
        message = _message(message_id, chat, user, text, replied)
        if edited:
            message["edit_date"] = int(MONDAY.timestamp()) + 60
        await fed.feed("edited_message" if edited else "message", message)
        after = await fed.snapshot()
        seeded_before = [row for row in before[0] if row[0] <= 5]
        seeded_after = [row for row in after[0] if row[0] <= 5]
        assert seeded_after == seeded_before  # nobody's message touches others' incidents
        if chat in unknown_chats or (chat == STAFF_GROUP and user not in STAFF):
            assert after == before
            if chat in unknown_chats:
                assert await fed.outbox_count() == outbox_before
        if chat > 0 and not edited and text and text.startswith("/"):
            replies = await fed.replies_to(chat, message_id)
            command = text.split()[0].split("@")[0]
            core = ("/start", "/help", "/my", "/find", "/incident", "/new")
            if command in core or (user in STAFF and command == "/unknown"):
                assert replies, f"no answer to {text[:60]!r} from {user}"
            for reply_text in replies:
                assert 0 < len(reply_text) <= 4096
            if user not in STAFF and command in ("/my", "/find", "/incident", "/new"):
                assert after == before
                assert any("сотрудник" in r.lower() for r in replies), replies

    made = fed.run(repo.count(fed.app.db.reader))
    check()
    # the generator did reach the handlers: citizens' messages became incidents
    assert fed.run(repo.count(fed.app.db.reader)) > made


def test_vk_long_poll_batches_with_broken_events(fed: Fed):
    community = fed.app.config.vk.communities[0]
    poll = CommunityLongPoll(fed.app.config, community, fed.app.ingest)

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(updates=st.lists(vk_updates(), max_size=6))
    def check(updates: list[Any]) -> None:
        fed.run(one(updates))

    async def one(updates: list[Any]) -> None:
        before = await fed.snapshot()
        await poll.handle(updates, str(fed.uid()))
        after = await fed.snapshot()
        seeded = [row for row in before[0] if row[0] <= 5]
        assert [row for row in after[0] if row[0] <= 5] == seeded
        made = len(after[0]) - len(before[0])
        valid = [u for u in updates if isinstance(u, dict)
                 and u.get("group_id") in (None, community.id)
                 and vk_events.from_update(community.id, u, can_reply=True) is not None]
        assert made <= len(valid)
        for row in after[0][len(before[0]):]:
            assert row[repo._COLUMNS.index("source")] == f"vk:{community.id}"

    check()
    poll.client.close()
    poll.poll.close()


# -- a few through the sandbox and the running process ------------------------------------


@pytest.mark.e2e
async def test_forged_presses_and_junk_commands_through_the_running_bot(tmp_path: Path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(100001, 17, 500101, "Нет отопления в доме 5")
        card = await eventually(lambda: c.card(1))
        assert env.app is not None
        db = env.app.db

        async def recorded() -> bool:  # the card's message id is on the row
            incident = await repo.get(db.reader, 1)
            return incident is not None and incident.card_message_id is not None
        await eventually(recorded)
        before = await repo.get(db.reader, 1)
        forged = ["c:1:0:ap:0", "c:1:999:tk:0", f"c:{2**70}:0:tk:0", "c:x:y:z:w", "r:1:5",
                  f"r:{2**70}:3", "f:9:1", "🙂", "c:1:0:to:1005"]
        pressed = []
        for n, data in enumerate(forged):
            user = [2001, 42, 1006][n % 3]
            pressed.append(await c.post("tg/callback", {
                "chat_id": card["chat_id"], "message_id": card["message_id"],
                "from_id": user if user != 42 else 2002, "data": data, "forged": True}))
        for command in ["/incident abc", "/find " + "я" * 10_000, "/my", "/incident 99999999"]:
            await c.tg_message(2003, 2003, command)
            await c.tg_message(1004, 1004, command)

        async def all_answered() -> bool:
            ids = {a["callback_query_id"] for a in await c.callback_answers()}
            return all(p["callback_query_id"] in ids for p in pressed)
        await eventually(all_answered, timeout=15)

        async def replies() -> bool:
            return len(await c.sent(2003)) >= 4 and len(await c.sent(1004)) >= 4
        await eventually(replies, timeout=20)
        for message in await c.sent(2003):
            assert "сотрудник" in message["text"].lower()
        after = await repo.get(env.app.db.reader, 1)
        assert after == before
        # still serving
        await c.vk_comment(100001, 18, 500102, "Яма на дороге у дома 7")
        await eventually(lambda: c.card(2))

