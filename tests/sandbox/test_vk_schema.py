"""Every VK object the sandbox emits, checked against VK's own API schema.

The reference is not ours: VKCOM/vk-api-schema (MIT; its JSON files, as published for
API 5.199, are kept as test data in ``tests/vk_schema/`` with their licence). The files
are JSON Schema draft 07 with VK's own habit of ``"required": true`` inside a property
(draft 03 style), which the validator below honours too. Where the sandbox and the
schema disagree the sandbox is fixed — unless the schema is known to be wrong, and then
``SCHEMA_WRONG`` says where and why.

The sandbox is driven over plain HTTP here (not vk_api), so what is checked is the JSON
exactly as it went over the wire.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema  # the test extra
import pytest
import referencing
import referencing.jsonschema
from aiohttp import web

from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.vk import ERROR_TEXT, VkSandbox

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "vk_schema"
BASE = "https://vk-api-schema.invalid/"
ADMIN, PUBLIC = world.VK_ADMIN, world.VK_PUBLIC
GROUP_TOKEN = world.community_token(ADMIN)
USER_TOKEN = world.user_token(ADMIN)

# Where VK's schema is known to be wrong, by the error's schema path (the definition and
# keyword) — VK sends otherwise, and so does the sandbox. Keep it short, say why.
SCHEMA_WRONG: dict[tuple[str, str], str] = {
    ("callback/objects.json#callback_photo_comment", "photo_owner_id/minimum"):
        "a community's photo has a negative owner id (photo-100001_5), as every community "
        "owner id in VK; the schema's minimum 0 would allow users' photos only",
}

# Fields the sandbox sends that the schema does not declare, because VK sends them all
# the same (dev.vk.com says so); by the checked definition and the field's name.
BEYOND_SCHEMA: dict[tuple[str, str], str] = {
    ("base/objects.json#base_error", "captcha_sid"): "error 14: dev.vk.com/ru/api/captcha-error",
    ("base/objects.json#base_error", "captcha_img"): "error 14: dev.vk.com/ru/api/captcha-error",
    ("callback/objects.json#callback_base", "object"):
        "the event's object, checked apart as callback_<type>",
    ("callback/objects.json#callback_wall_reply_new", "post_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_new",
    ("callback/objects.json#callback_wall_reply_edit", "post_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_edit",
    ("callback/objects.json#callback_wall_comment_delete", "deleter_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_delete",
    ("callback/objects.json#callback_board_post_new", "topic_id"):
        "dev.vk.com/ru/api/community-events/json-schema: board_post_new",
    ("callback/objects.json#callback_board_post_new", "topic_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: board_post_new",
    # wall_post_new carries the post as wall.get gives it (wall_wallpost_full has these)
    ("callback/objects.json#callback_wall_post_new", "comments"): "as in wall_wallpost_full",
    ("callback/objects.json#callback_wall_post_new", "created_by"): "as in wall_wallpost_full",
    ("callback/objects.json#callback_wall_post_new", "hash"): "as in wall_wallpost_full",
    ("callback/objects.json#callback_wall_post_new", "marked_as_ads"):
        "as in wall_wallpost_full",
}


# ---------------------------------------------------------------------- the validator


def _registry() -> Any:
    resources = []
    for path in SCHEMA_DIR.rglob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = BASE + path.relative_to(SCHEMA_DIR).as_posix()
        resources.append((uri, referencing.Resource(
            contents, specification=referencing.jsonschema.DRAFT7)))
    return referencing.Registry().with_resources(resources)


_DECLARED: dict[int, set[str]] = {}  # id(an object checked) -> the names its schemas declare


def _properties(validator: Any, properties: dict[str, Any], instance: Any,
                schema: dict[str, Any]) -> Iterator[Any]:
    """Draft 07 ``properties``, plus VK's ``"required": true`` on a property. The
    ``inner_type`` tag is for VK's code generators and never sent: not required."""
    yield from _DRAFT7_PROPERTIES(validator, properties, instance, schema)
    if not validator.is_type(instance, "object"):
        return
    _DECLARED.setdefault(id(instance), set()).update(properties)
    for name, sub in properties.items():
        if (isinstance(sub, dict) and sub.get("required") is True and name not in instance
                and name != "inner_type"):
            yield jsonschema.ValidationError(f"{name!r} is a required property")


