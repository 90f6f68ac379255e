"""Where something is, not what is wrong: location phrases and street names in a message.

A keyword inside «у школы», «возле остановки», «около детского сада», «в районе рынка» is
a landmark; after «в»/«на» a place («в детском саду нет отопления»: the heating is the
subject, the kindergarten the place); after «нет» the subject (what is missing is what
the complaint is about). An adjective after «улица», «ул.», «остановка», or capitalised
inside a sentence («на Заводской», «по Школьной») names a street and says nothing about
the complaint. Pure: the routing weighs what is found here (``bot.domain.routing``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.keywords import Hit, WordInfo

LANDMARK = 0.3
PLACE = 0.8
SUBJECT = 1.5

# words that open a location phrase: the noun after them names where, not what
LANDMARK_WORDS = frozenset(
    "у возле около рядом напротив вблизи близ недалеко неподалеку вдоль мимо перед передо "
    "позади сзади вокруг между подле поблизости".split()
)
PLACE_WORDS = frozenset(("в", "во", "на"))
SUBJECT_WORDS = frozenset(("нет", "нету"))  # «нет горячей воды»: what is missing is the subject
JOINERS = frozenset(("с", "со", "от", "к", "ко"))  # рядом со школой, недалеко от остановки
AREA_NOUNS = frozenset(("район", "сторона", "окрестность", "близость"))  # в районе рынка
_SCOPE_WORDS = 5  # a location phrase is short: «возле детского сада номер 5»
# street names are adjectives of nouns: «на Школьной», «ул. Садовая», «Заводская 5»
STREET_NOUNS = frozenset(("улица", "проспект", "переулок", "бульвар", "шоссе", "площадь",
                          "проезд", "тупик", "микрорайон", "остановка"))
STREET_ABBREVIATIONS = frozenset(("ул", "пр", "просп", "пер", "пл", "мкр", "б", "р"))
_RAW_WORD = re.compile(r"[^\W_]+")  # as text.words, on the unfolded text
_SENTENCE_ENDS = ".!?…\n"

# what a marker word opens: 1 a place, 2 a landmark, 3 the subject (0: none)
_MARKERS = {**dict.fromkeys(PLACE_WORDS, 1), **dict.fromkeys(LANDMARK_WORDS, 2),
            **dict.fromkeys(SUBJECT_WORDS, 3)}


def marker_of(word: str) -> int:
    """Whether a (folded) word opens a location phrase, and which kind."""
    return _MARKERS.get(word, 0)


def _scope(infos: Sequence[WordInfo], i: int) -> tuple[int, float]:
    """The location phrase opened by the marker word at ``i``: (end, factor)."""
    total = len(infos)
    marker = infos[i].marker
    factor = (PLACE, LANDMARK, SUBJECT)[marker - 1]
    j = i + 1
    if marker == 2 and j < total and infos[j].word in JOINERS:
        j += 1
    elif marker == 1 and j < total and infos[j].lemmas & AREA_NOUNS:
        factor = LANDMARK
    limit = min(total, j + _SCOPE_WORDS)
    seen_noun = False
    while j < limit:
        info = infos[j]
        if info.marker:
            break
        number = info.word.isdigit()
        if seen_noun:
            if not (info.gen or number):
                break
        elif not (info.noun or info.adj or number):
            break
        # «детской» may be a noun, but before «площадки» it is the adjective
        head = info.noun and not (info.adj and j + 1 < limit and infos[j + 1].noun)
        j += 1
        if head:
            if info.term or marker == 3:
                break
            seen_noun = True
    return j, factor


def location_weight(infos: Sequence[WordInfo], position: int,
                    scopes: dict[int, tuple[int, float]] | None = None) -> float:
    """``LANDMARK``, ``PLACE`` or ``SUBJECT`` when the word at ``position`` is in such a
    phrase, else 1.

    A phrase opens at «у», «возле», «около», «рядом с», … (a landmark), «в», «на» (a
    place; «в районе», «в сторону» are landmarks) or «нет» (the subject) and runs over
    adjectives and numbers to its first noun; a location phrase goes on through genitive
    nouns («около здания школы») until a noun that is itself a keyword: the landmark.
    Phrases do not nest, so only the nearest marker before the word can hold it.
    """
    for i in range(position - 1, max(-1, position - _SCOPE_WORDS - 3), -1):
        if infos[i].marker:
            if scopes is None:
                end, factor = _scope(infos, i)
            else:  # the message's other keywords may sit in the same phrase
                scope = scopes.get(i)
                if scope is None:
                    scope = scopes[i] = _scope(infos, i)
                end, factor = scope
            return factor if position < end else 1.0
    return 1.0


def without_street_names(text: str, infos: Sequence[WordInfo], hits: list[Hit]) -> list[Hit]:
    """``hits`` without the street and stop names among them: an adjective after
    «улица», «ул.», «остановка», or capitalised inside a sentence («на Заводской»,
    «по Школьной») names a place and says nothing about the complaint."""
    candidates = [h for h in hits if infos[h.position].named and h.end - h.position == 1
                  and h.tag[0] == "block"]
    if not candidates:
        return hits
    raw = list(_RAW_WORD.finditer(text))
    if len(raw) != len(infos):
        raw = []  # folding changed the words (rare scripts): judge by context only
    names: set[int] = set()
    for hit in candidates:
        p = hit.position
        before = infos[p - 1] if p else None
        if before is not None and (before.word in STREET_ABBREVIATIONS
                                   or before.lemmas & STREET_NOUNS):
            names.add(p)
        elif raw:
            word = raw[p].group()
            opening = text[: raw[p].start()].rstrip(" \t\"'«»()-—")
            if word.istitle() and opening and opening[-1] not in _SENTENCE_ENDS:
                names.add(p)
    return [h for h in hits if h.position not in names or h not in candidates]
