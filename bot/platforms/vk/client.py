"""VK edge: the real ``vk_api`` behind a small async adapter.

vk_api is synchronous (requests), has its API address fixed in code and paces and
retries by itself: it sleeps to stay under 3 requests/s and retries error 6 ("too many
requests per second") without limit. Here it runs off the event loop, its requests are
sent to the configured ``api_base`` (the sandbox, or VK itself) by a mounted transport
adapter, and its pacing and error-6 loop are switched off, so every VK error surfaces
as a ``VkError``.

The pacing is ours and lives in one place: each access token has one ``VkClient`` in
the process (``VkClients`` hands them out), and every call made with it — the outbox's,
the long poll's, the publics', an upload's — waits for its ``Pacer`` first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import requests
import vk_api
from jconfig.memory import MemoryConfig
from requests.adapters import HTTPAdapter
from vk_api.exceptions import ApiError, ApiHttpError, Captcha

from bot.domain.limits import VK_REQUESTS_PER_SECOND
from bot.outbox import outcomes
from bot.outbox.outcomes import Permanent, Retry

log = logging.getLogger(__name__)

API_VERSION = "5.199"
# where vk_api sends its calls; older releases used api.vk.com
_FIXED_BASES = ("https://api.vk.ru/method/", "https://api.vk.com/method/")
_TOO_MANY_RPS = 6


class VkError(Exception):
    """An error VK answered (``{"error": {...}}``), in the platform's words."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"VK error {code}: {message}")
        self.code = code
        self.message = message


_STORED_CODE = re.compile(r"^VK error (\d+):")


def refusal_code(reason: str) -> int | None:
    """The VK error code in a failure reason as the outbox stored it (``str(VkError)``),
    so a hook that gets only the words can still tell a 902 from a 212."""
    match = _STORED_CODE.match(reason)
    return int(match.group(1)) if match else None


class VkTransportError(Exception):
    """No VK answer: HTTP 5xx/429, a timeout, a refused connection or a broken body."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _RedirectAdapter(HTTPAdapter):
    """Sends vk_api's fixed ``https://api.vk.ru/method/`` calls to ``api_base``.

    It also gives every request a timeout, which vk_api never sets.
    """

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__()
        self.api_base = api_base.rstrip("/") + "/"
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        for prefix in _FIXED_BASES:
            if url.startswith(prefix) and not url.startswith(self.api_base):
                request.url = self.api_base + url[len(prefix) :]
                # proxies were chosen for VK's host; choose again for the real target
                kwargs["proxies"] = requests.utils.get_environ_proxies(request.url)
                break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_session(api_base: str, timeout: float = 30) -> requests.Session:
    """A requests session whose VK API calls go to ``api_base``."""
    session = requests.Session()
    adapter = _RedirectAdapter(api_base, timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Pacer:
    """At most ``per_second`` calls of one token in any ``window`` seconds, in real time.

    A call takes its place before it is sent and is counted from its *end*: VK counts
    it on arrival, somewhere in between, so counting from the end keeps our window
    behind VK's whatever the network's jitter (a slow first call and a fast fourth
    would otherwise meet within VK's second). The window is a little over a second
    for clocks that do not tick alike. ``pause`` holds every call back after an
    error 6 that came anyway (another process on the same token?).
    """

    def __init__(self, per_second: float, window: float = 1.05,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.per_second = per_second
        self.window = window
        self.monotonic = monotonic
        self.sleep = sleep
        self.ended: deque[float] = deque()
        self.in_flight = 0
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until a call may start (0: now)."""
        while self.ended and self.ended[0] <= now - self.window:
            self.ended.popleft()
        wait = max(0.0, self.paused_until - now)
        if len(self.ended) + self.in_flight >= self.per_second:
            # every place is taken: the oldest ended call's leaves first; if all are in
            # flight, look again shortly after one of them ends
            wait = max(wait, self.ended[0] + self.window - now if self.ended else 0.01)
        return wait

    async def acquire(self) -> None:
        while (wait := self.wait(self.monotonic())) > 0:
            await self.sleep(wait)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self.ended.append(self.monotonic())

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.monotonic() + seconds)


