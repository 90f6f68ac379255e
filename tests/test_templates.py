"""Every template, rendered with realistic data, reads as Russian to staff and citizens.

What is checked in each rendering: no «обращение» (decree 004 §5.1: messages from social
media are «сообщения»), no Latin word that is not a proper name (``ALLOWED``), no raw key
or id (``snake_case`` keys, ``club100001``, ``-100…`` chat ids, ``Europe/Saratov``), and
no template debris (``None``, ``{{``).

It covers templates added later by itself:
- every macro of every ``templates/**/*.j2`` that defines macros is called, its arguments
  taken by name from ``SAMPLES`` (a new argument name falls back to a Russian word; if
  the macro needs something else, add a sample);
- every other template must have a renderer in ``WHOLE`` that renders it through the real
  code (cards, reports, publishing); a new one without it fails, naming itself.

The values of the samples are removed from a macro's output before the check (an
``error`` argument is the platform's English words on purpose): what is checked is what
the template itself writes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import nodes

import templates
from bot.domain.routing import Reason
from bot.domain.wording import greeting_name, greets
from bot.platforms.telegram.buttons import card_keyboard
from bot.services import cards
from bot.services.hub import Hub
from bot.services.publishing.compose import compose
from bot.services.publishing.queue import Publishing
from bot.services.reports.reports import Reports
from storage import incidents as repo
from tests import test_reports
from tests.test_reports import TUESDAY_9, TZ, seed

hub = test_reports.hub  # the fixture: a hub on an in-memory database, the clock Tuesday 9:00

ROOT = Path(templates.__file__).parent
ALL = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.j2"))

# proper names staff and citizens read as they are
ALLOWED = {"Telegram", "MAX", "Excel", "Long", "Poll", "API"}

_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"(https?://|t\.me/|vk\.com/)\S+")
_COMMAND = re.compile(r"(?<![\w])/[a-z_]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RAW = [
    (re.compile(r"обращени", re.I), "«обращение» (say «сообщение»)"),
    (re.compile(r"\bclub\d+|\bid\d{3,}"), "a VK id"),
    (re.compile(r"-100\d{6,}"), "a Telegram chat id"),
    (re.compile(r"\b[A-Z][a-z]+/[A-Z][A-Za-z_]+"), "a time-zone id"),
    (re.compile(r"\b[a-z]+_[a-z_]+\b"), "a raw key"),
    (re.compile(r"\[\[|\{\{|\{%|\bNone\b|\bundefined\b"), "template debris"),
]


def problems(text: str, scrub: list[str] = ()) -> list[str]:
    """What in a rendering must not reach a person; [] when it reads right."""
    visible = html.unescape(_TAG.sub("", text))
    for value in sorted(scrub, key=len, reverse=True):
        if len(value) >= 2:
            visible = visible.replace(value, " ")
    found = [f"{what}: {m.group(0)!r}" for pattern, what in _RAW
             for m in pattern.finditer(visible)]
    plain = _COMMAND.sub(" ", _URL.sub(" ", visible))
    found += [f"a Latin word: {m.group(0)!r}" for m in _LATIN.finditer(plain)
              if m.group(0) not in ALLOWED]
    return found


def test_the_check_catches_what_it_must():
    assert problems("Ваше обращение принято") != []
    assert problems("ВКонтакте club100001") != []
    assert problems("Telegram-канал -1001000000003") != []
    assert problems("(Europe/Saratov)") != []
    assert problems("регламент «fast_track»") != []
    assert problems("роль press") != []
    assert problems("Срок: None") != []
    assert problems("<b>Сообщение №1</b> · https://vk.com/wall-100001_21 · /report неделя"
                    " · Telegram") == []
    assert problems("Ответ площадки: Bad Request", scrub=["Bad Request"]) == []


# -- macros: every one, with realistic arguments by name ---------------------------------

AT = datetime(2026, 11, 23, 10, 48, tzinfo=TZ)

SAMPLES: dict[str, Any] = {
    "id": 12, "n": 3, "count": 21, "score": 5, "limit": 4096, "length": 5000, "have": 2,
    "quota": 5, "total": 7, "shown": 5, "part": 3, "whole": 4, "now": 5, "before": 4,
    "days": 7, "value": 2.5, "minutes": 30, "hours": 4,
    "block": "ЖКХ", "blocks": "ЖКХ, Образование", "due": "23.11 17:05", "left": "4 ч",
    "working": True, "fixed": True, "partial": False,
    "excerpt": "Нет отопления в доме 5 по ул. Ленина",
    "link": "https://t.me/c/1000000001/6", "assignee": "Исполнитель ЖКХ",
    "state": "назначено", "to": "Исполнитель ЖКХ", "reason": "Укажите срок и кто выполнит",
    "rule": "слово «отопление» → ЖКХ", "error": "Bad Request: chat not found",
    "source": "ВКонтакте «Администрация», комментарий", "query": "вода",
    "name": "Администрация", "page": "Администрация", "title": "Ярмарка в ДК «Заря»",
    "target": "ВКонтакте «Администрация»", "at": AT, "municipality": "Шиханы",
    "period": "за 23.11 (пн)", "day": "23.11", "weekday": "пн", "first": "17.11",
    "last": "23.11", "what": "Блок", "kind": "комментарий", "where": "ПОС (Госуслуги)",
    "chat": "-1001000000002", "policy": "срочный", "start": "06.03.2026 17:00",
    "default": "обычный", "example": "срочный", "by": "18:00", "key": "fast_track",
    "why": "Что это значит: площадка отказала по своей причине.",
    "links": [{"target": "ВКонтакте «Администрация»",
               "link": "https://vk.com/wall-100001_21"},
              {"target": "Telegram-канал", "link": "https://t.me/c/1000000003/1"}],
    "refused": [{"target": "канал в MAX",
                 "reason": "Текст длиннее 4000 символов (4032) — MAX его не примет"}],
    "skipped": [{"target": "канал в MAX",
                 "reason": "Текст длиннее 4000 символов (4032) — MAX его не примет"}],
    "policies": [{"title": "обычный", "rule": "8 рабочих часов"},
                 {"title": "срочный", "rule": "4 рабочих часа"}],
    "weekly_label": "за неделю",
}
# where a name means something else in one file
SAMPLES_BY_FILE: dict[str, dict[str, Any]] = {
    "reports.j2": {"hours": 2.5},
    "region.j2": {"first": AT, "last": AT, "region": "Саратовская область", "value": 0.75},
    "deadlines.j2": {"kind": "working_hours"},
    "people.j2": {"weekday": 4, "day": "27.11", "time": "17:30", "admins": "Руководитель МЦУ",
                  "executors": "Исполнитель ЖКХ", "problems": ["сотрудник указан дважды"]},
    "inbox.j2": {
        "icon": "⛔", "age": "2 ч 15 мин", "everything": False, "blocks": "ЖКХ",
        "sections": [{"icon": "⛔", "title": "Просрочены", "count": 7, "overdue": True,
                      "entries": [{"id": 12, "block": "ЖКХ", "age": "2 ч", "missed": False,
                                 "late": True, "excerpt": "Нет отопления в доме 5 по ул. Ленина"},
                                {"id": 14, "block": "ЖКХ", "age": "0 мин", "missed": True,
                                 "late": False, "excerpt": "Яма у остановки"}]},
                     {"icon": "🆕", "title": "Новые, не назначены", "count": 0,
                      "overdue": False, "entries": []}],
        "rows": [{"block": "ЖКХ", "new": 3, "approval": 1, "due_today": 2, "overdue": 5,
                  "promised_today": 1}],
        "totals": {"new": 3, "approval": 1, "due_today": 2, "overdue": 5,
                   "promised_today": 1},
        "icons": {"new": "🆕", "approval": "📝", "due_today": "⏳", "overdue": "⛔",
                  "promised_today": "📅"},
        "items": [{"id": 12, "block": "ЖКХ", "assignee": "Исполнитель ЖКХ", "age": "2 ч",
                   "excerpt": "Нет отопления в доме 5 по ул. Ленина"},
                  {"id": 13, "block": "Дороги и транспорт", "assignee": "", "age": "1 ч",
                   "excerpt": "Яма у остановки"}],
    },
}
# where one macro takes an argument of another kind than the name means elsewhere
_REASON = Reason("terms", "ЖКХ", ("отопление", "батарея"))
SAMPLES_BY_MACRO: dict[tuple[str, str], dict[str, Any]] = {
    ("texts.j2", "ev_created"): {"reason": _REASON},
    ("posts.j2", "warn_short"): {"targets": [{"target": "канал в MAX", "have": 4}]},
    ("routing.j2", "route_reason"): {"r": _REASON},
    ("people.j2", "blocks_without_executors"): {"blocks": ["Образование", "Прочее"]},
    ("texts.j2", "ev_fast_track"): {"on": True},
}
# arguments that are the platform's own words or ids on purpose, kept out of the check
NOT_OURS = {"error", "chat", "key", "link", "links"}
FALLBACK = "пример"


def _macros(name: str, render: Any) -> list[nodes.Macro]:
    source = render.env.loader.get_source(render.env, name)[0]
    return list(render.env.parse(source).find_all(nodes.Macro))


def _libraries(render: Any) -> list[str]:
    """Files of macros; a whole template may define a few macros of its own (WHOLE)."""
    return [name for name in ALL if _macros(name, render) and name not in WHOLE]


async def _structured(hub: Hub) -> dict[str, Any]:
    """The digest parts' arguments: a real summary and ratings of a seeded week."""
    reports = Reports(hub)
    from bot.services.reports.periods import digest_period

    period = digest_period(TUESDAY_9.date(), hub.calendar)
    summary = await reports.summary(period, TUESDAY_9, note=True)
    blocks, executors = await reports.ratings(period)
    return {"s": summary, "rows": summary.blocks, "r": blocks[0], "blocks": blocks,
            "executors": executors, "title": "По блокам"}


