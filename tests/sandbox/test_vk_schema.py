"""Every VK object the sandbox emits, parsed by models generated from VK's own API schema.

The reference is not ours: ``vkbottle-types`` (the test extra), the pydantic models
vkbottle generates from VKCOM/vk-api-schema for API 5.199 — objects, method responses
and the Bots Long Poll callback objects — and its event models. Each answer is read as
it went over the wire (plain HTTP here, not vk_api) and held to the model strictly:

- a required field missing, or a value the model cannot take, fails (pydantic);
- a value the model took only by converting it fails too: ``"3"`` for an integer, ``1``
  or ``"true"`` for a boolean, ``3.0`` for an integer (pydantic's lax mode lets these
  through; its strict mode would refuse VK's unixtime integers for dates, which VK sends
  everywhere, so the check compares what was sent with what the model made of it);
- an enum value the model does not know fails (vkbottle's enums would take it quietly
  as ``NOT_SUPPORTED``);
- a field the model does not declare fails, at any depth, unless VK is known to send it
  all the same (``BEYOND_SCHEMA``).

Where the sandbox and the models disagree the sandbox is fixed — unless the models are
known to be wrong, and then ``SCHEMA_WRONG`` says where, why, and what VK sends there
instead (only that passes). What the models cannot say is not checked: numeric bounds
and formats (the generator drops them), and VK's words for each error code (the
sandbox's ``ERROR_TEXT`` names its source). The generator also types VK's 0/1 integers
(``base_bool_int``) as ``bool``: those the sandbox sends are in ``SCHEMA_WRONG`` and
held to 0 or 1; a new one sent as ``true`` would pass unseen.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import enum
import json
import types
import typing
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pydantic
import pytest
import vkbottle_types.events.bot_events as events  # the test extra
import vkbottle_types.objects as objects
from aiohttp import web
from vkbottle_types.responses import groups, messages, photos, polls, users, wall

from bot.sandbox import world
from bot.sandbox.core import SandboxState
from bot.sandbox.vk import ERROR_TEXT, VkSandbox

ADMIN, PUBLIC = world.VK_ADMIN, world.VK_PUBLIC
GROUP_TOKEN = world.community_token(ADMIN)
USER_TOKEN = world.user_token(ADMIN)
Model = type[pydantic.BaseModel]

MISSING = object()  # a field that was not sent


def _absent(raw: Any) -> bool:
    return raw is MISSING


def _bool_int(raw: Any) -> bool:
    return type(raw) is int and raw in (0, 1)


NEVER_SENT = "a tag for VK's code generators (inner_type); VK never sends it"
BOOL_INT = ("VK's schema says base_bool_int, and VK sends 0 or 1; the generator types "
            "every base_bool_int as bool")

# Where the generated models are known to be wrong, by the model's class name and the
# field: why, and what VK sends instead (the only thing let through there).
SCHEMA_WRONG: dict[tuple[str, str], tuple[str, Callable[[Any], bool]]] = {
    ("BaseError", "inner_type"): (NEVER_SENT, _absent),
    ("CallbackWallPostNew", "inner_type"): (NEVER_SENT, _absent),
    ("BaseCommentsInfo", "can_post"): (BOOL_INT, _bool_int),
    ("BaseLikesInfo", "can_like"): (BOOL_INT, _bool_int),
    ("BaseLikesInfo", "can_publish"): (BOOL_INT, _bool_int),
    ("BaseLikesInfo", "user_likes"): (BOOL_INT, _bool_int),
    ("BaseRepostsInfo", "user_reposted"): (BOOL_INT, _bool_int),
    ("MessagesMessage", "out"): (BOOL_INT, _bool_int),
    ("WallWallpostFull", "marked_as_ads"): (BOOL_INT, _bool_int),
}

# Fields the sandbox sends that the model does not declare, because VK sends them all
# the same (dev.vk.com says so); by the model's class name and the field.
BEYOND_SCHEMA: dict[tuple[str, str], str] = {
    ("BaseError", "captcha_sid"): "error 14: dev.vk.com/ru/api/captcha-error",
    ("BaseError", "captcha_img"): "error 14: dev.vk.com/ru/api/captcha-error",
    ("CallbackBase", "object"): "the event's object, checked apart as Callback<type>",
    ("CallbackWallReplyNew", "post_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_new",
    ("CallbackWallReplyEdit", "post_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_edit",
    ("CallbackWallCommentDelete", "deleter_id"):
        "dev.vk.com/ru/api/community-events/json-schema: wall_reply_delete",
    ("CallbackBoardPostNew", "topic_id"):
        "dev.vk.com/ru/api/community-events/json-schema: board_post_new",
    ("CallbackBoardPostNew", "topic_owner_id"):
        "dev.vk.com/ru/api/community-events/json-schema: board_post_new",
    # wall_post_new carries the post as wall.get gives it (WallWallpostFull has these)
    ("CallbackWallPostNew", "comments"): "as in WallWallpostFull",
    ("CallbackWallPostNew", "created_by"): "as in WallWallpostFull",
    ("CallbackWallPostNew", "hash"): "as in WallWallpostFull",
    ("CallbackWallPostNew", "marked_as_ads"): "as in WallWallpostFull",
}


# ---------------------------------------------------------------------- the checker


def problems(model: Model, raw: Any, *, unknown: bool = True) -> list[str]:
    """What ``model`` finds wrong with ``raw`` (JSON as sent): pydantic's errors, values
    it had to convert, and (``unknown``) fields it does not declare."""
    parsed, found = _parse(model, raw)
    if parsed is not None:
        _compare(raw, parsed, "", None, found, unknown)
    return [f"{model.__name__} at {line}" for line in found]


def _parse(model: Model, raw: Any) -> tuple[pydantic.BaseModel | None, list[str]]:
    """The model's reading of ``raw``, or what stops it. A field the models wrongly
    require and VK never sends (``SCHEMA_WRONG``) gets a stand-in for the parse only:
    what was sent is compared with the result afterwards, and it has no such field."""
    given = raw
    for _ in range(10):
        try:
            return model.model_validate(given), []
        except pydantic.ValidationError as error:
            found, stand_ins = [], []
            for item in error.errors():
                owner = _owner_at(model, item["loc"])
                wrong = _entry(SCHEMA_WRONG, owner)
                where = "/".join(str(p) for p in item["loc"])
                if (wrong is not None and wrong[1](_raw_at(raw, item["loc"]))
                        and item["type"] == "missing" and owner is not None):
                    stand_ins.append((item["loc"], owner))
                else:
                    found.append(f"/{where}: {item['msg']} ({item['type']})")
            if found or not stand_ins:
                return None, found
            given = copy.deepcopy(given)
            for loc, owner in stand_ins:
                _put(given, loc, _stand_in(owner))
    raise AssertionError("stand-ins do not converge")


def check(model: Model, raw: Any, *, unknown: bool = True) -> None:
    found = problems(model, raw, unknown=unknown)
    assert not found, "\n".join(found)


Owner = tuple[type, str]  # a model class and one of its fields


def _entry(table: dict[tuple[str, str], Any], owner: Owner | None) -> Any:
    """The table's word on a field of a model (or of a model it extends)."""
    if owner is None:
        return None
    cls, name = owner
    return next((table[(k.__name__, name)] for k in cls.__mro__
                 if (k.__name__, name) in table), None)


