"""MAX's text formatting: ``format=markdown|html`` turned into plain text and markup.

The reference (dev.max.ru/docs-api, «Форматирование текста»; OpenAPI ``MarkupElement``)
lists what the server understands: in Markdown ``*em*``/``_em_``, ``**strong**``/
``__strong__``, ``~~strike~~``, ``++underline++``, `` `code` `` and fenced code,
``^^highlighted^^``, ``[text](url)`` (``max://user/ID`` is a mention) and ``# heading``;
in HTML ``<i> <em> <b> <strong> <del> <s> <ins> <u> <a href> <pre> <code> <mark> <h1>``,
every other tag stripped. The server answers the parsed text with ``markup`` elements
``{"type", "from", "length"}``.

Choices the reference leaves open, made here: offsets and lengths count UTF-16 code units
(the platform's Java strings); an unmatched delimiter stays literal text.
"""

from __future__ import annotations

import html
import re
from typing import Any

Markup = list[dict[str, Any]]

_HTML_TAGS = {
    "b": "strong", "strong": "strong", "i": "emphasized", "em": "emphasized",
    "del": "strikethrough", "s": "strikethrough", "ins": "underline", "u": "underline",
    "pre": "monospaced", "code": "monospaced", "mark": "highlighted", "h1": "heading",
    "a": "link",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# Markdown delimiters, longest first
_MD_PAIRS = [("**", "strong"), ("__", "strong"), ("~~", "strikethrough"),
             ("++", "underline"), ("^^", "highlighted"), ("*", "emphasized"),
             ("_", "emphasized")]
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MENTION = re.compile(r"max://user/(\d+)")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how the platform counts)."""
    return len(text.encode("utf-16-le")) // 2


def _element(kind: str, start: int, length: int, url: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": kind, "from": start, "length": length}
    if kind == "link" and url is not None:
        mention = _MENTION.fullmatch(url)
        if mention:
            item = {"type": "user_mention", "from": start, "length": length,
                    "user_id": int(mention.group(1))}
        else:
            item["url"] = url
    return item


def parse_html(source: str) -> tuple[str, Markup]:
    """Plain text and markup of an HTML-formatted message."""
    out: list[str] = []
    pos = 0  # UTF-16 offset of the text written so far
    open_tags: list[tuple[str, int, str | None]] = []
    markup: Markup = []
    index = 0
    for match in _TAG.finditer(source):
        chunk = html.unescape(source[index:match.start()])
        out.append(chunk)
        pos += utf16_len(chunk)
        index = match.end()
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3) or ""
        if name == "br":
            out.append("\n")
            pos += 1
            continue
        kind = _HTML_TAGS.get(name)
        if kind is None:
            continue  # unsupported tags are stripped, their text kept
        if not closing:
            url = None
            if name == "a":
                found = _HREF.search(attrs)
                url = html.unescape(next(g for g in found.groups() if g is not None)) \
                    if found else None
            open_tags.append((name, pos, url))
            continue
        for depth in range(len(open_tags) - 1, -1, -1):
            if open_tags[depth][0] == name:
                _, start, url = open_tags.pop(depth)
                if pos > start and not (kind == "link" and not url):
                    markup.append(_element(kind, start, pos - start, url))
                break
    tail = html.unescape(source[index:])
    out.append(tail)
    markup.sort(key=lambda m: (m["from"], -m["length"]))
    return "".join(out), markup


def parse_markdown(source: str) -> tuple[str, Markup]:
    """Plain text and markup of a Markdown-formatted message (MAX's subset)."""
    markup: Markup = []
    text = _parse_md(source, 0, markup)
    markup.sort(key=lambda m: (m["from"], -m["length"]))
    return text, markup


def _parse_md(source: str, base: int, markup: Markup) -> str:
    out: list[str] = []
    pos = base
    i = 0
    line_start = True
    while i < len(source):
        if line_start and source.startswith("# ", i):
            end = source.find("\n", i)
            end = len(source) if end < 0 else end
            inner = _parse_md(source[i + 2:end], pos, markup)
            markup.append(_element("heading", pos, utf16_len(inner)))
            out.append(inner)
            pos += utf16_len(inner)
            i = end
            line_start = False
            continue
        if source.startswith("```", i):
            end = source.find("```", i + 3)
            if end > i:
                inner = source[i + 3:end].strip("\n")
                if inner:
                    markup.append(_element("monospaced", pos, utf16_len(inner)))
                out.append(inner)
                pos += utf16_len(inner)
                i = end + 3
                continue
        if source[i] == "`":
            end = source.find("`", i + 1)
            if end > i + 1:
                inner = source[i + 1:end]
                markup.append(_element("monospaced", pos, utf16_len(inner)))
                out.append(inner)
                pos += utf16_len(inner)
                i = end + 1
                continue
        if source[i] == "[":
            link = _MD_LINK.match(source, i)
            if link:
                inner = _parse_md(link.group(1), pos, markup)
                markup.append(_element("link", pos, utf16_len(inner), link.group(2)))
                out.append(inner)
                pos += utf16_len(inner)
                i = link.end()
                continue
        matched = False
        for delim, kind in _MD_PAIRS:
            if source.startswith(delim, i):
                end = source.find(delim, i + len(delim))
                if end > i + len(delim) and "\n" not in source[i:end]:
                    inner = _parse_md(source[i + len(delim):end], pos, markup)
                    markup.append(_element(kind, pos, utf16_len(inner)))
                    out.append(inner)
                    pos += utf16_len(inner)
                    i = end + len(delim)
                    matched = True
                break
        if matched:
            line_start = False
            continue
        out.append(source[i])
        pos += utf16_len(source[i])
        line_start = source[i] == "\n"
        i += 1
    return "".join(out)


def parse(text: str, fmt: str | None) -> tuple[str, Markup]:
    """``(text, markup)`` as the server stores a message of this ``format``."""
    if fmt == "html":
        return parse_html(text)
    if fmt == "markdown":
        return parse_markdown(text)
    return text, []
