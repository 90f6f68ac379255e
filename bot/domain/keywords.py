"""Keywords found in a text by lemma, word family and misspelling (pymorphy3).

Matching. Keywords match by lemma, case- and ё-insensitively: «отопления» matches
«отопление»; a multi-word keyword («управляющая компания») matches the same lemmas as
consecutive words. Block keywords (and the watch keywords of VK publics) also match their
word family and misspellings (:mod:`bot.domain.morphology`): «дорожный» is evidence for
«дорога», «подезд» for «подъезд». Fast-track and rule keywords match exactly: they
change deadlines, so they must mean what they say. Pure and cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from bot.domain.morphology import Families, is_noun_lemma
from bot.domain.places import marker_of
from bot.domain.text import fold, keyword_lemmas, lemmas, morph, words

# whose keyword: ("block", block number), ("fast", 0), ("rule", rule number), ("watch", 0)
Tag = tuple[str, int]
_EXACT_ONLY = frozenset(("fast", "rule"))
_NOUN_POS = frozenset(("NOUN",))
_ADJ_POS = frozenset(("ADJF", "PRTF", "NUMR", "ADJS"))


def analyse(text: str) -> list[frozenset[str]]:
    """The lemma sets of a text's words, in order."""
    return [lemmas(word) for word in words(text)]


def compile_keyword(keyword: str) -> tuple[frozenset[str], ...]:
    """A keyword as the sequence of lemma sets its words must match.

    A single word in dictionary form means that lemma only (see ``keyword_lemmas``); in a
    phrase every word stands for all its lemmas, so «детская площадка» also matches
    «детские площадки» (whose «детские» is only ever «детский»).
    """
    parts = words(keyword)
    if len(parts) == 1:
        return (keyword_lemmas(parts[0]),)
    return tuple(lemmas(word) | keyword_lemmas(word) for word in parts)


class WordInfo:
    """What the matcher knows of one word form; computed once per form and cached."""

    __slots__ = ("adj", "derived", "gen", "lemmas", "marker", "named", "noun", "starts",
                 "term", "word")

    def __init__(self, word: str, parses: Sequence[Any], lemma_set: frozenset[str],
                 derived: dict[str, str], starts: tuple[tuple[int, str | None], ...],
                 term: bool):
        self.word = word
        self.lemmas = lemma_set
        self.derived = derived  # keyword lemma → "family" | "typo", reached not by lemma
        self.starts = starts  # (entry number, None | "family" | "typo") of keywords starting here
        self.term = term  # some keyword word matches this word
        self.marker = marker_of(word)  # opens a location phrase? (bot.domain.places)
        self.named = False  # a keyword's full adjective: may be a street's name
        if word.isdigit():
            self.noun, self.gen, self.adj = False, False, True
        else:
            pos = {str(p.tag.POS) for p in parses}
            self.noun = bool(pos & _NOUN_POS)
            # the likeliest noun reading: «яма» could be the genitive of «ям», but is not
            nouns = [p for p in parses if p.tag.POS == "NOUN"]
            self.gen = bool(nouns) and nouns[0].tag.case in ("gent", "gen2")
            self.adj = bool(pos & _ADJ_POS)
            self.named = "ADJF" in pos and bool(starts)


class Hit(NamedTuple):
    position: int  # index of the first matched word in the text
    keyword: str  # as written in the config
    tag: Tag  # whose keyword it is
    end: int = 0  # index after the last matched word
    how: str | None = None  # None: by lemma; "family" | "typo"
    entry: int = 0  # the keyword's number in the index


