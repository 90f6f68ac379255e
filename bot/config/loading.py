"""Reading the config file: every problem reported with its key path and how to fix it.

A list entry is also named by its name (``staff[2] (Исполнитель ЖКХ).roles: unknown role
'exector' (known: …)``); each problem says the known values, an example, the other entry
of a duplicate, the expected type in plain words — and no value is ever echoed (it may be
a token). The example's placeholders (``REPLACE-WITH-…``) are errors that say where the
real value comes from. Secrets may come from the environment instead of the file:
``MCU_TELEGRAM_TOKEN``, ``MCU_VK_TOKEN_<id>``, ``MCU_VK_USER_TOKEN_<id>``,
``MCU_VK_SERVICE_TOKEN``, ``MCU_MAX_TOKEN``, ``MCU_OK_SECRET_KEY`` and ``MCU_OK_TOKEN_<gid>``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.cross_checks import cross_check
from bot.config.sections import Config


class ConfigError(Exception):
    """A config that must not start the process; ``problems`` are ``key: what`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


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
    (re.compile(r"^max\.token$"),
     "the MAX bot's token (business.max.ru/self → Чат-боты → the bot's ⋮ → Настройки; "
     "README, «MAX»), here or in MCU_MAX_TOKEN"),
    (re.compile(r"^ok\.application_secret_key$"),
     "the secret key of your OK application (its letter from OK; README, "
     "«Одноклассники»), here or in MCU_OK_SECRET_KEY"),
    (re.compile(r"^ok\.groups\[\d+\]\.token$"),
     "the group's access key (the group's Настройки on ok.ru, as its administrator; "
     "README, «Одноклассники»), here or in MCU_OK_TOKEN_<group id>"),
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
    storage = raw.get("storage")
    if environ.get("MCU_STORAGE_URL"):  # a PostgreSQL URL may hold a password
        if not isinstance(storage, dict):
            storage = raw["storage"] = {}
        storage["url"] = environ["MCU_STORAGE_URL"]
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
    max_ = raw.get("max")
    if isinstance(max_, dict) and environ.get("MCU_MAX_TOKEN"):
        max_["token"] = environ["MCU_MAX_TOKEN"]
    ok = raw.get("ok")
    if isinstance(ok, dict):
        if environ.get("MCU_OK_SECRET_KEY"):
            ok["application_secret_key"] = environ["MCU_OK_SECRET_KEY"]
        for group in ok.get("groups") or []:
            if isinstance(group, dict) and environ.get(f"MCU_OK_TOKEN_{group.get('id')}"):
                group["token"] = environ[f"MCU_OK_TOKEN_{group.get('id')}"]
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
    problems = placeholders + cross_check(config)
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
    if config.storage.url.startswith("sqlite:"):  # the same as storage.path
        sqlite = config.storage.url.removeprefix("sqlite://").removeprefix("sqlite:")
        config = config.model_copy(update={"storage": config.storage.model_copy(
            update={"path": sqlite or config.storage.path, "url": ""})})
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

    The file lives at the top of the checkout (``config.example.toml``); ``bot/config/``
    holds a link to it so that an installed package carries it too (``init-config``).
    """
    return files("bot.config").joinpath("config.example.toml").read_text(encoding="utf-8")
