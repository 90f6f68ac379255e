"""The config's sections as pydantic models: one TOML file, validated strictly.

Values are checked strictly: a number written in quotes (``staff_group = "-100…"``) is
refused, not guessed at. What one section says about another (a staff member's block,
a page's VK community) is checked after (``bot.config.cross_checks``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bot.config.base import Model, check_hhmm
from bot.config.messengers import Max, Ok, OkGroup, Telegram, Vk, VkCommunity
from bot.config.urls import POSTGRES, check_storage_url, masked

ROLES = (
    "head",
    "curator",
    "manager",
    "coordinator",
    "block_lead",
    "executor",
    "press",
    "admin",
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")



_MUNICIPALITY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Municipality(Model):
    name: str = Field(min_length=1)
    timezone: str = "Europe/Moscow"
    # the key that keeps this municipality's rows apart in a shared PostgreSQL database
    id: str = "main"

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _MUNICIPALITY_ID.match(value):
            raise ValueError(f"expected a short key of a-z, 0-9, '-' or '_' (as 'pskov'), "
                             f"got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Europe/Saratov, "
                "Europe/Moscow or Asia/Novokuznetsk") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class StaffMember(Model):
    telegram_id: int = Field(gt=0)
    name: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    blocks: list[str] = Field(default_factory=list)
    vk_id: int | None = None
    # who acts for this person when they go /away without naming anyone (decree 004 §3.3)
    deputy: int | None = None

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        return roles


class Block(Model):
    name: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    # words that hint at the block but often stand in other complaints («машина»,
    # «квартира»): half the weight of a keyword
    weak_keywords: list[str] = Field(default_factory=list)
    lead: int | None = None
    executors: list[int] = Field(default_factory=list)
    default: bool = False


class RoutingRule(Model):
    """A rule on source or author; the first matching one wins, before keywords."""

    source: str | None = None  # e.g. "vk:100002", "tg:-1001000000002", "portal"
    author: str | None = None  # e.g. "vk:500001", "tg:2001"
    keyword: str | None = None
    block: str | None = None
    priority: Literal["normal", "fast"] | None = None
    policy: str | None = None


class Routing(Model):
    fast_track_keywords: list[str] = Field(
        default_factory=lambda: ["авария", "прорыв", "без света", "пожар", "затопило"]
    )
    rules: list[RoutingRule] = Field(default_factory=list)
    # learn from «Сменить блок»: a noun moved into a block this many times (and mostly
    # there) becomes evidence for it (bot.domain.learning); 0 learns nothing
    learn_min_corrections: int = Field(default=3, ge=0)


class SlaPolicy(Model):
    """A deadline rule: working hours, calendar days, or every day by a fixed hour."""

    kind: Literal["working_hours", "calendar_days", "same_day"]
    # the name staff read and type (/deadline срочный); the built-in policies have one
    title: str = ""
    hours: float | None = Field(default=None, gt=0)
    days: int | None = Field(default=None, gt=0)
    by: str | None = None  # same_day: HH:MM
    accept_hours: float | None = Field(default=None, gt=0)
    every_day: bool = False
    pause_while_waiting: bool = False

    @model_validator(mode="after")
    def _complete(self) -> SlaPolicy:
        if self.kind == "working_hours" and self.hours is None:
            raise ValueError("kind 'working_hours' needs 'hours'")
        if self.kind == "calendar_days" and self.days is None:
            raise ValueError("kind 'calendar_days' needs 'days'")
        if self.kind == "same_day":
            if self.by is None:
                raise ValueError("kind 'same_day' needs 'by' (HH:MM)")
            check_hhmm(self.by)
        return self


def _default_policies() -> dict[str, SlaPolicy]:
    return {
        "first_reply": SlaPolicy(kind="working_hours", hours=1),
        "answer": SlaPolicy(kind="working_hours", hours=8),
        "fast_track": SlaPolicy(kind="working_hours", hours=4),
        "portal": SlaPolicy(kind="calendar_days", days=14, accept_hours=24),
        "governor": SlaPolicy(kind="same_day", by="18:00", every_day=True),
    }


class Rung(Model):
    """One step of the escalation ladder: who hears of an overdue message, and after how
    many working hours past its deadline."""

    role: Literal["coordinator", "manager", "curator"]
    after_hours: float = Field(default=0, ge=0)


def _default_ladder() -> list[Rung]:
    return [Rung(role="coordinator", after_hours=0), Rung(role="manager", after_hours=2),
            Rung(role="curator", after_hours=8)]


class Escalation(Model):
    ladder: list[Rung] = Field(default_factory=_default_ladder, min_length=1)
    # one gathered «Просрочено: N» per person at most this often
    every_minutes: int = Field(default=60, ge=1)
    # one «N ответов ждут согласования» per coordinator at most this often
    approvals_every_minutes: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _climbs(self) -> Escalation:
        roles = [r.role for r in self.ladder]
        if len(set(roles)) != len(roles):
            raise ValueError("ladder: each role may stand on it once")
        hours = [r.after_hours for r in self.ladder]
        if hours != sorted(hours):
            raise ValueError("ladder: after_hours must not decrease from one step to the next")
        return self


class Sla(Model):
    escalation: Escalation = Field(default_factory=Escalation)
    policies: dict[str, SlaPolicy] = Field(default_factory=_default_policies)
    default_policy: str = "answer"
    fast_track_policy: str = "fast_track"
    first_reply_policy: str = "first_reply"
    # reminder points: fractions of the time gone ("0.5") or time left ("1h", "0h")
    reminders: list[str] = Field(default_factory=lambda: ["50%", "1h", "0h"])
    # a deadline chosen for one message («Срок»): at least this many working hours away,
    # at most this many calendar days
    custom_min_hours: float = Field(default=1, gt=0)
    custom_max_days: int = Field(default=30, gt=0)

    @field_validator("reminders")
    @classmethod
    def _reminder_points(cls, points: list[str]) -> list[str]:
        for point in points:
            if not re.fullmatch(r"\d{1,3}%|\d+(\.\d+)?h", point):
                raise ValueError(f"reminder {point!r}: expected '50%' or '1h'")
        return points

    @model_validator(mode="after")
    def _known_policies(self) -> Sla:
        for key in ("default_policy", "fast_track_policy", "first_reply_policy"):
            name = getattr(self, key)
            if name not in self.policies:
                raise ValueError(f"{key}: no policy named {name!r}")
        return self


class Calendar(Model):
    # weekday -> list of "HH:MM-HH:MM" intervals; breaks are gaps between intervals
    office_hours: dict[str, list[str]] = Field(
        default_factory=lambda: {day: ["08:30-17:30"] for day in WEEKDAYS[:5]}
    )
    extra_holidays: list[date] = Field(default_factory=list)
    extra_working_days: list[date] = Field(default_factory=list)
    shortened_days: list[date] = Field(default_factory=list)

    @field_validator("office_hours")
    @classmethod
    def _intervals(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, intervals in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            for interval in intervals:
                start, sep, end = interval.partition("-")
                if not sep:
                    raise ValueError(f"{day}: expected 'HH:MM-HH:MM', got {interval!r}")
                check_hhmm(start)
                check_hhmm(end)
                if start >= end:
                    raise ValueError(f"{day}: interval {interval!r} ends before it starts")
        return value


class PageTarget(Model):
    platform: Literal["vk", "telegram", "max", "ok"]
    # VK community id (positive), Telegram chat id, MAX channel id, OK group id
    id: int


class Page(Model):
    name: str = Field(min_length=1)
    targets: list[PageTarget] = Field(min_length=1)
    quota: int = Field(gt=0)
    period: Literal["day", "week"] = "day"
    hours: str = "09:00-18:00"
    working_days_only: bool = True
    min_gap_minutes: int = Field(default=60, ge=0)
    hashtags: list[str] = Field(default_factory=list)
    signature: str = ""
    warn_at: str = "12:00"

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
        check_hhmm(start)
        check_hhmm(end)
        if start >= end:
            raise ValueError(f"{value!r} ends before it starts")
        return value

    @field_validator("warn_at")
    @classmethod
    def _warn_at(cls, value: str) -> str:
        return check_hhmm(value)


class Digest(Model):
    time: str = "09:00"
    recipients: list[int] = Field(default_factory=list)
    weekly_day: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        return check_hhmm(value)


class Storage(Model):
    path: str = "mcu-hub.sqlite3"
    # "postgresql://USER@HOST:PORT/DATABASE" selects PostgreSQL; empty or "sqlite:PATH"
    # keeps SQLite (at ``path``)
    url: str = ""
    retention_days: int = Field(default=0, ge=0, description="0 keeps citizens' data forever")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_storage_url(value)

    @property
    def postgres(self) -> bool:
        return self.url.startswith(POSTGRES)

    @property
    def target(self) -> str:
        """What ``storage.Database`` opens: the PostgreSQL URL, or the SQLite path."""
        return self.url if self.postgres else self.path

    @property
    def shown(self) -> str:
        """The database as printed: a URL's password masked."""
        return masked(self.url) if self.postgres else self.path


