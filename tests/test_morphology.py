"""Word families and misspellings, the pure helpers under routing's keyword matching."""

from __future__ import annotations

import pytest

from bot.domain.morphology import Families, _distance_one, noun_stems

KEYWORDS = ["дорога", "школа", "мусор", "остановка", "асфальт", "свет", "светофор", "вода",
            "труба", "газ", "подъезд", "лифт", "двор", "снег", "учитель", "яма"]


@pytest.fixture(scope="module")
def families() -> Families:
    return Families(KEYWORDS, KEYWORDS)


def test_noun_stems_with_alternations() -> None:
    assert noun_stems("дорога") == {"дорог", "дорож"}
    assert noun_stems("остановка") == {"остановк", "остановч", "остановоч", "остановеч"}
    assert noun_stems("мусор") == {"мусор"}
    assert noun_stems("яма") == set()  # «ям»: too short to have a family


@pytest.mark.parametrize(
    ("word", "parent"),
    [
        ("дорожный", "дорога"), ("дорожник", "дорога"), ("школьник", "школа"),
        ("школьный", "школа"), ("школьница", "школа"), ("мусорный", "мусор"),
        ("мусоропровод", "мусор"), ("мусорщик", "мусор"), ("остановочный", "остановка"),
        ("асфальтовый", "асфальт"), ("световой", "свет"), ("светофорный", "светофор"),
        ("водопровод", "вода"), ("водоснабжение", "вода"), ("трубопровод", "труба"),
        ("газовый", "газ"), ("подъездный", "подъезд"), ("лифтер", "лифт"),
        ("дворовый", "двор"), ("дворник", "двор"), ("снежный", "снег"),
        ("учительница", "учитель"), ("учительский", "учитель"),
        ("асфальтировать", "асфальт"), ("асфальтирование", "асфальт"), ("газификация", "газ"),
        ("асфальтобетонный", "асфальт"), ("снегоуборочный", "снег"), ("мусоровоз", "мусор"),
    ],
)
def test_derived_words_find_their_keyword(families: Families, word: str, parent: str) -> None:
    assert families.parent(word) == parent


@pytest.mark.parametrize(
    "word",
    ["дорогой", "дорожка", "дорогостоящий", "совет", "светлый", "водитель", "водка",
     "трубка", "газон", "газета", "ямочный", "светофор", "школа"],
)
def test_false_friends_and_keywords_themselves_have_no_parent(families: Families,
                                                              word: str) -> None:
    assert families.parent(word) is None


def test_without_the_longer_keyword_a_compound_still_needs_a_noun_tail() -> None:
    families = Families(["свет"], ["свет"])
    assert families.parent("светофор") is None  # «фор» is no noun
    assert families.parent("световой") == "свет"


@pytest.mark.parametrize(
    ("word", "found"),
    [("подезд", {"подъезд"}), ("подьезд", {"подъезд"}), ("асвальт", {"асфальт"}),
     ("учитль", {"учитель"}), ("светофорр", {"светофор"}), ("усчитель", {"учитель"}),
     ("дорога", set()), ("шкла", set()), ("подезды", set())],
)
def test_misspellings_at_distance_one(families: Families, word: str, found: set[str]) -> None:
    assert families.misspelt(word) == found


@pytest.mark.parametrize(
    ("a", "b", "one"),
    [("подъезд", "подьезд", True), ("асфальт", "асвальт", True), ("лифт", "лифтт", True),
     ("учитель", "учтиель", True), ("дорога", "дорога", False), ("дорога", "дарогаа", False),
     ("ab", "ba", True), ("abc", "cab", False)],
)
def test_distance_one(a: str, b: str, one: bool) -> None:
    assert _distance_one(a, b) is one
