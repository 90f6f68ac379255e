"""The one place SQLite's SQL becomes PostgreSQL's (storage/pg.py): placeholders, keys."""

from __future__ import annotations

from storage.pg import _args, translate


def test_question_marks_become_numbered_and_literals_stay():
    sql, names = translate("SELECT * FROM t WHERE a = ? AND b LIKE ? ESCAPE '\\' AND c = '?'")
    assert sql == "SELECT * FROM t WHERE a = $1 AND b LIKE $2 ESCAPE '\\' AND c = '?'"
    assert names is None


def test_named_parameters_are_numbered_once_each_and_casts_are_left_alone():
    sql, names = translate("SELECT :a, :b, :a, x::text, 'it''s :c' FROM t WHERE k = :b")
    assert sql == "SELECT $1, $2, $1, x::text, 'it''s :c' FROM t WHERE k = $2"
    assert names == ("a", "b")
    assert _args(names, {"b": 2, "a": 1, "unused": 3}) == [1, 2]


def test_every_conflict_key_begins_with_the_municipality():
    sql, _ = translate("INSERT INTO cursors(name, value) VALUES (?, ?)"
                       " ON CONFLICT(name) DO UPDATE SET value = excluded.value")
    assert "ON CONFLICT(municipality, name) DO UPDATE" in sql
    sql, _ = translate("INSERT INTO t(a) VALUES (?) ON CONFLICT DO NOTHING")
    assert sql.endswith("ON CONFLICT DO NOTHING")
