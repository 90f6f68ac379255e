"""Configuration: one TOML file, validated in full before anything starts.

Every problem is reported with its key path, a list entry also by its name
(``staff[2] (Исполнитель ЖКХ).roles: unknown role 'exector' (known: …)``), and says how
to fix it: the known values, an example, the other entry of a duplicate, the expected
type in plain words. Values are checked strictly: a number written in quotes
(``staff_group = "-100…"``) is refused, not guessed at, and no value is ever echoed (it
may be a token). The example's placeholders (``REPLACE-WITH-…``) are errors that say
where the real value comes from. Secrets may come from the environment instead of the
file: ``MCU_TELEGRAM_TOKEN``, ``MCU_VK_TOKEN_<id>``, ``MCU_VK_USER_TOKEN_<id>`` and
``MCU_VK_SERVICE_TOKEN``.
"""

from __future__ import annotations

import difflib
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

from bot.domain.limits import VK_REQUESTS_PER_SECOND, VK_REQUESTS_PER_SECOND_MAX

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
    # strict: "-1001…" in quotes is text, not a group id; "yes" is not true
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Europe/Saratov, "
                "Europe/Moscow or Asia/Novokuznetsk") from exc
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


class VkRateLimits(_Model):
    """Requests per second per access token, by kind (``bot.domain.limits`` has VK's
    numbers and their source). Raise ``service`` only for an app VK allows more."""

    community: float = VK_REQUESTS_PER_SECOND["community"]
    user: float = VK_REQUESTS_PER_SECOND["user"]
    service: float = VK_REQUESTS_PER_SECOND["service"]

    @model_validator(mode="after")
    def _within_vk(self) -> VkRateLimits:
        problems = []
        for kind, top in VK_REQUESTS_PER_SECOND_MAX.items():
            value = getattr(self, kind)
            if not 0 < value <= top:
                problems.append(f"{kind}: {value:g} requests/s; VK allows a {kind} token "
                                f"at most {top}/s (and more than 0)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Vk(_Model):
    api_base: str = "https://api.vk.com/method"
    api_version: str = "5.199"
    communities: list[VkCommunity] = Field(default_factory=list)
    publics: list[VkPublic] = Field(default_factory=list)
    # a public's wall is read with this token (any user or service token)
    service_token: SecretStr = SecretStr("")
    poll_interval_seconds: int = Field(default=60, ge=1)
    longpoll_wait: int = Field(default=25, ge=1, le=90)
    rate_limits: VkRateLimits = Field(default_factory=VkRateLimits)


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
    # words that hint at the block but often stand in other complaints («машина»,
    # «квартира»): half the weight of a keyword
    weak_keywords: list[str] = Field(default_factory=list)
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


class Health(_Model):
    """When ``mcu-hub status`` calls the process stale (and exits 1)."""

    # a source (Telegram polling, a VK long poll) with no successful poll for this long;
    # the publics, polled every vk.poll_interval_seconds, get three intervals if longer
    source_stale_seconds: int = Field(default=300, ge=10)
    # an outbox row waiting this long; 300 cards at Telegram's 20 a minute in one group
    # take 15 minutes, so less would cry wolf on a busy morning
    outbox_stale_seconds: int = Field(default=1200, ge=60)


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
    health: Health = Field(default_factory=Health)

    @model_validator(mode="after")
    def _health_outlasts_a_poll(self) -> Config:
        # a long poll that waits its full timeout is still alive: stale must be later
        longest = max(self.telegram.poll_timeout, self.vk.longpoll_wait)
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

    def page(self, name: str) -> Page | None:
        for page in self.pages:
            if page.name.casefold() == name.casefold():
                return page
        return None


def _entry(section: str, index: int, name: str = "") -> str:
    """A list entry as problems name it: ``staff[7] (Исполнитель ЖКХ)``."""
    return f"{section}[{index}] ({name})" if name else f"{section}[{index}]"


def _known(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _twice(problems: list[str], section: str, key: str, items: list[tuple[Any, str]],
           what: str) -> None:
    """A value that must be unique: name both entries that hold it."""
    first: dict[Any, int] = {}
    for i, (value, name) in enumerate(items):
        if value in first:
            j = first[value]
            problems.append(
                f"{_entry(section, i, name)}.{key}: {what} {value!r} is listed twice, also in "
                f"{_entry(section, j, items[j][1])}: keep one of them")
        else:
            first[value] = i


def _cross_check(config: Config) -> list[str]:
    """References between sections: what pydantic cannot see field by field."""
    problems: list[str] = []
    block_names = [block.name for block in config.blocks]
    staff_ids = {member.telegram_id for member in config.staff}
    known_blocks = _known(list(dict.fromkeys(block_names)))

    def not_staff(where: str, user_id: int) -> str:
        return (f"{where}: {user_id} is not in [[staff]] (add a [[staff]] entry with "
                f"telegram_id = {user_id}, or remove it here)")

    _twice(problems, "staff", "telegram_id",
           [(m.telegram_id, m.name) for m in config.staff], "Telegram id")
    for i, member in enumerate(config.staff):
        for name in member.blocks:
            if name not in block_names:
                problems.append(f"{_entry('staff', i, member.name)}.blocks: unknown block "
                                f"{name!r} (known: {known_blocks})")
    _twice(problems, "blocks", "name", [(b.name, b.name) for b in config.blocks], "block")
    defaults = [i for i, block in enumerate(config.blocks) if block.default]
    if len(defaults) > 1:
        listed = " and ".join(_entry("blocks", i, config.blocks[i].name) for i in defaults)
        problems.append(f"blocks: only one block may be the default, but {listed} are: "
                        "keep default = true on one")
    for i, block in enumerate(config.blocks):
        where = _entry("blocks", i, block.name)
        if block.lead is not None and block.lead not in staff_ids:
            problems.append(not_staff(f"{where}.lead", block.lead))
        for executor in block.executors:
            if executor not in staff_ids:
                problems.append(not_staff(f"{where}.executors", executor))
    for name, topic in config.telegram.topics.items():
        if name not in block_names:
            problems.append(f"telegram.topics: unknown block {name!r} (known: {known_blocks})")
        elif topic == 1:  # telegram-bot-api refuses the General topic as a thread id
            problems.append(
                f"telegram.topics.{name}: 1 is the forum's General topic, which Telegram "
                "refuses as a topic to post to; give the id of the block's own topic, or "
                "remove the line and the bot creates one")
    policies = _known(list(config.sla.policies))
    for i, rule in enumerate(config.routing.rules):
        where = _entry("routing.rules", i)
        if rule.block is not None and rule.block not in block_names:
            problems.append(f"{where}.block: unknown block {rule.block!r} "
                            f"(known: {known_blocks})")
        if rule.policy is not None and rule.policy not in config.sla.policies:
            problems.append(f"{where}.policy: unknown policy {rule.policy!r} "
                            f"(known: {policies})")
        if rule.source is None and rule.author is None and rule.keyword is None:
            problems.append(f"{where}: needs 'source', 'author' or 'keyword' "
                            '(e.g. source = "vk:100002")')
    _twice(problems, "pages", "name", [(p.name.casefold(), p.name) for p in config.pages],
           "page")
    communities = _known([str(c.id) for c in config.vk.communities])
    for i, page in enumerate(config.pages):
        for j, target in enumerate(page.targets):
            if target.platform == "vk" and config.community(target.id) is None:
                problems.append(
                    f"{_entry('pages', i, page.name)}.targets[{j}].id: VK community "
                    f"{target.id} is not in [[vk.communities]] (known: {communities})"
                )
    for i, recipient in enumerate(config.digest.recipients):
        if recipient not in staff_ids:
            problems.append(not_staff(f"digest.recipients[{i}]", recipient))
    _twice(problems, "vk.communities", "id",
           [(c.id, c.name) for c in config.vk.communities], "community id")
    _twice(problems, "vk.publics", "id", [(p.id, p.name) for p in config.vk.publics],
           "public id")
    for i, community in enumerate(config.vk.communities):
        if community.longpoll and not community.token.get_secret_value():
            problems.append(
                f"{_entry('vk.communities', i, community.name)}.token: empty (set it here or "
                f"in MCU_VK_TOKEN_{community.id})"
            )
    if not config.telegram.token.get_secret_value():
        problems.append("telegram.token: empty (set it here or in MCU_TELEGRAM_TOKEN)")
    return problems


# -- reading pydantic's errors ------------------------------------------------------------

PLACEHOLDER = "REPLACE-WITH"

# where the real value of a placeholder comes from, by key (README, «Running it …»)
_WHERE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^telegram\.token$"),
     "the bot's token from @BotFather (/newbot), here or in MCU_TELEGRAM_TOKEN"),
    (re.compile(r"^vk\.service_token$"),
     "the service token of your VK app (vk.com/apps?act=manage → the app → Settings), "
     "here or in MCU_VK_SERVICE_TOKEN"),
    (re.compile(r"^vk\.communities\[\d+\]\.token$"),
     "the community's token (community → Manage → API usage → Access tokens), here or in "
     "MCU_VK_TOKEN_{id}"),
    (re.compile(r"^vk\.communities\[\d+\]\.user_token$"),
     "a user token of a community administrator (wall.post needs it; README, VK step 3), "
     "here or in MCU_VK_USER_TOKEN_{id}"),
]