def _compare(raw: Any, value: Any, where: str, owner: Owner | None,
             found: list[str], unknown: bool) -> None:
    """Walk what was sent beside what the model made of it."""
    if isinstance(value, pydantic.BaseModel):
        cls = type(value)
        if not isinstance(raw, dict):
            found.append(f"{where}: {cls.__name__} made from {raw!r}")
            return
        names = {field.alias or name: name for name, field in cls.model_fields.items()}
        for key, item in raw.items():
            if key not in names:
                if unknown and _entry(BEYOND_SCHEMA, (cls, key)) is None:
                    found.append(f"{where}/{key}: a field {cls.__name__} does not declare")
                continue
            _compare(item, getattr(value, names[key]), f"{where}/{key}", (cls, key),
                     found, unknown)
        return
    if isinstance(value, (list, tuple)) and isinstance(raw, list) and len(raw) == len(value):
        for n, (item, made) in enumerate(zip(raw, value, strict=True)):
            _compare(item, made, f"{where}/{n}", owner, found, unknown)
        return
    if isinstance(value, dict) and isinstance(raw, dict) and raw.keys() == value.keys():
        for key, item in raw.items():
            _compare(item, value[key], f"{where}/{key}", owner, found, unknown)
        return
    wrong = _entry(SCHEMA_WRONG, owner)
    if wrong is not None:  # what VK sends there, whatever the model says
        if not wrong[1](raw):
            found.append(f"{where}: sent {raw!r}, not what VK sends ({wrong[0]})")
    elif not _sent_as(raw, value):
        found.append(f"{where}: sent {raw!r}, which the model took as "
                     f"{type(value).__name__} {value!r}")


