"""Small rules of Russian wording that code, templates and the demo share.

Pure: no I/O, no clock. Plural forms go through ``plural`` only, so «ещё 2 строки» and
«…и ещё 5 сообщений» agree everywhere; a citizen is greeted by name only when the name
is a real first name, and only once.
"""

from __future__ import annotations

import re

from bot.domain.text import fold, morph


def plural_form(n: int, one: str, few: str, many: str) -> str:
    """The form of a noun after the number ``n``: 1 строка, 2 строки, 5 строк.

    Russian: the last digit decides (1 → one; 2–4 → few; others → many), except 11–14,
    which take «many» (11 строк, 12 строк, but 21 строка, 22 строки).
    """
    n = abs(int(n))
    if n % 100 in (11, 12, 13, 14):
        return many
    if n % 10 == 1:
        return one
    if n % 10 in (2, 3, 4):
        return few
    return many


def plural(n: int, one: str, few: str, many: str) -> str:
    """``n`` and its noun: «1 строка», «2 строки», «5 строк», «21 строка»."""
    return f"{n} {plural_form(n, one, few, many)}"


_LETTERS = re.compile(r"^[А-Яа-яЁё]+(-[А-Яа-яЁё]+)?$")


def greeting_name(full_name: str | None) -> str:
    """The first name to greet a citizen by, or "" when there is no real one.

    A platform's display name is often not a name at all («Житель 2001», «Гость»,
    «user_51», «🌸Cat🌸»): a citizen is called by name only when its first word is a
    Russian first name by the dictionary (pymorphy3's ``Name``). Otherwise the reply
    says just «Здравствуйте!».
    """
    first = (full_name or "").split()[0] if (full_name or "").split() else ""
    if not _LETTERS.match(first):
        return ""
    if not any("Name" in parse.tag for parse in morph().parse(first.lower())):
        return ""
    if first.isupper() or first.islower():
        first = "-".join(part.capitalize() for part in first.split("-"))
    return first


# a greeting in the first sentence: «Здравствуйте», «Ксения, добрый день», «Уважаемая …»
_GREETING = re.compile(
    r"\b(здравствуй\w*|добр(ый|ое|ого)\s+(день|дня|утро|утра|вечер|вечера|времени)"
    r"|приветству\w+|привет|уважаем\w+)\b"
)
_FIRST_SENTENCE = re.compile(r"^[^.!?\n]*")


def greets(text: str) -> bool:
    """Whether the text already opens with a greeting (so the bot must not add one)."""
    head = _FIRST_SENTENCE.match(fold(text.strip()))
    return bool(head and _GREETING.search(head.group(0)))
