"""Security: tokens stay secret, foreign events are ignored, roles are checked server-side."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import tomli_w

from bot import cli
from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.platforms.telegram.buttons import CardCb
from bot.ports import CardAction
from bot.render import Renderer
from bot.sandbox import world
from bot.services.hub import Hub
from bot.services.ingest import Inbound, Ingest
from bot.services.workflow.presses import Workflow
from storage import incidents as repo
from storage.db import Database, fetch_all
from tests.harness import STAFF_GROUP, button, eventually, running

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Saratov"))
GROUP = world.VK_ADMIN

SECRETS = [
    world.BOT_TOKEN,
    world.BOT_TOKEN.split(":", 1)[1],
    world.SERVICE_TOKEN,
    *(world.community_token(g) for g in (world.VK_ADMIN, world.VK_HEAD)),
    *(world.user_token(g) for g in (world.VK_ADMIN, world.VK_HEAD)),
]


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


# -- tokens never in logs, errors, messages or the database dump -----------------------------


@pytest.mark.e2e
async def test_tokens_never_in_logs_errors_messages_or_database_dumps(tmp_path):
    from tests.test_crash import make
    from tests.test_faults import restart_sandbox

    async with aiohttp.ClientSession() as session:
        p = await make(tmp_path, session)
        c = p.control
        try:
            await p.start(["--log-level", "DEBUG"])
            # errors of every kind on the way: Telegram 500, a VK error that fails a
            # publication for good, a long-poll key lost, the platforms gone for a moment
            await c.fault(platform="tg", method="sendMessage", chat_id=STAFF_GROUP,
                          kind="500", count=1)
            await c.vk_comment(GROUP, 80, 540001, "Нет отопления в доме 2")
            card = await eventually(lambda: c.card(1), timeout=20)
            await c.press(card, 1004, button(card, "Взять"))

            async def card_with(word: str) -> dict | None:
                found = await c.card(1)
                return found if found and word in str(found["reply_markup"]) else None
            card = await eventually(lambda: card_with("Ответ готов"), timeout=20)
            await c.tg_message(STAFF_GROUP, 1004, "Отопление дадут сегодня.",
                               reply_to_message_id=card["message_id"])
            card = await eventually(lambda: card_with("Согласовать"), timeout=20)
            await c.fault(platform="vk", method="wall.createComment", kind="vk_error",
                          code=5, count=1)
            await c.press(card, 1004, button(card, "Согласовать"))
            await eventually(lambda: _sent_with(c, "не опубликован"), timeout=20)
            await c.post("vk/longpoll_fail", {"group_id": GROUP, "failed": 2})
            await restart_sandbox(p.sandbox, down=1.5)
            await c.vk_comment(GROUP, 81, 540002, "Яма на дороге у школы")
            await eventually(lambda: c.card(2), timeout=30)
            assert p.process is not None
            p.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(p.process.wait(), 15) == 0

            log = p.log.read_text(encoding="utf-8")
            assert "VK error 5" in log and '"level": "warning"' in log  # the errors happened
            assert '"level": "debug"' in log
            assert _leaks(log) == []
            dumper = await asyncio.create_subprocess_exec(
                "sqlite3", str(p.db), ".dump", stdout=asyncio.subprocess.PIPE)
            dump = (await dumper.communicate())[0].decode("utf-8")
            assert "VK error 5" in dump and "INSERT INTO" in dump
            assert _leaks(dump) == []
            said = json.dumps([await c.sent(), await c.callback_answers()], ensure_ascii=False)
            assert "VK error 5" in said  # the coordinators were told what failed
            assert _leaks(said) == []
        finally:
            await p.stop()
            await p.sandbox.stop()


async def _sent_with(c: Any, words: str) -> bool:
    return any(words in (m.get("text") or "").lower() for m in await c.sent())


async def test_an_error_naming_the_token_url_is_stored_and_told_without_it(tmp_path: Path):
    """aiohttp names the request URL (``…/bot<token>/sendMessage``) in some network
    errors; the outbox keeps such words on the row and hands them to the failure hooks."""
    from aiogram import methods
    from aiogram.exceptions import TelegramNetworkError

    from bot.outbox.outcomes import Permanent
    from bot.outbox.worker import Outbox
    from bot.platforms.telegram import bot_api as tg
    from storage import outbox as rows

    config = parse_config(world.config_dict("http://127.0.0.1:9",
                                            str(tmp_path / "db.sqlite3")), environ={})
    db = await Database(config.storage.path).open()
    bot = tg.make_bot(config.telegram)
    url = bot.session.api.api_url(token=world.BOT_TOKEN, method="sendMessage")
    told: list[str] = []

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise TelegramNetworkError(
            method=methods.SendMessage(chat_id=1, text="x"),
            message=f"ClientOSError: [Errno None] Can not write request body for {url}")

    async def deliver(item: rows.Item) -> Any:
        if item.method == "sendMessage":
            return await tg.deliver(bot, item.method, item.params, item.attempts + 1)
        raise Permanent(f"refused at {url}")

    async def hook(conn: Any, item: rows.Item, error: Any) -> None:
        told.append(str(error))

    async def classify(item: rows.Item) -> str:
        return "send"

    bot.session.make_request = broken  # type: ignore[method-assign]
    outbox = Outbox(db, FakeClock(MONDAY), deliver={"tg": deliver}, classify=classify,
                    on_failed={"x": hook})
    try:
        async with db.tx() as conn:
            for method in ("sendMessage", "editMessageText"):
                await rows.enqueue(conn, key=method, platform="tg", lane=f"tg:{method}",
                                   method=method, params={"chat_id": 1, "text": "x"},
                                   now=MONDAY, purpose="x")
        for item in await rows.lane_heads(db.reader):
            await outbox._deliver_one(item)
        errors = [row["error"] for row in await fetch_all(db.reader,
                                                          "SELECT error FROM outbox")]
        assert all(errors) and len(errors) == 2
        assert _leaks(" ".join(errors + told)) == [], errors + told
        assert "bot***" in errors[0]  # the rest of the words are kept
    finally:
        await bot.session.close()
        await db.close()


def test_a_broken_config_names_the_key_and_never_echoes_a_token(tmp_path: Path):
    raw = world.config_dict("http://127.0.0.1:1", str(tmp_path / "db.sqlite3"))
    raw["telegram"]["tokne"] = world.BOT_TOKEN  # misspelled, with the secret in it
    raw["vk"]["communities"][0]["token"] = {"value": world.community_token(GROUP)}
    raw["vk"]["communities"][1]["user_tokn"] = world.user_token(world.VK_HEAD)
    raw["vk"]["service_token"] = [world.SERVICE_TOKEN]
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["check-config", str(path)])
    text = out.getvalue()
    assert code == 2
    for key in ("telegram.tokne", "vk.communities[0] (Администрация).token",
                "vk.communities[1] (Глава).user_tokn", "vk.service_token"):
        assert key in text, text
    assert _leaks(text) == []


# -- a long-poll event for a community not in the config ------------------------------------


@pytest.mark.e2e
async def test_long_poll_events_for_a_community_not_in_config_are_ignored(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        poll = env.sandbox.vk.polls[GROUP]
        for foreign in (world.VK_HEAD, 999999, "100001"):
            poll.events.append({
                "group_id": foreign, "type": "wall_reply_new", "event_id": f"x{foreign}",
                "v": "5.199", "object": {"id": 7000 + len(poll.events), "post_id": 5,
                                         "from_id": 540100, "owner_id": -GROUP,
                                         "date": int(MONDAY.timestamp()),
                                         "text": "Чужое событие: нет отопления"}})
        poll._wake()
        await c.vk_comment(GROUP, 6, 540101, "Своё событие: нет отопления в доме 6")
        await eventually(lambda: c.card(1))
        await asyncio.sleep(0.5)
        assert env.app is not None
        rows = await fetch_all(env.app.db.reader, "SELECT text FROM incidents")
        assert [row["text"] for row in rows] == ["Своё событие: нет отопления в доме 6"]


# -- roles are checked on the server -----------------------------------------------------------


@dataclass
class Desk:
    hub: Hub
    db: Database
    workflow: Workflow


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    config = parse_config(world.config_dict("http://sandbox.invalid",
                                            str(tmp_path / "db.sqlite3")), environ={})
    db = await Database(config.storage.path).open()
    hub = make_hub(config=config, clock=FakeClock(MONDAY), db=db,
              render=Renderer(config.municipality.tz),
              calendar=WorkCalendar.from_config(config.municipality, config.calendar),
              router=Router(config))
    try:
        yield Desk(hub=hub, db=db, workflow=Workflow(hub))
    finally:
        await db.close()


async def _incidents_in_every_state(d: Desk) -> dict[str, int]:
    """One ЖКХ incident in each state the workflow can leave it in."""
    ingest = Ingest(d.hub)
    states = ["new", "assigned", "in_progress", "answer_ready", "approved", "published",
              "returned", "reopened", "rejected", "closed"]
    made: dict[str, int] = {}
    for n, state in enumerate(states):
        outcome = await ingest.receive(Inbound(
            source=f"vk:{GROUP}", kind="vk_comment", key=f"k{n}", author_id=f"vk:{540200 + n}",
            author_name="Житель", text=f"Течёт труба в подвале дома {n}", written_at=MONDAY,
            reply_target={"platform": "vk", "lane": f"vk:community:{GROUP}",
                          "method": "wall.createComment",
                          "params": {"owner_id": -GROUP, "post_id": 1, "reply_to_comment": n,
                                     "from_group": GROUP}}))
        assert outcome.incident_id is not None
        made[state] = outcome.incident_id
    steps = {
        "assigned": [("to", 1005)], "in_progress": [("tk", 0)],
        "answer_ready": [("tk", 0), ("answer", 0)],
        "approved": [("tk", 0), ("answer", 0), ("ap", 0)],
        "published": [("tk", 0), ("answer", 0), ("ap", 0), ("published", 0)],
        "returned": [("tk", 0), ("answer", 0), ("return", 0)],
        "reopened": [("rr", 0), ("ro", 0)], "rejected": [("rr", 1)],
        "closed": [("tk", 0), ("answer", 0), ("ap", 0), ("published", 0), ("close", 0)],
    }
    for state, todo in steps.items():
        incident_id = made[state]
        for action, arg in todo:
            incident = await repo.get(d.db.reader, incident_id)
            assert incident is not None
            if action == "answer":
                await d.workflow.answer(1004, incident_id, "Починим.", [])
            elif action == "return":
                await d.workflow.return_with_reason(1004, incident_id, "Уточните срок")
            elif action in ("published", "close"):
                async with d.db.tx() as conn:
                    await repo.update(conn, incident_id, state=action if action != "close"
                                      else "closed")
            else:
                reply = await d.workflow.press(1004, CardCb(id=incident_id, v=incident.version,
                                                            a=action, arg=arg))
                assert not reply.alert, (state, action, reply.text)
        incident = await repo.get(d.db.reader, incident_id)
        assert incident is not None and incident.state == state, (state, incident)
    return made


async def _everything(db: Database, tables: tuple[str, ...] = (
        "incidents", "incident_events", "outbox", "cursors")) -> list[Any]:
    found = []
    for table in tables:
        found.append([tuple(row) for row in await fetch_all(db.reader,
                                                            f"SELECT * FROM {table}")])
    return found


ALL_ACTIONS = [CardAction.TAKE, CardAction.ASSIGN, CardAction.REASSIGN,
               CardAction.SEND_INTERIM, CardAction.ASK_FOR_ANSWER, CardAction.OFFER_TEMPLATES,
               CardAction.APPROVE, CardAction.RETURN_FOR_REVISION, CardAction.REJECT,
               CardAction.REOPEN, CardAction.PUBLISHED_MANUALLY, CardAction.ASSIGN_TO,
               CardAction.REJECT_WITH_REASON, CardAction.USE_TEMPLATE, CardAction.BACK,
               CardAction.INTERIM_DATE, CardAction.INTERIM_EDIT, CardAction.INTERIM_SEND,
               CardAction.INTERIM_DROP]


async def test_citizens_and_strangers_pressing_every_button_change_nothing(desk: Desk):
    made = await _incidents_in_every_state(desk)
    before = await _everything(desk.db)
    for user in (2001, 42, 540201):  # citizens and a stranger: no roles
        for incident_id in made.values():
            incident = await repo.get(desk.db.reader, incident_id)
            assert incident is not None
            for action in ALL_ACTIONS:
                arg = 1005 if action == CardAction.ASSIGN_TO else 0
                reply = await desk.workflow.press(
                    user, CardCb(id=incident_id, v=incident.version, a=action, arg=arg))
                assert reply.alert and reply.text, (user, action)
            await desk.workflow.answer(user, incident_id, "x", [])
            await desk.workflow.return_with_reason(user, incident_id, "причина")
            await desk.workflow.rate(user, incident_id, 5)
    assert await _everything(desk.db) == before


async def test_staff_without_the_role_cannot_take_the_step(desk: Desk):
    made = await _incidents_in_every_state(desk)
    before = await _everything(desk.db)
    refused = [
        (1001, CardAction.TAKE, "new"),  # the head: reports, not work
        (1007, CardAction.REJECT, "new"),  # the press secretary
        (1006, CardAction.TAKE, "new"),  # an executor of another block
        (1005, CardAction.ASSIGN, "new"),  # an executor may not assign
        (1005, CardAction.APPROVE, "answer_ready"),  # nor approve
        (1005, CardAction.RETURN_FOR_REVISION, "answer_ready"),
        (1006, CardAction.ASK_FOR_ANSWER, "assigned"),  # nor answer another's incident
        (1002 + 1000, CardAction.TAKE, "new"),  # an id that is nobody
    ]
    for user, action, state in refused:
        incident = await repo.get(desk.db.reader, made[state])
        assert incident is not None
        reply = await desk.workflow.press(user, CardCb(id=incident.id, v=incident.version,
                                                       a=action))
        assert reply.alert, (user, action)
    assert await _everything(desk.db) == before


@pytest.mark.e2e
async def test_a_citizen_pressing_every_button_of_a_real_card(tmp_path):
    async with running(tmp_path, clock=MONDAY) as env:
        c = env.control
        await c.vk_comment(GROUP, 9, 540301, "Течёт крыша в подъезде дома 1")
        card = await eventually(lambda: c.card(1))
        assert env.app is not None
        db = env.app.db

        async def recorded() -> bool:  # the card's message id is on the row
            incident = await repo.get(db.reader, 1)
            return incident is not None and incident.card_message_id is not None
        await eventually(recorded)
        tables = ("incidents", "incident_events")
        before = await _everything(env.app.db, tables)
        incident = await repo.get(env.app.db.reader, 1)
        assert incident is not None
        pressed = []
        for action in ALL_ACTIONS:
            data = CardCb(id=1, v=incident.version, a=action,
                          arg=1005 if action == CardAction.ASSIGN_TO else 0).pack()
            pressed.append(await c.post("tg/callback", {
                "chat_id": card["chat_id"], "message_id": card["message_id"],
                "from_id": 2001, "data": data, "forged": True}))

        async def answered() -> list[dict] | None:
            answers = {a["callback_query_id"]: a for a in await c.callback_answers()}
            found = [answers.get(p["callback_query_id"]) for p in pressed]
            return found if all(found) else None
        for answer in await eventually(answered, timeout=15):
            assert answer["show_alert"] and "сотрудник" in answer["text"]
        assert await _everything(env.app.db, tables) == before
