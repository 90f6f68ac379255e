"""The composition root: the one place that builds and runs the process (``mcu-hub run``).

Everything is made here and handed on — the storage, the services, the platform adapters
behind their ports (``bot.ports``), the outbox with each adapter's delivery function, the
jobs in their order, and every aiogram router in the order updates must meet them. This
is the only module under ``bot/`` that imports ``handlers/``.

aiogram polling, the VK sources, the scheduler and the outbox worker share one event
loop; SIGINT/SIGTERM stop them within seconds, leaving unsent work in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram import Router as AiogramRouter
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError

from bot.clock import Clock, SandboxClock, SystemClock
from bot.config import Config
from bot.domain.calendar import WorkCalendar
from bot.domain.routing import Router
from bot.outbox.limits import Limits
from bot.outbox.worker import Outbox
from bot.platforms import undelivered
from bot.platforms.max.client import MaxClient
from bot.platforms.max.page import CHANNEL_POSTS, MaxPage
from bot.platforms.max.startup import check_max
from bot.platforms.ok.client import OkClient
from bot.platforms.ok.page import TOPICS, OkPage
from bot.platforms.ok.startup import check_ok
from bot.platforms.telegram import bot_api as tg
from bot.platforms.telegram.delivery import TelegramDelivery
from bot.platforms.telegram.heartbeat import PollHeartbeat
from bot.platforms.telegram.page import TelegramPage
from bot.platforms.telegram.startup import TelegramChecks
from bot.platforms.telegram.workspace import BOARD, TelegramWorkspace
from bot.platforms.vk.client import VkClient, VkClients
from bot.platforms.vk.page import ANSWERS_WITH_PHOTOS, WALL_POSTS, VkPage
from bot.platforms.vk.startup import check_communities
from bot.ports import Page
from bot.render import Renderer
from bot.scheduler import Jobs
from bot.services import failures, learning, people, reload
from bot.services.deadlines.scan import TICK_SECONDS as DEADLINES_TICK
from bot.services.deadlines.scan import Deadlines
from bot.services.gathered import TICK_SECONDS as GATHERED_TICK
from bot.services.gathered import Gathering
from bot.services.health import FLUSH_SECONDS
from bot.services.hub import Hub
from bot.services.inbox import TICK_SECONDS as BOARD_TICK
from bot.services.inbox import Inbox
from bot.services.ingest import Ingest
from bot.services.publishing.dispatch import PURPOSE as PUBLISHING
from bot.services.publishing.dispatch import TICK_SECONDS as PUBLISHING_TICK
from bot.services.publishing.queue import Publishing
from bot.services.reports.reports import TICK_SECONDS as REPORTS_TICK
from bot.services.reports.reports import Reports
from bot.services.retention import TICK_SECONDS as RETENTION_TICK
from bot.services.retention import Retention
from bot.services.search import TICK_SECONDS as SEARCH_TICK
from bot.services.search import Search
from bot.services.startup import StartupReport
from bot.services.workflow.groups import MEMBER_ANSWER
from bot.services.workflow.presses import Workflow
from bot.sources.max import MaxLongPoll
from bot.sources.vk import CommunityLongPoll, PublicWatcher
from handlers import (
    away,
    card_buttons,
    chats,
    inbox,
    press,
    private,
    staff_group,
    status,
)
from handlers import deadlines as deadline_command
from handlers import reports as report_commands
from storage import staff
from storage.db import Conn, Database
from storage.leader import Leadership
from storage.outbox import Item

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post",
                   "my_chat_member"]


def make_hub(*, config: Config, clock: Clock, db: Database, render: Renderer,
             calendar: WorkCalendar, router: Router) -> Hub:
    """The services' shared context, with Telegram as the staff workspace and Telegram,
    VK, MAX and OK as the pages: what the process runs with, and what a test of a service
    builds."""
    pages: list[Page] = [TelegramPage(config, clock, render),
                         VkPage(config, clock, render, db),
                         MaxPage(config, clock, render, db),
                         OkPage(config, clock, render, db)]
    hub = Hub(config=config, clock=clock, db=db, render=render, calendar=calendar,
              router=router, workspace=TelegramWorkspace(config, clock),
              pages={name: page for page in pages for name in page.platforms})
    # a notice to someone away goes to their deputy (decree 004 §3.3)
    hub.workspace = people.Deputies(hub, hub.workspace)
    return hub


class App:
    def __init__(self, config: Config, clock: Clock | None = None, rate_scale: float = 1.0):
        self.config = config
        if clock is None:
            if config.clock.source == "sandbox" and config.clock.url:
                clock = SandboxClock(config.clock.url)
            else:
                clock = SystemClock()
        self.clock = clock
        self.db = Database(config.storage.target, config.municipality.id)
        self.lost_lead = False
        self.render = Renderer(config.municipality.tz)
        self.bot: Bot = tg.make_bot(config.telegram)
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
        self.hub = make_hub(config=config, clock=self.clock, db=self.db, render=self.render,
                            calendar=WorkCalendar.from_config(config.municipality,
                                                              config.calendar),
                            router=Router(config))
        self.router = self.hub.router
        assert isinstance(self.hub.workspace, people.Deputies)
        self.workspace = self.hub.workspace.inner
        assert isinstance(self.workspace, TelegramWorkspace)
        vk_page = self.hub.pages["vk"]
        assert isinstance(vk_page, VkPage)
        vk_page.clients = self.vk_clients
        vk_page.fetch_photo = partial(tg.download, self.bot)  # posts' photos come from Telegram
        # MAX: one client for the bot's token (the long poll and the outbox share its pace)
        self.max_client = MaxClient(config.max.api_base, config.max.token.get_secret_value()) \
            if config.max.token.get_secret_value() else None
        max_page = self.hub.pages["max"]
        assert isinstance(max_page, MaxPage)
        max_page.client = self.max_client
        max_page.fetch_photo = vk_page.fetch_photo
        ok_page = self.hub.pages["ok"]
        assert isinstance(ok_page, OkPage)
        ok_page.clients = {
            group.id: OkClient(config.ok.api_base, config.ok.application_key,
                               config.ok.application_secret_key.get_secret_value(),
                               group.token.get_secret_value())
            for group in config.ok.groups if group.token.get_secret_value()}
        ok_page.fetch_photo = vk_page.fetch_photo

        # the services
        self.ingest = Ingest(self.hub)
        self.workflow = Workflow(self.hub)
        self.deadlines = Deadlines(self.hub)
        self.publishing = Publishing(self.hub)
        self.reports = Reports(self.hub)
        self.retention = Retention(self.hub)
        self.search = Search(self.hub)
        self.inbox = Inbox(self.hub)
        self.gathering = Gathering(self.hub)

        # the outbox and each adapter's delivery functions
        self.telegram = TelegramDelivery(
            self.bot, self.db, self.clock, config, self.render, self.workspace,
            pace=lambda lane: self.outbox.paced(lane, "edit"),
            staff_unreachable=partial(failures.staff_unreachable, self.hub))
        self.outbox = Outbox(
            self.db, self.clock,
            deliver={"tg": self.telegram.deliver, "card": self.telegram.deliver_card,
                     "vk": vk_page.deliver, WALL_POSTS: vk_page.deliver_wall_post,
                     ANSWERS_WITH_PHOTOS: vk_page.deliver_answer,
                     "max": max_page.deliver, CHANNEL_POSTS: max_page.deliver_channel_post,
                     TOPICS: ok_page.deliver},
            classify=self._classify,
            limits=Limits(scale=rate_scale),
            on_done={"card": self.telegram.card_sent, "answer": self.workflow.published,
                     MEMBER_ANSWER: self.workflow.member_published,
                     "prompt": self.workspace.prompt_sent,
                     PUBLISHING: self.publishing.on_done, BOARD: self.workspace.board_sent},
            on_failed={"answer": self.workflow.publish_failed,
                       MEMBER_ANSWER: self.workflow.member_failed,
                       PUBLISHING: self.publishing.on_failed,
                       BOARD: self.workspace.board_failed},
            on_failed_default=self._undelivered,
            watermark=self.telegram.watermark,
        )
        self.hub.wake = self.outbox.wake

        # the jobs: each a short idempotent tick on the domain clock, run in this order by
        # ``run_all_once`` (what the demo and the tests call after moving time)
        self.jobs = Jobs()
        self.jobs.add("absences", people.Absences(self.hub).tick, people.TICK_SECONDS)
        self.jobs.add("close-quiet", self.workflow.close_quiet, 5.0)
        self.jobs.add("deadlines", self.deadlines.tick, DEADLINES_TICK)
        self.jobs.add("gathered", self.gathering.tick, GATHERED_TICK)
        self.jobs.add("board", self.inbox.board_tick, BOARD_TICK)
        self.jobs.add("search-index", self.search.index, SEARCH_TICK)
        self.jobs.add("publishing", self.publishing.tick, PUBLISHING_TICK)
        self.jobs.add("reports", self.reports.tick, REPORTS_TICK)
        self.jobs.add("retention", self.retention.tick, RETENTION_TICK)
        self.jobs.add("health", lambda: self.hub.health.flush(self.db), FLUSH_SECONDS)
        self.jobs.on_start.append(self._check_connections)
        # each getUpdates is a poll of the Telegram source (a heartbeat for /status)
        self.bot.session.middleware(PollHeartbeat(self.hub.health))
        self.dispatcher = self._dispatcher()
        self.stop = asyncio.Event()
        self._reloading: asyncio.Future[bool] | None = None

    def _dispatcher(self) -> Dispatcher:
        dp = Dispatcher()
        dp.update.outer_middleware(self.telegram.seen_update)
        dp.include_router(self._routers())
        # what a handler may ask for by name (aiogram passes these as keyword arguments)
        dp["hub"] = self.hub
        dp["ingest"] = self.ingest
        dp["workflow"] = self.workflow
        dp["jobs"] = self.jobs
        dp["deadlines"] = self.deadlines
        dp["publishing"] = self.publishing
        dp["reports"] = self.reports
        dp["retention"] = self.retention
        dp["search"] = self.search
        dp["inbox"] = self.inbox
        return dp

    def _routers(self) -> AiogramRouter:
        """Every router, in the order updates meet them; the first whose filters match
        handles an update.

        Presses on cards and ratings come first: their callback data says what they are,
        whoever sends them. The private-chat commands (/deadline, the press secretary's
        /post, /poll, /queue, /plan and photos, /report, /rating, /export, /status) come
        before the private chat's router, whose catch-all takes any other text for a
        citizen's message (a citizen's «/post» is refused, not ingested). The staff group
        (a reply is an answer, other talk is ignored) and the private chat come before the
        city chats, which ingest every message. A press that no router knew is refused
        last, so that it changes nothing.
        """
        root = AiogramRouter(name="root")
        root.include_router(card_buttons.build())
        root.include_router(deadline_command.build())
        root.include_router(away.build())
        root.include_router(press.build())
        root.include_router(report_commands.build())
        root.include_router(status.build())
        root.include_router(inbox.build())
        root.include_router(staff_group.build(self.config))
        root.include_router(private.build())
        root.include_router(chats.build(self.config))
        root.include_router(card_buttons.build_fallback())
        return root

    async def _classify(self, item: Item) -> str:
        """What a row counts as in its lane's limits: Telegram sends and edits; VK calls."""
        if item.platform in ("tg", "card"):
            return await self.telegram.classify(item)
        return "call"

    async def _undelivered(self, conn: Conn, item: Item, error: Any) -> None:
        await failures.tell_coordinators(self.hub, conn, item, error,
                                         undelivered.describe(self.config, item, error))

    async def _check_connections(self, bot: Bot) -> None:
        """At start: every platform's connections checked, the report to the admins."""
        report = StartupReport(self.hub, tg.describe)
        telegram = TelegramChecks(self.hub, self.workspace, report)
        await telegram.run(bot)
        await report.checked(check_communities(self.config, self.vk_clients, report), "what_vk")
        await report.checked(check_max(self.config, self.max_client, report), "what_max")
        ok_page = self.hub.pages["ok"]
        assert isinstance(ok_page, OkPage)
        await report.checked(check_ok(self.config, ok_page.clients, report), "what_ok")
        await telegram.set_commands(bot)
        await report.send()

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
            await people.load(self.hub, conn)
            await learning.relearn(self.hub, conn)
            self.router = self.hub.router
            await staff.replace_all(conn, [
                staff.Person(m.telegram_id, m.name, m.roles, m.blocks, m.vk_id)
                for m in self.config.staff])

    def request_stop(self) -> None:
        self.stop.set()

    def request_reload(self, path: str) -> None:
        """SIGHUP: reread the config file (``bot.services.reload``)."""
        self._reloading = asyncio.ensure_future(self.reload(path))

    async def reload(self, path: str) -> bool:
        try:
            applied = await reload.reload(self.hub, path)
        except Exception:  # a failed reload must not end the process; the old config stays
            log.exception("config %s: reload failed; the old config stays", path)
            return False
        if applied:
            self.ingest.staff_changed()
            self.router = self.hub.router
        return applied

    async def run(self) -> int:
        await self.db.open()
        leader = self.db.leadership()
        try:
            # a second process of this municipality waits here until the first one dies
            if not await leader.acquire(self.stop, waiting=lambda: log.info(
                    "another process leads %s: standing by", self.config.municipality.id)):
                return 0
            log.info("leading %s", self.config.municipality.id)
            await self._sync_staff()
            tasks: list[asyncio.Task[Any]] = []
            if isinstance(self.clock, SandboxClock):
                await self.clock.first_sync()
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
            if self.max_client is not None:
                source = MaxLongPoll(self.config, self.ingest, self.max_client)
                tasks.append(asyncio.create_task(source.run(self.stop), name="max"))
            tasks.append(asyncio.create_task(self.jobs.run(self.stop), name="jobs"))
            tasks.append(asyncio.create_task(self._keep_leading(leader), name="leader"))
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
            return 1 if self.lost_lead else 0
        finally:
            await self.bot.session.close()
            self.vk.close()
            await leader.release()
            await self._close_clients()
            await self.db.close()

    async def _close_clients(self) -> None:
        ok_page = self.hub.pages["ok"]
        assert isinstance(ok_page, OkPage)
        for client in [self.max_client, *ok_page.clients.values()]:
            if client is not None:
                await client.close()

    async def _keep_leading(self, leader: Leadership, interval: float = 2.0) -> None:
        """Stop doing the work the moment the lock may be another's (exit 1: restarted
        by systemd, the process then stands by)."""
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), interval)
            if not self.stop.is_set() and not await leader.held():
                log.error("lost the lock of %s: stopping", self.config.municipality.id)
                self.lost_lead = True
                self.request_stop()


async def run(config: Config, path: str | None = None) -> int:
    app = App(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.request_stop)
    if path is not None:  # kill -HUP: staff and blocks change without a restart
        loop.add_signal_handler(signal.SIGHUP, app.request_reload, path)
    return await app.run()
