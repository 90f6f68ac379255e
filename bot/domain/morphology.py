"""Word families and misspellings for routing: «дорожный» belongs to «дорога».

Pure: no I/O, no clock. pymorphy3 gives lemmas but no word formation, so a family is
found by Russian derivation rules instead of a hand list per word:

* a noun keyword's stem is its lemma without the ending (дорог-а, школ-а, мусор);
* a derived word is the stem (after the usual consonant alternations г→ж, к→ч, х→ш,
  ц→ч, with the fleeting о/е of «остановок») followed by a *derivational* suffix and an
  ending: -н-/-ов-/-ск-/-онн- adjectives (дорож-н-ый, асфальт-ов-ый, остановоч-н-ый) and
  -ник/-щик/-ниц-/-ер nouns of people (школь-ник, мусор-щик, лифт-ер);
* or a loanword's verb and its noun (асфальт-ировать, газ-ификация);
* or a compound: the stem, a linking о/е and another noun or adjective (мусор-о-провод,
  вод-о-канал, асфальт-о-бетонный).

What is deliberately *not* a family member: the same stem with only an ending
(«дорогой» is not «дорога»), diminutives (-к-, -ок, -ик: «трубка» is the telephone's),
verb-derived words (-итель, -ить: «водитель» is not «вода») and a compound whose second
part is no noun or plain adjective («светофор»: «фор» is no word, so it stays out of
«свет»'s family; «дорогостоящий» ends in a participle; «совет» never shares the stem).
A word that *is* a keyword is matched as itself, never as another keyword's relative,
and the longest stem wins («светофорный» → «светофор»).

Misspellings: a word the dictionary does not know («подезд», «отапление», «асвальт»)
matches a keyword lemma at edit distance one (a letter missing, extra, wrong, or two
swapped), for lemmas of five letters or more — short words have too many neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from bot.domain.text import fold, morph

# the inflexion a noun lemma ends with; the rest is its stem
_NOUN_ENDINGS = ("ия", "ие", "ья", "ье", "а", "я", "о", "е", "ь", "й", "ы", "и")
_ALTERNATIONS = {"г": "ж", "к": "ч", "х": "ш", "ц": "ч"}
_ADJ_SUFFIXES = ("н", "ьн", "ен", "енн", "онн", "очн", "ечн", "ов", "ев", "ск", "ьск", "еск",
                 "овск")
_ADJ_ENDINGS = ("ый", "ий", "ой")
# people and things named after the noun: школьник, мусорщик, лифтёр (folded: лифтер)
_NOUN_SUFFIXES = ("ник", "ьник", "ница", "ьница", "щик", "щица", "ер")
# doing what the noun names, a loanword's verbs: асфальтировать, газифицировать
_VERB_SUFFIXES = ("ировать", "ирование", "ировка", "ифицировать", "ификация")
# what may follow a stem in a derived lemma
DERIVED_REMAINDERS = frozenset(
    [s + e for s in _ADJ_SUFFIXES for e in _ADJ_ENDINGS] + list(_NOUN_SUFFIXES)
    + list(_VERB_SUFFIXES)
)
MIN_STEM = 3  # «вод» (вода) has a family: водный, водоканал; «ям» has none
MIN_TYPO = 5  # edit distance one is safe only for longer words
_LINKS = ("о", "е")
_MIN_COMPOUND_TAIL = 3


@lru_cache(maxsize=4096)
def is_noun_lemma(word: str) -> bool:
    """True when ``word`` is itself the dictionary form of a known noun («провод»)."""
    analyser = morph()
    if not analyser.word_is_known(word):
        return False
    return any(p.tag.POS == "NOUN" and fold(p.normal_form) == word for p in analyser.parse(word))


@lru_cache(maxsize=4096)
def is_compound_tail(word: str) -> bool:
    """A noun («провод») or a plain adjective («бетонный») in dictionary form: what may
    follow a stem and a linking vowel. Not a participle: «дорогостоящий» is not a road's."""
    if is_noun_lemma(word):
        return True
    analyser = morph()
    if not analyser.word_is_known(word):
        return False
    parses = analyser.parse(word)
    return (any(p.tag.POS == "ADJF" and fold(p.normal_form) == word for p in parses)
            and not any(p.tag.POS in ("PRTF", "VERB", "INFN") for p in parses))


