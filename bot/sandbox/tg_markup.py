"""Telegram's text formatting, as the Bot API applies it: parse_mode → (text, entities).

The sandbox must reject what Telegram rejects, so that a citizen's ``<`` or ``*`` the bot
forgot to escape fails here as it would in production. The rules follow TDLib's parsers
(``parse_html``, ``parse_markdown_v2``, ``parse_markdown``, ``fix_formatted_text``):

* entity offsets and lengths are in UTF-16 code units;
* error texts are TDLib's, with byte offsets counted in UTF-8 of the source text;
* HTML: a bare ``&`` or ``>`` is text (only ``<`` starts a tag); unknown named entities
  stay as written; only ``&lt; &gt; &amp; &quot;`` and numeric references are decoded;
* the result is trimmed (trailing whitespace, leading spaces/newlines before the first
  entity) and plain-text entities (url, mention, hashtag, bot_command, email) are found.

The API layer prefixes an error with ``Bad Request: can't parse entities: ``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Entity = dict[str, Any]

_SPACE = " \t\r\n\0\v"  # TDLib's is_space
MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_SPECIAL = MDV2_RESERVED + "\n"
_HTML_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
    "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
}
_HTML_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler",
}


class EntityParseError(ValueError):
    """Malformed markup; ``str(err)`` is TDLib's message (without the Bot API prefix)."""


@dataclass
class _Open:
    kind: str  # HTML tag name or TDLib entity type name for Markdown
    arg: str
    u16: int  # UTF-16 offset where the entity starts in the output
    out_pos: int  # index into the output character list
    src_pos: int  # index into the source where the marker started


def utf16_len(text: str) -> int:
    """Length as Telegram counts it for offsets: UTF-16 code units."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _w(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(src: str, i: int) -> int:
    return len(src[:i].encode("utf-8", "surrogatepass"))


def _at(src: str, i: int) -> str:
    return src[i] if i < len(src) else "\0"


def checked_link(url: str) -> str | None:
    """A URL as Telegram normalises it for text_link, or None if Telegram would drop it."""
    url = url.strip()
    if not url:
        return None
    low = url.lower()
    if low.startswith("tg:"):
        rest = url[3:].removeprefix("//")
        host = re.match(r"[A-Za-z0-9_-]+", rest)
        if not host:
            return None
        return "tg://" + host.group(0) + rest[host.end():]
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if "." not in host or any(c in host for c in " <>\"'"):
        return None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    out = f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}"
    if parts.query:
        out += "?" + parts.query
    if parts.fragment:
        out += "#" + parts.fragment
    return out


def _link_entity(offset: int, length: int, url: str) -> Entity | None:
    m = re.fullmatch(r"tg://user\?id=(\d+)", url.strip(), re.IGNORECASE)
    if m:
        user = {"id": int(m.group(1)), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    checked = checked_link(url)
    if checked is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": checked}


def _sort(entities: list[Entity]) -> list[Entity]:
    """Telegram's order (by offset, outer first), keys as the Bot API prints them."""
    ordered = sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    return [
        {"type": e["type"], "offset": e["offset"], "length": e["length"]}
        | {k: v for k, v in e.items() if k not in ("type", "offset", "length")}
        for e in ordered
    ]


# --------------------------------------------------------------------------- HTML


