"""A forwarded message's number and category in the external system it came from
(Инцидент Менеджмент, ПОС, a regional portal), read from its text, and the results a
closed message may have.

These systems print a card's number as «№ 123456789» (or «Номер: …») and its category
as «Категория: …» / «Рубрика: …»; staff forward that text. Pure.
"""

from __future__ import annotations

import re

SYSTEMS = ("im", "pos", "portal")
RESULTS = ("solved", "explained")  # «решено», «разъяснено» (the regional report's words)

_NUMBER = re.compile(r"(?:№|\bномер\b\s*:?)\s*([0-9][0-9/\-]{3,30})", re.I)
_CATEGORY = re.compile(r"(?:\bкатегория|\bрубрика|\bподкатегория)\s*:\s*([^\n]{2,120})", re.I)


def parse(text: str) -> tuple[str, str]:
    """(number, category) found in the text; "" for what is not there."""
    number = _NUMBER.search(text)
    category = _CATEGORY.search(text)
    return (number.group(1).strip("-/") if number else "",
            category.group(1).strip().rstrip(".") if category else "")
