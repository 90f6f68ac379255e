"""One jinja2 environment over ``templates/``: cards, prompts, alerts, digests, posts.

Autoescape is on because Telegram's HTML parse mode needs ``<``, ``>`` and ``&``
escaped; a citizen's ``<`` must never break a card.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

import templates
from bot.domain.wording import plural

TEMPLATES_DIR = Path(templates.__file__).parent


def _escaped(name: str | None) -> bool:
    """HTML for Telegram everywhere, except plain-text templates (``*.txt.j2``: VK, alerts)."""
    return not (name or "").endswith(".txt.j2")


class Renderer:
    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=_escaped,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["dt"] = self.format_dt
        self.env.filters["day"] = self.format_day
        self.env.filters["moment"] = self.format_moment
        # {{ n | plural("строка", "строки", "строк") }} → «2 строки»: the one plural rule
        self.env.filters["plural"] = plural

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def format_dt(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return self.local(moment).strftime("%d.%m %H:%M")

    def format_day(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return self.local(moment).strftime("%d.%m.%Y")

    def format_moment(self, moment: datetime | None) -> str:
        """A deadline as a citizen reads it: «17:00 23.11.2026» (local time)."""
        if moment is None:
            return "—"
        return self.local(moment).strftime("%H:%M %d.%m.%Y")

    def render(self, template: str, /, **context: Any) -> str:
        return self.env.get_template(template).render(**context).strip()

    @cached_property
    def _texts(self) -> Any:
        return self.env.get_template("texts.j2").make_module({})

    def _macro(self, phrase: str) -> Any:
        """``name`` is a macro of ``texts.j2``; ``file.j2:name`` one of another file."""
        if ":" in phrase:
            template, _, name = phrase.partition(":")
            module = self._modules.get(template)
            if module is None:
                module = self._modules[template] = self.env.get_template(template).make_module({})
            return getattr(module, name)
        return getattr(self._texts, phrase)

    @cached_property
    def _modules(self) -> dict[str, Any]:
        return {}

    def text(self, phrase: str, /, **context: Any) -> str:
        """A short phrase (a jinja macro), as plain text: for alerts and VK."""
        result = self._macro(phrase)(**context)
        return str(result.unescape() if isinstance(result, Markup) else result).strip()

    def html(self, phrase: str, /, **context: Any) -> str:
        """A short phrase as Telegram HTML (the arguments escaped)."""
        return str(self._macro(phrase)(**context)).strip()