class KeywordIndex:
    """Many keywords, found in one pass over a text.

    Indexed by every lemma of a keyword's first word; each word form of a message is
    analysed once (lemmas, family, misspelling, part of speech) and cached, so a
    message costs a dict look-up per word plus a check per keyword starting there.
    """

    CACHE_SIZE = 50_000

    def __init__(self, entries: Iterable[tuple[str, Tag]]):
        self._entries: list[tuple[tuple[frozenset[str], ...], str, Tag]] = []
        self.given: list[int] = []  # each entry's place in ``entries`` as given
        self._by_first: dict[str, list[int]] = {}
        keyword_words: set[str] = set()
        single_words: set[str] = set()  # a word that is a keyword is never another's relative
        single_nouns: set[str] = set()
        for given, (keyword, tag) in enumerate(entries):
            phrase = compile_keyword(keyword)
            if not phrase:
                continue  # "!!!" has no words and cannot match anything
            number = len(self._entries)
            self._entries.append((phrase, keyword, tag))
            self.given.append(given)
            for lemma in phrase[0]:
                self._by_first.setdefault(lemma, []).append(number)
            for lemma_set in phrase:
                keyword_words.update(lemma_set)
            if len(phrase) == 1:
                single_words.update(phrase[0])
            if tag[0] not in _EXACT_ONLY:
                single_nouns.update(lemma for lemma_set in phrase for lemma in lemma_set
                                    if is_noun_lemma(lemma))
        self._words = frozenset(keyword_words)
        self._single = frozenset(single_words)
        self._families = Families(single_words, single_nouns, keyword_words)
        self._cache: dict[str, WordInfo] = {}

    @property
    def entries(self) -> list[tuple[tuple[frozenset[str], ...], str, Tag]]:
        return self._entries

    def word(self, word: str) -> WordInfo:
        """The cached analysis of a folded word form."""
        info = self._cache.get(word)
        if info is not None:
            return info
        # one parse serves the lemmas, the part of speech and whether the word is known
        parses = () if word.isdigit() else morph().parse(word)
        lemma_set = frozenset((word,)) if not parses else frozenset(
            fold(p.normal_form) for p in parses)
        derived: dict[str, str] = {}
        if not lemma_set & self._single:
            for lemma in lemma_set:
                parent = self._families.parent(lemma)
                if parent is not None:
                    derived[parent] = "family"
            if (not derived and not lemma_set & self._words and parses
                    and not any(p.is_known for p in parses)):
                for lemma in lemma_set | {word}:
                    for near in self._families.misspelt(lemma):
                        derived.setdefault(near, "typo")
        starts: list[tuple[int, str | None]] = []
        seen: set[int] = set()
        for lemma in lemma_set:
            for number in self._by_first.get(lemma, ()):
                if number not in seen:
                    seen.add(number)
                    starts.append((number, None))
        for lemma, how in derived.items():
            for number in self._by_first.get(lemma, ()):
                if number not in seen and self._entries[number][2][0] not in _EXACT_ONLY:
                    seen.add(number)
                    starts.append((number, how))
        starts.sort()
        info = WordInfo(word, parses, lemma_set, derived, tuple(starts),
                        bool(lemma_set & self._words or derived))
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[word] = info
        return info

    def analyse(self, text: str) -> list[WordInfo]:
        cache = self._cache
        return [cache.get(w) or self.word(w) for w in words(text)]

    def hits(self, infos: Sequence[WordInfo]) -> list[Hit]:
        """Every keyword occurrence, in text order (same position: config order)."""
        found: list[Hit] = []
        total = len(infos)
        entries = self._entries
        for position, info in enumerate(infos):
            if not info.starts:
                continue
            for number, how in info.starts:
                phrase, keyword, tag = entries[number]
                if len(phrase) == 1:
                    found.append(Hit(position, keyword, tag, position + 1, how, number))
                    continue
                end = position + len(phrase)
                if end > total:
                    continue
                matched = True
                for k in range(1, len(phrase)):
                    other = infos[position + k]
                    if phrase[k] & other.lemmas:
                        continue
                    near = phrase[k] & other.derived.keys()
                    if not near or tag[0] in _EXACT_ONLY:
                        matched = False
                        break
                    how = how or other.derived[next(iter(near))]
                if matched:
                    found.append(Hit(position, keyword, tag, end, how, number))
        return found

    def first(self, text: str) -> Hit | None:
        found = self.hits(self.analyse(text))
        return found[0] if found else None


@lru_cache(maxsize=256)
def _index_for(keywords: tuple[str, ...]) -> KeywordIndex:
    return KeywordIndex((keyword, ("watch", 0)) for keyword in keywords)


def matches_any(text: str, keywords: Sequence[str]) -> str | None:
    """The first of ``keywords`` (earliest in the text) found in ``text``, or None.

    For the watch keywords of third-party VK publics; same morphology as block routing.
    """
    if not keywords:
        return None
    hit = _index_for(tuple(keywords)).first(text)
    return hit.keyword if hit else None
