"""An answer's photos on their way out (issue 17, item 1): the Telegram rows, the VK row
that uploads then sends, and the VK photo address kept for staff. Unit tests; the whole
way is in tests/test_e2e_photos.py."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import limits
from bot.outbox.outcomes import Permanent, Retry
from bot.platforms.telegram.page import answer_calls
from bot.platforms.vk.client import VkError
from bot.platforms.vk.page import ANSWERS_WITH_PHOTOS, VkPage
from bot.sources.vk_events import _photos
from storage import outbox
from storage.db import fetch_all
from tests.test_publishing import service  # noqa: F401  (the fixture: a hub in memory)

REPLY = {"platform": "tg", "method": "sendMessage",
         "params": {"chat_id": -1001000000002,
                    "reply_parameters": {"message_id": 5, "allow_sending_without_reply": True}}}


def test_telegram_text_only_is_unchanged():
    assert answer_calls(REPLY, "Готово.", []) == [
        ("0", "sendMessage", {**REPLY["params"], "text": "Готово."})]


def test_telegram_one_photo_carries_the_text_as_its_caption():
    ((suffix, method, params),) = answer_calls(REPLY, "Яму <засыпали>", ["f1"])
    assert (suffix, method) == ("photos", "sendPhoto")
    assert params["photo"] == "f1" and params["caption"] == "Яму &lt;засыпали&gt;"
    assert params["reply_parameters"]["message_id"] == 5


def test_telegram_album_caption_on_its_first_photo_and_at_most_ten():
    ((_, method, params),) = answer_calls(REPLY, "Сделано", [f"f{n}" for n in range(12)])
    assert method == "sendMediaGroup"
    assert len(params["media"]) == limits.ANSWER_PHOTOS_MAX == 10
    assert params["media"][0]["caption"] == "Сделано"
    assert all("caption" not in m for m in params["media"][1:])


def test_telegram_text_too_long_for_a_caption_goes_first_then_the_album():
    text = "слово " * 300  # 1800 characters: more than a caption's 1024
    rows = answer_calls(REPLY, text, ["f1", "f2"])
    assert [method for _, method, _ in rows] == ["sendMessage", "sendMediaGroup"]
    assert all("caption" not in m for m in rows[1][2]["media"])


def test_a_vk_photo_keeps_its_largest_address():
    obj = {"attachments": [{"type": "photo", "photo": {"owner_id": 5, "id": 7, "sizes": [
        {"type": "s", "width": 75, "height": 75, "url": "https://vk.example/s.jpg"},
        {"type": "x", "width": 604, "height": 453, "url": "https://vk.example/x.jpg"}]}}]}
    assert _photos(obj) == [{"type": "vk_photo", "id": "photo5_7",
                             "url": "https://vk.example/x.jpg"}]


class FakeVk:
    def __init__(self, fail: dict[str, Exception] | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}

    async def call(self, method: str, **params: Any) -> Any:
        self.calls.append((method, params))
        if method in self.fail:
            raise self.fail.pop(method)
        return {"comment_id": 9} if method == "wall.createComment" else 11

    async def upload_wall_photo(self, group_id: int, data: bytes, filename: str) -> str:
        self.calls.append(("wall_upload", {"group_id": group_id, "data": data}))
        return f"photo-{group_id}_{len(self.calls)}"

    async def upload_message_photo(self, peer_id: int, data: bytes, filename: str) -> str:
        self.calls.append(("message_upload", {"peer_id": peer_id}))
        return f"photo-100001_{len(self.calls)}"


COMMENT = {"platform": "vk", "lane": "vk:community:100001", "method": "wall.createComment",
           "params": {"owner_id": -100001, "post_id": 17, "reply_to_comment": 3,
                      "from_group": 100001}}
MESSAGE = {"platform": "vk", "lane": "vk:community:100001", "method": "messages.send",
           "params": {"peer_id": 500222}}


async def _queued(page: VkPage, target: dict[str, Any], photos: list[str]) -> outbox.Item:
    async with page.db.tx() as conn:
        await page.publish_answer(conn, 1, target, "Сделано.", key="answer:1:1",
                                  purpose="answer", now=page.clock.now(), photos=photos)
    found = await fetch_all(page.db.reader, "SELECT id FROM outbox WHERE platform = ?",
                            (ANSWERS_WITH_PHOTOS,))
    item = await outbox.get(page.db.reader, found[-1][0])
    assert item is not None
    return item


def _page(svc: Any, clients: dict[str, Any]) -> VkPage:
    page = svc.hub.pages["vk"]
    page.clients = clients

    async def fetch(file_id: str) -> bytes:
        return b"jpeg:" + file_id.encode()

    page.fetch_photo = fetch
    return page


async def test_a_comment_uploads_with_the_user_token_once_then_comments_with_guid(service):  # noqa: F811
    community, user = FakeVk(fail={"wall.createComment": VkError(10, "Internal")}), FakeVk()
    page = _page(service, {"vk:community:100001": community, "vk:user:100001": user})
    item = await _queued(page, COMMENT, ["a", "b"])
    assert item.purpose == "answer" and item.params["call"]["guid"] == "answer:1:1:0"
    with pytest.raises(Retry):
        await page.deliver_answer(item)
    assert await page.deliver_answer(item) == {"comment_id": 9}
    assert [m for m, _ in user.calls] == ["wall_upload", "wall_upload"]  # not again
    sent = [p for m, p in community.calls if m == "wall.createComment"]
    assert len(sent) == 2 and sent[0] == sent[1]  # the same guid: VK shows it once
    assert sent[-1]["attachments"] == "photo-100001_1,photo-100001_2"


async def test_a_comment_with_photos_without_an_admin_token_is_refused_in_words(service):  # noqa: F811
    page = _page(service, {"vk:community:100001": FakeVk()})
    item = await _queued(page, COMMENT, ["a"])
    with pytest.raises(Permanent, match="токена администратора"):
        await page.deliver_answer(item)


async def test_a_message_uploads_with_the_community_token(service):  # noqa: F811
    community = FakeVk()
    page = _page(service, {"vk:community:100001": community})
    item = await _queued(page, MESSAGE, ["a"])
    await page.deliver_answer(item)
    assert [m for m, _ in community.calls] == ["message_upload", "messages.send"]
    sent = community.calls[-1][1]
    assert sent["attachment"] == "photo-100001_1" and sent["random_id"]