def _html_entity(src: str, i: int) -> tuple[str | None, int]:
    """Decode a character reference at ``src[i] == '&'``; (None, i) if Telegram keeps it raw."""
    j = i + 1
    code = 0
    if _at(src, j) == "#":
        j += 1
        if _at(src, j) == "x":
            j += 1
            while _at(src, j) in "0123456789abcdefABCDEF" and j < len(src):
                code = code * 16 + int(src[j], 16)
                j += 1
        else:
            while _at(src, j).isdigit() and _at(src, j).isascii():
                code = code * 10 + int(src[j])
                j += 1
        if code == 0 or code >= 0x10FFFF or j - i >= 10 or 0xD800 <= code <= 0xDFFF:
            return None, i
        char = chr(code)
    else:
        while j < len(src) and src[j].isascii() and src[j].isalpha():
            j += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(src[i + 1 : j])
        if named is None:
            return None, i
        char = named
    if _at(src, j) == ";":
        j += 1
    return char, j


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """parse_mode=HTML. Raises EntityParseError with Telegram's wording."""
    out: list[str] = []
    u16 = 0
    entities: list[Entity] = []
    stack: list[_Open] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            char, j = _html_entity(src, i)
            if char is not None:
                out.append(char)
                u16 += _w(char)
                i = j
                continue
        if c != "<":
            out.append(c)
            u16 += _w(c)
            i += 1
            continue
        begin = i
        i += 1
        if _at(src, i) != "/":
            i = _html_start_tag(src, i, begin, stack, u16, len(out))
        else:
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(src, begin)}"
                )
            while _at(src, i) not in _SPACE and _at(src, i) != ">":
                i += 1
            end_name = src[begin + 2 : i].lower()
            while i < n and src[i] in _SPACE:
                i += 1
            if _at(src, i) != ">":
                where = _byte_offset(src, begin)
                raise EntityParseError(f"Unclosed end tag at byte offset {where}")
            top = stack[-1]
            if end_name and end_name != top.kind:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{top.kind}>", found "</{end_name}>"'
                )
            if u16 > top.u16:
                _html_close(top, u16, "".join(out[top.out_pos :]), entities)
            stack.pop()
            i += 1
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"'
        )
    for e in entities:  # a <code class="language-x"> outside <pre> is plain code
        if e["type"] == "code":
            e.pop("language", None)
    return "".join(out), _sort(entities)


def _html_start_tag(
    src: str, i: int, begin: int, stack: list[_Open], u16: int, out_pos: int
) -> int:
    """Read ``<tag attr=...>`` starting after ``<``; push it; return the index after ``>``."""
    n = len(src)
    while _at(src, i) not in _SPACE and _at(src, i) != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    tag = src[begin + 1 : i].lower()
    where = f"at byte offset {_byte_offset(src, begin)}"
    if tag not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" {where}')
    arg = ""
    while _at(src, i) != ">":
        while i < n and src[i] in _SPACE:
            i += 1
        if _at(src, i) == ">":
            break
        name_begin = i
        while _at(src, i) not in _SPACE and _at(src, i) not in "=>/\"'":
            i += 1
        name = src[name_begin:i]
        if not name:
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" {where}')
        while i < n and src[i] in _SPACE:
            i += 1
        if _at(src, i) != "=":
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{tag}" {where}')
            if tag == "blockquote" and name == "expandable":
                arg = "1"
            continue
        i += 1
        while i < n and src[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(f'Unclosed start tag "{tag}" {where}')
        if src[i] not in "\"'":
            token_begin = i
            while i < n and src[i].isascii() and (src[i].isalnum() or src[i] in ".-"):
                i += 1
            value = src[token_begin:i].lower()
            if _at(src, i) not in _SPACE and _at(src, i) != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(src, token_begin)}"
                )
        else:
            quote = src[i]
            i += 1
            buf: list[str] = []
            while i < n and src[i] != quote:
                if src[i] == "&":
                    char, j = _html_entity(src, i)
                    if char is not None:
                        buf.append(char)
                        i = j
                        continue
                buf.append(src[i])
                i += 1
            if i < n:
                i += 1
            value = "".join(buf)
        if i >= n:
            raise EntityParseError(f"Unclosed start tag {where}")
        if tag == "a" and name == "href":
            arg = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            arg = value[9:]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            arg = value[3:]
        elif tag == "tg-emoji" and name == "emoji-id":
            arg = value
        elif tag == "blockquote" and name == "expandable":
            arg = "1"
    if tag == "span" and arg != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" {where}')
    stack.append(_Open(tag, arg, u16, out_pos, begin))
    return i + 1


def _html_close(top: _Open, u16: int, inner: str, entities: list[Entity]) -> None:
    offset, length = top.u16, u16 - top.u16
    tag = top.kind
    if tag in _HTML_SIMPLE or tag == "span":
        kind = _HTML_SIMPLE.get(tag, "spoiler")
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not top.arg.isdigit() or int(top.arg) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": top.arg}
        )
    elif tag == "tg-time":
        return  # formatted dates are not modelled; the text stays plain
    elif tag == "a":
        link = _link_entity(offset, length, top.arg or inner)
        if link is not None:
            entities.append(link)
    elif tag == "pre":
        last = entities[-1] if entities else None
        if last and last["type"] == "code" and (last["offset"], last["length"]) == (offset, length):
            language = last.get("language")
            entities[-1] = {"type": "pre", "offset": offset, "length": length}
            if language:
                entities[-1]["language"] = language
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if last and last["type"] == "pre" and (last["offset"], last["length"]) == (offset, length):
            if top.arg:
                last["language"] = top.arg
        else:
            entity: Entity = {"type": "code", "offset": offset, "length": length}
            if top.arg:
                entity["language"] = top.arg  # dropped below unless a <pre> wraps it
            entities.append(entity)
    elif tag == "blockquote":
        kind = "expandable_blockquote" if top.arg else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})


