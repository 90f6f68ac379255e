"""Search that finds: what an incident is indexed under, and what a query asks for.

Pure: no I/O. Both sides are folded (lowercase, ё → е) in Python, where Cyrillic case
folds correctly, and every word stands with its dictionary forms (pymorphy3), so
«ленина» finds «ул. Ленина», «трубы» finds «труба» and «Иванову» finds «Иванов». The
index is a plain string of words, so the query is a LIKE that any SQL backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.text import lemmas, words

MAX_WORDS = 6  # a longer query is cut: each word is one more condition
MAX_NUMBER = 2**62  # a «number» beyond any row id is a word, not a look-up


def index_text(*parts: str) -> str:
    """The search column of an incident: its words and their lemmas, each once,
    with a space at each end so that every word is found as '% word'."""
    found: dict[str, None] = {}
    for part in parts:
        for word in words(part):
            found.setdefault(word)
            for lemma in lemmas(word):
                found.setdefault(lemma)
    return " " + " ".join(found) + " "


@dataclass(frozen=True)
class Query:
    """What ``/find`` asks: a number (an incident's) and words, each with its forms.

    A form ending in a space must match a whole word (numbers: «5» is house 5, not 52);
    any other form matches the start of a word («ленин» finds «ленинский»).
    """

    number: int | None
    words: list[list[str]]

    @property
    def empty(self) -> bool:
        return self.number is None and not self.words


def _forms(word: str) -> list[str]:
    if word.isdigit():
        return [word + " "]
    forms = sorted({word, *lemmas(word)}, key=len)
    kept: list[str] = []
    for form in forms:  # a form that starts with a kept one adds nothing to a prefix match
        if not any(form.startswith(shorter) for shorter in kept):
            kept.append(form)
    return kept


def parse(query: str) -> Query:
    """«№12», «12», «ленина», «Иванов ул. Ленина 5» → the number and the words."""
    text = query.strip()
    bare = text.lstrip("№#").strip()
    number = int(bare) if bare.isdigit() and 0 < int(bare) < MAX_NUMBER else None
    found = words(text)[:MAX_WORDS]
    return Query(number, [_forms(word) for word in found])
