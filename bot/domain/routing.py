"""Routing: which thematic block, priority and SLA policy a citizen's message gets.

Pure: no I/O, no clock. Order of decisions, from the config:

1. ``routing.rules`` in order; the first rule whose every given condition holds
   (``source``, ``author``, ``keyword`` are ANDed) is *the* rule, later rules are not
   looked at. A rule sets whichever of ``block``, ``priority``, ``policy`` it names; what
   it leaves out is decided below as if there were no rule (so a rule with only
   ``priority = "fast"`` fast-tracks the governor's page while keywords still pick the
   block).
2. Block: the rule's block, else the first block in config order with a keyword in the
   text (the earliest such keyword in the text is the one reported), else
   ``config.default_block``.
3. Priority: the rule's priority if it names one (an explicit ``"normal"`` demotes a
   source whose posts are full of «авария» news), else ``fast`` when a
   ``routing.fast_track_keywords`` keyword is in the text, else ``normal``.
4. Policy: the rule's policy, else ``sla.fast_track_policy`` when fast, else
   ``sla.default_policy``.

Keywords match by lemma (pymorphy3), case- and ё-insensitively: «отопления» matches
«отопление», «ямы» matches «яма»; a multi-word keyword («управляющая компания») matches
the same lemmas as consecutive words. A rule's ``source``/``author`` matches the
message's exactly, or as a platform prefix: ``"vk"`` matches every ``"vk:…"`` source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.config import Config, RoutingRule
from bot.domain.text import keyword_lemmas, lemmas, words

NORMAL = "normal"
FAST = "fast"


@dataclass(frozen=True)
class Message:
    """What routing sees of an incoming message."""

    text: str
    source: str  # "vk:100001", "tg:-1001000000002", "tg:private", "portal", "pos", ...
    author: str  # "vk:500101", "tg:2001"


@dataclass(frozen=True)
class Route:
    """The decision, with the reasons a coordinator can read on a card or in ``route``."""

    block: str
    priority: str  # "normal" | "fast"
    policy: str  # a name in config.sla.policies
    rule: str  # what chose the block: "keyword «труба» (block ЖКХ)", "default block", ...
    fast_rule: str | None  # what made it fast track, if anything
    policy_rule: str | None = None  # the rule that named the policy; None = from priority


# -- keyword matching -------------------------------------------------------------------

Lemmas = Sequence[frozenset[str]]
# whose keyword: ("block", block number), ("fast", 0), ("rule", rule number), ("watch", 0)
Tag = tuple[str, int]


def analyse(text: str) -> list[frozenset[str]]:
    """The lemma sets of a text's words, in order: computed once per message."""
    return [lemmas(word) for word in words(text)]


def compile_keyword(keyword: str) -> tuple[frozenset[str], ...]:
    """A keyword as the sequence of lemma sets its words must match."""
    return tuple(keyword_lemmas(word) for word in words(keyword))


@dataclass(frozen=True)
class Hit:
    position: int  # index of the first matched word in the text
    keyword: str  # as written in the config
    tag: Tag  # whose keyword it is


class KeywordIndex:
    """Many keywords, found in one pass over a text's lemmas.

    Indexed by every lemma of a keyword's first word, so a message costs one dict
    look-up per lemma of each of its words, however many keywords there are.
    """

    def __init__(self, entries: Iterable[tuple[str, Tag]]):
        self._entries: list[tuple[tuple[frozenset[str], ...], str, Tag]] = []
        self._by_first: dict[str, list[int]] = {}
        for keyword, tag in entries:
            phrase = compile_keyword(keyword)
            if not phrase:
                continue  # "!!!" has no words and cannot match anything
            number = len(self._entries)
            self._entries.append((phrase, keyword, tag))
            for lemma in phrase[0]:
                self._by_first.setdefault(lemma, []).append(number)

    def hits(self, text_lemmas: Lemmas) -> list[Hit]:
        """Every keyword occurrence, in text order (same position: config order)."""
        found: list[Hit] = []
        by_first = self._by_first
        total = len(text_lemmas)
        for position, word_lemmas in enumerate(text_lemmas):
            candidates: set[int] | None = None
            for lemma in word_lemmas:
                numbers = by_first.get(lemma)
                if numbers:
                    candidates = set(numbers) if candidates is None else candidates | set(numbers)
            if not candidates:
                continue
            for number in sorted(candidates):
                phrase, keyword, tag = self._entries[number]
                end = position + len(phrase)
                if end > total:
                    continue
                if all(phrase[k] & text_lemmas[position + k] for k in range(1, len(phrase))):
                    found.append(Hit(position, keyword, tag))
        return found

    def first(self, text_lemmas: Lemmas) -> Hit | None:
        found = self.hits(text_lemmas)
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
    hit = _index_for(tuple(keywords)).first(analyse(text))
    return hit.keyword if hit else None


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


_FAST_TAG: Tag = ("fast", 0)


class Router:
    """Routes messages for one config; build once (keyword lemmas are computed here)."""

    def __init__(self, config: Config):
        self._blocks = [block.name for block in config.blocks]
        self._default = config.default_block.name
        self._default_policy = config.sla.default_policy
        self._fast_policy = config.sla.fast_track_policy
        self._rules = list(enumerate(config.routing.rules))
        self._descriptions = [describe_rule(i, rule) for i, rule in self._rules]
        entries: list[tuple[str, Tag]] = []
        for number, block in enumerate(config.blocks):
            entries.extend((keyword, ("block", number)) for keyword in block.keywords)
        entries.extend((keyword, _FAST_TAG) for keyword in config.routing.fast_track_keywords)
        for number, rule in self._rules:
            if rule.keyword is not None:
                entries.append((rule.keyword, ("rule", number)))
        self._index = KeywordIndex(entries)

    def route(self, message: Message) -> Route:
        hits = self._index.hits(analyse(message.text))
        rule_keywords: set[int] = set()
        fast_hit: Hit | None = None
        block_hit: Hit | None = None
        for hit in hits:  # text order
            kind, number = hit.tag
            if kind == "rule":
                rule_keywords.add(number)
            elif kind == "fast":
                fast_hit = fast_hit or hit
            elif block_hit is None or number < block_hit.tag[1]:
                block_hit = hit

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

        if rule is not None and rule.block is not None:
            block, why_block = rule.block, described
        elif block_hit is not None:
            block = self._blocks[block_hit.tag[1]]
            why_block = f"keyword «{block_hit.keyword}» (block {block})"
        else:
            block, why_block = self._default, "default block"

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

        return Route(block, priority, policy, why_block, fast_rule, policy_rule)
