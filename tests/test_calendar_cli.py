"""``mcu-hub deadline`` and ``mcu-hub calendar``: output, config, and bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli.working_time import add_parsers, main

# the official production calendars, (working days, hours) by month: see test_calendar.py
OFFICIAL = {
    2025: [
        (17, 136), (20, 160), (21, 167), (22, 175), (18, 144), (19, 151),
        (23, 184), (21, 168), (22, 176), (23, 184), (19, 151), (22, 176),
    ],
    2026: [
        (15, 120), (19, 152), (21, 168), (22, 175), (19, 151), (21, 167),
        (23, 184), (21, 168), (22, 176), (22, 176), (20, 159), (22, 176),
    ],
}  # fmt: skip

CONFIG = """
[municipality]
name = "Новокузнецкий район"
timezone = "Asia/Novokuznetsk"

[telegram]
token = "123:abc"
staff_group = -1001000000001

[[blocks]]
name = "ЖКХ"

[calendar]
extra_holidays = [2026-03-10]
shortened_days = [2026-03-11]

[sla]
default_policy = "quick"
fast_track_policy = "quick"
first_reply_policy = "quick"

[sla.policies.quick]
kind = "working_hours"
hours = 2
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "mcu.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_the_issue_example(capsys: pytest.CaptureFixture[str]):
    code, out, err = run(capsys, "deadline", "--from", "2026-03-06T17:00", "--policy", "fast_track")
    assert (code, out, err) == (0, "2026-03-10T12:00:00+03:00\n", "")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--from", "2026-03-06T17:00", "--hours", "1"], "2026-03-10T09:00:00+03:00"),
        (["--from", "2026-03-06T17:00", "--hours", "0.25"], "2026-03-06T17:15:00+03:00"),
        (["--from", "2026-03-06T17:00"], "2026-03-10T16:00:00+03:00"),  # default: answer
        (["--from", "2026-03-06T17:00", "--policy", "portal"], "2026-03-20T17:00:00+03:00"),
        (["--from", "2026-03-07T19:00", "--policy", "governor"], "2026-03-08T18:00:00+03:00"),
        (
            ["--from", "2026-03-06T17:00", "--policy", "fast_track", "--tz", "Asia/Yekaterinburg"],
            "2026-03-10T12:00:00+05:00",
        ),
        (  # an offset in --from: converted to the zone of the calendar
            ["--from", "2026-03-06T14:00:00+00:00", "--policy", "fast_track"],
            "2026-03-10T12:00:00+03:00",
        ),
        (["--from", "2026-03-06T17:00Z", "--policy", "first_reply"], "2026-03-10T09:30:00+03:00"),
        (["--from", "2026-03-07", "--policy", "fast_track"], "2026-03-10T12:30:00+03:00"),
    ],
)
def test_deadline(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str):
    code, out, err = run(capsys, "deadline", *argv)
    assert (code, out.strip(), err) == (0, expected, "")


def test_deadline_with_a_config(capsys: pytest.CaptureFixture[str], config: Path):
    # Novokuznetsk time; 9 March carried, 10 March a regional holiday, 11 March shortened
    code, out, _ = run(capsys, "deadline", "-c", str(config), "--from", "2026-03-06T17:00")
    assert (code, out.strip()) == (0, "2026-03-11T10:00:00+07:00")
    code, out, _ = run(
        capsys, "deadline", "-c", str(config), "--from", "2026-03-11T16:00", "--policy", "quick"
    )
    assert (code, out.strip()) == (0, "2026-03-12T10:00:00+07:00")
    code, out, _ = run(
        capsys, "deadline", "-c", str(config), "--tz", "Europe/Moscow", "--from", "2026-03-06T17:00"
    )
    assert (code, out.strip()) == (0, "2026-03-11T10:00:00+03:00")


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["deadline", "--from", "2026-02-30T10:00"], "--from"),
        (["deadline", "--from", "вчера"], "--from"),
        (["deadline", "--from", "2026-03-06T17:00", "--policy", "nope"], "--policy"),
        (["deadline", "--from", "2026-03-06T17:00", "--tz", "Europe/Atlantis"], "--tz"),
        (["deadline", "--from", "2026-03-06T17:00", "--hours", "0"], "--hours"),
        (["deadline", "--from", "2026-03-06T17:00", "--hours", "x"], "--hours"),
        (["deadline", "--from", "2026-03-06T17:00", "--hours", "nan"], "--hours"),
        (["deadline", "--from", "2026-03-06T17:00", "-c", "/nonexistent.toml"], "--config"),
        (["calendar", "--year", "twenty"], "--year"),
        (["calendar", "--year", "1700"], "--year"),
    ],
)
def test_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str], argument: str):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert argument in err


