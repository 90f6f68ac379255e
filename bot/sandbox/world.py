"""The sandbox's fixed world: the town of Шиханы, its chats, pages, staff and blocks.

Demos, tests and anyone's checks rely on these ids; ``write_config`` turns them into a
config file for ``mcu-hub run`` with tokens that only the sandbox accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

if TYPE_CHECKING:
    from bot.config import Config

BOT_ID = 7000000001
BOT_USERNAME = "mcu_shikhany_bot"
BOT_TOKEN = f"{BOT_ID}:SANDBOX-mcu-hub-token-do-not-use"

STAFF_GROUP = -1001000000001
CITY_CHAT = -1001000000002
CHANNEL = -1001000000003
# the channel's linked discussion group: each channel post is forwarded there
# automatically, and citizens' comments under a post are replies to that forward
DISCUSSION = -1001000000004
# a citizen who owns the city chat and may write in it anonymously (as the chat)
CITY_CHAT_OWNER = 2099

MUNICIPALITY = "Шиханы"
TIMEZONE = "Europe/Saratov"

# telegram id, display name, roles, blocks
STAFF: list[tuple[int, str, list[str], list[str]]] = [
    (1001, "Глава", ["head"], []),
    (1002, "Куратор МЦУ", ["curator"], []),
    (1003, "Руководитель МЦУ", ["manager", "admin"], []),
    (1004, "Координатор", ["coordinator"], []),
    (1005, "Исполнитель ЖКХ", ["executor"], ["ЖКХ"]),
    (1006, "Исполнитель дорог", ["executor"], ["Дороги и транспорт"]),
    (1007, "Пресс-секретарь", ["press"], []),
]
CITIZENS_TG = range(2001, 2100)
CITIZENS_VK = range(500001, 501000)

# name, keywords, forum topic id, executors
BLOCKS: list[tuple[str, list[str], int, list[int]]] = [
    (
        "ЖКХ",
        ["отопление", "вода", "труба", "подвал", "канализация", "мусор", "свет",
         "электричество", "управляющая компания", "крыша", "подъезд", "батарея"],
        2,
        [1005],
    ),
    (
        "Дороги и транспорт",
        ["дорога", "яма", "асфальт", "автобус", "маршрут", "светофор", "тротуар",
         "остановка", "гололёд", "снег"],
        3,
        [1006],
    ),
    (
        "Образование",
        ["школа", "детский сад", "учитель", "кружок", "садик", "урок"],
        4,
        [],
    ),
    ("Прочее", [], 5, []),
]

# VK: communities the bot holds tokens for, and a third-party public
VK_ADMIN = 100001
VK_HEAD = 100002
VK_PUBLIC = 100003
VK_COMMUNITIES = {
    VK_ADMIN: "Администрация",
    VK_HEAD: "Глава",
    VK_PUBLIC: "Подслушано",
}
VK_ADMIN_USER = 400001  # the community admin whose user token posts to the walls
PUBLIC_KEYWORDS = ["Шиханы", "администрация", "отопление", "дорога", "яма", "мусор"]


def community_token(group_id: int) -> str:
    return f"vk1.a.sandbox-community-{group_id}"


def user_token(group_id: int) -> str:
    return f"vk1.a.sandbox-user-{VK_ADMIN_USER}-admin-of-{group_id}"


SERVICE_TOKEN = "vk1.a.sandbox-service"


def config_dict(base_url: str, storage_path: str = "mcu-hub.sqlite3") -> dict[str, Any]:
    """The config of a bot that serves this world through the sandbox at ``base_url``."""
    return {
        "municipality": {"name": MUNICIPALITY, "timezone": TIMEZONE},
        "telegram": {
            "token": BOT_TOKEN,
            "api_base": f"{base_url}/tg",
            "staff_group": STAFF_GROUP,
            "city_chats": [CITY_CHAT],
            "channel": CHANNEL,
            "discussion_group": DISCUSSION,
            "poll_timeout": 2,
            "topics": {name: topic for name, _, topic, _ in BLOCKS},
        },
        "vk": {
            "api_base": f"{base_url}/vk/method",
            "service_token": SERVICE_TOKEN,
            "poll_interval_seconds": 2,
            "longpoll_wait": 2,
            "communities": [
                {
                    "id": VK_ADMIN,
                    "name": VK_COMMUNITIES[VK_ADMIN],
                    "token": community_token(VK_ADMIN),
                    "user_token": user_token(VK_ADMIN),
                },
                {
                    "id": VK_HEAD,
                    "name": VK_COMMUNITIES[VK_HEAD],
                    "token": community_token(VK_HEAD),
                    "user_token": user_token(VK_HEAD),
                },
            ],
            "publics": [
                {"id": VK_PUBLIC, "name": VK_COMMUNITIES[VK_PUBLIC], "keywords": PUBLIC_KEYWORDS}
            ],
        },
        **platforms_dict(base_url),
        "staff": [
            {"telegram_id": tid, "name": name, "roles": roles, "blocks": blocks}
            for tid, name, roles, blocks in STAFF
        ],
        "blocks": [
            {
                "name": name,
                "keywords": keywords,
                "executors": executors,
                **({"default": True} if name == "Прочее" else {}),
            }
            for name, keywords, _, executors in BLOCKS
        ],
        "routing": {
            "fast_track_keywords": ["авария", "прорыв", "без света", "пожар", "затопило"],
            "rules": [{"source": f"vk:{VK_HEAD}", "priority": "fast"}],
        },
        "pages": [
            {
                "name": "Администрация",
                "targets": [
                    {"platform": "vk", "id": VK_ADMIN},
                    {"platform": "telegram", "id": CHANNEL},
                    {"platform": "max", "id": MAX_CHANNEL},
                    {"platform": "ok", "id": int(OK_GROUP)},
                ],
                "quota": 5,
                "period": "day",
                "hashtags": ["#Шиханы", "#администрация"],
                "signature": "Администрация ЗАТО Шиханы",
            },
            {
                "name": "Глава",
                "targets": [{"platform": "vk", "id": VK_HEAD}],
                "quota": 5,
                "period": "week",
                "hashtags": ["#Шиханы"],
                "signature": "Глава ЗАТО Шиханы",
            },
        ],
        "digest": {"time": "09:00", "recipients": [1001, 1002, 1003]},
        "storage": {"path": storage_path},
        # the older scenarios send a post's comments as separate messages; the storm
        # tests turn grouping on ({"storms.enabled": True})
        "storms": {"enabled": False},
        "clock": {"source": "sandbox", "url": f"{base_url}/control/clock"},
    }


def config(base_url: str, storage_path: str | Path, **overrides: Any) -> Config:
    """The parsed config of this world; ``overrides`` by dotted key (``"telegram.topics"``)."""
    from bot.config import parse_config

    raw = config_dict(base_url, str(storage_path))
    for dotted, value in overrides.items():
        node = raw
        *path, last = dotted.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    return parse_config(raw, environ={})


def write_config(path: str | Path, base_url: str, storage_path: str | None = None) -> Path:
    path = Path(path)
    db = storage_path or str(path.with_suffix(".sqlite3").name)
    path.write_text(tomli_w.dumps(config_dict(base_url, db)), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- MAX
# The MAX world (bot/sandbox/max.py): the bot's [max] section (``platforms_dict``), in
# the config ``config_dict`` writes.
MAX_BOT_ID = 8000000001
MAX_BOT_USERNAME = "mcu_shikhany_max_bot"
MAX_BOT_NAME = "МЦУ Шиханы"
MAX_BOT_TOKEN = "max-sandbox-mcu-hub-token-do-not-use"
# group chats and channels have negative ids in MAX; dialogs positive ones
MAX_CHANNEL = -72000000000001  # the channel of «Администрация», the bot posts in it
MAX_CHANNEL_LINK = "adm_shikhany"
MAX_CITY_CHAT = -72000000000002  # a city chat the bot is a member (admin) of
MAX_ADMIN_USER = 610001  # the municipality's admin: owns the channel and the city chat
CITIZENS_MAX = range(620001, 621000)

# ----------------------------------------------------------------------------------- OK
# Одноклассники (bot/sandbox/ok.py): an application with its keys and the group
# «Администрация» with a group access token.
OK_APPLICATION_ID = "512000000001"
OK_APPLICATION_KEY = "CBSANDBOXAAAAAAAA"
OK_APPLICATION_SECRET_KEY = "SANDBOXSECRET0123456789ABCDEF0"
OK_GROUP = "70000000000001"  # gid of «Администрация»
OK_GROUP_NAME = "Администрация"
OK_GROUP_TOKEN = "tkn1sandbox-ok-group-70000000000001-do-not-use"
OK_ADMIN_USER = "590000000001"  # the group's administrator


def platforms_dict(base_url: str) -> dict[str, Any]:
    """The [max] and [ok] sections of this world's config."""
    return {
        "max": {
            "token": MAX_BOT_TOKEN,
            "api_base": f"{base_url}/max",
            "channel": MAX_CHANNEL,
            "city_chats": [MAX_CITY_CHAT],
            "poll_timeout": 2,
        },
        "ok": {
            "api_base": f"{base_url}/ok",
            "application_id": OK_APPLICATION_ID,
            "application_key": OK_APPLICATION_KEY,
            "application_secret_key": OK_APPLICATION_SECRET_KEY,
            "groups": [{"id": int(OK_GROUP), "name": OK_GROUP_NAME, "token": OK_GROUP_TOKEN}],
        },
    }