def noun_stems(lemma: str) -> set[str]:
    """The stems a noun lemma's derived words may start with.

    «дорога» → {дорог, дорож}; «остановка» → {остановк, остановоч, остановеч}.
    """
    stem = lemma
    for ending in _NOUN_ENDINGS:
        if lemma.endswith(ending):
            stem = lemma[: -len(ending)]
            break
    if len(stem) < MIN_STEM:
        return set()
    found = {stem}
    last = stem[-1]
    if last in _ALTERNATIONS:
        changed = _ALTERNATIONS[last]
        found.add(stem[:-1] + changed)
        if len(stem) >= 2 and stem[-2] not in "аеиоуыэюя":  # остановк → остановоч
            found.update(stem[:-1] + vowel + changed for vowel in _LINKS)
    return found


class Families:
    """Which keyword lemma a text lemma derives from, for one vocabulary.

    Built once per router from its keywords' lemmas; ``parent`` is cached per lemma, so
    a running process pays the derivation analysis once per word form it sees.
    """

    def __init__(self, keyword_lemmas: Iterable[str], nouns: Iterable[str],
                 spelt: Iterable[str] = ()):
        """``keyword_lemmas``: lemmas that are keywords themselves (never relatives);
        ``nouns``: those whose families are found; ``spelt``: every lemma a misspelling
        may stand for (the words of phrases too)."""
        self.exact = frozenset(keyword_lemmas)
        self._spelt = self.exact | frozenset(spelt)
        self._stems: dict[str, str] = {}
        # shorter lemmas first, so a longer keyword's stem overrides: a stem names one lemma
        for lemma in sorted(set(nouns), key=len):
            for stem in noun_stems(lemma):
                self._stems.setdefault(stem, lemma)
        self._deletions: dict[str, set[str]] = {}
        for lemma in self._spelt:
            if len(lemma) >= MIN_TYPO and " " not in lemma:
                for variant in _deletions(lemma):
                    self._deletions.setdefault(variant, set()).add(lemma)
        self._parents: dict[str, str | None] = {}

    def parent(self, lemma: str) -> str | None:
        """The keyword lemma ``lemma`` is derived from, or None (longest stem wins)."""
        if lemma in self._parents:
            return self._parents[lemma]
        found = None
        if lemma not in self.exact:
            for cut in range(len(lemma) - 1, MIN_STEM - 1, -1):
                parent = self._stems.get(lemma[:cut])
                if parent is None or parent == lemma:
                    continue
                rest = lemma[cut:]
                if rest in DERIVED_REMAINDERS or (
                    rest[0] in _LINKS
                    and len(rest) > _MIN_COMPOUND_TAIL
                    and is_compound_tail(rest[1:])
                ):
                    found = parent
                    break
        if len(self._parents) > 50_000:
            self._parents.clear()
        self._parents[lemma] = found
        return found

    def misspelt(self, lemma: str) -> set[str]:
        """Keyword lemmas at edit distance one from an unknown word's lemma."""
        if len(lemma) < MIN_TYPO or lemma in self._spelt:
            return set()
        found: set[str] = set()
        for variant in (lemma, *_deletions(lemma)):
            found.update(self._deletions.get(variant, ()))
        return {word for word in found if _distance_one(lemma, word)}


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | {word}


def _distance_one(a: str, b: str) -> bool:
    """Damerau–Levenshtein distance of exactly one (the deletion index over-matches)."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(long)):
        if long[:i] + long[i + 1 :] == short:
            return True
    return False
