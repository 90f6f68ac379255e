"""The ports: what the services ask of a messenger, as two small interfaces.

The services speak to two things only, never to a platform's API:

* the **staff workspace** (``StaffWorkspace``): where staff work — a card per incident
  posted and kept up to date, choices offered under it, a question asked (answered by
  replying), a person notified, a report sent;
* a **page** (``Page``): where citizens read the administration — an answer published to
  a citizen on their platform and thread, a post or a poll on an official page.

Every method only *enqueues* outbox rows, in the caller's transaction, so a step and what
it sends are stored together (source → incident → outbox → platform). The adapter
(``bot.platforms.telegram``, ``bot.platforms.vk``) names the platform's methods and
parameters, and owns the delivery function the outbox calls for its rows. A button press
is answered by the service's return value (``Reply``), which the platform's own handler
turns into its answer to the press. A new messenger is a new adapter of these ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from storage.db import Conn
from storage.incidents import Incident


class CardAction(StrEnum):
    """What a button on a card does. The value is its code on the wire: short, because
    Telegram's callback data holds at most 64 bytes."""

    TAKE = "tk"
    ASSIGN = "as"  # offers the executors
    REASSIGN = "ra"  # offers the other executors
    ASSIGN_TO = "to"  # an executor chosen (arg: their id)
    SEND_INTERIM = "im"  # offers the dates the works are promised for
    INTERIM_DATE = "id"  # a date chosen (arg: days from today; NO_DATE: none): the draft
    INTERIM_EDIT = "ie"  # asks for the draft's new text, answered by replying
    INTERIM_SEND = "is"  # the draft goes to the citizen
    INTERIM_DROP = "ix"  # the draft is dropped
    ASK_FOR_ANSWER = "sb"  # «Ответить»: a question the executor answers by replying
    OFFER_TEMPLATES = "tl"
    USE_TEMPLATE = "tp"  # a template chosen (arg: its number)
    APPROVE = "ap"
    RETURN_FOR_REVISION = "rt"  # asks the reason, answered by replying
    REJECT = "rj"  # offers the reasons
    REJECT_WITH_REASON = "rr"  # a reason chosen (arg: its number)
    REOPEN = "ro"
    PUBLISHED_MANUALLY = "pm"
    BACK = "bk"  # the card's own buttons again
    SHOW_PHOTOS = "ph"  # the citizen's photos, under the card
    MERGE = "mg"  # «Объединить с №…»: asks the number, answered by replying
    SPLIT = "sp"  # offers the group's messages
    SPLIT_ONE = "so"  # a message chosen (arg: its member id)
    # corrections (issue 18): under «Ещё», for those who coordinate
    MORE = "mo"  # offers the corrections below
    CHANGE_BLOCK = "cb"  # offers the blocks
    MOVE_TO_BLOCK = "mb"  # a block chosen (arg: its number in the config)
    FAST_TRACK = "ft"  # «Срочно», and back
    OFFER_DEADLINES = "dl"  # offers the deadlines one may choose
    SET_DEADLINE = "sd"  # a deadline chosen (arg: bot.domain.deadline_choice code)
    OTHER_EXECUTOR = "ox"  # offers every executor, by block
    ASSIGN_ANY = "ay"  # an executor of any block chosen (arg: their id)
    RESULT = "rs"  # the result for the regional report (arg: 0 решено, 1 разъяснено)


@dataclass(frozen=True)
class CardButton:
    label: str  # what the button says, rendered
    action: CardAction
    arg: int = 0  # which executor, template or reason
    url: str = ""  # a link to open instead of a press (the card, for staff)


Keyboard = list[list[CardButton]]


