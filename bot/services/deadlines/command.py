"""``/deadline [policy] [DD.MM.YYYY HH:MM]``: «when is it due?» for staff, in their words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import SlaPolicy
from bot.domain import sla
from bot.services.hub import Hub

_MOMENT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def policy_title(hub: Hub, name: str) -> str:
    """A policy's Russian name: its ``title`` in the config, else the built-in one."""
    policy = hub.config.sla.policies.get(name)
    return (policy.title if policy else "") or hub.render.text(
        "deadlines.j2:policy_title", key=name)


def policy_rule(hub: Hub, policy: SlaPolicy) -> str:
    """What a policy means, in words: «8 рабочих часов», «в тот же день до 18:00»."""
    return hub.render.text("deadlines.j2:policy_rule", kind=policy.kind, hours=policy.hours,
                           days=policy.days, by=policy.by)


def _find_policy(hub: Hub, words: list[str]) -> tuple[str | None, int]:
    """The policy named by the first words (its title or its key) and how many words."""
    names = list(hub.config.sla.policies)
    for count in range(len(words), 0, -1):
        said = " ".join(words[:count]).casefold().replace("ё", "е")
        for name in names:
            if said in (name.casefold(), policy_title(hub, name).casefold().replace("ё", "е")):
                return name, count
    return None, 0


def deadline_reply(hub: Hub, user_id: int, args: str | None) -> str:
    """The answer to ``/deadline [policy] [DD.MM.YYYY HH:MM]`` (Telegram HTML).

    Staff only: the policies and the calendar are internal. The policy is named as staff
    read it («срочный», or its config key); the moment is local time in the
    municipality's zone; without it, now.
    """
    render = hub.render
    if hub.config.staff_by_id(user_id) is None:
        return render.html("staff_only")
    sla_config = hub.config.sla
    listed = [{"title": policy_title(hub, name), "rule": policy_rule(hub, policy)}
              for name, policy in sla_config.policies.items()]
    example = policy_title(hub, sla_config.fast_track_policy)
    usage = render.html("deadlines.j2:deadline_usage", policies=listed,
                        default=policy_title(hub, sla_config.default_policy), example=example)
    words = (args or "").split()
    policy_name = sla_config.default_policy
    named = words[:next((i for i, w in enumerate(words) if _MOMENT.match(w)), len(words))]
    if named:
        found, count = _find_policy(hub, named)
        if found is None or count != len(named):
            said = " ".join(named)
            if len(said) > 40 or not re.fullmatch(r"[\w -]+", said):
                return usage
            return render.html("deadlines.j2:deadline_unknown_policy", name=said,
                               policies=listed) + "\n\n" + usage
        policy_name = found
        words = words[count:]
    tz = hub.config.municipality.tz
    if not words:
        start = hub.clock.now().astimezone(tz)
    else:
        start_or_none = _parse_moment(words, tz)
        if start_or_none is None:
            return usage
        start = start_or_none
    policy = sla_config.policies[policy_name]
    try:
        due = sla.deadline(policy, start, hub.calendar)
    except ValueError:
        return usage
    return render.html("deadlines.j2:deadline_answer", policy=policy_title(hub, policy_name),
                       rule=policy_rule(hub, policy), start=start.strftime("%d.%m.%Y %H:%M"),
                       due=due.astimezone(tz).strftime("%d.%m.%Y %H:%M"))


def _parse_moment(words: list[str], tz: ZoneInfo) -> datetime | None:
    """``DD.MM.YYYY HH:MM`` as local time; None when it is not that (or not a real date)."""
    if len(words) != 2:
        return None
    day, clock = _MOMENT.match(words[0]), _TIME.match(words[1])
    if day is None or clock is None:
        return None
    d, m, y = (int(g) for g in day.groups())
    hh, mm = (int(g) for g in clock.groups())
    if not 2000 <= y <= 2100:
        return None
    try:
        local = datetime(y, m, d, hh, mm)
    except ValueError:
        return None
    # resolve the wall time in the zone (through UTC, like the SLA module does)
    return local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
