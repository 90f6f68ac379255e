"""The regional centre's config (``mcu-hub region-report -c region.toml``): which
municipalities share the PostgreSQL database, and the curator's Telegram chat."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator

from bot.config.base import Model
from bot.config.loading import ConfigError
from bot.config.sections import Municipality
from bot.config.urls import POSTGRES, check_storage_url


class RegionStorage(Model):
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(POSTGRES):
            raise ValueError("the region reads the municipalities' shared PostgreSQL: "
                             "expected postgresql://USER@HOST:PORT/DATABASE")
        return check_storage_url(value)


class Curator(Model):
    """The regional curator's Telegram chat, where the scheduled report goes."""

    token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    chat_id: int


class Area(Model):
    name: str = Field(min_length=1)
    timezone: str = "Europe/Moscow"
    posts_per_day: int = Field(default=5, ge=1)  # decree 004 §3.9: the pages' daily floor

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RegionConfig(Model):
    region: Area
    storage: RegionStorage
    municipalities: list[Municipality] = Field(min_length=1)
    telegram: Curator | None = None


def load_region(path: str | Path, environ: dict[str, str]) -> RegionConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
    if environ.get("MCU_STORAGE_URL"):
        raw.setdefault("storage", {})["url"] = environ["MCU_STORAGE_URL"]
    if environ.get("MCU_TELEGRAM_TOKEN") and isinstance(raw.get("telegram"), dict):
        raw["telegram"]["token"] = environ["MCU_TELEGRAM_TOKEN"]
    try:
        return RegionConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([
            ".".join(str(p) for p in e["loc"]) + ": "
            + str(e.get("msg", "invalid")).removeprefix("Value error, ")
            for e in exc.errors()]) from None
