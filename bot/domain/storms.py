"""Comment storms: when a message on a thread is about the same thing as an open group.

Pure: no I/O and no clock (times are given). 25 citizens writing «когда дадут воду?»,
«воды нет третий день», «где вода??» under one post are one problem and one incident;
«яма на дороге» under the same post is another.

A message's *topic* is the set of its content lemmas (pymorphy3's likeliest parse):
nouns, adjectives, verbs and participles, without numbers and without the words every
complaint shares (question words, «нет», «дать», days and weeks, «дом» of an address).
Two topics are compared by the overlap coefficient, |A ∩ B| / min(|A|, |B|): a short
«где вода??» fully inside a long «воды нет третий день, когда дадут воду» is the same
problem, which Jaccard's |A ∩ B| / |A ∪ B| would miss. A message joins a group when it
is within the window of the group's newest message and its best score against the
group's messages reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from bot.domain.text import morph, words

# parts of speech that carry what a message is about (pymorphy3's OpenCorpora tags)
_CONTENT = frozenset({"NOUN", "ADJF", "ADJS", "VERB", "INFN", "PRTF", "PRTS", "COMP"})
# what every complaint shares: asking, waiting, time, the address around the problem
GENERIC = frozenset({
    "быть", "мочь", "дать", "делать", "сделать", "стать", "начать", "сказать", "знать",
    "хотеть", "нет", "весь", "это", "который", "такой", "свой", "наш", "ваш", "мой",
    "день", "неделя", "месяц", "год", "час", "минута", "утро", "вечер", "ночь", "сутки",
    "сегодня", "вчера", "завтра", "раз", "дом", "улица", "квартира", "город", "район",
    "житель", "жилец", "человек", "люди", "администрация", "вопрос", "ответ", "проблема",
    "сколько", "когда", "где", "почему", "опять", "снова", "уже", "ещё", "еще", "очень",
    "добрый", "здравствовать", "спасибо", "пожалуйста", "подсказать", "сообщить",
    "самый", "другой", "новый", "каждый", "никакой", "какой", "долго",
})
MIN_LETTERS = 3  # «на», «во», «у» carry nothing even when mis-parsed as nouns


@lru_cache(maxsize=20_000)
def _content_lemma(word: str) -> str | None:
    if len(word) < MIN_LETTERS or any(ch.isdigit() for ch in word):
        return None
    parse = morph().parse(word)[0]
    tag = parse.tag
    if tag.POS not in _CONTENT or "Anum" in tag:
        return None
    lemma = parse.normal_form.replace("ё", "е")
    return None if lemma in GENERIC else lemma


@lru_cache(maxsize=4096)  # a storm's newest texts are compared with every newcomer
def topic(text: str) -> frozenset[str]:
    """The content lemmas of a message: what it is about."""
    return frozenset(lemma for word in words(text) if (lemma := _content_lemma(word)))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """The overlap coefficient of two topics, 0 when either says nothing."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@dataclass(frozen=True)
class StormRule:
    """The config's ``[storms]``: how close in time and in words a message must be."""

    window: timedelta
    threshold: float

    def score(self, text: str, group_texts: Iterable[str]) -> float:
        """The best similarity of ``text`` to any message of the group."""
        mine = topic(text)
        return max((similarity(mine, topic(other)) for other in group_texts), default=0.0)

    def joins(self, text: str, written_at: datetime, group_texts: Iterable[str],
              newest_at: datetime) -> bool:
        """Whether a message written at ``written_at`` joins a group whose newest
        message was written at ``newest_at``."""
        if written_at - newest_at > self.window or newest_at - written_at > self.window:
            return False
        return self.score(text, group_texts) >= self.threshold