def _sent_as(raw: Any, value: Any) -> bool:
    """``raw`` is what the model's value is, in JSON, with no conversion."""
    if isinstance(value, enum.Enum):
        return type(raw) is type(value.value) and raw == value.value
    if isinstance(value, bool):
        return type(raw) is bool
    if isinstance(value, datetime.datetime):
        return type(raw) is int  # VK's dates are unixtime
    if isinstance(value, int):
        return type(raw) is int
    if isinstance(value, float):
        return type(raw) in (int, float)
    if isinstance(value, str):
        return type(raw) is str
    if value is None:
        return raw is None
    return type(raw) is type(value) and raw == value  # a field typed Any keeps it as sent


def _owner_at(model: Model, loc: tuple[Any, ...]) -> Owner | None:
    """The model class name and field that a pydantic error's location ends at."""
    current: Any = model
    owner = None
    for part in loc:
        options = _options(current)
        if isinstance(part, int):
            lists = [typing.get_args(o)[0] for o in options
                     if typing.get_origin(o) in (list, tuple) and typing.get_args(o)]
            if not lists:
                return None
            current = lists[0]
            continue
        chosen = next((o for o in options if getattr(o, "__name__", None) == part), None)
        if chosen is not None:  # pydantic names the member of a union it tried
            current = chosen
            continue
        found = None
        for option in options:
            if isinstance(option, type) and issubclass(option, pydantic.BaseModel):
                for name, field in option.model_fields.items():
                    if part in (name, field.alias):
                        found = (option, field.annotation)
                        break
            if found:
                break
        if found is None:
            return None
        owner = (found[0], str(part))
        current = found[1]
    return owner


def _raw_at(raw: Any, loc: tuple[Any, ...]) -> Any:
    """The value sent at a pydantic error's location (``MISSING`` if none)."""
    for n, part in enumerate(loc):
        if isinstance(raw, list) and isinstance(part, int):
            if not 0 <= part < len(raw):
                return MISSING
            raw = raw[part]
        elif isinstance(raw, dict) and part in raw:
            raw = raw[part]
        elif n == len(loc) - 1 or isinstance(part, int):
            return MISSING
        # else the name pydantic gives a member of a union it tried: stepped over
    return raw


def _put(raw: Any, loc: tuple[Any, ...], value: Any) -> None:
    for part in loc[:-1]:
        if isinstance(raw, list) and isinstance(part, int):
            raw = raw[part]
        elif isinstance(raw, dict) and part in raw:
            raw = raw[part]
    raw[loc[-1]] = value


def _stand_in(owner: Owner) -> Any:
    """A value the model takes for a field it wrongly requires."""
    cls, name = owner
    field = next(f for n, f in cls.model_fields.items() if name in (n, f.alias))
    kind = _options(field.annotation)[0]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(iter(kind)).value
    return {str: "", int: 0, bool: False}[kind]


