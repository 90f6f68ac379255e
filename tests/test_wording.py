"""Plural forms, greeting names and greeting once: the small rules of Russian wording."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.domain.wording import greeting_name, greets, plural, plural_form
from bot.render import Renderer

ROW = ("строка", "строки", "строк")


@pytest.mark.parametrize(("n", "expected"), [
    (0, "0 строк"), (1, "1 строка"), (2, "2 строки"), (4, "4 строки"), (5, "5 строк"),
    (11, "11 строк"), (12, "12 строк"), (14, "14 строк"), (21, "21 строка"),
    (22, "22 строки"), (25, "25 строк"), (101, "101 строка"), (111, "111 строк"),
    (112, "112 строк"), (1000, "1000 строк"),
])
def test_plural_forms(n: int, expected: str):
    assert plural(n, *ROW) == expected


def test_plural_form_is_the_word_alone():
    assert plural_form(3, "сообщение", "сообщения", "сообщений") == "сообщения"


def test_templates_use_the_same_plural_rule():
    render = Renderer(ZoneInfo("Europe/Saratov"))
    template = render.env.from_string('{{ n | plural("строка", "строки", "строк") }}')
    assert [template.render(n=n) for n in (1, 2, 5, 11, 21, 22, 25)] == [
        "1 строка", "2 строки", "5 строк", "11 строк", "21 строка", "22 строки", "25 строк"]


@pytest.mark.parametrize(("name", "expected"), [
    ("Ксения Иванова", "Ксения"), ("Иван", "Иван"), ("ИВАН ПЕТРОВ", "Иван"),
    ("мария", "Мария"),
    # not names: the sandbox's «Житель 2001», words, nicknames, Latin, emoji, empty
    ("Житель 2001", ""), ("Гость", ""), ("Администрация", ""), ("user_51", ""),
    ("John", ""), ("🌸Кот🌸", ""), ("", ""), (None, ""), ("   ", ""),
])
def test_a_citizen_is_greeted_by_a_real_first_name_only(name: str | None, expected: str):
    assert greeting_name(name) == expected


@pytest.mark.parametrize("text", [
    "Здравствуйте! Заменили задвижку.", "Ксения, здравствуйте! Заменили задвижку.",
    "Добрый день. Работы выполнены.", "Доброе утро, Ксения!", "Уважаемая Ксения! Сообщаем",
    "  ЗДРАВСТВУЙТЕ, яму засыплют.",
])
def test_a_greeting_in_the_first_sentence_is_seen(text: str):
    assert greets(text)


@pytest.mark.parametrize("text", [
    "Заменили задвижку, батареи прогреются.", "Проверим отопление. Здравствуйте всем",
    "Добро пожаловать на приём", "",
])
def test_no_greeting(text: str):
    assert not greets(text)


def test_the_answer_and_the_interim_greet_alike_and_once():
    render = Renderer(ZoneInfo("Europe/Saratov"))

    def answer(name: str, text: str) -> str:
        return render.render("answer.txt.j2", name=greeting_name(name), text=text,
                             greeted=greets(text))

    assert answer("Ксения Иванова", "Заменили задвижку.") == \
        "Здравствуйте, Ксения! Заменили задвижку."
    assert answer("Житель 2001", "Яму засыплют.") == "Здравствуйте! Яму засыплют."
    assert answer("Ксения Иванова", "Здравствуйте! Заменили задвижку.") == \
        "Здравствуйте! Заменили задвижку."
    interim = render.render("interim.txt.j2", name="Ксения", due="17:00 23.11.2026")
    assert interim.startswith("Здравствуйте, Ксения! ")
    assert interim.endswith("Ответ будет дан не позднее 17:00 23.11.2026.")
    assert render.render("interim.txt.j2", name="", due="x").startswith("Здравствуйте! ")