async def test_every_macro_reads_right(hub: Hub):
    await seed(hub)
    structured = await _structured(hub)
    render = hub.render
    failures: list[str] = []
    called = 0
    for name in _libraries(render):
        module = render.env.get_template(name).make_module({})
        samples = {**SAMPLES, **SAMPLES_BY_FILE.get(name, {})}
        if name.startswith("digest/"):
            samples.update(structured)
        for macro in _macros(name, render):
            own = {**samples, **SAMPLES_BY_MACRO.get((name, macro.name), {})}
            args = {arg.name: own.get(arg.name, FALLBACK) for arg in macro.args}
            try:
                text = str(getattr(module, macro.name)(**args))
            except Exception as exc:  # a new argument needs a sample: say which
                failures.append(f"{name}:{macro.name}({', '.join(args)}): {exc!r} — add a "
                                "realistic value to SAMPLES")
                continue
            called += 1
            scrub = [str(v) for k, v in args.items()
                     if k not in NOT_OURS and isinstance(v, str)]
            scrub += [str(args[k]) for k in NOT_OURS if isinstance(args.get(k), str)]
            for link in args.get("links") or []:
                scrub += [str(link["link"])]
            found = problems(text, scrub)
            if found:
                failures.append(f"{name}:{macro.name}: {found} in {text!r}")
    assert called > 200, called  # texts.j2, deadlines.j2, posts.j2, reports.j2, startup.j2
    assert failures == [], "\n".join(failures)


