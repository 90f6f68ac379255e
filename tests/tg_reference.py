"""A second Telegram client as a reference for the sandbox: every Bot API answer the
sandbox gives during the test suite is parsed with python-telegram-bot's models.

aiogram (the bot's client) forgives a lot: unknown fields are kept, and a missing one
only fails where it is read. python-telegram-bot's ``de_json`` stores any field it does
not know of in ``api_kwargs``, and its constructors name the fields an object cannot be
without; both are checked here at every depth, so a shape the sandbox invents or forgets
fails a test.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import telegram
from telegram import TelegramObject

# What each method returns (Bot API reference, "Available methods").
RESULTS: dict[str, Any] = {
    "getMe": telegram.User,
    "getUpdates": [telegram.Update],
    "getChat": telegram.ChatFullInfo,
    "getChatMember": telegram.ChatMember,
    "getChatAdministrators": [telegram.ChatMember],
    "getChatMemberCount": int,
    "getFile": telegram.File,
    "getMyCommands": [telegram.BotCommand],
    "getWebhookInfo": telegram.WebhookInfo,
    "sendMessage": telegram.Message,
    "sendPhoto": telegram.Message,
    "sendDocument": telegram.Message,
    "sendPoll": telegram.Message,
    "forwardMessage": telegram.Message,
    "sendMediaGroup": [telegram.Message],
    "copyMessage": telegram.MessageId,
    "editMessageText": telegram.Message,
    "editMessageCaption": telegram.Message,
    "editMessageReplyMarkup": telegram.Message,
    "stopPoll": telegram.Poll,
    "createForumTopic": telegram.ForumTopic,
    **dict.fromkeys(
        ["deleteWebhook", "setWebhook", "logOut", "close", "setMyCommands", "deleteMyCommands",
         "sendChatAction", "pinChatMessage", "unpinChatMessage", "deleteMessage",
         "deleteMessages", "editForumTopic", "answerCallbackQuery"], bool),
}


# Fields the real server still writes though the reference (the documented Bot API) no
# longer has them (telegram-bot-api Client.cpp: JsonMessage writes forward_from* and
# forward_date beside forward_origin; JsonChatMember writes can_manage_voice_chats).
LEGACY = {"forward_from", "forward_from_chat", "forward_from_message_id", "forward_signature",
          "forward_sender_name", "forward_date", "can_manage_voice_chats"}
# Fields newer than the reference's Bot API (python-telegram-bot 22.8 speaks 10.0) that the
# bot's client requires (aiogram 3.31 speaks 10.3): each one named, nothing else passes.
NEWER = {"can_send_welcome_messages"}


class Disagreement(AssertionError):
    """The reference client reads an answer differently from what the sandbox meant."""


@functools.cache
def _required(cls: type) -> tuple[str, ...]:
    """The fields a class cannot be made without (its constructor's arguments with no
    default): ``de_json`` itself lets a missing one through as None."""
    params = inspect.signature(cls.__init__).parameters.values()
    return tuple(p.name for p in params if p.default is inspect.Parameter.empty
                 and p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD)


def _problems(obj: Any, path: str) -> list[str]:
    """Fields the reference does not know, and required ones missing, anywhere inside a
    parsed object."""
    found: list[str] = []
    if isinstance(obj, TelegramObject):
        found += [f"unknown {path}.{key}" for key in obj.api_kwargs
                  if key not in LEGACY | NEWER]
        found += [f"missing {path}.{name}" for name in _required(type(obj))
                  if getattr(obj, name, None) is None]
        for name, value in obj._get_attrs(recursive=False).items():
            found += _problems(value, f"{path}.{name}")
    elif isinstance(obj, list | tuple):
        for n, item in enumerate(obj):
            found += _problems(item, f"{path}[{n}]")
    return found


def _parse(kind: Any, data: Any, path: str) -> Any:
    if isinstance(kind, list):
        if not isinstance(data, list):
            raise Disagreement(f"{path}: expected an Array, got {data!r:.200}")
        return [_parse(kind[0], item, f"{path}[{n}]") for n, item in enumerate(data)]
    if kind is int or kind is bool:
        if type(data) is not kind:
            raise Disagreement(f"{path}: expected {kind.__name__}, got {data!r:.200}")
        return data
    if not isinstance(data, dict):
        raise Disagreement(f"{path}: expected an object, got {data!r:.200}")
    try:
        return kind.de_json(data, None)
    except (TypeError, KeyError, ValueError) as exc:
        raise Disagreement(f"{path}: {kind.__name__} does not parse: {exc!r}") from None


def check(method: str, body: dict[str, Any]) -> None:
    """Raise ``Disagreement`` if the reference reads this answer of ``method`` otherwise."""
    if body.get("ok") is True:
        kind = RESULTS.get(method)
        if kind is None:
            raise Disagreement(f"{method}: what does it return? Add it to tests/tg_reference.py")
        parsed = _parse(kind, body.get("result"), f"{method}.result")
        if kind is bool and parsed is not True:
            raise Disagreement(f"{method}.result: expected True")
        problems = _problems(parsed, f"{method}.result")
        if problems:
            raise Disagreement(f"python-telegram-bot reads it otherwise: {problems}")
        return
    if body.get("ok") is not False or set(body) - {"ok", "error_code", "description",
                                                    "parameters"}:
        raise Disagreement(f"{method}: not a Bot API answer: {body!r:.300}")
    if type(body.get("error_code")) is not int or not isinstance(body.get("description"), str):
        raise Disagreement(f"{method}: an error needs error_code and description: {body!r:.300}")
    parameters = body.get("parameters", {})
    # ResponseParameters (python-telegram-bot reads these two into its exceptions)
    if not isinstance(parameters, dict) or set(parameters) - {"retry_after",
                                                              "migrate_to_chat_id"}:
        raise Disagreement(f"{method}: unknown error parameters {parameters!r:.200}")
    if any(type(v) is not int for v in parameters.values()):
        raise Disagreement(f"{method}: error parameters are integers: {parameters}")
