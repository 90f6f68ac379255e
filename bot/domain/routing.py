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

Matching (:mod:`bot.domain.keywords`): by lemma, word family and misspelling; fast-track
and rule keywords exactly. Where keywords overlap in the text, the longest wins
(«выгребная яма» is not a road's «яма»).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from bot.config import Config, RoutingRule
from bot.domain.keywords import Hit, KeywordIndex, Tag, WordInfo, compile_keyword
from bot.domain.places import LANDMARK, PLACE, SUBJECT, location_weight, without_street_names

NORMAL = "normal"
FAST = "fast"

PHRASE = 1.5
FAMILY = 0.8
TYPO = 0.8
# LANDMARK, PLACE and SUBJECT: bot.domain.places, where the phrases that carry them are
WEAK = 0.5
REPEAT = 0.2
MIN_SCORE = 0.5
TIE_MARGIN = 0.05

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
_PLACE_NOTES = {LANDMARK: "landmark", PLACE: "place", SUBJECT: "subject"}


def _by_weight(evidence: Evidence) -> float:
    return -evidence.weight




class Router:
    """Routes messages for one config; build once (keyword lemmas are computed here)."""

    def __init__(self, config: Config, learned: dict[str, list[str]] | None = None):
        """``learned``: words the corrections taught, by block (``bot.domain.learning``);
        each weighs as a keyword and is noted «learned» in the explanation."""
        learned = learned or {}
        self._blocks = [block.name for block in config.blocks]
        self._default = config.default_block.name
        self._default_number = self._blocks.index(self._default)
        self._default_policy = config.sla.default_policy
        self._fast_policy = config.sla.fast_track_policy
        self._rules = list(enumerate(config.routing.rules))
        self._descriptions = [describe_rule(i, rule) for i, rule in self._rules]
        entries: list[tuple[str, Tag]] = []
        weak: set[int] = set()  # entry numbers of weak keywords
        taught: set[int] = set()  # entry numbers of learned words
        for number, block in enumerate(config.blocks):
            listed: set[tuple[frozenset[str], ...]] = set()  # a word listed twice counts once
            for keywords, kind in ((block.keywords, ""), (block.weak_keywords, "weak"),
                                   (learned.get(block.name, []), "learned")):
                for keyword in keywords:
                    phrase = compile_keyword(keyword)
                    if phrase in listed:
                        continue
                    listed.add(phrase)
                    if kind:
                        (weak if kind == "weak" else taught).add(len(entries))
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
            if self._index.given[number] in taught:
                notes += ("learned",)
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
            scores.append(BlockScore(name, total,
                                     self._evidence(name, number, found, infos, explain)))
        return scores

    def _evidence(self, name: str, number: int, found: dict[int, list], infos: Sequence[WordInfo],
                  explain: bool) -> tuple[Evidence, ...]:
        """The block's keywords found, strongest first: with the words and the notes that
        explain their weights when ``explain``, else only the terms and weights."""
        meta = self._meta
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
        return tuple(evidence)

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

    def route(self, message: Message, explain: bool = False) -> Route:
        """The decision; ``explain`` keeps every block's evidence in ``Route.scores``
        (else only the chosen block's, which is all a card needs)."""
        infos = self._index.analyse(message.text)
        hits = self._index.hits(infos)
        if hits:
            hits = without_street_names(message.text, infos, hits)
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