def test_calendar_json_agrees_with_the_official_calendars(capsys: pytest.CaptureFixture[str]):
    for year, months in OFFICIAL.items():
        code, out, _ = run(capsys, "calendar", "--year", str(year), "--json")
        assert code == 0
        doc = json.loads(out)
        assert doc["year"] == year
        assert [(m["working_days"], m["hours"]) for m in doc["months"]] == months
        assert [m["month"] for m in doc["months"]] == list(range(1, 13))
        assert (doc["working_days"], doc["hours"]) == (247, 1972)
        assert {"holidays", "transfers", "shortened"} <= set(doc)


def test_calendar_json_lists(capsys: pytest.CaptureFixture[str]):
    _, out, _ = run(capsys, "calendar", "--year", "2025", "--json")
    doc = json.loads(out)
    assert doc["shortened"] == ["2025-03-07", "2025-04-30", "2025-06-11", "2025-11-01"]
    assert {"from": "2025-11-01", "to": "2025-11-03"} in doc["transfers"]
    assert {"from": "2025-01-05", "to": "2025-12-31"} in doc["transfers"]
    assert doc["working_weekends"] == ["2025-11-01"]
    assert {"date": "2025-11-04", "name": "День народного единства"} in doc["holidays"]
    assert "cons_doc_LAW_481586" in doc["source"] and doc["provisional"] is False


def test_calendar_text(capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(capsys, "calendar", "--year", "2026")
    assert code == 0
    lines = out.splitlines()
    assert "January              15    120" in lines
    assert "total               247   1972" in lines
    assert "  2026-01-04 Sun -> 2026-12-31 Thu" in lines
    assert "  2026-03-08 Sun -> 2026-03-09 Mon" in lines
    assert "  2026-05-08 Fri" in lines
    assert "cons_doc_LAW_515170" in out and "Provisional" not in out


def test_calendar_with_config_overrides(capsys: pytest.CaptureFixture[str], config: Path):
    _, out, _ = run(capsys, "calendar", "--year", "2026", "--json", "-c", str(config))
    doc = json.loads(out)
    march = doc["months"][2]
    assert (march["working_days"], march["hours"]) == (20, 159)
    assert "2026-03-11" in doc["shortened"]


def test_add_parsers_wires_into_any_cli(capsys: pytest.CaptureFixture[str]):
    parser = argparse.ArgumentParser(prog="mcu-hub")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub)
    args = parser.parse_args(["deadline", "--from", "2026-03-05T10:00", "--policy", "fast_track"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "2026-03-05T14:00:00+03:00\n"


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027, 2028, 2030])
def test_every_years_source_names_only_what_can_be_checked(
        capsys: pytest.CaptureFixture[str], year: int):
    """No decree number or date that nothing here can verify; the holidays package's
    citation or the rules used; provisional while no decree is known."""
    import re

    from bot.domain.production_calendar import YEARS

    _, out, _ = run(capsys, "calendar", "--year", str(year))
    source = out[out.index("Source:"):out.index("month ")]
    assert "Постановление" not in source and not re.search(r"№\s*\d", source), source
    if year in YEARS:
        assert "holidays" in source and YEARS[year].transfers_cited in source
        assert "Provisional" not in out
    else:
        assert f"no decree for {year}" in source
        assert f"Provisional: the decree on the transfers of days off in {year}" in out
    _, out, _ = run(capsys, "calendar", "--year", str(year), "--json")
    assert json.loads(out)["provisional"] is (year not in YEARS)


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_the_holidays_package_still_cites_what_our_data_says_it_cites(year: int):
    import inspect

    from holidays.countries import russia

    from bot.domain.production_calendar import YEARS

    assert YEARS[year].transfers_cited in inspect.getsource(russia)
