"""Template answers (шаблоны) for typical questions, kept in ``templates/answers``.

Each file starts with a jinja comment naming its title and blocks:
``{# title: Плановое отключение воды; blocks: ЖКХ #}`` (``blocks: *`` for every block).
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.render import TEMPLATES_DIR, Renderer

_HEADER = re.compile(r"\{#\s*title:\s*(?P<title>[^;]+);\s*blocks:\s*(?P<blocks>[^#]+)#\}")


@lru_cache(maxsize=1)
def _index() -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for path in sorted((TEMPLATES_DIR / "answers").glob("*.txt.j2")):
        match = _HEADER.match(path.read_text(encoding="utf-8"))
        if match:
            blocks = frozenset(b.strip() for b in match["blocks"].split(","))
            found.append((f"answers/{path.name}", match["title"].strip(), blocks))
    return found


def for_block(render: Renderer, block: str) -> list[tuple[str, str]]:
    """(title, text) of the templates listed for the block, in file-name order."""
    return [
        (title, render.render(name))
        for name, title, blocks in _index()
        if block in blocks or "*" in blocks
    ]