# -- whole templates, rendered by the code that renders them -----------------------------

Renderings = list[tuple[str, str]]  # (what it is, the text)


async def _cards(hub: Hub) -> Renderings:
    async with hub.db.tx() as conn:
        await repo.update(conn, 1, author_name="Ксения Иванова",
                          author_link="https://vk.com/id500101", link="https://vk.com/wall-100001_17",
                          answer_text="Заменили задвижку, батареи прогреются.")
        await repo.add_event(conn, 1, TUESDAY_9 - timedelta(days=1), "created",
                             detail="слово «отопление» → ЖКХ")
        for action, detail in [("assign", "Исполнитель ЖКХ"), ("interim", ""),
                               ("submit", ""), ("return", "Укажите срок"), ("approve", ""),
                               ("published", ""), ("citizen_reply", ""), ("rating", "5"),
                               ("reopen", ""), ("reject", "Не по компетенции"),
                               ("overdue", ""), ("edited", ""), ("deleted", "")]:
            await repo.add_event(conn, 1, TUESDAY_9, action, actor_id=1004,
                                 actor_name="Координатор", detail=detail)
    found = []
    for incident_id in range(1, 9):
        incident = await repo.get(hub.db.reader, incident_id)
        assert incident is not None
        events = await repo.events(hub.db.reader, incident_id)
        found.append((f"card №{incident_id}",
                      cards.card_text(hub.config, hub.render, incident, events, TUESDAY_9)))
        for row in card_keyboard(hub.render, incident)["inline_keyboard"]:
            found += [(f"button on №{incident_id}", b["text"]) for b in row]
    return found


