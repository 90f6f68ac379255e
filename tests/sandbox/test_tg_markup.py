"""Telegram's parse_mode rules in the sandbox: text, entities in UTF-16 units, TDLib's errors."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.tg_markup import (
    EntityParseError,
    checked_link,
    entity_text,
    parse,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)


def ent(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": offset, "length": length, **extra}


HTML_OK = [
    ("<b>жирный</b> текст", "жирный текст", [ent("bold", 0, 6)]),
    ("<strong>a</strong><i>b</i><em>c</em><u>d</u><ins>e</ins>", "abcde",
     [ent("bold", 0, 1), ent("italic", 1, 1), ent("italic", 2, 1), ent("underline", 3, 1),
      ent("underline", 4, 1)]),
    ("<s>a</s><strike>b</strike><del>c</del>", "abc",
     [ent("strikethrough", 0, 1), ent("strikethrough", 1, 1), ent("strikethrough", 2, 1)]),
    ("<b>a<i>b</i></b>", "ab", [ent("bold", 0, 2), ent("italic", 1, 1)]),
    # an emoji outside the BMP is two UTF-16 units; Cyrillic is one
    ("👍 <b>Ж</b>", "👍 Ж", [ent("bold", 3, 1)]),
    ("Привет, <u>мир</u>", "Привет, мир", [ent("underline", 8, 3)]),
    ("<b>👍👍</b>x", "👍👍x", [ent("bold", 0, 4)]),
    ('<a href="https://example.com">сайт</a>', "сайт",
     [ent("text_link", 0, 4, url="https://example.com/")]),
    ("<a href='admin.ru/news?id=1'>x</a>", "x",
     [ent("text_link", 0, 1, url="http://admin.ru/news?id=1")]),
    ('<a href="tg://user?id=1004">ответственный</a>', "ответственный",
     [ent("text_mention", 0, 13,
          user={"id": 1004, "is_bot": False, "first_name": ""})]),
    ("<code>x = 1</code>", "x = 1", [ent("code", 0, 5)]),
    ("<pre>block</pre>", "block", [ent("pre", 0, 5)]),
    ('<pre><code class="language-python">print(1)</code></pre>', "print(1)",
     [ent("pre", 0, 8, language="python")]),
    ('<code class="language-python">x</code>', "x", [ent("code", 0, 1)]),
    ('<span class="tg-spoiler">тайна</span>', "тайна", [ent("spoiler", 0, 5)]),
    ("<tg-spoiler>тайна</tg-spoiler>", "тайна", [ent("spoiler", 0, 5)]),
    ("<blockquote>цитата</blockquote>", "цитата", [ent("blockquote", 0, 6)]),
    ("<blockquote expandable>длинная</blockquote>", "длинная",
     [ent("expandable_blockquote", 0, 7)]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍",
     [ent("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")]),
    ("&lt;b&gt; &amp; &quot;q&quot; &#1046;&#x416;", '<b> & "q" ЖЖ', []),
    # Telegram keeps a bare & or > and unknown named entities as they are
    ("Tom & Jerry > all &nbsp; &copy;", "Tom & Jerry > all &nbsp; &copy;", []),
    ("<B>Caps</B>", "Caps", [ent("bold", 0, 4)]),
    ("<b >x</b >", "x", [ent("bold", 0, 1)]),
    ("<b>x</>", "x", [ent("bold", 0, 1)]),
    ("<b></b>пусто", "пусто", []),
]

HTML_ERRORS = [
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("1<2", "Unclosed start tag at byte offset 1"),
    ("1 <2 x", 'Unsupported start tag "2" at byte offset 2'),
    ("строка<br>", 'Unsupported start tag "br" at byte offset 12'),
    ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
    ("<b>жирный", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<b", "Unclosed start tag at byte offset 0"),
    ('<a href="x', "Unclosed start tag at byte offset 0"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("<a =x>y</a>", 'Empty attribute name in the tag "a" at byte offset 0'),
    ("<a href=x/y>z</a>", "Unexpected end of name token at byte offset 8"),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
]


@pytest.mark.parametrize(("source", "text", "entities"), HTML_OK)
def test_html(source: str, text: str, entities: list[dict[str, Any]]) -> None:
    assert parse_html(source) == (text, entities)


@pytest.mark.parametrize(("source", "error"), HTML_ERRORS)
def test_html_errors(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as err:
        parse_html(source)
    assert str(err.value) == error


MDV2_OK = [
    ("*жирный* _курсив_ __подчёркнутый__ ~зачёркнутый~ ||спойлер||",
     "жирный курсив подчёркнутый зачёркнутый спойлер",
     [ent("bold", 0, 6), ent("italic", 7, 6), ent("underline", 14, 12),
      ent("strikethrough", 27, 11), ent("spoiler", 39, 7)]),
    ("*bold _italic bold ~strike~ __under___ bold*", "bold italic bold strike under bold",
     [ent("bold", 0, 34), ent("italic", 5, 24), ent("strikethrough", 17, 6),
      ent("underline", 24, 5)]),
    ("👍 *Ж*", "👍 Ж", [ent("bold", 3, 1)]),
    ("`code` и ```python\nprint(1)\n```", "code и print(1)\n",
     [ent("code", 0, 4), ent("pre", 7, 9, language="python")]),
    ("```\nплоский\n```", "плоский\n", [ent("pre", 0, 8)]),
    ("`a_b*c`", "a_b*c", [ent("code", 0, 5)]),
    ("[сайт](https://example.com/a\\)b)", "сайт",
     [ent("text_link", 0, 4, url="https://example.com/a)b")]),
    ("[admin\\.ru]", "admin.ru", [ent("text_link", 0, 8, url="http://admin.ru/")]),
    ("[не ссылка](notaurl)", "не ссылка", []),
    ("1\\.5 \\- 2\\! \\(\\) \\#tag \\\\ \\_", "1.5 - 2! () #tag \\ _", []),
    ("\\й", "\\й", []),
    (">цитата\n>вторая\nтекст", "цитата\nвторая\nтекст", [ent("blockquote", 0, 14)]),
    ("**>раскрываемая\n>цитата||", "раскрываемая\nцитата",
     [ent("expandable_blockquote", 0, 19)]),
    ("![👍](tg://emoji?id=5368324170671202286)", "👍",
     [ent("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")]),
    ("**", "", []),
]

MDV2_ERRORS = [
    ("Итого: 5.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
    ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
    ("(скобки)", "Character '(' is reserved and must be escaped with the preceding '\\'"),
    ("x = 1", "Character '=' is reserved and must be escaped with the preceding '\\'"),
    ("#Шиханы", "Character '#' is reserved and must be escaped with the preceding '\\'"),
    ("a|b", "Character '|' is reserved and must be escaped with the preceding '\\'"),
    ("wow!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
    ("a > b", "Character '>' is reserved and must be escaped with the preceding '\\'"),
    ("{}", "Character '{' is reserved and must be escaped with the preceding '\\'"),
    ("*жирный", "Can't find end of Bold entity at byte offset 0"),
    ("Привет _x", "Can't find end of Italic entity at byte offset 13"),
    ("`code", "Can't find end of Code entity at byte offset 0"),
    ("```\npre", "Can't find end of Pre entity at byte offset 0"),
    ("[x](http://a.ru", "Can't find end of a URL at byte offset 4"),
    (">цитата *жирный\n*", "Can't find end of Bold entity at byte offset 14"),
]


@pytest.mark.parametrize(("source", "text", "entities"), MDV2_OK)
def test_markdown_v2(source: str, text: str, entities: list[dict[str, Any]]) -> None:
    assert parse_markdown_v2(source) == (text, entities)


@pytest.mark.parametrize(("source", "error"), MDV2_ERRORS)
def test_markdown_v2_errors(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as err:
        parse_markdown_v2(source)
    assert str(err.value) == error


def test_markdown_legacy() -> None:
    assert parse_markdown("*b* _i_ `c` [x](http://a.ru) a-b.") == (
        "b i c x a-b.",
        [ent("bold", 0, 1), ent("italic", 2, 1), ent("code", 4, 1),
         ent("text_link", 6, 1, url="http://a.ru/")],
    )
    with pytest.raises(EntityParseError, match="starting at byte offset 1"):
        parse_markdown("a_b")


def test_utf16() -> None:
    assert utf16_len("Жж") == 2
    assert utf16_len("👍") == 2
    assert utf16_len("a👍b") == 4
    text, entities = parse_html("😀 <b>шиханы</b> 🏠<i>дом</i>")
    assert [entity_text(text, e) for e in entities] == ["шиханы", "дом"]


def test_parse_trims_and_finds_plain_entities() -> None:
    text, entities = parse(
        "  Пишите /start или @mcu_shikhany_bot #Шиханы https://shikhany.ru/news, "
        "почта adm@shikhany.ru; сайт администрация.рф.  \n"
    )
    assert text.startswith("Пишите") and text.endswith("администрация.рф.")
    found = {(e["type"], entity_text(text, e)) for e in entities}
    assert found == {
        ("bot_command", "/start"),
        ("mention", "@mcu_shikhany_bot"),
        ("hashtag", "#Шиханы"),
        ("url", "https://shikhany.ru/news"),
        ("email", "adm@shikhany.ru"),
        ("url", "администрация.рф"),
    }


def test_parse_modes_and_given_entities() -> None:
    assert parse("<b>x</b>", "HTML") == ("x", [ent("bold", 0, 1)])
    assert parse("*x*", "markdownv2") == ("x", [ent("bold", 0, 1)])
    assert parse("<b>x</b>", None) == ("<b>x</b>", [])
    assert parse("hello", None, [ent("bold", 0, 5)]) == ("hello", [ent("bold", 0, 5)])
    # trailing whitespace goes, and the entities are clipped to the text
    assert parse("<b>x  </b>  ", "HTML") == ("x", [ent("bold", 0, 1)])
    # plain-text entities are not looked for inside code
    assert parse("<code>/start</code> /help", "HTML") == (
        "/start /help", [ent("code", 0, 6), ent("bot_command", 7, 5)])
    with pytest.raises(ValueError, match="parse_mode"):
        parse("x", "BBCode")


def test_checked_link() -> None:
    assert checked_link("https://Example.COM") == "https://example.com/"
    assert checked_link("admin.ru/a?b=1#c") == "http://admin.ru/a?b=1#c"
    assert checked_link("localhost") is None
    assert checked_link("javascript:alert(1)") is None
    assert checked_link("tg://resolve?domain=x") == "tg://resolve?domain=x"