def _required(validator: Any, required: Any, instance: Any, schema: dict[str, Any]
              ) -> Iterator[Any]:
    if isinstance(required, list):  # a boolean here is VK's per-property flag, above
        yield from _DRAFT7_REQUIRED(validator, required, instance, schema)


_DRAFT7_PROPERTIES = jsonschema.Draft7Validator.VALIDATORS["properties"]
_DRAFT7_REQUIRED = jsonschema.Draft7Validator.VALIDATORS["required"]
VkValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"properties": _properties, "required": _required})
REGISTRY = _registry()


def problems(instance: Any, definition: str) -> list[str]:
    """What VK's schema finds wrong with ``instance`` as ``file.json#name``."""
    file, _, name = definition.partition("#")
    validator = VkValidator({"$ref": f"{BASE}{file}#/definitions/{name}"}, registry=REGISTRY)
    found = []
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            where = "/".join(str(p) for p in leaf.absolute_path)
            keyword = "/".join(str(p) for p in list(leaf.absolute_schema_path)[-2:])
            if not any(key == (definition, keyword) or key == ("*", keyword)
                       for key in SCHEMA_WRONG):
                found.append(f"{definition} at /{where}: {leaf.message} ({keyword})")
    return found


def unknown_fields(instance: Any, definition: str) -> list[str]:
    """Fields the sandbox sends that no schema of the object declares (VK would not
    send them: the bot must not come to rely on them)."""
    _DECLARED.clear()
    problems(instance, definition)
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            declared = _DECLARED.get(id(node))
            if declared is not None:
                found.extend(f"{where}/{k}" for k in sorted(set(node) - declared))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}/{n}")

    walk(instance, "")
    _DECLARED.clear()
    return found


def _leaves(error: Any) -> list[Any]:
    """The innermost errors: for oneOf/anyOf, the branch that came closest."""
    if not error.context:
        return [error]
    best = jsonschema.exceptions.best_match(error.context)
    return _leaves(best) if best is not None else [error]


def check(instance: Any, definition: str) -> None:
    """No disagreement with the schema, and no field it does not know of (unless VK is
    known to send it: ``BEYOND_SCHEMA``)."""
    found = problems(instance, definition)
    found += [f"{definition} at {where}: a field the schema does not declare"
              for where in unknown_fields(instance, definition)
              if (definition, where.rsplit("/", 1)[-1]) not in BEYOND_SCHEMA]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------- the sandbox


