"""The messengers' sections: Telegram, VK, MAX and Одноклассники (tokens, chats, limits)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config.base import Model
from bot.domain.limits import (
    MAX_POLL_HOLD_MAX,
    VK_REQUESTS_PER_SECOND,
    VK_REQUESTS_PER_SECOND_MAX,
)


class Telegram(Model):
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


class VkCommunity(Model):
    id: int = Field(gt=0, description="community id without the minus sign")
    name: str = ""
    token: SecretStr = SecretStr("")
    user_token: SecretStr = SecretStr("")
    longpoll: bool = True


class VkPublic(Model):
    id: int = Field(gt=0)
    name: str = ""
    keywords: list[str] = Field(default_factory=list)


class VkRateLimits(Model):
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


class Vk(Model):
    api_base: str = "https://api.vk.com/method"
    api_version: str = "5.199"
    communities: list[VkCommunity] = Field(default_factory=list)
    publics: list[VkPublic] = Field(default_factory=list)
    # a public's wall is read with this token (any user or service token)
    service_token: SecretStr = SecretStr("")
    poll_interval_seconds: int = Field(default=60, ge=1)
    longpoll_wait: int = Field(default=25, ge=1, le=90)
    rate_limits: VkRateLimits = Field(default_factory=VkRateLimits)


class Max(Model):
    """The organisation's MAX bot (README, «MAX»): its token, channel and city chats."""

    token: SecretStr = SecretStr("")
    # dev.max.ru/docs-api: platform-api2.max.ru, its certificate by the Минцифры root CA
    api_base: str = "https://platform-api2.max.ru"
    channel: int | None = None  # the official channel's chat id (negative)
    city_chats: list[int] = Field(default_factory=list)
    # seconds a long poll is held; MAX holds one at most 30 s (bot.domain.limits)
    poll_timeout: int = Field(default=25, ge=0, le=MAX_POLL_HOLD_MAX)


class OkGroup(Model):
    id: int = Field(gt=0, description="the group's id (gid), digits only")
    name: str = ""
    token: SecretStr = SecretStr("")  # the group's access token (README, «Одноклассники»)


class Ok(Model):
    """Одноклассники: the application that signs the calls, the groups it posts to."""

    api_base: str = "https://api.ok.ru"
    application_id: str = ""
    application_key: str = ""  # public
    application_secret_key: SecretStr = SecretStr("")
    groups: list[OkGroup] = Field(default_factory=list)