def _options(annotation: Any) -> list[Any]:
    """The members of a union (``X | None``), or the one type; the generated models
    name many types by a string, resolved as the models themselves resolve it."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(objects))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


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
            return json.loads(await response.read())

    async def ok(self, token: str, method: str, **params: Any) -> dict[str, Any]:
        body = await self.call(token, method, **params)
        assert "response" in body, body
        return body

    async def control(self, path: str, **body: Any) -> Any:
        async with self.http.post(f"{self.base}/control/vk/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@contextlib.asynccontextmanager
async def serve(rate_limits: bool = False) -> AsyncIterator[Raw]:
    sandbox = VkSandbox(SandboxState(), rate_limits=rate_limits)
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


def test_the_checker_is_not_blind() -> None:
    """A wrong type, a converted value, a missing required field, an unknown field at
    any depth and a wrong nested object are each found; a right answer passes."""
    comment = {"id": 1, "from_id": 500001, "date": 1700000000, "text": "Нет воды",
               "post_id": 3, "owner_id": -ADMIN, "parents_stack": [],
               "attachments": [PHOTO], "thread": {"count": 0, "items": []}}
    model = wall.WallGetCommentsResponse
    assert problems(model, {"response": {"count": 1, "items": [comment]}}) == []
    photo = PHOTO["photo"]
    wrong: list[Any] = [
        {"count": [], "items": [comment]},  # a list for an integer
        {"count": "1", "items": [comment]},  # converted: "1"
        {"count": 1.0, "items": [comment]},  # converted: 1.0
        {"count": True, "items": [comment]},  # converted: true
        {"count": 1, "items": [{**comment, "date": "1700000000"}]},
        {"count": 1, "items": [{**comment, "thread": {"count": False}}]},
        {"items": [comment]},  # no count
        {"count": 1, "items": [{k: v for k, v in comment.items() if k != "text"}]},
        {"count": 1, "items": [comment], "bogus": 1},
        {"count": 1, "items": [{**comment, "bogus": 1}]},
        {"count": 1, "items": [{**comment, "attachments": [
            {"type": "photo", "photo": {**photo, "bogus": 1}}]}]},
        {"count": 1, "items": [{**comment, "attachments": [
            {"type": "photo", "photo": {**photo, "id": "5"}}]}]},
        {"count": 1, "items": [{**comment, "attachments": [{"type": "photograph"}]}]},
    ]
    for answer in wrong:
        assert problems(model, {"response": answer}), answer


def test_the_tables_forgive_one_thing_each() -> None:
    """``SCHEMA_WRONG`` lets through what VK sends there and nothing else;
    ``BEYOND_SCHEMA`` one field of one model."""
    likes = {"count": 0, "user_likes": 0, "can_like": 1}
    assert problems(objects.BaseLikesInfo, likes) == []
    for sent in (True, 2, "1", None):
        assert problems(objects.BaseLikesInfo, {**likes, "user_likes": sent}), sent
    assert problems(objects.BaseLikesInfo, {"count": 0, "can_like": 1})  # no user_likes
    assert problems(objects.BaseError, {"error_code": 5, "error_msg": "x"}) == []
    assert problems(objects.BaseError, {"error_code": 14, "captcha_sid": "1"}) == []
    for body in ({"error_code": 5, "error_msg": 5}, {"error_msg": "x"},
                 {"error_code": 5, "inner_type": "base_error"},  # VK never sends it
                 {"error_code": 5, "inner_type": "bogus"}, {"error_code": 5, "bogus": 1}):
        assert problems(objects.BaseError, body), body
    reply = {"id": 1, "from_id": 500001, "date": 1700000000, "text": "Нет воды"}
    assert problems(objects.CallbackWallReplyNew, {**reply, "post_owner_id": -ADMIN}) == []
    assert problems(objects.CallbackWallReplyNew, {**reply, "captcha_sid": "1"})
    assert problems(objects.CallbackPhotoComment, {**reply, "post_owner_id": -ADMIN,
                                                   "photo_owner_id": -ADMIN})


async def test_a_broken_sandbox_answer_is_rejected(vk: Raw) -> None:
    """Real answers, each broken once the way a careless change to the sandbox would."""
    await _world(vk)
    posts = await vk.ok(USER_TOKEN, "wall.get", owner_id=-ADMIN)
    check(wall.WallGetResponse, posts)
    item = posts["response"]["items"][0]
    for broken in ({**item, "likes": {**item["likes"], "user_likes": False}},
                   {**item, "comments": {**item["comments"], "count": "0"}},
                   {**item, "date": "2026-11-25"}, {**item, "signer": 1}):
        assert problems(wall.WallGetResponse,
                        {"response": {**posts["response"], "items": [broken]}}), broken
    deleted = {"owner_id": -ADMIN, "id": 9, "deleter_id": 500001, "user_id": 500001,
               "post_id": 3}
    check(objects.CallbackWallCommentDelete, deleted)
    assert problems(objects.CallbackWallCommentDelete,
                    {k: v for k, v in deleted.items() if k != "user_id"})


async def test_wall_answers(vk: Raw) -> None:
    await _world(vk)
    for token, owner in ((USER_TOKEN, -ADMIN), (world.SERVICE_TOKEN, -PUBLIC)):
        check(wall.WallGetResponse, await vk.ok(token, "wall.get", owner_id=owner))
        check(wall.WallGetExtendedResponse,
              await vk.ok(token, "wall.get", owner_id=owner, extended=1))
    post = f"-{ADMIN}_3"
    check(wall.WallGetByIdResponse, await vk.ok(USER_TOKEN, "wall.getById", posts=post))
    check(wall.WallGetByIdExtendedResponse,
          await vk.ok(USER_TOKEN, "wall.getById", posts=post, extended=1))
    for extra in ({}, {"thread_items_count": 10, "sort": "desc"}):
        check(wall.WallGetCommentsResponse, await vk.ok(
            USER_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=3, **extra))
        check(wall.WallGetCommentsExtendedResponse, await vk.ok(
            USER_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=3, extended=1, **extra))
    check(wall.WallCreateCommentResponse, await vk.ok(
        GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=3,
        message="Воду дадут к вечеру", guid="a-1"))
    check(wall.WallPostResponse, await vk.ok(
        USER_TOKEN, "wall.post", owner_id=-ADMIN, from_group=1,
        message="Отключение воды 25.11", guid="p-1"))


async def test_people_groups_messages_and_uploads(vk: Raw) -> None:
    await _world(vk)
    check(users.UsersGetResponse,
          await vk.ok(GROUP_TOKEN, "users.get", user_ids="500001,500002"))
    check(users.UsersGetResponse,
          await vk.ok(GROUP_TOKEN, "users.get", user_ids="500001", fields="sex,screen_name"))
    check(groups.GroupsGetByIdObjectResponse,
          await vk.ok(GROUP_TOKEN, "groups.getById", group_id=ADMIN))
    check(groups.GroupsGetLongPollServerResponse,
          await vk.ok(GROUP_TOKEN, "groups.getLongPollServer", group_id=ADMIN))
    check(messages.MessagesSendDeprecatedResponse, await vk.ok(
        GROUP_TOKEN, "messages.send", peer_id=500004, message="Завтра", random_id=7))
    check(messages.MessagesSendUserIdsResponse, await vk.ok(
        GROUP_TOKEN, "messages.send", peer_ids="500004", message="Завтра", random_id=8))
    check(polls.PollsCreateResponse, await vk.ok(
        USER_TOKEN, "polls.create", owner_id=-ADMIN, question="Удобно?",
        add_answers='["Да", "Нет"]'))
    server = await vk.ok(USER_TOKEN, "photos.getWallUploadServer", group_id=ADMIN)
    check(photos.PhotosGetWallUploadServerResponse, server)
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff jpeg", filename="a.jpg", content_type="image/jpeg")
    async with vk.http.post(server["response"]["upload_url"], data=form) as response:
        uploaded = await response.json()
    # the upload server's answer has no model of its own; its fields are the parameters
    # photos.saveWallPhoto takes (vkbottle_types.methods.photos): server, photo, hash
    assert set(uploaded) == {"server", "photo", "hash"}
    assert isinstance(uploaded["server"], int) and isinstance(uploaded["photo"], str)
    assert isinstance(uploaded["hash"], str)
    check(photos.PhotosSaveWallPhotoResponse, await vk.ok(
        USER_TOKEN, "photos.saveWallPhoto", group_id=ADMIN, photo=uploaded["photo"],
        server=uploaded["server"], hash=uploaded["hash"]))
    # a photo for a community message, with the community's token
    server = await vk.ok(GROUP_TOKEN, "photos.getMessagesUploadServer", peer_id=500004)
    check(photos.PhotosGetMessagesUploadServerResponse, server)
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff jpeg", filename="b.jpg", content_type="image/jpeg")
    async with vk.http.post(server["response"]["upload_url"], data=form) as response:
        uploaded = await response.json()
    photos.PhotosMessageUploadResponseModel.model_validate(uploaded)
    assert set(uploaded) == {"server", "photo", "hash"}
    check(photos.PhotosSaveMessagesPhotoResponse, await vk.ok(
        GROUP_TOKEN, "photos.saveMessagesPhoto", photo=uploaded["photo"],
        server=uploaded["server"], hash=uploaded["hash"]))


async def _every_error(vk: Raw) -> list[dict[str, Any]]:
    """An error answer for each code the sandbox knows: raised where VK raises it, and
    the few that only a fault plays (1, 9, 10, 14, 18, 29) by injection."""
    post = {"group_id": ADMIN, "post_id": 3}
    await vk.control("comment", **post, from_id=500001, text="Нет воды")
    await vk.control("message", group_id=ADMIN, from_id=500004, text="Свет?")
    answers = [
        await vk.call("forged", "users.get"),  # 5
        await vk.call(GROUP_TOKEN, "wall.nothing"),  # 3
        await vk.call(GROUP_TOKEN, "wall.post", owner_id=-ADMIN, message="x"),  # 27
        await vk.call(world.SERVICE_TOKEN, "messages.send", peer_id=1, random_id=1),  # 28
        await vk.call(GROUP_TOKEN, "messages.send", peer_id=1, message="x", random_id=1),
        await vk.call(GROUP_TOKEN, "messages.send", peer_id=500004, random_id=2,
                      message="x" * 4097),  # 914
        await vk.call(GROUP_TOKEN, "wall.getComments", owner_id=-ADMIN, post_id=3),  # 27
        await vk.call(USER_TOKEN, "wall.getComments", owner_id=-ADMIN),  # 100
        await vk.call(USER_TOKEN, "wall.post", owner_id=-PUBLIC, message="x"),  # 15
        await vk.call(USER_TOKEN, "wall.post", owner_id=1, message="x"),  # 214
        await vk.call(USER_TOKEN, "photos.saveWallPhoto", photo="[]"),  # 100
    ]
    async with vk.http.post(f"{vk.base}/vk/method/users.get",
                            data={"access_token": GROUP_TOKEN}) as response:
        answers.append(json.loads(await response.read()))  # 8: no v
    server = (await vk.ok(USER_TOKEN, "photos.getWallUploadServer"))["response"]
    form = aiohttp.FormData()
    form.add_field("photo", b"\xff\xd8\xff jpeg", filename="a.jpg", content_type="image/jpeg")
    async with vk.http.post(server["upload_url"], data=form) as response:
        uploaded = await response.json()
    answers.append(await vk.call(USER_TOKEN, "photos.saveWallPhoto", photo=uploaded["photo"],
                                 server=uploaded["server"], hash="forged"))  # 121
    await vk.control("privacy", user_id=500004)
    answers.append(await vk.call(GROUP_TOKEN, "messages.send", peer_id=500004, message="x",
                                 random_id=3))  # 902
    for rule, code in (("owner_replies_max", 223), ("links_forbidden", 222),
                       ("replies_denied", 213), ("comments_closed", 212)):
        await vk.control("post_settings", **post, **{rule: 0 if code == 223 else True})
        answers.append(await vk.call(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN,
                                     post_id=3, message="vk.com/x"))
    async with serve(rate_limits=True) as paced:  # 6: past the service token's 3/s
        for _ in range(20):  # 4 in a row do it, unless the machine is very slow
            last = await paced.call(world.SERVICE_TOKEN, "users.get", user_ids="1")
            if "error" in last:
                break
        answers.append(last)
    raised = {a["error"]["error_code"] for a in answers}
    for code in sorted(set(ERROR_TEXT) - raised):
        vk.sandbox.state.add_fault(platform="vk", kind="vk_error", code=code, count=1)
        answers.append(await vk.call(GROUP_TOKEN, "users.get"))
    return answers


async def test_every_error_body(vk: Raw) -> None:
    """The error body's shape, for every code the sandbox knows; each answer starts with
    the sandbox's own words for the code (``ERROR_TEXT``)."""
    answers = await _every_error(vk)
    assert [a["error"]["error_code"] for a in answers][:6] == [5, 3, 27, 28, 901, 914]
    assert {a["error"]["error_code"] for a in answers} == set(ERROR_TEXT)
    injected = {1, 9, 10, 14, 18, 29}
    assert {a["error"]["error_code"] for a in answers[:-len(injected)]} == (
        set(ERROR_TEXT) - injected)
    for answer in answers:
        assert set(answer) == {"error"}
        check(objects.BaseError, answer["error"])
        code, words = answer["error"]["error_code"], answer["error"]["error_msg"]
        assert words.startswith(ERROR_TEXT[code].rstrip(".")), (code, words)


