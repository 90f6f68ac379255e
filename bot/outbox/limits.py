"""The platforms' rate limits, in real (monotonic) time: sliding windows per lane.

Telegram: about 1 call/s per chat and 20 a minute per group, sends and edits in one
budget (tdlib/td#2592), and 30/s overall. VK's limits are per token and kept by the
token's client (``bot.platforms.vk.client.Pacer``).

MAX: about 30 requests a second per bot token (dev.max.ru/docs-api ``POST /uploads``:
«максимальное количество запросов в секунду на platform-api.max.ru — 30 rps»); the
outbox keeps its rows to 24 a second, leaving room for the long poll (at most 2 a
second) and a margin for the network; the token's client (``bot.platforms.max.client``)
paces every call under 30 as well. Одноклассники publish no rate: 5 a second per token
is our guess (``bot.domain.limits.OK_REQUESTS_PER_SECOND``), 4 a second for rows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.domain.limits import MAX_REQUESTS_PER_SECOND, OK_REQUESTS_PER_SECOND

# rows a second, per bot token (MAX) or group token (OK); see the module's docstring
MAX_ROWS_PER_SECOND = MAX_REQUESTS_PER_SECOND - 6
OK_ROWS_PER_SECOND = OK_REQUESTS_PER_SECOND - 1


class Window:
    """At most ``count`` events in any ``seconds``: a sliding window."""

    def __init__(self, count: int, seconds: float):
        self.count = count
        self.seconds = seconds
        self.times: deque[float] = deque()

    def wait(self, now: float, weight: int = 1) -> float:
        """Seconds until ``weight`` more events fit (an album is several messages)."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        weight = min(weight, self.count)
        over = len(self.times) + weight - self.count
        if over <= 0:
            return 0.0
        return self.times[over - 1] + self.seconds - now

    def note(self, now: float, weight: int = 1) -> None:
        self.times.extend([now] * min(weight, self.count))

    def settle(self, started: float, ended: float) -> None:
        """A call noted when it started has ended: count it from then on instead.

        The platform counts a call when it arrives, somewhere between the two; counting
        from the end keeps the window's start no earlier than the platform's, whatever
        the network's jitter (a slow first call, a fast twenty-first: a 429).
        """
        moved = False
        for n in range(len(self.times) - 1, -1, -1):
            if self.times[n] == started:
                self.times[n] = max(ended, started)
                moved = True
            elif moved:
                break
        if moved:
            self.times = deque(sorted(self.times))


@dataclass
class Limits:
    """The platforms' published limits; ``scale`` shrinks their windows for benchmarks."""

    scale: float = 1.0
    windows: dict[tuple[str, ...], Window] = field(default_factory=dict)
    paused: dict[str, float] = field(default_factory=dict)

    def _window(self, key: tuple[str, ...], count: int, seconds: float) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(count, seconds * self.scale)
        return window

    def windows_for(self, lane: str, kind: str) -> list[Window]:
        platform, _, rest = lane.partition(":")
        if platform == "tg":
            chat = int(rest)
            result = [self._window(("tg", "all"), 30, 1.0)]
            # sends and edits share the chat's budget (tdlib/td#2592): about one a
            # second (3 in any 3 s: inside the server's burst of 3 refilled at 1/s, so a
            # press's edit and its reply go together), 20 a minute in a group; in a
            # private chat 20 edits a minute
            if kind in ("send", "edit"):
                result.append(self._window(("tg", rest, "s"), 3, 3.0))
                if chat < 0 or kind == "edit":
                    result.append(self._window(("tg", rest, "m"), 20, 60.0))
            return result
        if platform == "max":
            return [self._window(("max", "all"), MAX_ROWS_PER_SECOND, 1.0)]
        if platform == "ok":
            return [self._window(("ok", rest), OK_ROWS_PER_SECOND, 1.0)]
        # VK: paced per token by the token's client (bot.platforms.vk.client.Pacer), which every
        # user of the token shares — the long poll and the publics as well as the outbox
        return []

    def wait(self, lane: str, kind: str, now: float, weight: int = 1) -> float:
        paused = self.paused.get(lane, 0.0) - now
        return max([paused, 0.0] + [w.wait(now, 1 if w is self.windows.get(("tg", "all"))
                                           else weight)
                                    for w in self.windows_for(lane, kind)])

    def note(self, lane: str, kind: str, now: float, weight: int = 1) -> None:
        for window in self.windows_for(lane, kind):
            window.note(now, 1 if window is self.windows.get(("tg", "all")) else weight)

    def settle(self, lane: str, kind: str, started: float, ended: float) -> None:
        """The lane's own windows count the call from its end (see ``Window.settle``);
        the overall window, shared by lanes in flight together, keeps its start."""
        for window in self.windows_for(lane, kind):
            if window is not self.windows.get(("tg", "all")):
                window.settle(started, ended)

    def pause(self, lane: str, seconds: float, now: float) -> None:
        self.paused[lane] = max(self.paused.get(lane, 0.0), now + seconds)
