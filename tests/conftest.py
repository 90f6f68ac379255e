"""Fixtures every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.telegram import TelegramSandbox
from tests import tg_reference


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