# --------------------------------------------------------------------- MarkdownV2

_MDV2_TYPES = {
    "Bold": "bold", "Italic": "italic", "Underline": "underline", "Strikethrough": "strikethrough",
    "Spoiler": "spoiler", "Code": "code", "Pre": "pre", "PreCode": "pre",
}


def _reserved(ch: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
    )


def _read_url(src: str, i: int) -> tuple[str, int]:
    """Read ``(url)`` with backslash escapes; ``src[i]`` is '('; returns (url, index of ')')."""
    i += 1
    begin = i
    buf: list[str] = []
    while i < len(src) and src[i] != ")":
        if src[i] == "\\" and 0 < ord(_at(src, i + 1)) <= 126:
            buf.append(src[i + 1])
            i += 2
            continue
        buf.append(src[i])
        i += 1
    if i >= len(src):
        raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, begin)}")
    return "".join(buf), i


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """parse_mode=MarkdownV2. Raises EntityParseError with Telegram's wording."""
    out: list[str] = []
    u16 = 0
    entities: list[Entity] = []
    stack: list[_Open] = []
    have_quote = False
    can_start_quote = True
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and 0 < ord(_at(src, i + 1)) <= 126:
            i += 1
            out.append(src[i])
            u16 += 1
            if src[i] != "\r":
                can_start_quote = src[i] == "\n"
            i += 1
            continue
        special = "`" if stack and stack[-1].kind in ("Code", "Pre", "PreCode") else _MDV2_SPECIAL
        if c not in special:
            out.append(c)
            u16 += _w(c)
            if c != "\r":
                can_start_quote = False
            i += 1
            continue
        if not _mdv2_is_end(src, i, stack, have_quote):
            kind, arg, start = "", "", i
            if c == "_":
                kind = "Italic"
                if _at(src, i + 1) == "_":
                    kind = "Underline"
                    i += 1
            elif c == "*":
                kind = "Bold"
            elif c == "~":
                kind = "Strikethrough"
            elif c == "|":
                if _at(src, i + 1) != "|":
                    raise _reserved(c)
                kind = "Spoiler"
                i += 1
            elif c == "[":
                kind = "TextUrl"
            elif c == "`":
                if _at(src, i + 1) == "`" and _at(src, i + 2) == "`":
                    i, kind, arg = _mdv2_pre_start(src, i + 3)
                else:
                    kind = "Code"
            elif c == "!":
                if _at(src, i + 1) != "[":
                    raise _reserved(c)
                kind = "CustomEmoji"
                i += 1
            elif c == "\n":
                out.append("\n")
                u16 += 1
                can_start_quote = True
                i += 1
                continue
            elif c == ">":
                if not can_start_quote:
                    raise _reserved(c)
                if have_quote:
                    i += 1
                    continue
                kind = "BlockQuote"
                have_quote = True
            else:
                raise _reserved(c)
            stack.append(_Open(kind, arg, u16, len(out), start))
            i += 1
            continue
        # end of an entity
        top = stack[-1]
        kind = top.kind
        if c == "\n" and kind != "BlockQuote":
            if kind != "Spoiler" or top.src_pos != i - 2:
                where = _byte_offset(src, top.src_pos)
                raise EntityParseError(f"Can't find end of {kind} entity at byte offset {where}")
            stack.pop()
            top = stack[-1]
            if top.kind != "BlockQuote":
                raise EntityParseError(
                    f"Can't find end of {top.kind} entity at byte offset "
                    f"{_byte_offset(src, top.src_pos)}"
                )
            kind = "ExpandableBlockQuote"
        skip = u16 == top.u16
        entity: Entity | None = None
        if kind in ("Underline", "Spoiler"):
            i += 1
        elif kind in ("Pre", "PreCode"):
            i += 2
        if kind in _MDV2_TYPES:
            entity = {"type": _MDV2_TYPES[kind]}
            if kind == "PreCode":
                entity["language"] = top.arg
        elif kind == "TextUrl":
            if _at(src, i + 1) != "(":
                url = "".join(out[top.out_pos :])
            else:
                url, i = _read_url(src, i + 1)
            entity = _link_entity(0, 0, url)
            skip = skip or entity is None
        elif kind == "CustomEmoji":
            if _at(src, i + 1) != "(":
                raise EntityParseError("The entity must contain a tg://emoji or tg://time URL")
            url, i = _read_url(src, i + 1)
            m = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if not m:
                raise EntityParseError("Invalid tg://emoji or tg://time URL specified")
            entity = {"type": "custom_emoji", "custom_emoji_id": m.group(1)}
        else:  # a block quote ends at a line that does not start with '>'
            have_quote = False
            out.append(src[i])
            u16 += 1
            can_start_quote = True
            skip = False
            entity = {"type": "expandable_blockquote" if kind != "BlockQuote" else "blockquote"}
        if not skip and entity is not None:
            entity["offset"] = top.u16
            entity["length"] = u16 - top.u16
            entities.append(entity)
        stack.pop()
        i += 1
    if have_quote:
        kind = "blockquote"
        if stack and stack[-1].kind == "Spoiler" and stack[-1].src_pos == n - 2:
            stack.pop()
            kind = "expandable_blockquote"
        if stack and stack[-1].kind == "BlockQuote":
            top = stack.pop()
            if u16 != top.u16:
                entities.append({"type": kind, "offset": top.u16, "length": u16 - top.u16})
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {top.kind} entity at byte offset {_byte_offset(src, top.src_pos)}"
        )
    return "".join(out), _sort(entities)


