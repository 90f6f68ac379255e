"""A thin aiohttp client of Одноклассники's REST API (apiok.ru/dev/methods).

The PyPI clients for OK are years old; what the bot needs is four methods, so this is
our own: each call is a POST form to ``fb.do`` with ``application_key``, ``format=json``,
the group's ``access_token`` and ``sig`` — md5 of the sorted ``k=v`` pairs (all but
``sig`` and ``access_token``) followed by md5(access_token + application secret key),
lower case («Расчет подписи запроса»). OK answers errors with HTTP 200 and
``{"error_code", "error_msg"}``. Calls of one token are paced under the rate we assume
(``bot.domain.limits.OK_REQUESTS_PER_SECOND``: OK publishes none).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp

from bot.domain.limits import OK_REQUESTS_PER_SECOND
from bot.outbox.outcomes import Permanent, Retry, backoff
from bot.platforms.paced_http import PacedHttp


class OkApiError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"OK error {code}: {message}")
        self.code = code
        self.message = message


class OkTransportError(Exception):
    """No answer we could read: the network, a timeout, HTTP 5xx, not JSON."""


def sign(params: dict[str, str], access_token: str, secret_key: str) -> str:
    """OK's request signature (apiok.ru/dev/methods, «Расчет подписи запроса»)."""
    secret = hashlib.md5((access_token + secret_key).encode()).hexdigest()
    joined = "".join(f"{k}={params[k]}" for k in sorted(params)
                     if k not in ("sig", "access_token", "session_key"))
    return hashlib.md5((joined + secret).encode()).hexdigest()


class OkClient(PacedHttp):
    """One group's token: its calls signed and paced."""

    def __init__(self, api_base: str, application_key: str, secret_key: str, token: str,
                 *, timeout: float = 40.0):
        super().__init__(OK_REQUESTS_PER_SECOND - 1, timeout)  # a margin: see MaxClient
        self.url = api_base.rstrip("/") + "/fb.do"
        self._key = application_key
        self._secret = secret_key
        self._token = token

    async def call(self, method: str, **params: Any) -> Any:
        form = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                for k, v in params.items() if v is not None}
        form |= {"method": method, "application_key": self._key, "format": "json"}
        form["sig"] = sign(form, self._token, self._secret)
        form["access_token"] = self._token
        await self._pace()
        try:
            async with self._http().post(self.url, data=form) as resp:
                status = resp.status
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise OkTransportError(f"{type(exc).__name__}: {exc}") from None
        if status != 200:
            raise OkTransportError(f"HTTP {status}")
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise OkTransportError("not JSON") from None
        if isinstance(answer, dict) and "error_code" in answer:
            raise OkApiError(int(answer["error_code"]), str(answer.get("error_msg", "")))
        return answer

    async def upload_photos(self, gid: int, photos: list[bytes]) -> list[str]:
        """photosV2.getUploadUrl, then the files to the URL: each photo's token."""
        slot = await self.call("photosV2.getUploadUrl", gid=str(gid), count=str(len(photos)))
        form = aiohttp.FormData()
        for n, data in enumerate(photos, 1):
            form.add_field(f"pic{n}", data, filename=f"photo{n}.jpg",
                           content_type="image/jpeg")
        await self._pace()
        try:
            async with self._http().post(slot["upload_url"], data=form) as resp:
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise OkTransportError(f"upload: {type(exc).__name__}: {exc}") from None
        if not isinstance(answer, dict) or "photos" not in answer:
            error = answer if isinstance(answer, dict) else {}
            raise OkApiError(int(error.get("error_code", 1)), str(error.get("error_msg", "")))
        return [answer["photos"][photo_id]["token"] for photo_id in slot["photo_ids"]
                if photo_id in answer["photos"]]


# OK's error codes (apiok.ru REST API «Коды ошибок»): flood and service trouble wait
_WAIT = {8: "FLOOD_BLOCKED", 1: "UNKNOWN", 2: "SERVICE"}


def outbox_failure(exc: Exception, attempts: int) -> Exception:
    if isinstance(exc, OkTransportError):
        return Retry(backoff(attempts, 1.0), str(exc), uncertain=True)
    assert isinstance(exc, OkApiError)
    if exc.code == 8:
        return Retry(2.0, str(exc), pause_lane=True, transient=False)
    if exc.code in _WAIT:
        return Retry(backoff(attempts, 1.0), str(exc))
    return Permanent(str(exc))