# each Bots Long Poll event the sandbox emits: the schema's model of its object, and the
# event model vkbottle parses it with
EVENTS: dict[str, tuple[Model, Model]] = {
    "wall_reply_new": (objects.CallbackWallReplyNew, events.WallReplyNew),
    "wall_reply_edit": (objects.CallbackWallReplyEdit, events.WallReplyEdit),
    "wall_reply_delete": (objects.CallbackWallCommentDelete, events.WallReplyDelete),
    "message_new": (objects.CallbackMessageNew, events.MessageNew),
    "photo_comment_new": (objects.CallbackPhotoComment, events.PhotoCommentNew),
    "video_comment_new": (objects.CallbackVideoComment, events.VideoCommentNew),
    "board_post_new": (objects.CallbackBoardPostNew, events.BoardPostNew),
    "wall_post_new": (objects.CallbackWallPostNew, events.WallPostNew),
}


async def test_long_poll_events(vk: Raw) -> None:
    """Each Bots Long Poll update: the envelope (CallbackBase), its object as the
    schema's Callback<type> says, and the whole update as vkbottle's event model reads
    it (types and required fields; unknown fields are the schema models' to judge)."""
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
    await vk.ok(GROUP_TOKEN, "wall.createComment", owner_id=-ADMIN, post_id=3,
                message="Воду дадут к вечеру")
    params = {"act": "a_check", "key": server["key"], "ts": server["ts"], "wait": "0"}
    async with vk.http.get(server["server"], params=params) as response:
        answer = json.loads(await response.read())
    assert set(answer) == {"ts", "updates"} and isinstance(answer["ts"], str)
    updates = answer["updates"]
    assert {u["type"] for u in updates} == set(EVENTS)
    for update in updates:
        schema_model, event_model = EVENTS[update["type"]]
        check(objects.CallbackBase, update)
        check(schema_model, update["object"])
        check(event_model, update, unknown=False)