def _mdv2_is_end(src: str, i: int, stack: list[_Open], have_quote: bool) -> bool:
    if not stack:
        return False
    c = src[i]
    if have_quote and c == "\n" and (i + 1 == len(src) or src[i + 1] != ">"):
        return True
    kind = stack[-1].kind
    nxt = _at(src, i + 1)
    return {
        "Bold": c == "*",
        "Italic": c == "_" and nxt != "_",
        "Code": c == "`",
        "Pre": c == "`" and nxt == "`" and _at(src, i + 2) == "`",
        "PreCode": c == "`" and nxt == "`" and _at(src, i + 2) == "`",
        "TextUrl": c == "]",
        "Underline": c == "_" and nxt == "_",
        "Strikethrough": c == "~",
        "Spoiler": c == "|" and nxt == "|",
        "CustomEmoji": c == "]",
    }.get(kind, False)


def _mdv2_pre_start(src: str, i: int) -> tuple[int, str, str]:
    """After an opening ```: read the language; return (last marker index, kind, language)."""
    kind, lang = "Pre", ""
    end = i
    while _at(src, end) not in _SPACE and _at(src, end) != "`":
        end += 1
    if i != end and end < len(src) and src[end] != "`":
        kind, lang = "PreCode", src[i:end]
        i = end
    if _at(src, i) in "\r\n" and i < len(src):
        nxt = _at(src, i + 1)
        i += 2 if nxt in "\r\n" and i + 1 < len(src) and nxt != src[i] else 1
    return i - 1, kind, lang


