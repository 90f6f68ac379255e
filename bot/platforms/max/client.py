"""A thin aiohttp client of the MAX Bot API (dev.max.ru/docs-api).

Why our own and not ``maxapi``: maxapi takes only a bare host as its base URL, retries
behind our back, drops an edit's keyboard, counts the 4,000-character limit one off and
keeps the long-poll marker in memory only. Here every call is one HTTP request, the
outbox decides about retries, and the marker is the caller's (stored with the
incidents).

The token goes in the ``Authorization`` header (docs-api «Авторизация»: no longer as a
query parameter). Every call of the token — the long poll's and the outbox's — is paced
by one sliding window under MAX's 30 requests a second.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.domain.limits import MAX_REQUESTS_PER_SECOND
from bot.outbox.outcomes import Permanent, Retry, backoff
from bot.platforms.paced_http import PacedHttp


class MaxApiError(Exception):
    """An error answer: ``{"code", "message"}`` with its HTTP status (OpenAPI ``Error``)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"MAX error {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class MaxTransportError(Exception):
    """No answer we could read: the network, a timeout, not JSON."""


# a margin under MAX's 30/s: the server counts a call when it arrives, we when it leaves
PACE = MAX_REQUESTS_PER_SECOND - 4


class MaxClient(PacedHttp):
    def __init__(self, api_base: str, token: str, *, timeout: float = 40.0,
                 per_second: int = PACE):
        super().__init__(per_second, timeout, headers={"Authorization": token})
        self.api_base = api_base.rstrip("/")
        self._token = token

    async def call(self, verb: str, path: str, params: dict[str, Any] | None = None,
                   body: dict[str, Any] | None = None, *, hold: float | None = None) -> Any:
        """One request; the answer's JSON, or ``MaxApiError`` / ``MaxTransportError``."""
        await self._pace()
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        data = None if body is None else json.dumps(body, ensure_ascii=False)
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self._http().request(
                    verb, self.api_base + path, params=query, data=data, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=hold) if hold else None) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise MaxTransportError(f"{type(exc).__name__}: {exc}") from None
        try:
            answer = json.loads(text) if text else {}
        except json.JSONDecodeError:
            raise MaxTransportError(f"HTTP {status}: not JSON") from None
        if status != 200:
            if isinstance(answer, dict):
                raise MaxApiError(status, str(answer.get("code", "")),
                                  str(answer.get("message", "")))
            raise MaxTransportError(f"HTTP {status}")
        return answer

    async def upload_image(self, data: bytes, filename: str) -> str:
        """POST /uploads?type=image, then the file to the URL it gives: the image's token."""
        slot = await self.call("POST", "/uploads", {"type": "image"})
        form = aiohttp.FormData()
        form.add_field("data", data, filename=filename, content_type="image/jpeg")
        await self._pace()
        try:
            async with self._http().post(slot["url"], data=form) as resp:
                answer = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise MaxTransportError(f"upload: {type(exc).__name__}: {exc}") from None
        if status != 200 or not isinstance(answer, dict):
            raise MaxApiError(status, str((answer or {}).get("error_code", "upload")),
                              str((answer or {}).get("error_msg", "upload failed")))
        photos = answer.get("photos")
        if isinstance(photos, dict) and photos:
            return str(next(iter(photos.values()))["token"])
        return str(answer["token"])


def outbox_failure(exc: Exception, attempts: int) -> Exception:
    """A MAX error sorted for the outbox: wait (429, 5xx, the network, an attachment still
    processing) or give up (everything else: MAX will answer it the same again)."""
    if isinstance(exc, MaxTransportError):
        return Retry(backoff(attempts, 1.0), str(exc), uncertain=True)
    assert isinstance(exc, MaxApiError)
    if exc.status == 429 or exc.code == "too.many.requests":
        return Retry(1.0, str(exc), pause_lane=True, transient=False)
    if exc.code == "attachment.not.ready":
        # docs-api POST /uploads «Обработка медиафайлов»: send again a little later
        return Retry(min(1.0 * attempts, 5.0), str(exc), transient=False)
    if exc.status >= 500:
        return Retry(backoff(attempts, 1.0), str(exc), uncertain=exc.status == 504)
    return Permanent(str(exc))