class Ingest(Model):
    skip_noise: bool = True
    thread_window_minutes: int = Field(default=30, ge=0)
    reopen_days: float = Field(default=2, ge=0)


class Storms(Model):
    """Comments on one thread about one thing join one group incident (bot.domain.storms)."""

    enabled: bool = True
    # how long after a group's newest message another one may still join it
    window_minutes: int = Field(default=180, ge=1, le=10080)
    # how much of the shorter message's content words the two must share (0..1]
    threshold: float = Field(default=0.5, gt=0, le=1)
    shown: int = Field(default=3, ge=1, le=10, description="newest messages on the card")


class Health(Model):
    """When ``mcu-hub status`` calls the process stale (and exits 1)."""

    # a source (Telegram polling, a VK long poll) with no successful poll for this long;
    # the publics, polled every vk.poll_interval_seconds, get three intervals if longer
    source_stale_seconds: int = Field(default=300, ge=10)
    # an outbox row waiting this long; 300 cards at Telegram's 20 a minute in one group
    # take 15 minutes, so less would cry wolf on a busy morning
    outbox_stale_seconds: int = Field(default=1200, ge=60)


class Clock(Model):
    source: Literal["system", "sandbox"] = "system"
    url: str | None = None

    @model_validator(mode="after")
    def _url(self) -> Clock:
        if self.source == "sandbox" and not self.url:
            raise ValueError("source 'sandbox' needs 'url'")
        return self


