"""VK events as citizens' messages: one function per event type, pure.

A long-poll update or a polled post becomes an ``Inbound`` with a key that names the
platform event, a thread to join follow-ups, a link a person can open, and the call
that publishes an answer where the bot has the right to (else ``manual``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.ingest import Inbound

MANUAL = {"platform": "manual"}


def _when(obj: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(obj.get("date") or 0), UTC)


def _text(obj: dict[str, Any]) -> str:
    return str(obj.get("text") or "")


def _photos(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for attachment in obj.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("type") == "photo":
            photo = attachment.get("photo") or {}
            found.append({"type": "vk_photo",
                          "id": f"photo{photo.get('owner_id')}_{photo.get('id')}"})
    return found


def _author(from_id: int) -> tuple[str, str]:
    if from_id < 0:
        return f"vk:{from_id}", f"https://vk.com/club{-from_id}"
    return f"vk:{from_id}", f"https://vk.com/id{from_id}"


def from_update(group_id: int, update: dict[str, Any], can_reply: bool) -> Inbound | None:
    """A Bots Long Poll update of a community the bot holds a token for."""
    kind = update.get("type")
    obj = update.get("object")
    if not isinstance(obj, dict):
        return None
    g = group_id
    if kind == "wall_reply_new":
        post_id, comment_id = obj.get("post_id"), obj.get("id")
        from_id = obj.get("from_id")
        if post_id is None or comment_id is None or from_id is None:
            return None
        author, profile = _author(int(from_id))
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
        from_id = message.get("from_id")
        message_id = message.get("id") or message.get("conversation_message_id")
        if from_id is None or message_id is None:
            return None
        author, profile = _author(int(from_id))
        peer = message.get("peer_id", from_id)
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
        post_id, from_id = obj.get("id"), obj.get("from_id") or obj.get("signer_id")
        if post_id is None or from_id is None:
            return None
        author, profile = _author(int(from_id))
        return Inbound(
            source=f"vk:{g}", kind="vk_post", key=f"vk:{g}:post:{post_id}", author_id=author,
            author_link=profile, text=_text(obj), written_at=_when(obj),
            link=f"https://vk.com/wall-{g}_{post_id}", attachments=_photos(obj),
            reply_target=MANUAL,
        )
    if kind == "board_post_new":
        topic, post_id, from_id = obj.get("topic_id"), obj.get("id"), obj.get("from_id")
        if topic is None or post_id is None or from_id is None:
            return None
        author, profile = _author(int(from_id))
        return Inbound(
            source=f"vk:{g}", kind="vk_board", key=f"vk:{g}:board:{topic}:{post_id}",
            author_id=author, author_link=profile, text=_text(obj), written_at=_when(obj),
            thread=f"vk:{g}:board:{topic}",
            link=f"https://vk.com/topic-{g}_{topic}?post={post_id}", reply_target=MANUAL,
        )
    if kind in ("photo_comment_new", "video_comment_new"):
        what = "photo" if kind == "photo_comment_new" else "video"
        item, comment_id, from_id = obj.get(f"{what}_id"), obj.get("id"), obj.get("from_id")
        if item is None or comment_id is None or from_id is None:
            return None
        author, profile = _author(int(from_id))
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
    kind, obj = update.get("type"), update.get("object")
    if not isinstance(obj, dict) or kind not in ("wall_reply_edit", "wall_reply_delete"):
        return None
    post_id, comment_id = obj.get("post_id"), obj.get("id")
    if post_id is None or comment_id is None:
        return None
    key = f"vk:{group_id}:wall_reply:{post_id}:{comment_id}"
    if kind == "wall_reply_edit":
        return "edit", key, _text(obj)
    return "delete", key, ""


def from_public_post(public_id: int, post: dict[str, Any]) -> Inbound | None:
    post_id, from_id = post.get("id"), post.get("from_id")
    if post_id is None or from_id is None:
        return None
    author, profile = _author(int(from_id))
    return Inbound(
        source=f"vk:{public_id}", kind="vk_public_post", key=f"vk:{public_id}:post:{post_id}",
        author_id=author, author_link=profile, text=_text(post), written_at=_when(post),
        thread=f"vk:{public_id}:wall:{post_id}", link=f"https://vk.com/wall-{public_id}_{post_id}",
        attachments=_photos(post), reply_target=MANUAL,
    )


def from_public_comment(public_id: int, post_id: int, comment: dict[str, Any]) -> Inbound | None:
    comment_id, from_id = comment.get("id"), comment.get("from_id")
    if comment_id is None or from_id is None:
        return None
    author, profile = _author(int(from_id))
    return Inbound(
        source=f"vk:{public_id}", kind="vk_public_comment",
        key=f"vk:{public_id}:wall_reply:{post_id}:{comment_id}", author_id=author,
        author_link=profile, text=_text(comment), written_at=_when(comment),
        thread=f"vk:{public_id}:wall:{post_id}",
        link=f"https://vk.com/wall-{public_id}_{post_id}?reply={comment_id}",
        attachments=_photos(comment), reply_target=MANUAL,
    )