def _placeholders(raw: Any, loc: tuple[Any, ...] = (), root: Any = None) -> list[str]:
    """Every value still holding the example's ``REPLACE-WITH-…``: key and where to get it."""
    root = raw if root is None else root
    found: list[str] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            found += _placeholders(value, (*loc, key), root)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            found += _placeholders(value, (*loc, i), root)
    elif isinstance(raw, str) and PLACEHOLDER in raw:
        where = next((hint for pattern, hint in _WHERE if pattern.match(_key_path(loc))),
                     "the real value for your municipality")
        if "{id}" in where:  # a community's own environment variable
            entry = root.get("vk", {}).get("communities", [])[loc[2]]
            where = where.replace("{id}", str(entry.get("id", "<community id>")))
        found.append(f"{_key_path(loc, root)}: still the example's placeholder — put {where}")
    return found


def _key_path(loc: tuple[Any, ...], raw: Any = None) -> str:
    """``vk.communities[0] (Администрация).token``: a list entry named as well, when it
    has a ``name`` in the file (``raw``)."""
    path = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name.strip():
                path += f" ({name.strip()})"
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def _what(value: Any) -> str:
    """What a value is, in plain words (never the value itself: it may be a secret)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text in quotes"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, date):
        return "a date"
    return "something else"


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text in quotes",
    "list": 'a list in square brackets, e.g. ["…"]',
    "dict": "a table (a [section] or { key = value })",
    "model": "a table (a [section] or { key = value })",
    "date": "a date like 2026-09-15",
}


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows at ``loc`` (for «did you mean …?»)."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        while not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
            if not args:
                return []
            annotation = args[-1]  # list[X] → X, dict[str, X] → X, X | None → X
        model = annotation
    return list(getattr(model, "model_fields", {}))


def _message(error: dict[str, Any]) -> str:
    """pydantic's error as the fix: expected type, known values, bounds, a suggestion."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, _fields_at(tuple(error["loc"][:-1])), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "misspelled, or in the wrong section?"
        return f"unknown key ({hint})"
    base = kind.split("_")[0]
    if base in _EXPECTED and kind.endswith(("_type", "_parsing", "_from_float",
                                            "_from_datetime_inexact")):
        quoted = isinstance(value, str) and base in ("int", "float", "bool", "date")
        got = "text in quotes: write it without the quotes" if quoted else _what(value)
        return f"expected {_EXPECTED[base]}, got {got}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge')} or more"
    if kind == "less_than_equal":
        return f"must be {ctx.get('le')} or less"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"needs at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "string_too_short":
        return "must not be empty"
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
    placeholders = _placeholders(raw)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_key_path(e['loc'], raw)}: {_message(e)}" for e in exc.errors()]
        raise ConfigError(placeholders + problems) from None
    problems = placeholders + _cross_check(config)
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


def example_config() -> str:
    """The commented example config, as shipped inside the package.

    The file lives at the top of the checkout (``config.example.toml``); ``bot/`` holds a
    link to it so that an installed package carries it too (``init-config``, ``route``).
    """
    from importlib.resources import files

    return files("bot").joinpath("config.example.toml").read_text(encoding="utf-8")