# ------------------------------------------------------------------ legacy Markdown


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """parse_mode=Markdown (legacy): *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    u16 = 0
    entities: list[Entity] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and _at(src, i + 1) in "_*`[":
            out.append(src[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            u16 += _w(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        i += 1
        is_pre, lang = False, ""
        if c == "`" and _at(src, i) == "`" and _at(src, i + 1) == "`":
            is_pre = True
            last, _kind, lang = _mdv2_pre_start(src, i + 2)
            i = last + 1
        start = u16
        while i < n and (
            src[i] != end_char or (is_pre and not (_at(src, i + 1) == "`" == _at(src, i + 2)))
        ):
            out.append(src[i])
            u16 += _w(src[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
            )
        if u16 != start:
            length = u16 - start
            if c == "[":
                if _at(src, i + 1) != "(":
                    url = src[begin + 1 : i]
                else:
                    close = src.find(")", i + 2)
                    close = n if close < 0 else close
                    url, i = src[i + 2 : close], close
                link = _link_entity(start, length, url)
                if link:
                    entities.append(link)
            else:
                kinds = {"_": "italic", "*": "bold", "`": "pre" if is_pre else "code"}
                entity: Entity = {"type": kinds[c], "offset": start, "length": length}
                if is_pre and lang:
                    entity["language"] = lang
                entities.append(entity)
        if is_pre:
            i += 2
        i += 1
    return "".join(out), _sort(entities)


# ----------------------------------------------------------- trimming, auto-detection

_TLDS = (
    "ru|рф|su|com|org|net|info|biz|io|me|gov|edu|online|site|ru\\.com|рус|moscow|tech|dev|app|"
    "pro|today|news|club|shop|store|tv|by|kz|ua|uz|de|uk|us|eu|fr|it|es|co|to|ly|gl|gg|am|ai"
)
_URL_RE = re.compile(
    r"(?<![\w@/.\-])(?:(?:https?|ftp)://[\w.\-]+\.[\w\-]+|(?:[\w\-]+\.)+(?:" + _TLDS + r"))"
    r"(?![\w\-])(?::\d{1,5})?(?:[/?#][^\s<>\"«»]*)?",
    re.IGNORECASE,
)
_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.+\-])[\w.+\-]+@(?:[\w\-]+\.)+[^\W\d_]{2,}(?![\w\-])")),
    ("bot_command",
     re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w\xb7\u200c])#(?=\w*[^\W\d_])\w{1,256}(?![\w#])")),
    ("url", _URL_RE),
]
_SOLID = {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "email",
          "mention", "hashtag", "bot_command", "cashtag", "phone_number"}


def _u16_index(text: str) -> list[int]:
    """UTF-16 offset of each character index (plus one past the end)."""
    positions = [0]
    for ch in text:
        positions.append(positions[-1] + _w(ch))
    return positions


def find_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram adds by itself (urls, mentions, hashtags, commands, e-mails)."""
    pos = _u16_index(text)
    blocked = [
        (e["offset"], e["offset"] + e["length"]) for e in existing or [] if e["type"] in _SOLID
    ]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            if kind == "url":
                while end > start and text[end - 1] in ".,;:!?)'\"":
                    end -= 1
            a, b = pos[start], pos[end]
            if any(a < y and x < b for x, y in blocked + taken):
                continue
            taken.append((a, b))
            found.append({"type": kind, "offset": a, "length": b - a})
    return found


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """TDLib's trimming: drop trailing whitespace, and leading spaces/newlines before entities."""
    pos = _u16_index(text)
    end = len(text)
    while end > 0 and (text[end - 1].isspace() or text[end - 1] == "\0"):
        end -= 1
    limit = pos[end]
    kept: list[Entity] = []
    for e in entities:
        if e["offset"] >= limit:
            continue
        if e["offset"] + e["length"] > limit:
            e = {**e, "length": limit - e["offset"]}
        kept.append(e)
    first_entity = min((e["offset"] for e in kept), default=limit)
    start = 0
    while start < end and text[start] in " \n" and pos[start] < first_entity:
        start += 1
    shift = pos[start]
    kept = [{**e, "offset": e["offset"] - shift} for e in kept if e["length"] > 0]
    return text[start:end], _sort(kept)


def parse(
    text: str, parse_mode: str | None = None, entities: list[Entity] | None = None,
    *, autodetect: bool = True,
) -> tuple[str, list[Entity]]:
    """Text and entities as Telegram stores them for a message or caption."""
    mode = (parse_mode or "").lower()
    if text and mode and mode != "none":
        if mode == "html":
            text, ents = parse_html(text)
        elif mode == "markdownv2":
            text, ents = parse_markdown_v2(text)
        elif mode == "markdown":
            text, ents = parse_markdown(text)
        else:
            raise ValueError("unsupported parse_mode")
    else:
        ents = [dict(e) for e in entities or []]
        total = utf16_len(text)
        for e in ents:
            if e.get("offset", -1) < 0 or e.get("length", -1) < 0 or "type" not in e:
                raise EntityParseError("Can't parse MessageEntity")
        ents = [e for e in ents if e["length"] > 0 and e["offset"] < total]
    text, ents = trim(text, ents)
    if autodetect:
        ents = _sort(ents + find_entities(text, ents))
    return text, ents


def entity_text(text: str, entity: Entity) -> str:
    """The part of ``text`` an entity covers (offsets in UTF-16)."""
    raw = text.encode("utf-16-le", "surrogatepass")
    start, length = entity["offset"] * 2, entity["length"] * 2
    return raw[start : start + length].decode("utf-16-le", "surrogatepass")
