"""VK events as citizens' messages: one function per event type, pure.

A long-poll update or a polled post becomes an ``Inbound`` with a key that names the
platform event, a thread to join follow-ups, a link a person can open, and the call
that publishes an answer where the bot has the right to (else ``manual``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.services.ingest import Inbound

MANUAL = {"platform": "manual"}


def _int(value: Any) -> int | None:
    """An id or a date as VK sends it (a number, maybe as a string); None if it is not one.

    Events come from outside: a missing or malformed field makes the event unusable,
    never an exception in the long-poll loop.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _when(obj: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(_int(obj.get("date")) or 0, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, UTC)


def _text(obj: dict[str, Any]) -> str:
    value = obj.get("text")
    return value if isinstance(value, str) else ""


def _photos(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    attachments = obj.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if isinstance(attachment, dict) and attachment.get("type") == "photo":
            photo = attachment.get("photo")
            if not isinstance(photo, dict):
                continue
            owner, ident = _int(photo.get("owner_id")), _int(photo.get("id"))
            if owner is not None and ident is not None:
                item: dict[str, Any] = {"type": "vk_photo", "id": f"photo{owner}_{ident}"}
                url = _largest(photo)
                if url:
                    item["url"] = url  # staff see it from the card (Telegram fetches it)
                found.append(item)
    return found


def _largest(photo: dict[str, Any]) -> str | None:
    """The address of a VK photo's largest size (``sizes``: width, height, url)."""
    sizes = [x for x in photo.get("sizes") or [] if isinstance(x, dict)
             and isinstance(x.get("url"), str) and x["url"].startswith(("http://", "https://"))]
    if not sizes:
        return None
    return str(max(sizes, key=lambda x: (_int(x.get("width")) or 0) * (
        _int(x.get("height")) or 0))["url"])


def _author(from_id: int) -> tuple[str, str]:
    if from_id < 0:
        return f"vk:{from_id}", f"https://vk.com/club{-from_id}"
    return f"vk:{from_id}", f"https://vk.com/id{from_id}"


def _ids(obj: dict[str, Any], *names: str) -> list[int] | None:
    """The named ids of an event object, or None if any is missing or not a number."""
    values = [_int(obj.get(name)) for name in names]
    if any(v is None for v in values):
        return None
    return values  # type: ignore[return-value]


def from_update(group_id: int, update: dict[str, Any], can_reply: bool) -> Inbound | None:
    """A Bots Long Poll update of a community the bot holds a token for."""
    if not isinstance(update, dict):
        return None
    kind = update.get("type")
    obj = update.get("object")
    if not isinstance(obj, dict) or not isinstance(kind, str):
        return None
    g = group_id
    if kind == "wall_reply_new":
        ids = _ids(obj, "post_id", "id", "from_id")
        if ids is None:
            return None
        post_id, comment_id, from_id = ids
        author, profile = _author(from_id)
        reply = {
            "platform": "vk", "lane": f"vk:community:{g}", "method": "wall.createComment",
            "params": {"owner_id": -g, "post_id": post_id, "reply_to_comment": comment_id,
                       "from_group": g},
        } if can_reply else MANUAL
        return Inbound(
            source=f"vk:{g}", kind="vk_comment",
            key=f"vk:{g}:wall_reply:{post_id}:{comment_id}", author_id=author,
            author_link=profile, text=_text(obj), written_at=_when(obj),
            thread=f"vk:{g}:wall:{post_id}",
            link=f"https://vk.com/wall-{g}_{post_id}?reply={comment_id}",
            attachments=_photos(obj), reply_target=reply,
        )
    if kind == "message_new":
        message = obj.get("message") if isinstance(obj.get("message"), dict) else obj
        from_id = _int(message.get("from_id"))
        message_id = _int(message.get("id")) or _int(message.get("conversation_message_id"))
        if from_id is None or message_id is None:
            return None
        author, profile = _author(from_id)
        peer = _int(message.get("peer_id")) or from_id
        reply = {
            "platform": "vk", "lane": f"vk:community:{g}", "method": "messages.send",
            "params": {"peer_id": peer},
        } if can_reply else MANUAL
        return Inbound(
            source=f"vk:{g}", kind="vk_message", key=f"vk:{g}:message:{message_id}",
            author_id=author, author_link=profile, text=_text(message),
            written_at=_when(message), thread=f"vk:{g}:dm:{from_id}",
            link=f"https://vk.com/gim{g}?sel={from_id}", attachments=_photos(message),
            reply_target=reply,
        )
    if kind == "wall_post_new":
        if obj.get("post_type") != "suggest":
            return None  # the community's own posts are not citizens' messages
        post_id = _int(obj.get("id"))
        from_id = _int(obj.get("from_id")) or _int(obj.get("signer_id"))
        if post_id is None or from_id is None:
            return None
        author, profile = _author(from_id)
        return Inbound(
            source=f"vk:{g}", kind="vk_post", key=f"vk:{g}:post:{post_id}", author_id=author,
            author_link=profile, text=_text(obj), written_at=_when(obj),
            link=f"https://vk.com/wall-{g}_{post_id}", attachments=_photos(obj),
            reply_target=MANUAL,
        )
    if kind == "board_post_new":
        ids = _ids(obj, "topic_id", "id", "from_id")
        if ids is None:
            return None
        topic, post_id, from_id = ids
        author, profile = _author(from_id)
        return Inbound(
            source=f"vk:{g}", kind="vk_board", key=f"vk:{g}:board:{topic}:{post_id}",
            author_id=author, author_link=profile, text=_text(obj), written_at=_when(obj),
            thread=f"vk:{g}:board:{topic}",
            link=f"https://vk.com/topic-{g}_{topic}?post={post_id}", reply_target=MANUAL,
        )
    if kind in ("photo_comment_new", "video_comment_new"):
        what = "photo" if kind == "photo_comment_new" else "video"
        ids = _ids(obj, f"{what}_id", "id", "from_id")
        if ids is None:
            return None
        item, comment_id, from_id = ids
        author, profile = _author(from_id)
        return Inbound(
            source=f"vk:{g}", kind=f"vk_{what}_comment",
            key=f"vk:{g}:{what}_comment:{item}:{comment_id}", author_id=author,
            author_link=profile, text=_text(obj), written_at=_when(obj),
            thread=f"vk:{g}:{what}:{item}", link=f"https://vk.com/{what}-{g}_{item}",
            attachments=_photos(obj), reply_target=MANUAL,
        )
    return None


def edit_key(group_id: int, update: dict[str, Any]) -> tuple[str, str, str] | None:
    """(``edit``|``delete``, incident key, new text) for wall_reply_edit / _delete."""
    if not isinstance(update, dict):
        return None
    kind, obj = update.get("type"), update.get("object")
    if not isinstance(obj, dict) or kind not in ("wall_reply_edit", "wall_reply_delete"):
        return None
    ids = _ids(obj, "post_id", "id")
    if ids is None:
        return None
    post_id, comment_id = ids
    key = f"vk:{group_id}:wall_reply:{post_id}:{comment_id}"
    if kind == "wall_reply_edit":
        return "edit", key, _text(obj)
    return "delete", key, ""


def from_public_post(public_id: int, post: dict[str, Any]) -> Inbound | None:
    if not isinstance(post, dict):
        return None
    ids = _ids(post, "id", "from_id")
    if ids is None:
        return None
    post_id, from_id = ids
    author, profile = _author(from_id)
    return Inbound(
        source=f"vk:{public_id}", kind="vk_public_post", key=f"vk:{public_id}:post:{post_id}",
        author_id=author, author_link=profile, text=_text(post), written_at=_when(post),
        thread=f"vk:{public_id}:wall:{post_id}", link=f"https://vk.com/wall-{public_id}_{post_id}",
        attachments=_photos(post), reply_target=MANUAL,
    )


def from_public_comment(public_id: int, post_id: int, comment: dict[str, Any]) -> Inbound | None:
    if not isinstance(comment, dict):
        return None
    ids = _ids(comment, "id", "from_id")
    if ids is None:
        return None
    comment_id, from_id = ids
    author, profile = _author(from_id)
    return Inbound(
        source=f"vk:{public_id}", kind="vk_public_comment",
        key=f"vk:{public_id}:wall_reply:{post_id}:{comment_id}", author_id=author,
        author_link=profile, text=_text(comment), written_at=_when(comment),
        thread=f"vk:{public_id}:wall:{post_id}",
        link=f"https://vk.com/wall-{public_id}_{post_id}?reply={comment_id}",
        attachments=_photos(comment), reply_target=MANUAL,
    )
