"""What the router learns from a coordinator's corrections («Сменить блок»).

A noun that keeps turning up in messages moved into one block becomes evidence for that
block: it was moved there at least ``min_times`` times, and at least ``min_share`` of the
corrected messages holding it went there (a word moved everywhere teaches nothing). A
word already a keyword of the block, a short word, and a word an admin took back are
never learned. Per municipality: the caller passes that municipality's corrections.

Pure: no I/O, no clock; the words are lemmas (pymorphy3), so «трубы», «трубу» and «труба»
are one word.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.morphology import is_noun_lemma
from bot.domain.text import fold, morph, words

MIN_TIMES = 3
MIN_SHARE = 0.75
MIN_LENGTH = 4  # «дом», «ул» say nothing of a block


@dataclass(frozen=True)
class Correction:
    text: str
    from_block: str
    to_block: str


@dataclass(frozen=True)
class Learned:
    """A word learned as evidence for a block, and how many corrections taught it."""

    word: str
    block: str
    times: int
    share: float


@lru_cache(maxsize=20_000)
def _noun(word: str) -> str | None:
    """The word's dictionary form if it is a noun, else None."""
    for parse in morph().parse(word):
        if parse.tag.POS == "NOUN":
            lemma = fold(parse.normal_form)
            return lemma if len(lemma) >= MIN_LENGTH and is_noun_lemma(lemma) else None
    return None


def nouns(text: str) -> frozenset[str]:
    """The distinct nouns of a text, in dictionary form."""
    found = (_noun(fold(word)) for word in words(text))
    return frozenset(w for w in found if w)


def learn(corrections: Sequence[Correction], known: dict[str, Iterable[str]] | None = None,
          unlearned: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
          min_times: int = MIN_TIMES, min_share: float = MIN_SHARE) -> list[Learned]:
    """The words the corrections teach, strongest first.

    ``known``: each block's keywords already configured (never learned again);
    ``unlearned``: (word, block) pairs an admin took back.
    """
    known_words = {block: {fold(k) for k in keywords} for block, keywords in
                   (known or {}).items()}
    per_block: dict[tuple[str, str], int] = {}
    per_word: dict[str, int] = {}
    for correction in corrections:
        if correction.from_block == correction.to_block:
            continue
        for word in nouns(correction.text):
            per_word[word] = per_word.get(word, 0) + 1
            key = (word, correction.to_block)
            per_block[key] = per_block.get(key, 0) + 1
    learned = []
    for (word, block), times in per_block.items():
        share = times / per_word[word]
        if times < min_times or share < min_share:
            continue
        if (word, block) in unlearned or word in known_words.get(block, set()):
            continue
        learned.append(Learned(word, block, times, round(share, 2)))
    learned.sort(key=lambda item: (-item.times, item.word))
    return learned


def as_keywords(learned: Iterable[Learned]) -> dict[str, list[str]]:
    """Learned words by block, as the router takes them."""
    result: dict[str, list[str]] = {}
    for item in learned:
        result.setdefault(item.block, []).append(item.word)
    return result