class Config(Model):
    municipality: Municipality
    telegram: Telegram
    vk: Vk = Field(default_factory=Vk)
    max: Max = Field(default_factory=Max)
    ok: Ok = Field(default_factory=Ok)
    staff: list[StaffMember] = Field(default_factory=list)
    blocks: list[Block] = Field(min_length=1)
    routing: Routing = Field(default_factory=Routing)
    sla: Sla = Field(default_factory=Sla)
    calendar: Calendar = Field(default_factory=Calendar)
    pages: list[Page] = Field(default_factory=list)
    digest: Digest = Field(default_factory=Digest)
    storage: Storage = Field(default_factory=Storage)
    ingest: Ingest = Field(default_factory=Ingest)
    storms: Storms = Field(default_factory=Storms)
    clock: Clock = Field(default_factory=Clock)
    health: Health = Field(default_factory=Health)

    @model_validator(mode="after")
    def _health_outlasts_a_poll(self) -> Config:
        # a long poll that waits its full timeout is still alive: stale must be later
        longest = max(self.telegram.poll_timeout, self.vk.longpoll_wait,
                      self.max.poll_timeout)
        if self.health.source_stale_seconds <= longest + 5:
            raise ValueError(f"health.source_stale_seconds must be more than {longest + 5} "
                             f"(the longest long poll, {longest} s, and a margin)")
        return self

    # -- look-ups used all over the process -------------------------------------------

    def staff_by_id(self, telegram_id: int) -> StaffMember | None:
        for member in self.staff:
            if member.telegram_id == telegram_id:
                return member
        return None

    def block(self, name: str) -> Block | None:
        for block in self.blocks:
            if block.name == name:
                return block
        return None

    @property
    def default_block(self) -> Block:
        for block in self.blocks:
            if block.default:
                return block
        return self.blocks[-1]

    def community(self, group_id: int) -> VkCommunity | None:
        for community in self.vk.communities:
            if community.id == group_id:
                return community
        return None

    def ok_group(self, gid: int) -> OkGroup | None:
        for group in self.ok.groups:
            if group.id == gid:
                return group
        return None

    def page(self, name: str) -> Page | None:
        for page in self.pages:
            if page.name.casefold() == name.casefold():
                return page
        return None
