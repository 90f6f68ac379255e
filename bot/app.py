"""The one place that builds and runs the process (``mcu-hub run``).

aiogram polling, the VK sources, the scheduler and the outbox worker share one event
loop; SIGINT/SIGTERM stop them within seconds, leaving unsent work in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram import Router as AiogramRouter
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError

from bot.clock import Clock, SandboxClock, SystemClock
from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.outbox.worker import Done, Limits, Outbox, Permanent, Retry
from bot.platforms.telegram import bot_api as tg
from bot.platforms.vk.client import VkClient, VkClients, VkError, VkTransportError, outbox_failure
from bot.render import Renderer
from bot.scheduler import Jobs
from bot.services import cards, failures
from bot.services.hub import Hub
from bot.services.ingest import Ingest
from bot.services.workflow.presses import Workflow
from bot.sources.vk import CommunityLongPoll, PublicWatcher
from storage import incidents as repo
from storage import outbox as rows
from storage import staff
from storage.db import Conn, Database
from storage.outbox import Item

log = logging.getLogger(__name__)

# Feature modules; each has ``install(app)`` adding its routers, jobs and outbox hooks.
FEATURES = ["bot.services.startup", "bot.services.deadlines.scan",
            "bot.services.publishing.queue", "bot.services.reports.reports",
            "bot.services.retention", "bot.services.health"]

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post",
                   "my_chat_member"]


class App:
    def __init__(self, config: Config, clock: Clock | None = None, rate_scale: float = 1.0):
        self.config = config
        if clock is None:
            if config.clock.source == "sandbox" and config.clock.url:
                clock = SandboxClock(config.clock.url)
            else:
                clock = SystemClock()
        self.clock = clock
        self.db = Database(config.storage.path)
        self.render = Renderer(config.municipality.tz)
        self.calendar = WorkCalendar.from_config(config.municipality, config.calendar)
        self.router = Router(config)
        self.bot: Bot = tg.make_bot(config.telegram)
        self.hub = Hub(config=config, clock=self.clock, db=self.db, render=self.render,
                       calendar=self.calendar, router=self.router)
        self.ingest = Ingest(self.hub)
        self.workflow = Workflow(self.hub)
        # one client per VK token for the whole process: it owns the token's pacing
        self.vk = VkClients(config.vk.api_base, config.vk.api_version,
                            config.vk.rate_limits.model_dump())
        self.vk_clients: dict[str, VkClient] = {}
        for community in config.vk.communities:
            for kind, secret in (("community", community.token),
                                 ("user", community.user_token)):
                if secret.get_secret_value():
                    self.vk_clients[f"vk:{kind}:{community.id}"] = self.vk.get(
                        secret.get_secret_value(), kind)
        self.seen = tg.Seen()  # message ids of others, from updates (bot/platforms/telegram.py)
        self.outbox = Outbox(
            self.db, self.clock,
            deliver={"tg": self._deliver_tg, "vk": self._deliver_vk, "card": self._deliver_card},
            classify=self._classify,
            limits=Limits(scale=rate_scale),
            on_done={"card": self._card_sent, "answer": self.workflow.published,
                     "prompt": self.workflow.prompt_sent},
            on_failed={"answer": self.workflow.publish_failed},
            on_failed_default=self._undelivered,
            watermark=self._watermark,
        )
        self.hub.wake = self.outbox.wake
        self.jobs = Jobs(self.hub, self.workflow)
        self.routers: list[AiogramRouter] = []  # features' routers, before the catch-alls
        self.dp_data: dict[str, Any] = {}
        for feature in FEATURES:
            importlib.import_module(feature).install(self)
        self.dispatcher = self._dispatcher()
        self.stop = asyncio.Event()

    def _dispatcher(self) -> Dispatcher:
        from handlers import build_router

        dp = Dispatcher()
        dp.update.outer_middleware(self._seen_update)
        dp.include_router(build_router(self.config, self.routers))
        for key, value in self.dp_data.items():
            dp[key] = value
        dp["hub"] = self.hub
        dp["ingest"] = self.ingest
        dp["workflow"] = self.workflow
        dp["jobs"] = self.jobs
        return dp

    # -- outbox deliveries ------------------------------------------------------------

    async def _classify(self, item: Item) -> str:
        if item.platform == "tg":
            return "send" if tg.is_send(item.method) else "edit"
        if item.platform == "card":
            incident = await repo.get(self.db.reader, item.ref_id or 0)
            return "send" if incident is None or incident.card_message_id is None else "edit"
        return "call"

    async def _seen_update(self, handler: Any, update: Any, data: dict[str, Any]) -> Any:
        """Note every message id others write (the bot's window for its own orphans)."""
        for message in (update.message, update.edited_message, update.channel_post,
                        update.edited_channel_post):
            if message is not None:
                self.seen.note(message.chat.id, message.message_id)
        return await handler(update, data)

    async def _watermark(self, conn: Conn, item: Item) -> int | None:
        """The highest message id known in a Telegram send's chat, before the call."""
        platform, _, chat = item.lane.partition(":")
        if platform != "tg":
            return None
        chat_id = int(chat)
        return max(await rows.known_message_id(conn, chat_id), self.seen.top(chat_id))

    async def _undelivered(self, conn: Conn, item: Item, error: Any) -> None:
        await failures.tell_coordinators(self.hub, conn, item, error)

    def _pace(self, item: Item) -> Any:
        return lambda: self.outbox.paced(item.lane, "edit")

    async def _send(self, item: Item, method: str, params: dict[str, Any]) -> tg.Sent:
        return await tg.deliver_send(
            self.bot, method, params, item.attempts + 1, uncertain=item.uncertain,
            watermark=item.watermark, pace=self._pace(item),
            others=self.seen.others(int(params["chat_id"])))

    def _recorded(self, item: Item, params: dict[str, Any], sent: tg.Sent) -> Any:
        """What a send leaves behind, in its success's transaction: the highest id of the
        bot's own in the chat, and a row to remove orphans a lost earlier try left."""
        async def after(conn: Conn) -> None:
            chat_id = int(params["chat_id"])
            if sent.ids:
                await rows.note_message_ids(conn, chat_id, max(sent.ids))
            if sent.window is not None:
                after_id, before_id = sent.window
                orphans: dict[str, Any] = {"chat_id": chat_id, "after": after_id,
                                           "before": before_id}
                if not isinstance(params.get("media"), list) and params.get("reply_markup"):
                    orphans["reply_markup"] = params["reply_markup"]
                await rows.enqueue(conn, key=f"orphans:{item.id}:{before_id}", platform="tg",
                                   lane=item.lane, method=tg.ORPHANS, params=orphans,
                                   now=self.clock.now(), ref_id=item.ref_id)
        return after

    async def _deliver_tg(self, item: Item) -> Any:
        try:
            if item.method == tg.ORPHANS:
                return await tg.delete_orphans(self.bot, item.params, item.attempts + 1,
                                               self._pace(item),
                                               self.seen.others(int(item.params["chat_id"])))
            if tg.is_send(item.method):
                sent = await self._send(item, item.method, item.params)
                return Done(sent.result, self._recorded(item, item.params, sent))
            return await tg.deliver(self.bot, item.method, item.params, item.attempts + 1)
        except Permanent as exc:
            await self._staff_unreachable(item, str(exc))
            raise

    async def _staff_unreachable(self, item: Item, error: str) -> None:
        """A notice to a staff member refused because of them (blocked, deleted): told."""
        chat = item.params.get("chat_id")
        reason = tg.unreachable(error)
        if reason is None or not isinstance(chat, int) or self.config.staff_by_id(chat) is None:
            return
        async with self.db.tx() as conn:
            await self.workflow.staff_unreachable(conn, chat, reason)
        self.outbox.wake()

    async def _deliver_card(self, item: Item) -> Any:
        call = await cards.sync_call(self.db.reader, self.config, self.render,
                                     item.ref_id or 0, self.clock.now(), self.hub.topics)
        if call is None:
            return None
        if call.method == "sendMessage":
            sent = await self._send(item, call.method, call.params)
            return Done({"method": call.method, "result": sent.result},
                        self._recorded(item, call.params, sent))
        try:
            result = await tg.deliver(self.bot, call.method, call.params, item.attempts + 1)
        except Permanent as exc:
            if call.method == "editMessageText" and "not found" in str(exc):
                # the card was deleted in the group: post it again
                async with self.db.tx() as conn:
                    await repo.forget_card(conn, item.ref_id or 0)
                raise Retry(0.1, "card message gone; sending anew") from None
            raise
        return {"method": call.method, "result": result}

    async def _card_sent(self, conn: Conn, item: Item, result: Any) -> None:
        if not isinstance(result, dict) or result.get("method") != "sendMessage":
            return
        message = result.get("result") or {}
        await repo.set_card(conn, item.ref_id or 0, message["chat"]["id"],
                            message["message_id"], message.get("message_thread_id"))

    async def _deliver_vk(self, item: Item) -> Any:
        client = self.vk_clients.get(item.lane)
        if client is None:
            raise Permanent(f"no VK token for {item.lane}")
        try:
            return await client.call(item.method, **item.params)
        except (VkError, VkTransportError) as exc:
            raise outbox_failure(exc, item.attempts + 1) from None

    # -- running ----------------------------------------------------------------------

    CONNECT_ATTEMPTS = 5

    async def connect(self) -> int:
        """Check the Telegram token before anything runs: 0 when connected, else the exit
        code, with one last log line saying what is wrong and what to do.

        A rejected token is not retried (exit 2: the config must change); an unreachable
        or garbled Bot API is asked a few times, then the process exits 1 for the service
        manager to start it again later. Neither prints a traceback.
        """
        api = self.config.telegram.api_base
        for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
            try:
                me = await self.bot.get_me()
            except TelegramUnauthorizedError:
                log.error("Telegram rejected the bot token (telegram.token or "
                          "MCU_TELEGRAM_TOKEN) at %s: Unauthorized. Copy the token from "
                          "@BotFather again; mcu-hub exits (code 2).", api)
                return 2
            except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
                if attempt == self.CONNECT_ATTEMPTS:
                    log.error("Telegram Bot API at %s did not answer after %d attempts: %s. "
                              "Check the network, any proxy or firewall, and telegram.api_base; "
                              "mcu-hub exits (code 1) and its service manager starts it again.",
                              api, attempt, tg.describe(exc))
                    return 1
                delay = min(5, attempt)
                log.warning("Telegram Bot API at %s: %s (attempt %d of %d, again in %ds)",
                            api, tg.describe(exc), attempt, self.CONNECT_ATTEMPTS, delay)
                await asyncio.sleep(delay)
                continue
            self.hub.bot_id = me.id
            log.info("connected to Telegram as @%s (id %s)", me.username, me.id)
            return 0
        return 1

    async def _sync_staff(self) -> None:
        async with self.db.tx() as conn:
            await staff.replace_all(conn, [
                staff.Person(m.telegram_id, m.name, m.roles, m.blocks, m.vk_id)
                for m in self.config.staff])

    def request_stop(self) -> None:
        self.stop.set()

    async def run(self) -> int:
        await self.db.open()
        try:
            await self._sync_staff()
            tasks: list[asyncio.Task[Any]] = []
            if isinstance(self.clock, SandboxClock):
                await self._first_clock_sync()
                tasks.append(asyncio.create_task(self.clock.follow(self.stop)))
            code = await self.connect()
            if code:
                return code
            tasks.append(asyncio.create_task(self.outbox.run(self.stop), name="outbox"))
            for community in self.config.vk.communities:
                if community.longpoll and community.token.get_secret_value():
                    source = CommunityLongPoll(self.config, community, self.ingest,
                                               self.vk_clients[f"vk:community:{community.id}"])
                    tasks.append(asyncio.create_task(source.run(self.stop),
                                                     name=f"vk-{community.id}"))
            if self.config.vk.publics and self.config.vk.service_token.get_secret_value():
                watcher = PublicWatcher(self.config, self.ingest, self.vk.get(
                    self.config.vk.service_token.get_secret_value(), "service"))
                tasks.append(asyncio.create_task(watcher.run(self.stop), name="vk-publics"))
            tasks.append(asyncio.create_task(self.jobs.run(self.stop), name="jobs"))
            await self.jobs.startup(self.bot)
            polling = asyncio.create_task(
                # handle_as_tasks=False: an update is confirmed to Telegram (the next
                # getUpdates offset) only after its handler has stored it, so a crash
                # mid-handler gets the update again instead of losing a citizen's message
                self.dispatcher.start_polling(
                    self.bot, handle_signals=False, close_bot_session=False,
                    allowed_updates=ALLOWED_UPDATES, handle_as_tasks=False,
                    polling_timeout=self.config.telegram.poll_timeout,
                ),
                name="polling",
            )
            log.info("mcu-hub is running for %s", self.config.municipality.name)
            await self.stop.wait()
            log.info("stopping")
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            await asyncio.wait([polling, *tasks], timeout=4.0)
            for task in [polling, *tasks]:
                task.cancel()
            return 0
        finally:
            await self.bot.session.close()
            self.vk.close()
            await self.db.close()

    async def _first_clock_sync(self) -> None:
        import aiohttp

        assert isinstance(self.clock, SandboxClock)
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                try:
                    await self.clock.sync(session)
                    return
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.2)


async def run(config: Config) -> int:
    app = App(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.request_stop)
    return await app.run()
