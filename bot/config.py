"""Configuration: one TOML file, validated in full before anything starts.

Every problem is reported with its key path (``staff[2].roles: unknown role 'exector'``)
so that the person editing the file knows where to look. Secrets may come from the
environment instead of the file: ``MCU_TELEGRAM_TOKEN``, ``MCU_VK_TOKEN_<id>`` and
``MCU_VK_USER_TOKEN_<id>``.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

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

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(Exception):
    """A config that must not start the process; ``problems`` are ``key: what`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    return value


HHMM = Annotated[str, Field(description="local time HH:MM")]


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Municipality(_Model):
    name: str = Field(min_length=1)
    timezone: str = "Europe/Moscow"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Telegram(_Model):
    token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    staff_group: int
    # block name -> forum topic (message_thread_id); blocks without one get a topic created
    topics: dict[str, int] = Field(default_factory=dict)
    city_chats: list[int] = Field(default_factory=list)
    channel: int | None = None
    discussion_group: int | None = None
    poll_timeout: int = Field(default=25, ge=0, le=50)

    @field_validator("staff_group")
    @classmethod
    def _group_id(cls, value: int) -> int:
        if value >= 0:
            raise ValueError("a group id is negative (e.g. -1001234567890)")
        return value


class VkCommunity(_Model):
    id: int = Field(gt=0, description="community id without the minus sign")
    name: str = ""
    token: SecretStr = SecretStr("")
    user_token: SecretStr = SecretStr("")
    longpoll: bool = True


class VkPublic(_Model):
    id: int = Field(gt=0)
    name: str = ""
    keywords: list[str] = Field(default_factory=list)


class Vk(_Model):
    api_base: str = "https://api.vk.com/method"
    api_version: str = "5.199"
    communities: list[VkCommunity] = Field(default_factory=list)
    publics: list[VkPublic] = Field(default_factory=list)
    # a public's wall is read with this token (any user or service token)
    service_token: SecretStr = SecretStr("")
    poll_interval_seconds: int = Field(default=60, ge=1)
    longpoll_wait: int = Field(default=25, ge=1, le=90)


class StaffMember(_Model):
    telegram_id: int = Field(gt=0)
    name: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    blocks: list[str] = Field(default_factory=list)
    vk_id: int | None = None

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        return roles


class Block(_Model):
    name: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    lead: int | None = None
    executors: list[int] = Field(default_factory=list)
    default: bool = False


class RoutingRule(_Model):
    """A rule on source or author; the first matching one wins, before keywords."""

    source: str | None = None  # e.g. "vk:100002", "tg:-1001000000002", "portal"
    author: str | None = None  # e.g. "vk:500001", "tg:2001"
    keyword: str | None = None
    block: str | None = None
    priority: Literal["normal", "fast"] | None = None
    policy: str | None = None


class Routing(_Model):
    fast_track_keywords: list[str] = Field(
        default_factory=lambda: ["авария", "прорыв", "без света", "пожар", "затопило"]
    )
    rules: list[RoutingRule] = Field(default_factory=list)


class SlaPolicy(_Model):
    """A deadline rule: working hours, calendar days, or every day by a fixed hour."""

    kind: Literal["working_hours", "calendar_days", "same_day"]
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
            _check_hhmm(self.by)
        return self


def _default_policies() -> dict[str, SlaPolicy]:
    return {
        "first_reply": SlaPolicy(kind="working_hours", hours=1),
        "answer": SlaPolicy(kind="working_hours", hours=8),
        "fast_track": SlaPolicy(kind="working_hours", hours=4),
        "portal": SlaPolicy(kind="calendar_days", days=14, accept_hours=24),
        "governor": SlaPolicy(kind="same_day", by="18:00", every_day=True),
    }


class Sla(_Model):
    policies: dict[str, SlaPolicy] = Field(default_factory=_default_policies)
    default_policy: str = "answer"
    fast_track_policy: str = "fast_track"
    first_reply_policy: str = "first_reply"
    # reminder points: fractions of the time gone ("0.5") or time left ("1h", "0h")
    reminders: list[str] = Field(default_factory=lambda: ["50%", "1h", "0h"])

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


class Calendar(_Model):
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
                _check_hhmm(start)
                _check_hhmm(end)
                if start >= end:
                    raise ValueError(f"{day}: interval {interval!r} ends before it starts")
        return value


class PageTarget(_Model):
    platform: Literal["vk", "telegram"]
    id: int  # VK community id (positive) or Telegram chat id


class Page(_Model):
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
        _check_hhmm(start)
        _check_hhmm(end)
        if start >= end:
            raise ValueError(f"{value!r} ends before it starts")
        return value

    @field_validator("warn_at")
    @classmethod
    def _warn_at(cls, value: str) -> str:
        return _check_hhmm(value)


class Digest(_Model):
    time: str = "09:00"
    recipients: list[int] = Field(default_factory=list)
    weekly_day: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        return _check_hhmm(value)


class Storage(_Model):
    path: str = "mcu-hub.sqlite3"
    retention_days: int = Field(default=0, ge=0, description="0 keeps citizens' data forever")


class Ingest(_Model):
    skip_noise: bool = True
    thread_window_minutes: int = Field(default=30, ge=0)
    reopen_days: float = Field(default=2, ge=0)


class Clock(_Model):
    source: Literal["system", "sandbox"] = "system"
    url: str | None = None

    @model_validator(mode="after")
    def _url(self) -> Clock:
        if self.source == "sandbox" and not self.url:
            raise ValueError("source 'sandbox' needs 'url'")
        return self


class Config(_Model):
    municipality: Municipality
    telegram: Telegram
    vk: Vk = Field(default_factory=Vk)
    staff: list[StaffMember] = Field(default_factory=list)
    blocks: list[Block] = Field(min_length=1)
    routing: Routing = Field(default_factory=Routing)
    sla: Sla = Field(default_factory=Sla)
    calendar: Calendar = Field(default_factory=Calendar)
    pages: list[Page] = Field(default_factory=list)
    digest: Digest = Field(default_factory=Digest)
    storage: Storage = Field(default_factory=Storage)
    ingest: Ingest = Field(default_factory=Ingest)
    clock: Clock = Field(default_factory=Clock)

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

    def page(self, name: str) -> Page | None:
        for page in self.pages:
            if page.name.casefold() == name.casefold():
                return page
        return None


def _cross_check(config: Config) -> list[str]:
    """References between sections: what pydantic cannot see field by field."""
    problems: list[str] = []
    block_names = [block.name for block in config.blocks]
    staff_ids = {member.telegram_id for member in config.staff}
    seen_ids: set[int] = set()
    for i, member in enumerate(config.staff):
        if member.telegram_id in seen_ids:
            problems.append(f"staff[{i}].telegram_id: {member.telegram_id} is listed twice")
        seen_ids.add(member.telegram_id)
        for name in member.blocks:
            if name not in block_names:
                problems.append(f"staff[{i}].blocks: unknown block {name!r}")
    if len(set(block_names)) != len(block_names):
        problems.append("blocks: block names must be unique")
    if sum(block.default for block in config.blocks) > 1:
        problems.append("blocks: only one block may be the default")
    for i, block in enumerate(config.blocks):
        if block.lead is not None and block.lead not in staff_ids:
            problems.append(f"blocks[{i}].lead: {block.lead} is not in [[staff]]")
        for executor in block.executors:
            if executor not in staff_ids:
                problems.append(f"blocks[{i}].executors: {executor} is not in [[staff]]")
    for name, topic in config.telegram.topics.items():
        if name not in block_names:
            problems.append(f"telegram.topics: unknown block {name!r}")
        elif topic == 1:  # telegram-bot-api refuses the General topic as a thread id
            problems.append(
                f"telegram.topics.{name}: 1 is the forum's General topic, which Telegram "
                "refuses as a topic to post to; give the id of the block's own topic, or "
                "remove the line and the bot creates one")
    for i, rule in enumerate(config.routing.rules):
        if rule.block is not None and rule.block not in block_names:
            problems.append(f"routing.rules[{i}].block: unknown block {rule.block!r}")
        if rule.policy is not None and rule.policy not in config.sla.policies:
            problems.append(f"routing.rules[{i}].policy: unknown policy {rule.policy!r}")
        if rule.source is None and rule.author is None and rule.keyword is None:
            problems.append(f"routing.rules[{i}]: needs 'source', 'author' or 'keyword'")
    page_names: set[str] = set()
    for i, page in enumerate(config.pages):
        if page.name.casefold() in page_names:
            problems.append(f"pages[{i}].name: page {page.name!r} is listed twice")
        page_names.add(page.name.casefold())
        for j, target in enumerate(page.targets):
            if target.platform == "vk" and config.community(target.id) is None:
                problems.append(
                    f"pages[{i}].targets[{j}].id: VK community {target.id} is not in "
                    "[[vk.communities]]"
                )
    for i, recipient in enumerate(config.digest.recipients):
        if recipient not in staff_ids:
            problems.append(f"digest.recipients[{i}]: {recipient} is not in [[staff]]")
    for i, community in enumerate(config.vk.communities):
        if community.longpoll and not community.token.get_secret_value():
            problems.append(
                f"vk.communities[{i}].token: empty (set it here or in "
                f"MCU_VK_TOKEN_{community.id})"
            )
    if not config.telegram.token.get_secret_value():
        problems.append("telegram.token: empty (set it here or in MCU_TELEGRAM_TOKEN)")
    return problems


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (misspelled?)"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _apply_env(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """Fill secrets from the environment: the file may leave them out."""
    telegram = raw.get("telegram")
    if isinstance(telegram, dict) and environ.get("MCU_TELEGRAM_TOKEN"):
        telegram["token"] = environ["MCU_TELEGRAM_TOKEN"]
    vk = raw.get("vk")
    if isinstance(vk, dict):
        if environ.get("MCU_VK_SERVICE_TOKEN"):
            vk["service_token"] = environ["MCU_VK_SERVICE_TOKEN"]
        for community in vk.get("communities") or []:
            if not isinstance(community, dict):
                continue
            cid = community.get("id")
            if environ.get(f"MCU_VK_TOKEN_{cid}"):
                community["token"] = environ[f"MCU_VK_TOKEN_{cid}"]
            if environ.get(f"MCU_VK_USER_TOKEN_{cid}"):
                community["user_token"] = environ[f"MCU_VK_USER_TOKEN_{cid}"]
    return raw


def parse_config(raw: dict[str, Any], environ: dict[str, str] | None = None) -> Config:
    """Validate a parsed TOML document; raise ConfigError with every problem found."""
    raw = _apply_env(raw, dict(os.environ if environ is None else environ))
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_key_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(problems) from None
    problems = _cross_check(config)
    if problems:
        raise ConfigError(problems)
    return config


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
    config = parse_config(raw, environ)
    storage_path = Path(config.storage.path)
    if not storage_path.is_absolute():
        # a relative database path is relative to the config file, not to the cwd
        resolved = str((path.parent / storage_path).resolve())
        config = config.model_copy(
            update={"storage": config.storage.model_copy(update={"path": resolved})}
        )
    return config
