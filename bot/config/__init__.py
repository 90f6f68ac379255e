"""Configuration: one TOML file, validated in full before anything starts.

The sections are ``sections`` (the messengers' in ``messengers``, what they share in
``base``); what they say of each other is checked in ``cross_checks``; reading the file
and saying what is wrong is ``loading``.

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

from bot.config.base import HHMM, parse_hhmm
from bot.config.loading import ConfigError, example_config, load_config, parse_config
from bot.config.messengers import Telegram, Vk, VkCommunity, VkPublic, VkRateLimits
from bot.config.sections import (
    ROLES,
    WEEKDAYS,
    Block,
    Calendar,
    Clock,
    Config,
    Digest,
    Health,
    Ingest,
    Municipality,
    Page,
    PageTarget,
    Routing,
    RoutingRule,
    Sla,
    SlaPolicy,
    StaffMember,
    Storage,
)

__all__ = [
    "HHMM", "ROLES", "WEEKDAYS", "Block", "Calendar", "Clock", "Config", "ConfigError",
    "Digest", "Health", "Ingest", "Municipality", "Page", "PageTarget", "Routing",
    "RoutingRule", "Sla", "SlaPolicy", "StaffMember", "Storage", "Telegram", "Vk",
    "VkCommunity", "VkPublic", "VkRateLimits", "example_config", "load_config",
    "parse_config", "parse_hhmm",
]
