"""Fixtures every test shares."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator

import pytest

from bot.sandbox.telegram import TelegramSandbox
from storage.db import Database, is_postgres, sqlite_path
from tests import pgcluster, tg_reference


@pytest.fixture(autouse=True)
def telegram_reference() -> Iterator[list[str]]:
    """Every Bot API answer of an in-process sandbox, parsed by python-telegram-bot too;
    a test whose sandbox answered something the reference reads otherwise fails."""
    disagreements: list[str] = []

    def observe(method: str, body: dict) -> None:
        try:
            tg_reference.check(method, body)
        except Exception as exc:  # a Disagreement, or the reference choking on the answer
            if len(disagreements) < 20:
                disagreements.append(f"{type(exc).__name__}: {exc}")

    TelegramSandbox.observers.append(observe)
    try:
        yield disagreements
    finally:
        TelegramSandbox.observers.remove(observe)
    assert not disagreements, "the sandbox disagrees with python-telegram-bot:\n" + "\n".join(
        dict.fromkeys(disagreements))


# -- both backends ---------------------------------------------------------------------------
#
# Every storage test and every end-to-end test runs twice: on SQLite and on PostgreSQL
# (a throwaway cluster this session starts itself, tests/pgcluster.py). In a PostgreSQL
# run, each SQLite path a test opens becomes its own database, a copy of a migrated
# template, so reopening the same path (a restart) finds the same data.
# ``--backend sqlite`` (or MCU_TEST_BACKEND=sqlite) runs SQLite only. Tests of separate
# processes on a SQLite file (test_crash, test_e2e_process) stay SQLite's: the children
# cannot see this redirection; tests/test_failover.py runs processes on PostgreSQL.

BOTH_BACKENDS = {
    "test_storage", "test_schema", "test_delivery", "test_faults",
    "test_security", "test_retention", "test_deadlines", "test_publishing", "test_reports",
    "test_outbox_lanes", "test_tg_orphans", "test_health", "test_startup_hooks",
    "test_failover", "test_storms",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", default=os.environ.get("MCU_TEST_BACKEND", "both"),
                     choices=["both", "sqlite", "postgresql"],
                     help="which database backends the storage and end-to-end tests use")


def _both(module_name: str) -> bool:
    name = module_name.rsplit(".", 1)[-1]
    return name in BOTH_BACKENDS or (name.startswith("test_e2e_") and name != "test_e2e_process")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames or not _both(metafunc.module.__name__):
        return
    choice = metafunc.config.getoption("--backend")
    params = ["sqlite", "postgresql"] if choice == "both" else [choice]
    metafunc.parametrize("backend", params, indirect=True)


class _Postgres:
    """The session's cluster and the databases it made for this session's tests."""

    def __init__(self) -> None:
        self.cluster = pgcluster.Cluster()
        self.error = ""
        self.count = itertools.count()
        self.made: dict[str, str] = {}

    def start(self) -> None:
        try:
            self.cluster.start()
            self.cluster.psql(f"CREATE DATABASE mcu_template OWNER {pgcluster.ROLE}")

            async def migrate() -> None:
                await (await Database(self.cluster.url("mcu_template")).open()).close()

            asyncio.run(migrate())
        except Exception as exc:
            self.error = f"the PostgreSQL test cluster did not start: {exc}"

    def database_for(self, path: str) -> str:
        """The database standing in for the SQLite file ``path`` (":memory:": a new one)."""
        if path != ":memory:" and path in self.made:
            return self.made[path]
        name = f"t{next(self.count)}"
        self.cluster.psql(f"CREATE DATABASE {name} TEMPLATE mcu_template OWNER {pgcluster.ROLE}")
        url = self.cluster.url(name)
        if path != ":memory:":
            self.made[path] = url
        return url


@pytest.fixture(scope="session")
def postgres() -> Iterator[_Postgres]:
    found = _Postgres()
    if not found.cluster.available:
        found.error = ("PostgreSQL is not installed (initdb, pg_ctl): apt-get install "
                       "postgresql, or run with --backend sqlite")
    else:
        found.start()
    try:
        yield found
    finally:
        found.cluster.stop()


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` (the default) or ``postgresql``: in the latter, every Database this test
    opens on a SQLite path opens a PostgreSQL database instead."""
    name = getattr(request, "param", "sqlite")
    if name != "postgresql":
        return name
    server: _Postgres = request.getfixturevalue("postgres")
    if server.error:
        pytest.skip(server.error)
    original = Database.__init__

    def redirected(self: Database, target: str, municipality: str = "main") -> None:
        if not is_postgres(target):
            target = server.database_for(sqlite_path(str(target)))
        original(self, target, municipality)

    monkeypatch.setattr(Database, "__init__", redirected)
    return name
