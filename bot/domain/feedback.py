"""A citizen's word after the answer: a thank-you (or a plain «понятно») or a follow-up.

After publication the citizen often writes once more in the same thread: «Спасибо!»,
«👍», «Благодарю, всё сделали». That closes the loop — it is feedback, not a reason to
send the message back to the executor. A real follow-up («Спасибо, а когда
починят?», «Так и не включили») reopens as before.

Pure: no I/O, no clock; words are folded and lemmatised with ``bot.domain.text``. The
rule is deliberately narrow — a missed thank-you costs one needless reopening, a
swallowed complaint costs a citizen their answer:

* only short messages (at most ``MAX_WORDS`` words) are considered;
* a question mark, or a word of complaint, doubt or a new request («не», «но»,
  «когда», «опять», «почему», «ещё», …) makes it a follow-up;
* a thank-you needs a word of gratitude (спасибо, благодарю, благодарность, спс…) or a
  gratitude emoji (👍 🙏 ❤ 👏 …); it counts as satisfaction;
* a plain acknowledgement («понятно», «хорошо», «ок», «ясно», «+») closes the loop
  too, without counting as satisfaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.text import fold, lemmas, words

MAX_WORDS = 12  # a thank-you is short; anything longer is read as a message
MAX_CHARS = 200


class Kind(StrEnum):
    THANKS = "thanks"  # gratitude: counts as satisfaction
    ACK = "ack"  # «понятно», «ок»: the loop closes, nothing more is counted


@dataclass(frozen=True)
class Feedback:
    kind: Kind

    @property
    def satisfied(self) -> bool:
        return self.kind == Kind.THANKS


# lemmas of gratitude (pymorphy3's normal forms, folded) and the usual short spellings
_THANKS = frozenset({
    "спасибо", "спасибочки", "спасиб", "спс", "пасиб", "пасибо", "благодарить",
    "благодарность", "благодарный", "благодарю", "признательный", "мерси", "молодец",
    "отлично", "супер", "класс", "замечательно", "прекрасно",
})
_ACK = frozenset({
    "понятно", "понятный", "хорошо", "хороший", "ок", "окей", "ясно", "ясный", "ладно",
    "принято", "принять", "договориться", "угу", "ага", "да",
})
# words that make a short message more than thanks: a negation, a contrast, a question
# word, a repeat or a delay, a complaint
_FOLLOW_UP = frozenset({
    "не", "нет", "ни", "ничего", "никто", "никак", "но", "однако", "зато", "а",
    "когда", "почему", "зачем", "где", "как", "сколько", "куда", "кто", "ли",
    "опять", "снова", "ещё", "еще", "сих", "всё-таки", "всетаки",
    "жаль", "плохо", "ужасно", "безобразие", "отписка", "издеваться", "обман",
    "жалоба", "проблема", "просить", "надо", "нужно", "должный", "вернуть",
})
_THANKS_EMOJI = re.compile("[\U0001F44D\U0001F64F\u2764\U0001F44F\U0001F490\U0001F91D"
                           "\U0001F60A\u263A\U0001F970\U0001F496\U0001F49A\U0001F499"
                           "\U0001F603\U0001F604\U0001F642\U0001F4AA\U0001F339]")
_NEGATIVE_EMOJI = re.compile("[\U0001F44E\U0001F621\U0001F620\U0001F92C\U0001F61E"
                             "\U0001F622\U0001F62D\U0001F612\U0001F644\U0001F926]")


def classify(text: str) -> Feedback | None:
    """A thank-you or an acknowledgement, or None for anything to act on."""
    if len(text) > MAX_CHARS or "?" in text or _NEGATIVE_EMOJI.search(text):
        return None
    found = words(text)
    if len(found) > MAX_WORDS:
        return None
    forms = [lemmas(word) | {word} for word in found]
    if any(form & _FOLLOW_UP for form in forms):
        return None
    grateful = any(form & _THANKS for form in forms) or bool(_THANKS_EMOJI.search(text))
    if grateful:
        return Feedback(Kind.THANKS)
    if found and all(form & (_ACK | _THANKS) for form in forms):
        return Feedback(Kind.ACK)
    if not found and fold(text).strip() in ("+", "++", "+++", "👌"):
        return Feedback(Kind.ACK)
    return None