class Raw:
    """The VK sandbox over plain HTTP: answers exactly as sent."""

    def __init__(self, sandbox: VkSandbox, base: str, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = base
        self.http = http

    async def call(self, token: str, method: str, **params: Any) -> dict[str, Any]:
        form = {"access_token": token, "v": "5.199",
                **{k: str(v) for k, v in params.items()}}
        async with self.http.post(f"{self.base}/vk/method/{method}", data=form) as response:
            assert response.status == 200
            return await response.json()

    async def ok(self, token: str, method: str, **params: Any) -> dict[str, Any]:
        body = await self.call(token, method, **params)
        assert "response" in body, body
        return body

    async def control(self, path: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/control/vk/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[Raw]:
    sandbox = VkSandbox(SandboxState(), rate_limits=False)
    app = web.Application()
    sandbox.register(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with aiohttp.ClientSession() as http:
        yield Raw(sandbox, f"http://127.0.0.1:{runner.addresses[0][1]}", http)
    await runner.cleanup()


@pytest.fixture
async def vk() -> AsyncIterator[Raw]:
    async with serve() as raw:
        yield raw


PHOTO = {"type": "photo", "photo": {"id": 5, "owner_id": 500001, "album_id": -14,
                                    "date": 1700000000, "sizes": [], "text": "",
                                    "has_tags": False}}  # as a citizen's client attaches it


async def _world(vk: Raw) -> dict[str, Any]:
    """A wall with posts, comments, replies and a photo, a citizen's message."""
    citizen = await vk.control("comment", group_id=ADMIN, post_id=3, from_id=500001,
                               text="Нет воды", attachments=[PHOTO])
    await vk.control("comment", group_id=ADMIN, post_id=3, from_id=500002,
                     text="И у нас", reply_to_comment=citizen["comment_id"])
    await vk.control("post", group_id=PUBLIC, from_id=500003, text="Яма на дороге")
    await vk.control("message", group_id=ADMIN, from_id=500004, text="Когда дадут свет?")
    return citizen


# ---------------------------------------------------------------------- the checks


def test_the_schema_files_are_all_there() -> None:
    """Every file one of them refers to is kept (a missing one would pass silently)."""
    for path in SCHEMA_DIR.rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        for ref in {r.split("#")[0] for r in json.loads(json.dumps(_refs(json.loads(text))))}:
            if ref:
                assert (path.parent / ref).resolve().exists(), f"{path.name} needs {ref}"
    assert (SCHEMA_DIR / "LICENSE").exists()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_validator_is_not_blind() -> None:
    """A wrong type, a missing required field and a wrong nested object are found."""
    assert problems({"response": {"count": "3", "items": []}}, "wall/responses.json"
                    "#wall_get_response")
    assert problems({"response": {"items": []}}, "wall/responses.json#wall_get_response")
    bad_comment = {"id": 1, "from_id": 1, "date": 0}  # no text
    assert problems({"response": {"count": 1, "items": [bad_comment]}},
                    "wall/responses.json#wall_getComments_response")
    assert not problems({"response": {"count": 0, "items": []}},
                        "wall/responses.json#wall_get_response")
    assert unknown_fields({"response": {"count": 0, "items": [], "bogus": 1}},
                          "wall/responses.json#wall_get_response") == ["/response/bogus"]


async def test_wall_answers_match_vks_schema(vk: Raw) -> None:
    await _world(vk)
    for token, owner in ((USER_TOKEN, -ADMIN), (world.SERVICE_TOKEN, -PUBLIC)):
        check(await vk.ok(token, "wall.get", owner_id=owner), "wall/responses.json"
              "#wall_get_response")
        check(await vk.ok(token, "wall.get", owner_id=owner, extended=1),
              "wall/responses.json#wall_get_extended_response")
    post = f"-{ADMIN}_3"
    check(await vk.ok(USER_TOKEN, "wall.getById", posts=post),
          "wall/responses.json#wall_getById_response")
    check(await vk.ok(USER_TOKEN, "wall.getById", posts=post, extended=1),
          "wall/responses.json#wall_getById_extended_response")
    for extra in ({}, {"thread_items_count": 10, "sort": "desc"}):
        check(await vk.ok(USER_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=3,
                          **extra), "wall/responses.json#wall_getComments_response")
        check(await vk.ok(USER_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=3,
                          extended=1, **extra),
              "wall/responses.json#wall_getComments_extended_response")
    check(await vk.ok(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=3,
                      message="Воду дадут к вечеру", guid="a-1"),
          "wall/responses.json#wall_createComment_response")
    check(await vk.ok(USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1,
                      message="Отключение воды 25.11", guid="p-1"),
          "wall/responses.json#wall_post_response")


async def test_people_groups_messages_and_uploads_match_vks_schema(vk: Raw) -> None:
    await _world(vk)
    check(await vk.ok(GROUP_TOKEN, "users.get", user_ids="500001,500002"),
          "users/responses.json#users_get_response")
    check(await vk.ok(GROUP_TOKEN, "users.get", user_ids="500001", fields="sex,screen_name"),
          "users/responses.json#users_get_response")
    check(await vk.ok(GROUP_TOKEN, "groups.getById", group_id=ADMIN),
          "groups/responses.json#groups_getById_object_response")
    check(await vk.ok(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN),
          "groups/responses.json#groups_getLongPollServer_response")
    check(await vk.ok(GROUP_TOKEN, "messages.send", peer_id=500004, message="Завтра",
                      random_id=7), "messages/responses.json#messages_send_deprecated_response")
    check(await vk.ok(GROUP_TOKEN, "messages.send", peer_ids="500004", message="Завтра",
                      random_id=8), "messages/responses.json#messages_send_user_ids_response")
    check(await vk.ok(USER_TOKEN, "polls.create", owner_id=-ADMIN, question="Удобно?",
                      add_answers='["Да", "Нет"]'), "polls/responses.json#polls_create_response")
    server = await vk.ok(USER_TOKEN, "photos.getWallUploadServer", group_id=ADMIN)
    check(server, "photos/responses.json#photos_getWallUploadServer_response")
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff jpeg", filename="a.jpg", content_type="image/jpeg")
    async with vk.http.post(server["response"]["upload_url"], data=form) as response:
        uploaded = await response.json()
    # the upload server's answer has no schema of its own; its fields are the
    # parameters photos.saveWallPhoto takes (photos/methods.json): server, photo, hash
    assert isinstance(uploaded["server"], int) and isinstance(uploaded["photo"], str)
    assert isinstance(uploaded["hash"], str)
    check(await vk.ok(USER_TOKEN, "photos.saveWallPhoto", group_id=ADMIN,
                      photo=uploaded["photo"], server=uploaded["server"],
                      hash=uploaded["hash"]),
          "photos/responses.json#photos_saveWallPhoto_response")


async def test_errors_match_vks_schema_and_words(vk: Raw) -> None:
    """The error body's shape, and every code the sandbox knows with VK's own words."""
    listed = json.loads((SCHEMA_DIR / "errors.json").read_text(encoding="utf-8"))["errors"]
    by_code = {e["code"]: e["description"] for e in listed.values()}
    for code, text in ERROR_TEXT.items():
        assert code in by_code, code
        assert text.startswith(by_code[code].rstrip(".")), (code, text, by_code[code])
    answers = [
        await vk.call("forged", "users.get"),  # 5
        await vk.call(GROUP_TOKEN, "wall.nothing"),  # 3
        await vk.call(GROUP_TOKEN, "wall.post", owner_id=-ADMIN, message="x"),  # 27
        await vk.call(world.SERVICE_TOKEN, "messages.send", peer_id=1, random_id=1),  # 28
        await vk.call(GROUP_TOKEN, "messages.send", peer_id=1, message="x", random_id=1),
    ]
    vk.sandbox.state.add_fault(platform="vk", kind="vk_error", code=14, count=1)
    answers.append(await vk.call(GROUP_TOKEN, "users.get"))
    assert [a["error"]["error_code"] for a in answers] == [5, 3, 27, 28, 901, 14]
    for answer in answers:
        assert set(answer) == {"error"}
        check(answer["error"], "base/objects.json#base_error")


async def test_long_poll_events_match_vks_schema(vk: Raw) -> None:
    """Each Bots Long Poll update: the envelope (callback_base) and its object as the
    schema's callback_<type> says."""
    server = (await vk.ok(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN))["response"]
    citizen = await _world(vk)
    await vk.control("edit_comment", group_id=ADMIN, comment_id=citizen["comment_id"],
                     text="Нет воды второй день")
    await vk.control("delete_comment", group_id=ADMIN, comment_id=citizen["comment_id"])
    await vk.control("photo_comment", group_id=ADMIN, photo_id=4, from_id=500005, text="Свет?")
    await vk.control("video_comment", group_id=ADMIN, video_id=6, from_id=500006, text="Где?")
    await vk.control("board_post", group_id=ADMIN, topic_id=2, from_id=500007, text="Вопрос")
    await vk.ok(USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1, message="Новость")
    await vk.control("post", group_id=ADMIN, from_id=500008, text="Предлагаю новость")
    params = {"act": "a_check", "key": server["key"], "ts": server["ts"], "wait": "0"}
    async with vk.http.get(server["server"], params=params) as response:
        answer = await response.json()
    updates = answer["updates"]
    types = [u["type"] for u in updates]
    assert {"wall_reply_new", "wall_reply_edit", "wall_reply_delete", "message_new",
            "photo_comment_new", "video_comment_new", "board_post_new",
            "wall_post_new"} <= set(types)
    assert isinstance(answer["ts"], str)
    objects = {
        "wall_reply_new": "callback_wall_reply_new",
        "wall_reply_edit": "callback_wall_reply_edit",
        "wall_reply_delete": "callback_wall_comment_delete",
        "message_new": "callback_message_new",
        "photo_comment_new": "callback_photo_comment",
        "video_comment_new": "callback_video_comment",
        "board_post_new": "callback_board_post_new",
        "wall_post_new": "callback_wall_post_new",
    }
    for update in updates:
        check(update, "callback/objects.json#callback_base")
        check(update["object"], f"callback/objects.json#{objects[update['type']]}")
