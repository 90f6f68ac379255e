"""The house rules, read from the source: SQL only in storage/, dependencies one way.

Every module under ``bot/`` and ``handlers/`` is parsed (not imported), so a rule broken
anywhere fails here with the file and the line. See ARCHITECTURE.md for the layers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = sorted(p for top in ("bot", "handlers") for p in (ROOT / top).rglob("*.py"))

# A statement, not an English sentence: the keywords as SQL writes them, in capitals.
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|(CREATE|DROP|ALTER)\s+(TABLE|INDEX|TRIGGER|VIEW)|SAVEPOINT|ROLLBACK|RELEASE\s+\w+"
    r"|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|TRANSACTION))\b", re.S)
DB_CALLS = {"execute", "executemany", "executescript"}


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, f-strings as their literal parts joined."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values
                     if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            found.append((node.lineno, " ? ".join(parts)))
    return found


def test_the_rules_see_the_code():
    names = {_name(p) for p in CODE}
    assert "bot/app.py" in names and "handlers/private.py" in names and len(names) > 40


@pytest.mark.parametrize("path", CODE, ids=_name)
def test_no_sql_outside_storage(path: Path):
    """Services and handlers call repository functions; the statements live in storage/."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    statements = [f"{_name(path)}:{line}: {text.strip()[:60]!r}"
                  for line, text in _strings(tree) if SQL.search(text)]
    calls = [f"{_name(path)}:{node.lineno}: .{node.func.attr}(…)"
             for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in DB_CALLS]
    assert not statements and not calls, "SQL outside storage/:\n" + "\n".join(
        statements + calls)