async def _lists(hub: Hub) -> Renderings:
    from handlers.private import _list

    items = [i for i in [await repo.get(hub.db.reader, n) for n in range(1, 9)] if i]
    render = hub.render
    return [("/my", _list(hub, items, render.html("my_title"), render.html("my_empty"))),
            ("/my empty", _list(hub, [], render.html("my_title"), render.html("my_empty"))),
            ("/find", _list(hub, items[:2], render.html("find_title", query="вода"),
                            render.html("find_empty", query="вода")))]


async def _help(hub: Hub) -> Renderings:
    found = []
    for roles in ([], ["coordinator"], ["executor"], ["press"], ["head"],
                  ["manager", "admin", "curator", "block_lead"]):
        found.append((f"/help {roles}", hub.render.render(
            "help.html.j2", municipality="Шиханы", roles=roles, name="Координатор",
            role_names=[hub.render.text(f"role_{r}") for r in roles])))
    return found


async def _citizen(hub: Hub) -> Renderings:
    found = []
    for author in ("Ксения Иванова", "Житель 2001", ""):
        name = greeting_name(author)
        found.append((f"interim to {author!r}", hub.render.render(
            "interim.txt.j2", name=name, due=hub.render.format_moment(TUESDAY_9))))
        for text in ("Заменили задвижку.", "Здравствуйте! Заменили задвижку."):
            answer = hub.render.render("answer.txt.j2", name=name, text=text,
                                       greeted=greets(text))
            assert answer.count("дравствуйте") == 1, answer
            found.append((f"answer to {author!r}", answer))
    for path in ALL:
        if path.startswith("answers/"):
            found.append((path, hub.render.render(path)))
    return found


async def _reports(hub: Hub) -> Renderings:
    reports = Reports(hub)
    digest = await reports.digest(TUESDAY_9)
    note = await reports.note("week", TUESDAY_9)
    month = await reports.note("month", TUESDAY_9)
    rating = await reports.rating("month", TUESDAY_9)
    export = await reports.export("month", TUESDAY_9)
    return [("digest", digest.text), ("chart caption", digest.chart_caption),
            ("note", note.text), ("monthly note", month.text), ("rating", rating.text),
            ("export caption", export.text)]


