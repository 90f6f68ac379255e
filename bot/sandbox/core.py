"""What the platform stand-ins share: the clock, the call log and injected faults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_SECRET_KEYS = {"access_token", "token", "key"}


class SandboxClock:
    """The world's time: the real clock plus an offset the control API moves."""

    def __init__(self, start: datetime | None = None):
        self._offset = 0.0
        if start is not None:
            self.set(start)

    def timestamp(self) -> float:
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance(self, seconds: float) -> datetime:
        self._offset += seconds
        return self.now()

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the moment needs a UTC offset")
        self._offset = moment.timestamp() - time.time()
        return self.now()


@dataclass
class Fault:
    platform: str  # "tg" | "vk" | "max" | "ok"
    kind: str  # "429" | "500" | "503" | "timeout" | "vk_error" | "ok_error" | "html502"
    #            | "html504" | "garbage" | "album_partial"
    count: int
    method: str | None = None
    chat_id: int | None = None
    code: int | None = None
    retry_after: int = 1
    sent: int | None = None  # album_partial: how many of the album's messages go

    def matches(self, platform: str, method: str, chat_id: int | None) -> bool:
        if self.count <= 0 or self.platform != platform:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass
class SandboxState:
    """Shared by both platforms; the control API reads and changes it."""

    clock: SandboxClock = field(default_factory=SandboxClock)
    log: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def add_fault(self, **spec: Any) -> Fault:
        fault = Fault(**spec)
        self.faults.append(fault)
        return fault

    def take_fault(self, platform: str, method: str, chat_id: int | None = None) -> Fault | None:
        """The next injected fault for this call, used up by one."""
        for fault in self.faults:
            if fault.matches(platform, method, chat_id):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def record(self, platform: str, method: str, params: dict[str, Any], status: int) -> None:
        masked = {k: ("***" if k in _SECRET_KEYS else v) for k, v in params.items()}
        self.log.append(
            {
                "platform": platform,
                "method": method,
                "params": masked,
                "at": self.clock.now().isoformat(),
                "status": status,
            }
        )