class VkClient:
    """One access token's calls, made by vk_api in a worker thread, paced by its Pacer."""

    def __init__(
        self, token: str, api_base: str, version: str = API_VERSION, timeout: float = 30,
        requests_per_second: float = VK_REQUESTS_PER_SECOND["user"],
    ) -> None:
        self.api_base = api_base
        self.timeout = timeout
        self.pacer = Pacer(requests_per_second)
        self.session = make_session(api_base, timeout)
        self._vk = vk_api.VkApi(
            token=token, session=self.session, api_version=version, config=MemoryConfig
        )
        # the Pacer keeps the limit and callers decide on backoff: vk_api must neither
        # sleep (its 3/s for any token) nor retry error 6 (it would, without end)
        self._vk.RPS_DELAY = 0
        self._vk.error_handlers.pop(_TOO_MANY_RPS, None)

    def close(self) -> None:
        """Drop pooled connections (at shutdown)."""
        self.session.close()

    async def call(self, method: str, **params: Any) -> Any:
        """Call ``method`` within the token's limit; raises ``VkError`` or
        ``VkTransportError``."""
        await self.pacer.acquire()
        try:
            return await asyncio.to_thread(self._call_sync, method, params)
        except VkError as error:
            if error.code == _TOO_MANY_RPS:
                self.pacer.pause(1.0)  # VK's window is a second; let it pass for everyone
            raise
        finally:
            self.pacer.release()

    async def upload_wall_photo(self, group_id: int, data: bytes, filename: str) -> str:
        """Upload a photo for a community's wall; returns ``photo{owner}_{id}``.

        VK allows this chain with a user token (a community admin's) only — a community
        token gets error 27. Its two API calls are paced like any other; the upload itself
        goes to the upload server.
        """
        server = await self.call("photos.getWallUploadServer", group_id=group_id)
        uploaded = await self._upload(server["upload_url"], data, filename)
        saved = await self.call("photos.saveWallPhoto", group_id=group_id,
                                photo=uploaded["photo"], server=uploaded["server"],
                                hash=uploaded["hash"])
        return f"photo{saved[0]['owner_id']}_{saved[0]['id']}"

    async def upload_message_photo(self, peer_id: int, data: bytes, filename: str) -> str:
        """Upload a photo for a community message to ``peer_id`` (the community's own token
        may); returns ``photo{owner}_{id}``."""
        server = await self.call("photos.getMessagesUploadServer", peer_id=peer_id)
        uploaded = await self._upload(server["upload_url"], data, filename)
        saved = await self.call("photos.saveMessagesPhoto", photo=uploaded["photo"],
                                server=uploaded["server"], hash=uploaded["hash"])
        return f"photo{saved[0]['owner_id']}_{saved[0]['id']}"

    async def _upload(self, url: str, data: bytes, filename: str) -> dict[str, Any]:
        uploaded = await asyncio.to_thread(_json_answer, "photo upload", lambda: self.session.post(
            url, files={"photo": (filename, data)}, timeout=self.timeout))
        if "error" in uploaded or not uploaded.get("photo") or uploaded["photo"] == "[]":
            raise VkError(22, f"Upload error: {uploaded.get('error', 'no photo received')}")
        return uploaded

    def _call_sync(self, method: str, params: dict[str, Any]) -> Any:
        values = {k: _plain(v) for k, v in params.items() if v is not None}
        try:
            return self._vk.method(method, values)
        except Captcha as error:
            raise VkError(error.code, "Captcha needed") from error
        except ApiHttpError as error:
            status = error.response.status_code
            raise VkTransportError(f"{method}: HTTP {status}", status) from error
        except ApiError as error:
            raise VkError(error.code, str(error.error.get("error_msg", ""))) from error
        except requests.RequestException as error:
            raise VkTransportError(f"{method}: {type(error).__name__}: {error}") from error
        except ValueError as error:  # a body that is not JSON
            raise VkTransportError(f"{method}: unreadable answer: {error}") from error


class VkClients:
    """The process's VK clients, one per access token: all that use a token share its
    Pacer. A token given for two kinds (a service token that is an admin's user token)
    is held to the stricter of their limits."""

    def __init__(self, api_base: str, version: str = API_VERSION,
                 limits: dict[str, float] | None = None, timeout: float = 30) -> None:
        self.api_base = api_base
        self.version = version
        self.limits = dict(VK_REQUESTS_PER_SECOND if limits is None else limits)
        self.timeout = timeout
        self._by_token: dict[str, VkClient] = {}

    def get(self, token: str, kind: str) -> VkClient:
        """The client of ``token``, a ``community``, ``user`` or ``service`` token."""
        limit = self.limits[kind]
        client = self._by_token.get(token)
        if client is None:
            client = self._by_token[token] = VkClient(
                token, self.api_base, self.version, self.timeout, requests_per_second=limit)
        client.pacer.per_second = min(client.pacer.per_second, limit)
        return client

    def close(self) -> None:
        for client in self._by_token.values():
            client.close()


