"""Start-up hooks: one that fails in any way is one log line, and the others still run."""

from __future__ import annotations

import logging

from aiogram.exceptions import ClientDecodeError

from bot.scheduler import Jobs


async def test_a_failing_hook_is_one_line_and_the_next_still_runs(caplog) -> None:
    jobs = Jobs.__new__(Jobs)
    jobs.on_start = []
    ran: list[str] = []

    async def broken(bot: object) -> None:
        raise ClientDecodeError("Failed to decode object", ValueError("x"),
                                "<html>\n<h1>502 Bad Gateway</h1>\n</html>")

    async def fine(bot: object) -> None:
        ran.append("fine")

    jobs.on_start += [broken, fine]
    with caplog.at_level(logging.INFO):
        await jobs.startup(object())
    assert ran == ["fine"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None
    message = errors[0].getMessage()
    assert "broken" in message and "ClientDecodeError" in message and "\n" not in message
