"""References between the config's sections: what pydantic cannot see field by field —
a staff member's blocks, a block's lead and executors, a rule's block and policy, a
page's VK community, the recipients of the digest, ids listed twice."""

from __future__ import annotations

from typing import Any

from bot.config.sections import Config


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


def _not_staff(where: str, user_id: int) -> str:
    return (f"{where}: {user_id} is not in [[staff]] (add a [[staff]] entry with "
            f"telegram_id = {user_id}, or remove it here)")


def _block_names(config: Config) -> tuple[list[str], str]:
    names = [block.name for block in config.blocks]
    return names, _known(list(dict.fromkeys(names)))


def _staff(config: Config, problems: list[str]) -> None:
    block_names, known_blocks = _block_names(config)
    _twice(problems, "staff", "telegram_id",
           [(m.telegram_id, m.name) for m in config.staff], "Telegram id")
    for i, member in enumerate(config.staff):
        for name in member.blocks:
            if name not in block_names:
                problems.append(f"{_entry('staff', i, member.name)}.blocks: unknown block "
                                f"{name!r} (known: {known_blocks})")
        if member.deputy is not None:
            where = f"{_entry('staff', i, member.name)}.deputy"
            if member.deputy == member.telegram_id:
                problems.append(f"{where}: a person cannot be their own deputy (name a "
                                "colleague's telegram_id, or remove it)")
            elif config.staff_by_id(member.deputy) is None:
                problems.append(_not_staff(where, member.deputy))


def _blocks(config: Config, problems: list[str]) -> None:
    staff_ids = {member.telegram_id for member in config.staff}
    _twice(problems, "blocks", "name", [(b.name, b.name) for b in config.blocks], "block")
    defaults = [i for i, block in enumerate(config.blocks) if block.default]
    if len(defaults) > 1:
        listed = " and ".join(_entry("blocks", i, config.blocks[i].name) for i in defaults)
        problems.append(f"blocks: only one block may be the default, but {listed} are: "
                        "keep default = true on one")
    for i, block in enumerate(config.blocks):
        where = _entry("blocks", i, block.name)
        if block.lead is not None and block.lead not in staff_ids:
            problems.append(_not_staff(f"{where}.lead", block.lead))
        for executor in block.executors:
            if executor not in staff_ids:
                problems.append(_not_staff(f"{where}.executors", executor))


def _topics(config: Config, problems: list[str]) -> None:
    block_names, known_blocks = _block_names(config)
    for name, topic in config.telegram.topics.items():
        if name not in block_names:
            problems.append(f"telegram.topics: unknown block {name!r} (known: {known_blocks})")
        elif topic == 1:  # telegram-bot-api refuses the General topic as a thread id
            problems.append(
                f"telegram.topics.{name}: 1 is the forum's General topic, which Telegram "
                "refuses as a topic to post to; give the id of the block's own topic, or "
                "remove the line and the bot creates one")


def _routing(config: Config, problems: list[str]) -> None:
    block_names, known_blocks = _block_names(config)
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


def _pages(config: Config, problems: list[str]) -> None:
    _twice(problems, "pages", "name", [(p.name.casefold(), p.name) for p in config.pages],
           "page")
    communities = _known([str(c.id) for c in config.vk.communities])
    for i, page in enumerate(config.pages):
        for j, target in enumerate(page.targets):
            where = f"{_entry('pages', i, page.name)}.targets[{j}]"
            if target.platform == "vk" and config.community(target.id) is None:
                problems.append(
                    f"{where}.id: VK community "
                    f"{target.id} is not in [[vk.communities]] (known: {communities})"
                )
            elif target.platform == "max":
                _max_target(config, where, target.id, problems)
            elif target.platform == "ok" and config.ok_group(target.id) is None:
                groups = _known([str(g.id) for g in config.ok.groups])
                problems.append(f"{where}.id: OK group {target.id} is not in [[ok.groups]] "
                                f"(known: {groups}; README, «Одноклассники»)")


def _max_target(config: Config, where: str, chat_id: int, problems: list[str]) -> None:
    if chat_id >= 0:
        problems.append(f"{where}.id: a MAX channel's chat id is negative (e.g. "
                        "-72000000000001); README, «MAX», says where to find it")
    if not config.max.token.get_secret_value():
        problems.append(f"{where}: a MAX channel needs the bot's token in max.token (or "
                        "MCU_MAX_TOKEN); README, «MAX», says how to get one")


def _digest(config: Config, problems: list[str]) -> None:
    staff_ids = {member.telegram_id for member in config.staff}
    for i, recipient in enumerate(config.digest.recipients):
        if recipient not in staff_ids:
            problems.append(_not_staff(f"digest.recipients[{i}]", recipient))


def _tokens(config: Config, problems: list[str]) -> None:
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
    _max_and_ok(config, problems)
    if not config.telegram.token.get_secret_value():
        problems.append("telegram.token: empty (set it here or in MCU_TELEGRAM_TOKEN)")


def _storage(config: Config, problems: list[str]) -> None:
    if config.storage.postgres and config.municipality.id == "main":
        problems.append(
            "municipality.id: not set, but storage.url is a PostgreSQL database that many "
            "municipalities may share — give each its own key, as id = \"pskov\"")


def _max_and_ok(config: Config, problems: list[str]) -> None:
    """The MAX token wherever MAX is used; OK's application keys and each group's token."""
    if config.max.city_chats and not config.max.token.get_secret_value():
        problems.append("max.token: empty, but max.city_chats lists chats to read (set it "
                        "here or in MCU_MAX_TOKEN; README, «MAX»)")
    for i, chat in enumerate(config.max.city_chats):
        if chat >= 0:
            problems.append(f"max.city_chats[{i}]: a MAX group chat's id is negative "
                            "(e.g. -72000000000002)")
    if config.max.channel is not None and config.max.channel >= 0:
        problems.append("max.channel: a MAX channel's chat id is negative (e.g. "
                        "-72000000000001)")
    _twice(problems, "ok.groups", "id", [(g.id, g.name) for g in config.ok.groups], "group id")
    if not config.ok.groups:
        return
    for key in ("application_id", "application_key"):
        if not getattr(config.ok, key):
            problems.append(f"ok.{key}: empty, but [[ok.groups]] lists groups to post to "
                            "(the application's page on ok.ru/vitrine/myuploaded; README, "
                            "«Одноклассники»)")
    if not config.ok.application_secret_key.get_secret_value():
        problems.append("ok.application_secret_key: empty (every OK call is signed with it; "
                        "set it here or in MCU_OK_SECRET_KEY; README, «Одноклассники»)")
    for i, group in enumerate(config.ok.groups):
        if not group.token.get_secret_value():
            problems.append(f"{_entry('ok.groups', i, group.name)}.token: empty (the group's "
                            f"access token, here or in MCU_OK_TOKEN_{group.id}; README, "
                            "«Одноклассники»)")


def cross_check(config: Config) -> list[str]:
    """Every reference between sections, in the order of the file's sections."""
    problems: list[str] = []
    for check in (_staff, _blocks, _topics, _routing, _pages, _digest, _tokens, _storage):
        check(config, problems)
    return problems
