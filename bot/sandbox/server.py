"""One aiohttp server on loopback that plays Telegram, VK, MAX and OK, with a control API.

``/tg/...`` speaks the Bot API, ``/vk/...`` the VK API and its Bots Long Poll,
``/max/...`` the MAX Bot API, ``/ok/...`` OK's REST API; ``/control/...`` lets tests,
the demo and people play citizens and staff, read what the bot sent, inject faults and
move the clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.core import SandboxState
from bot.sandbox.max import MaxSandbox
from bot.sandbox.ok import OkSandbox
from bot.sandbox.telegram import TelegramSandbox
from bot.sandbox.vk import VkSandbox

log = logging.getLogger(__name__)


class Sandbox:
    def __init__(self, rate_limits: bool = True, state_path: str | None = None):
        self.state = SandboxState()
        self.telegram = TelegramSandbox(self.state, rate_limits=rate_limits)
        self.vk = VkSandbox(self.state, rate_limits=rate_limits)
        self.max = MaxSandbox(self.state, rate_limits=rate_limits)
        self.ok = OkSandbox(self.state, rate_limits=rate_limits)
        self.state_path = Path(state_path) if state_path else None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.telegram.register(self.app)
        self.vk.register(self.app)
        self.max.register(self.app)
        self.ok.register(self.app)
        self.app.router.add_get("/control/clock", self._get_clock)
        self.app.router.add_post("/control/clock", self._set_clock)
        self.app.router.add_get("/control/log", self._get_log)
        self.app.router.add_post("/control/faults", self._add_fault)
        self.app.router.add_get("/control/health", self._health)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        if self.state_path and self.state_path.exists():
            self.load(self.state_path)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else port
        return self.base_url

    async def stop(self) -> None:
        if self.state_path:
            self.save(self.state_path)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- persistence -----------------------------------------------------------------

    def save(self, path: Path) -> None:
        data = {
            "clock_offset": self.state.clock._offset,
            "telegram": self.telegram.dump(),
            "vk": self.vk.dump(),
            "max": self.max.dump(),
            "ok": self.ok.dump(),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.state.clock._offset = float(data.get("clock_offset", 0.0))
        self.telegram.load(data["telegram"])
        self.vk.load(data["vk"])
        if "max" in data:  # state files written before MAX and OK existed
            self.max.load(data["max"])
        if "ok" in data:
            self.ok.load(data["ok"])

    # -- control ---------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _get_clock(self, request: web.Request) -> web.Response:
        return web.json_response({"now": self.state.clock.now().isoformat()})

    async def _set_clock(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            if "advance_seconds" in body:
                seconds = float(body["advance_seconds"])
                if seconds < 0:
                    raise ValueError("advance_seconds must not be negative")
                now = self.state.clock.advance(seconds)
            elif "set" in body:
                now = self.state.clock.set(datetime.fromisoformat(str(body["set"])))
            else:
                raise ValueError("expected 'advance_seconds' or 'set'")
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"now": now.isoformat()})

    async def _get_log(self, request: web.Request) -> web.Response:
        entries = self.state.log
        platform = request.query.get("platform")
        method = request.query.get("method")
        if platform:
            entries = [e for e in entries if e["platform"] == platform]
        if method:
            entries = [e for e in entries if e["method"] == method]
        return web.json_response(entries)

    async def _add_fault(self, request: web.Request) -> web.Response:
        body = await _json(request)
        allowed = {"platform", "method", "chat_id", "kind", "code", "retry_after", "count",
                   "sent"}
        kinds = ("429", "500", "503", "timeout", "vk_error", "ok_error", "html502", "html504",
                 "garbage", "album_partial")
        platforms = ("tg", "vk", "max", "ok")
        unknown = set(body) - allowed
        if unknown or body.get("platform") not in platforms or body.get("kind") not in kinds:
            return web.json_response(
                {"error": f"expected {sorted(allowed)}; platform {'|'.join(platforms)}; "
                 f"kind {'|'.join(kinds)}"}, status=400)
        spec: dict[str, Any] = dict(body)
        spec.setdefault("count", 1)
        if spec.get("retry_after") is None:
            spec.pop("retry_after", None)
        self.state.add_fault(**spec)
        return web.json_response({"ok": True, "pending": len(self.state.faults)})


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text='{"error": "body is not JSON"}',
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}',
                                 content_type="application/json")
    return body


async def serve(port: int, write_config: str | None, state_path: str | None,
                rate_limits: bool = True, start: str | None = None) -> None:
    """``mcu-hub sandbox``: run until SIGINT/SIGTERM."""
    from bot.sandbox.world import write_config as write

    sandbox = Sandbox(rate_limits=rate_limits, state_path=state_path)
    if start:
        sandbox.state.clock.set(datetime.fromisoformat(start))
    base = await sandbox.start(port)
    if write_config:
        write(write_config, base)
        print(f"config written to {write_config}", flush=True)
    print(f"sandbox listening on {base} (Bot API {base}/tg, VK API {base}/vk/method,"
          f" MAX {base}/max, OK {base}/ok/fb.do, control {base}/control)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sandbox.stop()
