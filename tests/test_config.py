"""Config problems say how to fix them: known values, examples, both duplicates, plain types."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from bot.config import ConfigError, example_config, parse_config

PLACEHOLDER_KEYS = [
    "telegram.token",
    "vk.service_token",
    "vk.communities[0] (Администрация).token",
    "vk.communities[0] (Администрация).user_token",
    "vk.communities[1] (Глава).token",
    "vk.communities[1] (Глава).user_token",
]


def _example() -> dict[str, Any]:
    return tomllib.loads(example_config())


def _filled() -> dict[str, Any]:
    """The example with its placeholders filled in: a config that is OK."""
    raw = _example()
    raw["telegram"]["token"] = "123456789:AAfilled"
    raw["vk"]["service_token"] = "service"
    for community in raw["vk"]["communities"]:
        community["token"], community["user_token"] = "community", "user"
    return raw


def problems(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    try:
        parse_config(copy.deepcopy(raw), environ=environ or {})
    except ConfigError as exc:
        return exc.problems
    return []


def test_the_filled_in_example_is_ok():
    assert problems(_filled()) == []


def test_every_placeholder_is_an_error_that_says_where_the_real_value_comes_from():
    found = problems(_example())
    assert [p.split(":", 1)[0] for p in found] == PLACEHOLDER_KEYS
    assert "@BotFather" in found[0] and "MCU_TELEGRAM_TOKEN" in found[0]
    assert "MCU_VK_SERVICE_TOKEN" in found[1]
    assert "Access tokens" in found[2] and "MCU_VK_TOKEN_100001" in found[2]
    assert "administrator" in found[3] and "MCU_VK_USER_TOKEN_100001" in found[3]
    assert "MCU_VK_TOKEN_100002" in found[4]
    assert all("REPLACE-WITH" not in p.split(" — ")[-1] for p in found)


def test_a_placeholder_overridden_from_the_environment_is_fine():
    environ = {"MCU_TELEGRAM_TOKEN": "1:x", "MCU_VK_SERVICE_TOKEN": "s",
               "MCU_VK_TOKEN_100001": "t", "MCU_VK_USER_TOKEN_100001": "u",
               "MCU_VK_TOKEN_100002": "t", "MCU_VK_USER_TOKEN_100002": "u"}
    assert problems(_example(), environ) == []


def _one(raw: dict[str, Any]) -> str:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def test_a_number_in_quotes_is_refused_in_plain_words():
    raw = _filled()
    raw["telegram"]["staff_group"] = "-1001000000001"
    assert _one(raw) == ("telegram.staff_group: expected a whole number, got text in quotes: "
                         "write it without the quotes")


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda r: r["blocks"][0].update(default="yes"),
     "blocks[0] (ЖКХ).default: expected true or false, got text in quotes"),
    (lambda r: r["staff"][1].update(roles="curator"),
     'staff[1] (Куратор МЦУ).roles: expected a list in square brackets, e.g. ["…"], '
     "got text in quotes"),
    (lambda r: r["sla"]["policies"]["answer"].update(hours="8"),
     "sla.policies.answer.hours: expected a number, got text in quotes"),
    (lambda r: r["calendar"].update(extra_holidays=["2026-09-15"]),
     "calendar.extra_holidays[0]: expected a date like 2026-09-15, got text in quotes"),
    (lambda r: r["vk"]["communities"][0].update(token={"value": "x"}),
     "vk.communities[0] (Администрация).token: expected text in quotes, got a table"),
    (lambda r: r["pages"][0].update(quota=0),
     "pages[0] (Администрация).quota: must be greater than 0"),
    (lambda r: r["routing"]["rules"][0].update(priority="urgent"),
     "routing.rules[0].priority: expected one of 'normal' or 'fast'"),
    (lambda r: r["staff"][3].update(roles=[]),
     "staff[3] (Координатор).roles: needs at least 1 entry"),
])
def test_type_errors_in_plain_words_with_the_entry_named(edit, expected: str):
    raw = _filled()
    edit(raw)
    found = _one(raw)
    assert found.startswith(expected), found
    assert "Input should" not in found and "valid" not in found


def test_a_misspelled_key_gets_a_suggestion():
    raw = _filled()
    raw["telegram"]["staf_group"] = raw["telegram"].pop("staff_group")
    found = problems(raw)
    assert "telegram.staf_group: unknown key (did you mean 'staff_group'?)" in found
    assert "telegram.staff_group: required key is missing" in found


def test_an_unknown_block_lists_the_known_ones():
    raw = _filled()
    raw["staff"][5]["blocks"] = ["Дороги"]
    assert _one(raw) == ("staff[5] (Исполнитель дорог).blocks: unknown block 'Дороги' "
                         "(known: ЖКХ, Дороги и транспорт, Образование, Прочее)")
    raw = _filled()
    raw["telegram"]["topics"]["Школы"] = 9
    assert "(known: ЖКХ, Дороги и транспорт, Образование, Прочее)" in _one(raw)


def test_a_bad_time_zone_gives_an_example():
    raw = _filled()
    raw["municipality"]["timezone"] = "Europe/Saratv"
    found = _one(raw)
    assert found.startswith("municipality.timezone: unknown time zone 'Europe/Saratv'")
    assert "Europe/Saratov" in found


def test_a_duplicate_names_both_entries():
    raw = _filled()
    raw["staff"][6]["telegram_id"] = 1004
    assert _one(raw) == ("staff[6] (Пресс-секретарь).telegram_id: Telegram id 1004 is listed "
                         "twice, also in staff[3] (Координатор): keep one of them")
    raw = _filled()
    raw["vk"]["communities"][1]["id"] = 100001
    raw["pages"][1]["targets"] = [{"platform": "vk", "id": 100001}]
    assert "also in vk.communities[0] (Администрация)" in _one(raw)
    raw = _filled()
    raw["blocks"][2]["default"] = True
    assert "blocks[2] (Образование) and blocks[3] (Прочее)" in _one(raw)


def test_no_value_is_ever_echoed():
    raw = _filled()
    raw["telegram"]["token"] = 123456789  # a token typed as a number
    raw["vk"]["service_token"] = ["SECRET-service"]
    text = "\n".join(problems(raw))
    assert "123456789" not in text and "SECRET" not in text
    assert "telegram.token: expected text in quotes, got a number" in text


# -- storage.url: SQLite or PostgreSQL ------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://u@h/db", "storage.url: expected postgresql://USER@HOST:PORT/DATABASE or "
                       "sqlite:PATH, got a URL of scheme 'mysql'"),
    ("postgresql://u:secret@h:5432", "storage.url: the postgresql:// URL names no database"),
    ("postgresql://u:secret@h:port/db", "storage.url: not a valid postgresql:// URL"),
])
def test_a_wrong_storage_url_names_the_key_the_problem_and_the_fix(url: str, expected: str):
    raw = _filled()
    raw.setdefault("storage", {})["url"] = url
    raw["municipality"]["id"] = "pskov"
    found = _one(raw)
    assert found.startswith(expected), found
    assert "secret" not in found  # a password is never echoed


def test_postgresql_needs_a_municipality_key_and_sqlite_does_not():
    raw = _filled()
    raw["municipality"].pop("id", None)
    raw.setdefault("storage", {})["url"] = "postgresql://mcu@db.local:5432/region"
    found = _one(raw)
    assert found.startswith("municipality.id: not set, but storage.url is a PostgreSQL"), found
    raw["municipality"]["id"] = "pskov"
    assert problems(raw) == []
    raw["municipality"]["id"] = "Псков!"
    assert _one(raw).startswith("municipality.id: expected a short key of a-z")
    raw["municipality"].pop("id")
    raw["storage"]["url"] = "sqlite:mcu.sqlite3"
    assert problems(raw) == []


def test_the_storage_url_may_come_from_the_environment_and_is_shown_masked():
    raw = _filled()
    raw["municipality"]["id"] = "pskov"
    config = parse_config(copy.deepcopy(raw), environ={
        "MCU_STORAGE_URL": "postgresql://mcu:s3cret@db.local:5432/region"})
    assert config.storage.postgres
    assert config.storage.target == "postgresql://mcu:s3cret@db.local:5432/region"
    assert config.storage.shown == "postgresql://mcu:***@db.local:5432/region"


# -- MAX and Одноклассники (issue 19) -------------------------------------------------


def _with_max_and_ok(raw: dict[str, Any]) -> dict[str, Any]:
    """The example's commented [max] and [ok] sections, uncommented."""
    text = example_config()
    start = text.index("# [max]")
    block = text[start:text.index("# Staff:", start)]
    lines = [line[2:] if line.startswith("# ") else "" if line == "#" else line
             for line in block.splitlines() if not line.startswith("# MAX")
             and not line.startswith("# Одноклассники")]
    extra = tomllib.loads("\n".join(line for line in lines if not line.startswith(
        ("Uncomment", "chats it", "the groups", "MCU_OK", "(README"))))
    raw = copy.deepcopy(raw)
    raw.update(extra)
    raw["pages"][0]["targets"] += [{"platform": "max", "id": -72000000000001},
                                   {"platform": "ok", "id": 70000000000001}]
    return raw