async def _posts(hub: Hub) -> Renderings:
    service = Publishing(hub)
    page = hub.config.page("Администрация")
    assert page is not None
    draft = await service.draft(1007, page=page, text="Ярмарка\nСегодня в ДК «Заря» ярмарка.")
    poll = await service.draft(1007, page=page, poll={"question": "Когда удобнее приём?",
                                                      "options": ["Утром", "Вечером"]})
    for n in range(3):
        await service.queue("Администрация", f"Новость {n}\nТекст новости {n}.", by=1007)
    queue = await service.queue_view()
    plan = await service.plan_view()
    composed = compose(hub.render, page, "Ярмарка\nСегодня в ДК «Заря» ярмарка.", 0)
    empty = Publishing(hub)
    return [("preview", draft.text), ("poll preview", poll.text), ("/queue", queue.text),
            ("/plan", plan.text), ("post (VK)", composed.plain),
            ("post (Telegram)", composed.html), ("/queue again", (await empty.queue_view()).text)]


async def _startup(hub: Hub) -> Renderings:
    render = hub.render
    connected = [render.text("startup.j2:staff_group", title="МЦУ — штаб"),
                 render.text("startup.j2:vk", name="Администрация")]
    problems_ = [render.text("startup.j2:not_admin"),
                 render.text("startup.j2:vk_no_user_token", name="Глава")]
    return [("start-up report", render.render("startup.html.j2", municipality="Шиханы",
                                              connected=connected, problems=problems_)),
            ("start-up report, all well", render.render(
                "startup.html.j2", municipality="Шиханы", connected=connected, problems=[]))]


async def _status(hub: Hub) -> Renderings:
    from bot.services.health import Health
    from handlers.status import status_text

    pulse = Health(clock=lambda: TUESDAY_9.timestamp())
    for name in ("process", "tg:polling", "vk:100001", "vk:public:100003"):
        pulse.ok(name)
    error = "VK error 5: User authorization failed"  # the platform's words, on purpose
    pulse.failed("vk:100002", error)
    await pulse.flush(hub.db)
    return [("/status", (await status_text(hub)).replace(error, " "))]


async def _region(hub: Hub) -> Renderings:
    from bot.services.region import Row

    rows = [Row("volsk", "Вольск", 12, 10, 0.9, 3.5, 1, 2, 4.5, 3, 0.8, 1),
            Row("hvalynsk", "Хвалынск", place=2)]
    return [("regional view", hub.render.render(
        "region_report.j2", region="Саратовская область", kind=kind, first=AT, last=AT,
        rows=rows)) for kind in ("week", "month")]


# every whole template (one without macros of its own but a few helpers) and its renderer
WHOLE: dict[str, Callable[[Hub], Awaitable[Renderings]]] = {
    "card.html.j2": _cards,
    "region_report.j2": _region,
    "incident_list.html.j2": _lists,
    "help.html.j2": _help,
    "interim.txt.j2": _citizen,
    "answer.txt.j2": _citizen,
    "digest/daily.html.j2": _reports,
    "digest/weekly.html.j2": _reports,
    "digest/rating.html.j2": _reports,
    "posts/preview.html.j2": _posts,
    "posts/queue.html.j2": _posts,
    "posts/plan.html.j2": _posts,
    "posts/post.txt.j2": _posts,
    "posts/post.html.j2": _posts,
    "startup.html.j2": _startup,
    "status.html.j2": _status,
}


def test_every_template_is_rendered_by_this_test(hub: Hub):
    libraries = set(_libraries(hub.render))
    answers = {name for name in ALL if name.startswith("answers/")}
    uncovered = [name for name in ALL
                 if name not in libraries | answers and name not in WHOLE]
    assert uncovered == [], f"add a renderer to WHOLE in tests/test_templates.py: {uncovered}"
    assert not set(WHOLE) - set(ALL), "WHOLE names a template that is gone"


@pytest.mark.parametrize("renderer", sorted(set(WHOLE.values()), key=lambda f: f.__name__),
                         ids=lambda f: f.__name__.strip("_"))
async def test_whole_templates_read_right(hub: Hub, renderer):
    await seed(hub)
    failures = []
    rendered = await renderer(hub)
    assert rendered
    for what, text in rendered:
        assert text.strip(), what
        found = problems(text)
        if found:
            failures.append(f"{what}: {found}\n{text}")
    assert failures == [], "\n\n".join(failures)
