"""Platform text limits: counting as Telegram does, refusing, splitting without loss."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.limits import (
    TG_CAPTION_MAX,
    TG_TEXT_MAX,
    VK_WALL_POST_MAX,
    PhotoPost,
    callback_data_fits,
    check_post,
    split_caption,
    split_text,
    telegram_len,
)


def test_telegram_len_counts_utf16_units():
    assert telegram_len("") == 0
    assert telegram_len("Шиханы") == 6
    assert telegram_len("👍") == 2  # outside the BMP: a surrogate pair
    assert telegram_len("a👍б") == 4


def test_callback_data_is_64_bytes_of_utf8():
    assert callback_data_fits("x" * 64)
    assert not callback_data_fits("x" * 65)
    assert not callback_data_fits("ж" * 33)  # 66 bytes
    assert not callback_data_fits("")


def test_check_post_telegram_text():
    assert check_post("Привет", 0, "telegram") is None
    assert check_post("я" * TG_TEXT_MAX, 0, "telegram") is None
    assert (
        check_post("я" * 5000, 0, "telegram")
        == "Текст длиннее 4096 символов (5000) — Telegram его не примет"
    )
    # 4000 emoji are 8000 units for Telegram
    assert "(8000)" in (check_post("👍" * 4000, 0, "telegram") or "")
    assert check_post("  \n", 0, "telegram") == "Пустой текст — Telegram его не примет"


def test_check_post_telegram_caption_and_album():
    assert check_post("", 3, "telegram") is None  # photos without a caption are fine
    assert check_post("я" * TG_CAPTION_MAX, 1, "telegram") is None
    reason = check_post("я" * 1500, 2, "telegram")
    assert reason == "Подпись к фото длиннее 1024 символов (1500) — Telegram её не примет"
    assert "(11)" in (check_post("ok", 11, "telegram") or "")


def test_check_post_vk():
    assert check_post("я" * 5000, 0, "vk") is None
    assert check_post("я" * 5000, 4, "vk") is None  # VK has no separate caption limit
    assert (
        check_post("я" * (VK_WALL_POST_MAX + 1), 0, "vk")
        == "Текст длиннее 16384 символов (16385) — ВКонтакте его не примет"
    )
    assert check_post("", 0, "vk") == "Пустая запись — ВКонтакте её не примет"
    assert check_post("", 1, "vk") is None
    assert check_post("ok", 11, "vk") is not None


# -- split_text ------------------------------------------------------------------------


def _separators(text: str, parts: list[str]) -> list[str]:
    """The text between the parts; fails if a part is not where it should be."""
    seps = []
    pos = 0
    for part in parts:
        idx = text.index(part, pos)
        seps.append(text[pos:idx])
        pos = idx + len(part)
    seps.append(text[pos:])
    return seps


def test_short_text_comes_back_whole():
    assert split_text("  как есть \n", 100) == ["  как есть \n"]
    assert split_text("", 10) == []


def test_splits_at_paragraphs_first():
    text = "Первый абзац. Ещё фраза.\n\nВторой абзац тоже есть.\n\nТретий."
    parts = split_text(text, 50)
    assert parts == ["Первый абзац. Ещё фраза.\n\nВторой абзац тоже есть.", "Третий."]


def test_splits_at_sentences_when_a_paragraph_is_too_long():
    text = "Раз два три. Четыре пять шесть. Семь восемь девять десять."
    parts = split_text(text, 35)
    assert parts == ["Раз два три. Четыре пять шесть.", "Семь восемь девять десять."]


def test_splits_at_words_not_mid_word():
    text = "слово " * 20
    parts = split_text(text, 17)
    assert all(part.split() == ["слово"] * len(part.split()) for part in parts)
    assert all(telegram_len(part) <= 17 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_a_word_longer_than_the_limit_is_cut():
    text = "коротко " + "д" * 25 + " конец"
    parts = split_text(text, 10)
    assert parts == ["коротко", "д" * 10, "д" * 10, "д" * 5, "конец"]


def test_does_not_cut_a_surrogate_pair():
    parts = split_text("👍" * 5, 3)
    assert parts == ["👍"] * 5


def test_five_thousand_characters_become_two_telegram_messages():
    sentence = "Администрация сообщает о плановых работах на сетях. "
    text = (sentence * 100).strip()
    assert telegram_len(text) > TG_TEXT_MAX
    parts = split_text(text, TG_TEXT_MAX)
    assert len(parts) == 2
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == text


def test_limit_must_fit_any_character():
    with pytest.raises(ValueError):
        split_text("abc", 1)


texts = st.text(
    alphabet=st.sampled_from(list("аб c.!?\n\t»👍xyz ")) | st.characters(), max_size=400
)


@settings(max_examples=200, deadline=None)
@given(text=texts, limit=st.integers(2, 60))
def test_property_split_loses_nothing_and_fits(text, limit):
    parts = split_text(text, limit)
    if telegram_len(text) <= limit:
        assert parts == ([text] if text else [])
        return
    assert all(parts)
    assert all(telegram_len(part) <= limit for part in parts)
    seps = _separators(text, parts)
    # only whitespace is dropped, and only at the cuts
    assert all(sep.strip() == "" for sep in seps)
    assert "".join(s + p for s, p in zip(seps, [*parts, ""], strict=True)) == text
    for part in parts:
        assert part == part.strip()
    # a cut with no separator is only ever inside a word longer than the limit
    for i, sep in enumerate(seps[1:-1], start=1):
        if sep == "":
            pos = sum(len(s) + len(p) for s, p in zip(seps[:i], parts[:i], strict=True))
            word = re.search(r"\S+", text[_word_start(text, pos) :])
            assert word is not None and telegram_len(word.group()) > limit


def _word_start(text: str, pos: int) -> int:
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(st.text(alphabet="абвгд👍", min_size=1, max_size=8), min_size=1, max_size=80),
    seps=st.sampled_from([" ", "\n", ". ", "\n\n", "! "]),
    limit=st.integers(16, 80),
)
def test_property_words_within_the_limit_are_never_cut(words, seps, limit):
    text = seps.join(words)
    for part in split_text(text, limit):
        for word in re.split(r"[\s.!]+", part):
            assert word == "" or word in words


# -- split_caption ---------------------------------------------------------------------


def test_caption_that_fits_goes_with_the_photos():
    assert split_caption("Подпись", 3) == PhotoPost("Подпись", ())


def test_long_caption_goes_as_a_separate_message():
    text = "я" * 1500
    result = split_caption(text, 2)
    assert result.caption == ""
    assert result.messages == (text,)
    assert result.note is not None and "1500 из 1024" in result.note


def test_very_long_photo_text_is_split_into_messages():
    text = ("Абзац текста. " * 40 + "\n\n") * 10
    result = split_caption(text, 1)
    assert result.caption == ""
    assert len(result.messages) == 2
    assert all(telegram_len(m) <= TG_TEXT_MAX for m in result.messages)
    assert "2 сообщениями" in (result.note or "")


def test_text_without_photos():
    assert split_caption("Текст", 0) == PhotoPost("", ("Текст",))
    long = split_caption("я " * 3000, 0)
    assert len(long.messages) == 2 and long.note is not None
    assert "6000" in long.note
