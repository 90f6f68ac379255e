"""The second Telegram client the suite reads every sandbox answer with (tests/conftest.py)."""

from __future__ import annotations

import pytest

from bot.sandbox import world
from bot.sandbox.telegram import TelegramSandbox
from tests.tg_reference import RESULTS, Disagreement, check

CHAT = {"id": world.CITY_CHAT, "type": "supergroup", "title": "Чат"}
USER = {"id": 2001, "is_bot": False, "first_name": "Житель"}


def message(**extra) -> dict:
    return {"message_id": 5, "date": 1_790_000_000, "chat": CHAT, "from": USER, "text": "а",
            **extra}


def test_every_method_the_sandbox_serves_has_a_reference_type() -> None:
    served = {n[3:] for n in dir(TelegramSandbox) if n.startswith("_m_")}
    assert served - set(RESULTS) == set()


def test_the_reference_refuses_what_aiogram_would_forgive() -> None:
    check("sendMessage", {"ok": True, "result": message()})
    check("getUpdates", {"ok": True, "result": [{"update_id": 1, "message": message(
        forward_origin={"type": "chat", "sender_chat": CHAT, "date": 1_790_000_000},
        forward_from_chat=CHAT, forward_date=1_790_000_000)}]})  # legacy fields: as the server
    broken = {k: v for k, v in message().items() if k != "chat"}
    with pytest.raises(Disagreement, match=r"missing sendMessage\.result\.chat"):
        check("sendMessage", {"ok": True, "result": broken})
    with pytest.raises(Disagreement, match="is_automatic"):
        check("sendMessage", {"ok": True, "result": message(is_automatic=True)})
    with pytest.raises(Disagreement, match="expected int"):
        check("getChatMemberCount", {"ok": True, "result": "3"})
    with pytest.raises(Disagreement, match="expected True"):
        check("deleteMessage", {"ok": True, "result": False})
    with pytest.raises(Disagreement, match="error_code and description"):
        check("sendMessage", {"ok": False, "error_code": 400})
    with pytest.raises(Disagreement, match="unknown error parameters"):
        check("sendMessage", {"ok": False, "error_code": 429, "description": "Too Many Requests",
                              "parameters": {"retry_after": 3, "wait": 3}})
    with pytest.raises(Disagreement, match="Add it"):
        check("sendLivePhoto", {"ok": True, "result": message()})