def test_max_and_ok_placeholders_say_where_the_real_values_come_from():
    found = problems(_with_max_and_ok(_filled()))
    keys = [p.split(":", 1)[0] for p in found]
    assert keys == ["max.token", "ok.application_secret_key",
                    "ok.groups[0] (Администрация).token"]
    assert "MCU_MAX_TOKEN" in found[0] and "business.max.ru" in found[0]
    assert "MCU_OK_SECRET_KEY" in found[1]
    assert "Настройки" in found[2] and "MCU_OK_TOKEN_<group id>" in found[2]


def test_max_and_ok_filled_in_are_fine_and_may_come_from_the_environment():
    raw = _with_max_and_ok(_filled())
    env = {"MCU_MAX_TOKEN": "t", "MCU_OK_SECRET_KEY": "s",
           "MCU_OK_TOKEN_70000000000001": "g"}
    assert problems(raw, env) == []


def test_a_max_target_needs_the_token_and_an_ok_target_its_group():
    raw = _with_max_and_ok(_filled())
    raw["max"]["token"] = ""
    raw["ok"]["application_secret_key"] = "s"
    raw["ok"]["groups"][0]["token"] = "g"
    raw["pages"][0]["targets"][-1]["id"] = 123
    found = problems(raw)
    assert any(p.startswith("pages[0] (Администрация).targets[2]: a MAX channel needs the "
                            "bot's token in max.token (or MCU_MAX_TOKEN)") for p in found)
    assert any(p.startswith("pages[0] (Администрация).targets[3].id: OK group 123 is not in "
                            "[[ok.groups]] (known: 70000000000001") for p in found)
    assert any(p.startswith("max.token: empty, but max.city_chats") for p in found)


def test_ok_groups_need_the_applications_keys():
    raw = _with_max_and_ok(_filled())
    raw["ok"]["application_key"] = ""
    raw["ok"]["application_secret_key"] = ""
    raw["max"]["token"] = "t"
    raw["ok"]["groups"][0]["token"] = "g"
    found = problems(raw)
    assert [p.split(":", 1)[0] for p in found] == ["ok.application_key",
                                                    "ok.application_secret_key"]
    assert "README" in found[0] and "MCU_OK_SECRET_KEY" in found[1]
