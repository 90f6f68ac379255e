"""Routing: which thematic block, priority and SLA policy a citizen's message gets.

Pure: no I/O, no clock. Order of decisions, from the config:

1. ``routing.rules`` in order; the first rule whose every given condition holds
   (``source``, ``author``, ``keyword`` are ANDed) is *the* rule, later rules are not
   looked at. A rule sets whichever of ``block``, ``priority``, ``policy`` it names; what
   it leaves out is decided below as if there were no rule (so a rule with only
   ``priority = "fast"`` fast-tracks the governor's page while keywords still pick the
   block).
2. Block: the rule's block, else the block with the strongest evidence, else
   ``config.default_block``. Every block's keywords found in the text are weighed
   (see *Scoring*); a tie between the best two, or evidence too weak, goes to the
   default block — a coordinator re-routes a card from «Прочее» more readily than from
   a confidently wrong block.
3. Priority: the rule's priority if it names one (an explicit ``"normal"`` demotes a
   source whose posts are full of «авария» news), else ``fast`` when a
   ``routing.fast_track_keywords`` keyword is in the text, else ``normal``.
4. Policy: the rule's policy, else ``sla.fast_track_policy`` when fast, else
   ``sla.default_policy``.

Matching. Keywords match by lemma (pymorphy3), case- and ё-insensitively: «отопления»
matches «отопление»; a multi-word keyword («управляющая компания») matches the same
lemmas as consecutive words. Block keywords (and the watch keywords of VK publics) also
match their word family and misspellings (:mod:`bot.domain.morphology`): «дорожный»
is evidence for «дорога», «подезд» for «подъезд». Fast-track and rule keywords match
exactly: they change deadlines, so they must mean what they say. Where keywords overlap
in the text, the longest wins («выгребная яма» is not a road's «яма»).

Scoring. A keyword found adds to its block's score:

* 1 for a word, ``PHRASE`` for a phrase of several words (more specific);
* divided by the number of blocks listing that keyword («снег» in ЖКХ and in roads
  weighs half in each, so «во дворе» or «на дороге» decides);
* times ``FAMILY`` / ``TYPO`` when matched through a derived form or a misspelling;
* times ``LANDMARK`` inside a location phrase («у школы», «возле остановки», «около
  детского сада», «в районе рынка»): the place where something is, not what is wrong;
  times ``PLACE`` after «в»/«на» («в детском саду нет отопления»: the heating is the
  subject, the kindergarten the place); times ``SUBJECT`` after «нет» (what is missing
  is what the complaint is about);
* times ``WEAK`` for a block's ``weak_keywords`` («машина», «квартира»);
* a keyword found again adds ``REPEAT`` of its weight (how often matters less than how
  many different keywords agree).

The best block wins when its score reaches ``MIN_SCORE`` and leads the second by more
than ``TIE_MARGIN``; otherwise the default block. A rule's ``source``/``author`` matches
the message's exactly, or as a platform prefix: ``"vk"`` matches every ``"vk:…"`` source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from bot.config import Config, RoutingRule
from bot.domain.morphology import Families, is_noun_lemma
from bot.domain.text import fold, keyword_lemmas, lemmas, morph, words

NORMAL = "normal"
FAST = "fast"

PHRASE = 1.5
FAMILY = 0.8
TYPO = 0.8
LANDMARK = 0.3
PLACE = 0.8
SUBJECT = 1.5
WEAK = 0.5
REPEAT = 0.2
MIN_SCORE = 0.5
TIE_MARGIN = 0.05

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


@dataclass(frozen=True)
class Message:
    """What routing sees of an incoming message."""

    text: str
    source: str  # "vk:100001", "tg:-1001000000002", "tg:private", "portal", "pos", ...
    author: str  # "vk:500101", "tg:2001"


class Evidence(NamedTuple):
    """One keyword of a block found in a message, and what it added to the score."""

    block: str
    term: str  # the keyword as written in the config
    found: str  # the message's words that matched (folded)
    weight: float
    notes: tuple[str, ...] = ()  # "phrase", "family", "typo", "landmark", "place", ...
    count: int = 1


class BlockScore(NamedTuple):
    block: str
    score: float
    evidence: tuple[Evidence, ...]  # strongest first


class Reason(NamedTuple):
    """Why the block was chosen, as data: the card renders it in Russian, ``route`` in
    English. ``kind``: "terms" (keywords of ``block`` won), "rule" (``routing.rules[rule]``
    named the block), "tie" (``rivals`` scored alike), "weak" (``terms`` of ``rivals[0]``
    were too weak), "none" (no keyword at all)."""

    kind: str
    block: str
    terms: tuple[str, ...] = ()
    rule: int | None = None
    rivals: tuple[str, ...] = ()

    def to_detail(self) -> str:
        """The compact JSON stored with the incident's "created" event."""
        data: dict[str, object] = {"kind": self.kind, "block": self.block}
        if self.terms:
            data["terms"] = list(self.terms)
        if self.rule is not None:
            data["rule"] = self.rule
        if self.rivals:
            data["rivals"] = list(self.rivals)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_detail(cls, detail: str | None) -> Reason | None:
        """The reason stored by :meth:`to_detail`; None for anything else (old rows)."""
        if not detail or not detail.startswith("{"):
            return None
        try:
            data = json.loads(detail)
            return cls(
                kind=str(data["kind"]),
                block=str(data["block"]),
                terms=tuple(str(t) for t in data.get("terms", ())),
                rule=int(data["rule"]) if data.get("rule") is not None else None,
                rivals=tuple(str(r) for r in data.get("rivals", ())),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Route:
    """The decision, with the reasons a coordinator can read on a card or in ``route``."""

    block: str
    priority: str  # "normal" | "fast"
    policy: str  # a name in config.sla.policies
    rule: str  # what chose the block, in English: "keyword «труба» (block ЖКХ)", ...
    fast_rule: str | None  # what made it fast track, if anything
    policy_rule: str | None = None  # the rule that named the policy; None = from priority
    reason: Reason | None = field(default=None, compare=False)
    # every block, best first; the others' evidence and the notes only when explaining
    scores: tuple[BlockScore, ...] = field(default=(), compare=False)


# -- keyword matching -------------------------------------------------------------------

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
        if word in SUBJECT_WORDS:
            self.marker = 3
        elif word in LANDMARK_WORDS:
            self.marker = 2
        elif word in PLACE_WORDS:
            self.marker = 1
        else:
            self.marker = 0
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


_PLACE_NOTES = {LANDMARK: "landmark", PLACE: "place", SUBJECT: "subject"}


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


# -- the router -------------------------------------------------------------------------


def _id_matches(wanted: str, actual: str) -> bool:
    return actual == wanted or (":" not in wanted and actual.startswith(wanted + ":"))


def describe_rule(number: int, rule: RoutingRule) -> str:
    """«rule routing.rules[0]: source vk:100002»: the config path, then the conditions."""
    conditions = []
    if rule.source is not None:
        conditions.append(f"source {rule.source}")
    if rule.author is not None:
        conditions.append(f"author {rule.author}")
    if rule.keyword is not None:
        conditions.append(f"keyword «{rule.keyword}»")
    return f"rule routing.rules[{number}]: {', '.join(conditions)}"


def describe_reason(reason: Reason, scores: Sequence[BlockScore], rule_text: str = "") -> str:
    """The English line ``route`` prints after «matched:» (and the incident stores)."""
    kind = reason.kind
    if kind == "rule":
        return rule_text
    if kind == "none":
        return "default block (no keyword)"
    if kind == "terms":
        own = scores[0]
        terms = ", ".join([f"«{e.term}»" for e in own.evidence])
        label = "keyword" if len(own.evidence) == 1 else "keywords"
        text = f"{label} {terms} (block {own.block}, score {own.score:.2f}"
        if len(scores) > 1 and scores[1].score > 0:
            text += f"; next {scores[1].block} {scores[1].score:.2f}"
        return text + ")"
    by_block = {s.block: s for s in scores}
    if kind == "tie":
        tied = " = ".join(f"{b} {by_block[b].score:.2f}" for b in reason.rivals)
        return f"default block (tie: {tied})"
    best = by_block[reason.rivals[0]]
    return f"default block (weak evidence: {best.block} {best.score:.2f} < {MIN_SCORE:.2f})"


_FAST_TAG: Tag = ("fast", 0)


def _by_weight(evidence: Evidence) -> float:
    return -evidence.weight




class Router:
    """Routes messages for one config; build once (keyword lemmas are computed here)."""

    def __init__(self, config: Config):
        self._blocks = [block.name for block in config.blocks]
        self._default = config.default_block.name
        self._default_number = self._blocks.index(self._default)
        self._default_policy = config.sla.default_policy
        self._fast_policy = config.sla.fast_track_policy
        self._rules = list(enumerate(config.routing.rules))
        self._descriptions = [describe_rule(i, rule) for i, rule in self._rules]
        entries: list[tuple[str, Tag]] = []
        weak: set[int] = set()  # entry numbers of weak keywords
        for number, block in enumerate(config.blocks):
            listed: set[tuple[frozenset[str], ...]] = set()  # a word listed twice counts once
            for keywords, is_weak in ((block.keywords, False), (block.weak_keywords, True)):
                for keyword in keywords:
                    phrase = compile_keyword(keyword)
                    if phrase in listed:
                        continue
                    listed.add(phrase)
                    if is_weak:
                        weak.add(len(entries))
                    entries.append((keyword, ("block", number)))
        entries.extend((keyword, _FAST_TAG) for keyword in config.routing.fast_track_keywords)
        for number, rule in self._rules:
            if rule.keyword is not None:
                entries.append((rule.keyword, ("rule", number)))
        self._index = KeywordIndex(entries)
        # a keyword listed by several blocks is weaker evidence for each of them
        owners: dict[tuple[frozenset[str], ...], set[int]] = {}
        for phrase, _, tag in self._index.entries:
            if tag[0] == "block":
                owners.setdefault(phrase, set()).add(tag[1])
        # per keyword: its base weight and the notes that explain it
        self._meta: list[tuple[float, tuple[str, ...]]] = []
        for number, (phrase, _, tag) in enumerate(self._index.entries):
            base = PHRASE if len(phrase) > 1 else 1.0
            notes: tuple[str, ...] = ("phrase",) if len(phrase) > 1 else ()
            if self._index.given[number] in weak:
                base *= WEAK
                notes += ("weak",)
            if tag[0] == "block" and len(owners[phrase]) > 1:
                base /= len(owners[phrase])
                notes += (f"in {len(owners[phrase])} blocks",)
            self._meta.append((base, notes))
        self._nothing_by_number = [BlockScore(name, 0.0, ()) for name in self._blocks]
        self._nothing = tuple(self._nothing_by_number)

    # -- block scoring ------------------------------------------------------------------

    @staticmethod
    def _block_hits(hits: list[Hit]) -> list[Hit]:
        """Block keyword hits, a shorter one dropped where a longer one covers its words."""
        block_hits = [h for h in hits if h.tag[0] == "block"]
        phrases = [h for h in block_hits if h.end - h.position > 1]
        if not phrases:
            return block_hits  # single words never cover one another
        kept = []
        for hit in block_hits:
            length = hit.end - hit.position
            for other in phrases:
                if (other.end - other.position > length and other.position < hit.end
                        and hit.position < other.end):
                    break
            else:
                kept.append(hit)
        return kept

    def score(self, infos: Sequence[WordInfo], hits: list[Hit],
              explain: bool = True) -> list[BlockScore]:
        """Every block's score, best first (config order among equals), with its evidence:
        every block's, with the words found and the notes, when ``explain``; else only the
        best block's keywords and weights (all the decision needs)."""
        block_hits = self._block_hits(hits)
        if not block_hits:
            return list(self._nothing)
        # keyword entry → [best weight, its hit, its place factor, sum of weights, count]
        found: dict[int, list] = {}
        meta = self._meta
        scopes: dict[int, tuple[int, float]] = {}
        for hit in block_hits:
            weight = meta[hit.entry][0]
            if hit.how is not None:
                weight *= FAMILY if hit.how == "family" else TYPO
            # a phrase's location scope holds its first word
            place = location_weight(infos, hit.position, scopes) if hit.position else 1.0
            weight *= place
            seen = found.get(hit.entry)
            if seen is None:
                found[hit.entry] = [weight, hit, place, weight, 1]
            else:
                if weight > seen[0]:
                    seen[0], seen[1], seen[2] = weight, hit, place
                seen[3] += weight
                seen[4] += 1
        totals = [0.0] * len(self._blocks)
        for best, hit, _, summed, _ in found.values():
            totals[hit.tag[1]] += best + REPEAT * (summed - best)
        order = sorted(range(len(totals)), key=totals.__getitem__, reverse=True)  # stable
        scores: list[BlockScore] = []
        for rank, number in enumerate(order):
            total = totals[number]
            if total == 0 or (rank and not explain):
                scores.append(BlockScore(self._blocks[number], total, ()) if total
                              else self._nothing_by_number[number])
                continue
            name = self._blocks[number]
            evidence = []
            for best, hit, place, summed, count in found.values():
                if hit.tag[1] != number:
                    continue
                if not explain:  # the terms and weights are all the decision needs
                    evidence.append(Evidence(name, hit.keyword, "",
                                             best + REPEAT * (summed - best), (), count))
                    continue
                notes = meta[hit.entry][1]
                if hit.how is not None:
                    notes += (hit.how,)
                if place != 1:
                    notes += (_PLACE_NOTES[place],)
                if hit.end - hit.position == 1:
                    text = infos[hit.position].word
                else:
                    text = " ".join([infos[p].word for p in range(hit.position, hit.end)])
                evidence.append(Evidence(name, hit.keyword, text,
                                         best + REPEAT * (summed - best), notes, count))
            if len(evidence) > 1:
                evidence.sort(key=_by_weight)
            scores.append(BlockScore(name, total, tuple(evidence)))
        return scores

    def decide(self, scores: Sequence[BlockScore]) -> Reason:
        """The block the scores point to, or the default block and why."""
        best = scores[0]
        if best.score <= 0:
            return Reason("none", self._default)
        if best.block == self._default:
            return Reason("terms", best.block, tuple(e.term for e in best.evidence[:3]))
        if len(scores) > 1 and best.score - scores[1].score <= TIE_MARGIN:
            rivals = tuple(s.block for s in scores
                           if best.score - s.score <= TIE_MARGIN)
            return Reason("tie", self._default, rivals=rivals)
        if best.score < MIN_SCORE:
            return Reason("weak", self._default, tuple(e.term for e in best.evidence[:3]),
                          rivals=(best.block,))
        return Reason("terms", best.block, tuple(e.term for e in best.evidence[:3]))

    # -- the whole decision ---------------------------------------------------------------

    @staticmethod
    def _names(text: str, infos: Sequence[WordInfo], hits: list[Hit]) -> list[Hit]:
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

    def route(self, message: Message, explain: bool = False) -> Route:
        """The decision; ``explain`` keeps every block's evidence in ``Route.scores``
        (else only the chosen block's, which is all a card needs)."""
        infos = self._index.analyse(message.text)
        hits = self._index.hits(infos)
        if hits:
            hits = self._names(message.text, infos, hits)
        rule_keywords: set[int] = set()
        fast_hit: Hit | None = None
        for hit in hits:  # text order
            kind, number = hit.tag
            if kind == "rule":
                rule_keywords.add(number)
            elif kind == "fast":
                fast_hit = fast_hit or hit

        chosen: tuple[int, RoutingRule] | None = None
        for number, rule in self._rules:
            if rule.source is not None and not _id_matches(rule.source, message.source):
                continue
            if rule.author is not None and not _id_matches(rule.author, message.author):
                continue
            if rule.keyword is not None and number not in rule_keywords:
                continue
            chosen = (number, rule)
            break

        rule = chosen[1] if chosen else None
        described = self._descriptions[chosen[0]] if chosen else ""

        scores = self.score(infos, hits, explain)
        if rule is not None and rule.block is not None:
            reason = Reason("rule", rule.block, rule=chosen[0] if chosen else None)
        else:
            reason = self.decide(scores)
        block = reason.block
        why_block = describe_reason(reason, scores, described)

        if rule is not None and rule.priority is not None:
            priority = rule.priority
            fast_rule = described if priority == FAST else None
        elif fast_hit is not None:
            priority, fast_rule = FAST, f"keyword «{fast_hit.keyword}»"
        else:
            priority, fast_rule = NORMAL, None

        if rule is not None and rule.policy is not None:
            policy, policy_rule = rule.policy, described
        else:
            policy = self._fast_policy if priority == FAST else self._default_policy
            policy_rule = None

        return Route(block, priority, policy, why_block, fast_rule, policy_rule, reason,
                     tuple(scores))
