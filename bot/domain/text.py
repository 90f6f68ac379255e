"""Text helpers shared by routing and ingest: case/ё folding, words, lemmas, noise.

Pure: no I/O and no clock. The only state is the per-process morphological analyser and
a cache of word → lemmas, because creating the analyser takes ~0.1 s and parsing a word
costs tens of microseconds, while the same few thousand words make up most messages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from pymorphy3 import MorphAnalyzer

_WORD = re.compile(r"[^\W_]+")

# a town's chats use a few tens of thousands of word forms; ~350 bytes an entry
LEMMA_CACHE_SIZE = 50_000


def fold(text: str) -> str:
    """Lower-case and ё → е, so «Гололёд», «гололед» and «ГОЛОЛЕД» compare equal."""
    return text.lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """The folded words of ``text``: runs of letters and digits (hyphens and punctuation split)."""
    return _WORD.findall(fold(text))


@cache
def morph() -> MorphAnalyzer:
    """One analyser per process: it is slow to create and safe to share."""
    return MorphAnalyzer()


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def lemmas(word: str) -> frozenset[str]:
    """Every normal form pymorphy3 offers for a folded word of a message.

    All parses, not just the likeliest: «ямы» is both «ям» and «яма», and a citizen's
    message is matched tolerantly against whatever the keyword means.
    """
    if word.isdigit():
        return frozenset((word,))
    return frozenset(fold(form) for form in morph().normal_forms(word))


@lru_cache(maxsize=4096)
def keyword_lemmas(word: str) -> frozenset[str]:
    """The lemmas a folded keyword word stands for.

    A keyword written in its dictionary form means that word only: «дорога» is the road,
    not the short adjective «дорога» (→ «дорогой»), so «дорогие жители» does not match
    it. A keyword written in another form («затопило») stands for all its normal forms.
    """
    all_forms = lemmas(word)
    if word in all_forms:
        return frozenset((word,))
    return all_forms


def is_noise(text: str, has_media: bool) -> bool:
    """True for a message with nothing for staff to act on: "+", "👍", "!!!", "а", "".

    ``has_media`` means a photo, video or document is attached: a photo of a pothole
    with no caption is not noise. A sticker, GIF reaction or emoji is not media; the
    caller passes False for them, so a sticker alone counts as noise. Only the obvious is
    caught: any message with two or more letters or digits («спасибо», «ок») is kept.
    """
    if has_media:
        return False
    meaningful = 0
    for char in text:
        if unicodedata.category(char)[0] in "LN":
            meaningful += 1
            if meaningful > 1:
                return False
    return True
