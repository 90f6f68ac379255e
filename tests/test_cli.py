"""The console commands a newcomer types first: init-config, check-config, every --help."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.config import example_config
from tests.test_config import PLACEHOLDER_KEYS

ROOT = Path(__file__).parents[1]


def _run(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60, check=False)


def test_check_config_on_the_unedited_example_names_each_placeholder(tmp_path: Path):
    path = tmp_path / "config.toml"
    assert cli.main(["init-config", str(path)]) == 0
    for argv in (["check-config", str(path)], ["check-config", "-c", str(path)]):
        done = _run(*argv, env={k: v for k, v in os.environ.items()
                                if not k.startswith("MCU_")})
        assert done.returncode == 2, done
        lines = done.stdout.splitlines()
        assert [line.split(":", 1)[0] for line in lines] == PLACEHOLDER_KEYS
        assert all("placeholder" in line for line in lines)


def test_check_config_takes_the_file_either_way(tmp_path: Path, capsys):
    path = tmp_path / "config.toml"
    path.write_text(example_config().replace("REPLACE-WITH", "filled"), encoding="utf-8")
    assert cli.main(["check-config", "-c", str(path)]) == 0
    assert cli.main(["check-config", str(path)]) == 0
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == "OK\nOK\nOK\n"
    assert cli.main(["check-config"]) == 2
    assert "check-config -c" in capsys.readouterr().err
    assert cli.main(["check-config", str(path), "-c", str(tmp_path / "other.toml")]) == 2


def test_init_config_writes_the_example_and_never_overwrites(tmp_path: Path, capsys):
    path = tmp_path / "etc" / "config.toml"
    assert cli.main(["init-config", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == example_config()
    assert "check-config -c" in capsys.readouterr().out
    path.write_text("# mine\n", encoding="utf-8")
    assert cli.main(["init-config", str(path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert cli.main(["init-config", str(path), "--force"]) == 0
    assert path.read_text(encoding="utf-8") == example_config()


def test_an_installed_package_writes_the_example_without_the_checkout(tmp_path: Path):
    """Build the package as pip would (build_py with the pyproject's package data) and run
    it from elsewhere: the example must come from the package, not from a source tree."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("bot", "handlers", "storage", "templates"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    lib = tmp_path / "lib"
    built = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
         "-d", str(lib)], cwd=source, capture_output=True, text=True, timeout=120,
        check=False)
    assert built.returncode == 0, built.stderr
    shutil.rmtree(source)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MCU_")},
           "PYTHONPATH": str(lib)}
    done = _run("init-config", "config.toml", cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    written = (elsewhere / "config.toml").read_text(encoding="utf-8")
    assert written == (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert _run("check-config", "-c", "config.toml", cwd=elsewhere, env=env).returncode == 2


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# `route` and its help texts belong to the routing work (issue 15)
OTHERS = {"route"}


@pytest.mark.parametrize("name", sorted(set(_subcommands()) - OTHERS))
def test_every_option_has_help(name: str):
    parser = _subcommands()[name]
    missing = [a.dest for a in parser._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == [], f"mcu-hub {name}: no help for {missing}"


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):readme.index("## Running it")]
    listed = set(re.findall(r"^\| `mcu-hub ([a-z-]+)", table, re.M))
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    for name in _subcommands():
        assert helps.get(name), f"mcu-hub {name} has no help line"
        assert name in listed, f"mcu-hub {name} is not in the README's command table"
    assert "mcu-hub init-config" in readme and "cp config.example.toml" not in readme