class VkLongPoll:
    """A Bots Long Poll consumer for one community.

    ``check`` gets the server on first use and recovers from ``failed`` by itself:
    1 — continue from the ts VK gave; 2 — a new key, same ts; 3 — a new key and ts.
    """

    def __init__(self, client: VkClient, group_id: int, wait: int = 25) -> None:
        self.client = client
        self.group_id = group_id
        self.wait = wait
        self.server: str | None = None
        self.key: str | None = None
        self.ts: str | None = None
        # a session of its own: a long wait must not hold the client's connection
        self._session = make_session(client.api_base, client.timeout)

    async def check(self, ts: str | None) -> tuple[str, list[dict[str, Any]]]:
        """One long poll request: ``(ts to ask next, updates)``."""
        if self.server is None or self.key is None:
            await self._update_server(update_ts=ts is None)
        if ts is None:
            ts = self.ts
        assert self.server is not None and ts is not None
        answer = await asyncio.to_thread(self._get, ts)
        failed = answer.get("failed")
        if failed is None:
            self.ts = str(answer["ts"])
            return self.ts, list(answer.get("updates", []))
        log.info("vk long poll of %s: failed %s", self.group_id, failed)
        if failed == 1:
            self.ts = str(answer["ts"])
        elif failed == 2:
            await self._update_server(update_ts=False)
            self.ts = ts
        else:
            await self._update_server(update_ts=True)
        assert self.ts is not None
        return self.ts, []

    def close(self) -> None:
        self._session.close()

    async def _update_server(self, update_ts: bool) -> None:
        answer = await self.client.call("groups.getLongPollServer", group_id=self.group_id)
        self.server = str(answer["server"])
        self.key = str(answer["key"])
        if update_ts or self.ts is None:
            self.ts = str(answer["ts"])

    def _get(self, ts: str) -> dict[str, Any]:
        assert self.server is not None
        params = {"act": "a_check", "key": self.key, "ts": ts, "wait": self.wait}
        answer = _json_answer("long poll", lambda: self._session.get(
            self.server, params=params, timeout=self.wait + 10))
        if not isinstance(answer, dict):
            raise VkTransportError("long poll: unexpected answer")
        return answer


def _json_answer(what: str, send: Callable[[], requests.Response]) -> Any:
    """A request outside vk_api (an upload, a long poll): its JSON, or VkTransportError
    for a network failure, an HTTP error or a body that is not JSON."""
    try:
        response = send()
    except requests.RequestException as error:
        raise VkTransportError(f"{what}: {type(error).__name__}: {error}") from error
    if not response.ok:
        raise VkTransportError(f"{what}: HTTP {response.status_code}", response.status_code)
    try:
        return response.json()
    except ValueError as error:
        raise VkTransportError(f"{what}: unreadable answer: {error}") from error


def _plain(value: Any) -> Any:
    """Lists as VK's comma lists, booleans as 1/0 (as vk_api's method proxy does)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | tuple):
        return ",".join(str(x) for x in value)
    return value


def outbox_failure(exc: VkError | VkTransportError, attempts: int) -> Exception:
    """A VK failure sorted for the outbox: retry later (6, 9, 1, 10, transport) or give up.

    Error 6 (too many requests per second) and 9 (flood control) hold the whole lane;
    everything else VK answers is permanent and kept in VK's own words.
    """
    if isinstance(exc, VkTransportError):
        return Retry(outcomes.backoff(attempts), str(exc))
    if exc.code == 6:
        return Retry(1.0, str(exc), pause_lane=True, transient=False)
    if exc.code == 9:
        return Retry(outcomes.backoff(attempts, 5.0, 600.0), str(exc), pause_lane=True)
    if exc.code in (1, 10):
        return Retry(outcomes.backoff(attempts), str(exc))
    return Permanent(str(exc))
