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


# -- dependencies point one way ---------------------------------------------------------------
#
# handlers → services → domain and storage; the platform adapters and the sources sit at the
# edge beside the handlers. ``bot/app.py``, the composition root, is the one module under
# bot/ that imports handlers/ (it includes every router itself, in one visible order).

COMPOSITION_ROOT = "bot/app.py"
PLATFORM_SDKS = ("aiogram", "vk_api", "aiohttp", "requests")

# (files whose path starts with this, what they must not import, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("bot/domain/", (*PLATFORM_SDKS, "aiosqlite", "storage", "handlers", "bot.services",
                     "bot.platforms", "bot.sources", "bot.outbox", "bot.app", "bot.cli",
                     "bot.sandbox", "bot.ports", "bot.render"),
     "the domain is pure: no I/O, no platform, no storage"),
    ("bot/services/", (*PLATFORM_SDKS, "handlers", "bot.platforms", "bot.sources", "bot.app",
                       "bot.cli", "bot.sandbox"),
     "services reach the platforms only through the ports of bot/ports.py"),
    ("bot/ports.py", (*PLATFORM_SDKS, "handlers", "bot.services", "bot.platforms",
                      "bot.sources", "bot.app"),
     "the ports name no adapter and no service"),
    ("bot/outbox/", (*PLATFORM_SDKS, "handlers", "bot.services", "bot.platforms",
                     "bot.sources", "bot.app"),
     "the outbox delivers whatever its adapters give it"),
    ("storage/", (*PLATFORM_SDKS, "bot", "handlers"),
     "storage knows SQL and its dataclasses, nothing of the bot"),
    ("handlers/", ("storage", "bot.app", "bot.cli", "bot.outbox"),
     "handlers are thin: they call services, which call storage"),
]


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module imported, at any depth, except type-only imports (TYPE_CHECKING)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            skipped.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _is(module: str, banned: str) -> bool:
    return module == banned or module.startswith(banned + ".")


ALL_CODE = sorted(p for top in ("bot", "handlers", "storage") for p in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", ALL_CODE, ids=_name)
def test_dependencies_point_one_way(path: Path):
    name = _name(path)
    imports = _imports(ast.parse(path.read_text(encoding="utf-8")))
    wrong = []
    if name.startswith("bot/") and name != COMPOSITION_ROOT:
        wrong += [f"{name}:{line}: imports {module} (only {COMPOSITION_ROOT} imports handlers)"
                  for line, module in imports if _is(module, "handlers")]
    for prefix, banned, why in RULES:
        if name.startswith(prefix):
            wrong += [f"{name}:{line}: imports {module} ({why})"
                      for line, module in imports for b in banned if _is(module, b)]
    assert not wrong, "\n".join(dict.fromkeys(wrong))


def test_the_composition_root_includes_the_routers():
    """bot/app.py imports handlers/ — the rule above has its one exception for a reason."""
    imports = {module for _, module in _imports(ast.parse(
        (ROOT / COMPOSITION_ROOT).read_text(encoding="utf-8")))}
    assert any(_is(module, "handlers") for module in imports)


MAX_LINES = 450  # a module a reader takes in one sitting (the sandbox mirrors whole APIs)


def test_no_module_is_too_long_to_read_in_one_sitting():
    long = [f"{_name(path)}: {n} lines" for path in ALL_CODE
            if not _name(path).startswith("bot/sandbox/")
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "split along its seams:\n" + "\n".join(long)


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _loaded_at_import(tree: ast.Module) -> list[str]:
    """Modules a module needs while it is being imported: its top-level imports only."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            continue
        for child in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(child, ast.Import):
                found += [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found += [child.module, *(f"{child.module}.{a.name}" for a in child.names)]
    return found


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    done: set[str] = set()
    cycles: list[str] = []

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append(" → ".join([*trail[trail.index(name):], name]))
            return
        if name in done:
            return
        for needed in sorted(graph.get(name, ())):
            visit(needed, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return cycles


def test_no_import_cycles():
    """A module never needs, while loading, a module that needs it back (at any distance)."""
    modules = {_module_name(p): p for p in ALL_CODE}
    graph = {name: {m for m in _loaded_at_import(ast.parse(path.read_text(encoding="utf-8")))
                    if m in modules and m != name}
             for name, path in modules.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_check_sees_a_cycle():
    """The check above can fail: a ring of three and a pair are both found."""
    tree = ast.parse("import os\nfrom bot.x import y\nif TYPE_CHECKING:\n    import bot.z\n")
    assert _loaded_at_import(tree) == ["os", "bot.x", "bot.x.y"]
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert _cycles(ring) == ["a → b → c → a", "d → e → d"]