class StaffWorkspace(Protocol):
    """Where staff work: a group with a card per incident, and each person's own chat."""

    async def show_card(self, conn: Conn, incident_id: int, now: datetime) -> None:
        """Post the incident's card, or bring it up to date: it shows the incident as it
        is when it goes (ten quick steps cost one edit)."""

    async def show_cards(self, conn: Conn, incident_ids: list[int], now: datetime) -> None:
        """``show_card`` for many new incidents at once (a storm)."""

    def card_link(self, card_chat_id: int | None, card_message_id: int | None) -> str:
        """A link that opens the card, for staff; "" where there is none."""

    async def move_card(self, conn: Conn, incident: Incident, now: datetime,
                        note: str) -> None:
        """The incident's block changed: its card goes to the block's place (a forum
        topic), the old one is removed — or, where it cannot be, reads ``note``."""

    async def offer_choices(self, conn: Conn, incident: Incident, action: CardAction,
                            choices: Keyboard) -> None:
        """Put a choice under the card for a while: an executor, a reason, a template."""

    async def ask(self, conn: Conn, incident: Incident, action: CardAction,
                  user_id: int | None, text: str) -> None:
        """A question under the card that the person answers by replying to it: the
        answer (``ASK_FOR_ANSWER``) or the reason (``RETURN_FOR_REVISION``)."""

    async def show_photos(self, conn: Conn, incident: Incident, photos: list[str], *,
                          key: str) -> None:
        """The citizen's photos (file ids or addresses) under the card, in its topic."""

    async def notify(self, conn: Conn, user_id: int, text: str, *, key: str,
                     purpose: str = "", ref_id: int | None = None,
                     about: Incident | None = None, actions: Keyboard | None = None) -> bool:
        """A message to a staff member, once per ``key``. With ``purpose="prompt"`` a
        reply to it is their answer to incident ``ref_id``; ``actions`` are buttons on
        it that act on incident ``about`` as the card's do."""

    async def post(self, conn: Conn, text: str, *, key: str,
                   about: Incident | None = None) -> bool:
        """A message in the staff group, under the incident's card when ``about``."""

    async def list_cards(self, conn: Conn, user_id: int, text: str,
                         items: list[tuple[int, str]], *, key: str) -> bool:
        """A message to a staff member with a button per incident (id, label) that
        brings up its card: a gathered notice, once per ``key``."""

    async def show_board(self, conn: Conn, text: str, message_id: int | None) -> None:
        """The status message in the staff group's general topic: posted when
        ``message_id`` is None, else edited in place."""

    async def send_report(self, conn: Conn, chat_id: int, text: str, *, key: str,
                          chart: bytes | None = None, chart_caption: str = "",
                          document: bytes | None = None, filename: str = "") -> None:
        """A report to a person: the text then its chart, or a workbook with the text as
        its caption."""


@dataclass(frozen=True)
class PagePost:
    """A post rendered for its page, the same for each of the page's targets."""

    id: int
    plain: str  # the plain text (VK's); also what Telegram shows of ``html``
    html: str  # the text as HTML (Telegram's)
    photos: list[str]  # Telegram file ids
    poll: dict[str, Any] | None  # {question, options}
    queued_at: datetime


class Page(Protocol):
    """Where citizens read the administration on one platform: the answers to their
    messages, and the official pages' posts."""

    platforms: tuple[str, ...]  # how reply targets and page targets name the platform

    # -- an answer to a citizen, where they wrote ------------------------------------

    def answer_limit(self, reply_target: dict[str, Any]) -> int:
        """The most characters one message of an answer may have there."""

    async def publish_answer(self, conn: Conn, incident_id: int, reply_target: dict[str, Any],
                             text: str, *, key: str, purpose: str, now: datetime,
                             photos: Sequence[str] = ()) -> None:
        """Queue the answer to where the citizen wrote, in parts if it is too long, with
        ``photos`` (Telegram file ids, at most ``limits.ANSWER_PHOTOS_MAX``) attached;
        ``purpose`` goes on the last part (its delivery is the answer's)."""

    async def ask_rating(self, conn: Conn, incident: Incident, text: str) -> None:
        """After a published answer: the 1–5 buttons, where the platform has them."""

    def unreachable(self, reply_target: dict[str, Any], error: str) -> str | None:
        """Why no retry can reach the citizen (they blocked the bot…), or None."""

    def explain(self, error: str) -> str:
        """A refusal in the platform's words, with what it means for staff if known."""

    # -- a post on an official page ---------------------------------------------------

    def target_key(self, target_id: int) -> str:
        """The target's name in ``post_targets`` and in outbox keys: 'vk:100001'."""

    def target_name(self, target_id: int) -> str:
        """The target as the press secretary knows it."""

    async def publish_post(self, conn: Conn, post: PagePost, target_id: int, *, part: int,
                           key: str, purpose: str, now: datetime) -> bool:
        """Queue part ``part`` of the post to the target (parts go one after another);
        False when the post has no such part there."""

    def link(self, target_id: int, result: Any) -> str | None:
        """Where people see the post, from the result of its first part."""
