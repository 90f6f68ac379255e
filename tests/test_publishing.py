"""Publishing (issue 7): composing and checking posts, the queue, the tick, the hooks."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_hub
from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain.calendar import WorkCalendar
from bot.domain.limits import callback_data_fits
from bot.outbox.outcomes import Permanent, Retry
from bot.platforms.telegram.bot_api import download
from bot.platforms.telegram.page import telegram_calls, telegram_link
from bot.platforms.vk.client import VkError
from bot.platforms.vk.page import WALL_POSTS as VK_PLATFORM
from bot.platforms.vk.page import VkPage
from bot.render import Renderer
from bot.sandbox import world
from bot.services.publishing.compose import (
    Refused,
    compose,
    parse_command,
    parse_poll,
    parse_when,
    split_heading,
)
from bot.services.publishing.queue import Publishing
from handlers.press import DraftCb, PageCb, QueueCb, draft_markup, queue_buttons
from storage import outbox as rows
from storage.db import Database, fetch_all
from storage.posts import get as get_post
from storage.posts import queued as queued_posts

TZ = ZoneInfo(world.TIMEZONE)
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)  # a working Monday
CHANNEL = world.CHANNEL
PRESS, ADMIN = 1007, 1003


def config():
    return parse_config(world.config_dict("http://sandbox", ":memory:"), environ={})


@pytest.fixture
def render():
    return Renderer(TZ)


@pytest.fixture
async def service():
    cfg = config()
    clock = FakeClock(MONDAY)
    db = await Database(":memory:").open()
    hub = make_hub(config=cfg, clock=clock, db=db, render=Renderer(TZ),
              calendar=WorkCalendar.from_config(cfg.municipality, cfg.calendar),
              router=None)  # type: ignore[arg-type]  # routing is not used here
    svc = Publishing(hub)
    yield svc
    await db.close()




def page(name: str = "Администрация"):
    found = config().page(name)
    assert found is not None
    return found


def visible(text: str) -> str:
    """What Telegram shows of an HTML text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# -- composing and limits ----------------------------------------------------------------


def test_post_has_heading_body_hashtags_signature(render):
    made = compose(render, page(), "Ремонт дорог\nНачался ремонт ул. Ленина <1 км>.", 0)
    assert made.refusal is None and made.note is None
    assert made.plain == ("Ремонт дорог\n\nНачался ремонт ул. Ленина <1 км>.\n\n"
                          "#Шиханы #администрация\n\nАдминистрация ЗАТО Шиханы")
    assert made.html.startswith("<b>Ремонт дорог</b>")
    assert "&lt;1 км&gt;" in made.html
    assert visible(made.html) == made.plain  # Telegram's count is the plain text's


def test_single_line_is_the_body_without_heading():
    assert split_heading("Просто текст") == ("", "Просто текст")
    assert split_heading("Заголовок\n\nабзац 1\n\nабзац 2") == ("Заголовок", "абзац 1\n\nабзац 2")


def test_text_over_telegram_limit_is_refused_for_the_channel_with_the_reason(render):
    made = compose(render, page(), "x " * 2500, 0)
    assert made.refusal is None  # VK and OK take it: it goes there, whole
    assert set(made.skipped) == {f"tg:{CHANNEL}", f"max:{world.MAX_CHANNEL}"}
    assert "4096" in made.skipped[f"tg:{CHANNEL}"]
    assert "Telegram" in made.skipped[f"tg:{CHANNEL}"]
    assert "4000" in made.skipped[f"max:{world.MAX_CHANNEL}"]


def test_text_over_every_targets_limit_is_refused_whole(render):
    made = compose(render, page(), "x " * 9000, 0)
    assert made.refusal is not None
    assert "ВКонтакте" in made.refusal and "Одноклассники" in made.refusal


def test_a_poll_is_refused_for_max_only(render):
    made = compose(render, page(), "", 0, {"question": "Где каток?", "options": ["А", "Б"]})
    assert made.refusal is None
    assert made.skipped == {f"max:{world.MAX_CHANNEL}": "в MAX нет опросов"}


def test_the_same_text_fits_a_vk_only_page(render):
    made = compose(render, page("Глава"), "x " * 2500, 0)
    assert made.refusal is None


def test_long_caption_is_split_from_the_photos_and_said_so(render):
    text = "Заголовок\n" + "Длинный текст. " * 100  # ~1500 characters
    made = compose(render, page(), text, 3)
    assert made.refusal is None
    assert made.note is not None and "без подписи" in made.note
    calls = telegram_calls(CHANNEL, made, ["f1", "f2", "f3"], None)
    assert [method for method, _ in calls] == ["sendMediaGroup", "sendMessage"]
    assert all("caption" not in item for item in calls[0][1]["media"])
    assert calls[1][1]["text"] == made.html  # the text follows whole


def test_short_caption_goes_with_the_photo(render):
    made = compose(render, page(), "Субботник\nВ субботу в 10:00", 1)
    calls = telegram_calls(CHANNEL, made, ["f1"], None)
    assert [method for method, _ in calls] == ["sendPhoto"]
    assert calls[0][1]["caption"] == made.html


def test_too_many_photos_are_refused(render):
    made = compose(render, page(), "Фото", 11)
    assert made.refusal is not None and "10" in made.refusal


def test_poll_goes_as_a_telegram_poll(render):
    poll = parse_poll("Где поставить каток?\n1. У школы\n- В парке\n• На площади")
    assert poll == {"question": "Где поставить каток?",
                    "options": ["У школы", "В парке", "На площади"]}
    made = compose(render, page(), "", 0, poll)
    calls = telegram_calls(CHANNEL, made, [], poll)
    assert calls == [("sendPoll", {"chat_id": CHANNEL, "question": "Где поставить каток?",
                                   "options": ["У школы", "В парке", "На площади"],
                                   "is_anonymous": True})]


@pytest.mark.parametrize("text", ["Вопрос?\nОдин вариант", "", "Вопрос?\nА\nА"])
def test_bad_polls_are_refused(text):
    with pytest.raises(Refused):
        parse_poll(text)


# -- commands -----------------------------------------------------------------------------


def test_parse_command_page_time_and_text():
    now = MONDAY
    cmd = parse_command("Администрация 15:30\nЗаголовок\nТекст", config(), now)
    assert cmd.page.name == "Администрация"
    assert cmd.when == datetime(2026, 11, 23, 15, 30, tzinfo=TZ)
    assert cmd.text == "Заголовок\nТекст"
    cmd = parse_command("глава 25.11 10:00\nТекст", config(), now)
    assert cmd.page.name == "Глава" and cmd.when == datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
    assert parse_command("Глава\nТекст", config(), now).when is None


def test_parse_when_rolls_forward_and_refuses_the_past():
    assert parse_when("07:00", MONDAY, TZ) == datetime(2026, 11, 24, 7, 0, tzinfo=TZ)
    assert parse_when("10.01 09:00", datetime(2026, 12, 20, tzinfo=TZ), TZ).year == 2027
    with pytest.raises(Refused, match="прошло"):
        parse_when("20.11 10:00", MONDAY, TZ)
    with pytest.raises(Refused):
        parse_when("25:00", MONDAY, TZ)
    with pytest.raises(Refused, match="Не понял"):
        parse_when("завтра", MONDAY, TZ)


def test_unknown_page_lists_the_pages():
    with pytest.raises(Refused, match="Администрация, Глава"):
        parse_command("Газета\nТекст", config(), MONDAY)


def test_callback_data_is_short_and_valid(render):
    for data in (DraftCb(a="q", id=10**12).pack(), QueueCb(a="x", id=10**12).pack(),
                 PageCb(k="o", i=99).pack()):
        assert callback_data_fits(data)
    buttons = [b for row in draft_markup(render, 5)["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["✅ В очередь", "✏️ Изменить", "✖️ Отмена"]
    assert len(queue_buttons(render, 5)[0]) == 4


def test_links():
    assert telegram_link(CHANNEL, {"message_id": 7, "chat": {"id": CHANNEL}}) == \
        "https://t.me/c/1000000003/7"
    assert telegram_link(CHANNEL, [{"message_id": 8, "chat": {"username": "shikhany"}}]) == \
        "https://t.me/shikhany/8"


# -- the queue and the tick -----------------------------------------------------------------


async def outbox_rows(svc: Publishing, prefix: str = "pub:") -> list[rows.Item]:
    found = await fetch_all(svc.hub.db.reader, "SELECT id FROM outbox WHERE key LIKE ? ORDER BY id",
                            (prefix + "%",))
    return [await rows.get(svc.hub.db.reader, row[0]) for row in found]  # type: ignore[misc]


async def dispatch_times(svc: Publishing, page_name: str) -> list[tuple[int, datetime]]:
    found = await fetch_all(
        svc.hub.db.reader, "SELECT id, published_at FROM posts WHERE page = ? AND published_at"
        " IS NOT NULL ORDER BY published_at", (page_name,))
    return [(row[0], datetime.fromisoformat(row[1]).astimezone(TZ)) for row in found]


async def run_clock(svc: Publishing, until: datetime, step: timedelta) -> None:
    clock = svc.hub.clock
    assert isinstance(clock, FakeClock)
    while clock.now() < until:
        clock.set(clock.now() + step)
        await svc.tick()


async def test_twelve_posts_go_5_5_2_in_order_inside_hours_gap_apart(service):
    ids = [(await service.queue("Администрация", f"Пост {n}\nТекст {n}")).post_id
           for n in range(1, 13)]
    await run_clock(service, MONDAY + timedelta(days=3), timedelta(minutes=7))
    sent = await dispatch_times(service, "Администрация")
    assert [post_id for post_id, _ in sent] == ids
    by_day = [sum(1 for _, at in sent if at.date() == (MONDAY + timedelta(days=d)).date())
              for d in range(3)]
    assert by_day == [5, 5, 2]
    assert all(9 <= at.hour < 18 for _, at in sent)
    assert all(b - a >= timedelta(minutes=60) for (_, a), (_, b) in pairwise(sent))
    items = await outbox_rows(service)
    assert len(items) == 48  # one per post and target: VK, Telegram, MAX, OK
    assert len({item.key for item in items}) == 48
    assert {item.platform for item in items} == {VK_PLATFORM, "tg", "maxpub", "okpub"}
    assert {item.lane for item in items if item.platform == "maxpub"} == {
        f"max:{world.MAX_CHANNEL}"}
    assert {item.lane for item in items if item.platform == "okpub"} == {
        f"ok:{world.OK_GROUP}"}
    vk = [item for item in items if item.platform == VK_PLATFORM]
    assert {item.lane for item in vk} == {"vk:user:100001"}
    assert len({item.params["guid"] for item in vk}) == 12
    assert all(item.method == "wall.post" and item.params["group_id"] == 100001 for item in vk)
    tg = [item for item in items if item.platform == "tg"]
    assert {item.lane for item in tg} == {f"tg:{CHANNEL}"}
    await service.tick()  # nothing twice
    assert len(await outbox_rows(service)) == 48


async def test_seven_weekly_posts_five_this_week_two_next(service):
    for n in range(7):
        await service.queue("Глава", f"Пост главы {n}")
    await run_clock(service, MONDAY + timedelta(days=14), timedelta(minutes=30))
    sent = await dispatch_times(service, "Глава")
    week1 = [at for _, at in sent if at < MONDAY + timedelta(days=7)]
    assert len(week1) == 5 and len(sent) == 7


async def test_a_clock_jump_does_not_burst(service):
    for n in range(5):
        await service.queue("Администрация", f"Пост {n}")
    clock = service.hub.clock
    clock.set(MONDAY.replace(hour=15))  # the 09:00, 10:48, 12:36, 14:24 slots passed
    for _ in range(3):
        await service.tick()
    sent = await dispatch_times(service, "Администрация")
    assert len(sent) == 1  # one now; the rest re-planned from here
    left = [p for p in await _queued(service, "Администрация")]
    times = sorted(p.planned_at for p in left)
    assert times[0] >= clock.now() + timedelta(minutes=60) - timedelta(seconds=1)
    await run_clock(service, MONDAY.replace(hour=23), timedelta(minutes=5))
    sent = await dispatch_times(service, "Администрация")
    # 15:00, 16:00, 17:00: what fits gap-apart before 18:00; the rest go tomorrow
    assert [at.hour for _, at in sent] == [15, 16, 17]
    assert len(await _queued(service, "Администрация")) == 2
    assert all(b - a >= timedelta(minutes=60) for (_, a), (_, b) in pairwise(sent))


async def _queued(service: Publishing, page_name: str):
    from storage.posts import queued as queued_posts

    return await queued_posts(service.hub.db.reader, page_name)


async def test_after_hours_nothing_goes_and_the_plan_moves_to_tomorrow(service):
    await service.queue("Администрация", "Пост")
    service.hub.clock.set(MONDAY.replace(hour=19))
    await service.tick()
    assert await dispatch_times(service, "Администрация") == []
    (post,) = await _queued(service, "Администрация")
    assert post.planned_at.astimezone(TZ) == datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


async def test_a_fixed_time_post_goes_at_its_time(service):
    when = MONDAY.replace(hour=11, minute=5)
    await service.queue("Администрация", "Точно в 11:05", when=when)
    await run_clock(service, MONDAY.replace(hour=12), timedelta(minutes=1))
    assert [at for _, at in await dispatch_times(service, "Администрация")] == [when]


async def test_publish_now_and_queue_buttons(service):
    a = (await service.queue("Администрация", "А")).post_id
    b = (await service.queue("Администрация", "Б")).post_id
    c = (await service.queue("Администрация", "В")).post_id
    await service.move(c, -1)
    assert [p.id for p in await _queued(service, "Администрация")] == [a, c, b]
    assert not (await service.move(a, -1)).ok  # already first
    await service.remove(b)
    assert [p.id for p in await _queued(service, "Администрация")] == [a, c]
    await service.publish_now(c)
    assert [post_id for post_id, _ in await dispatch_times(service, "Администрация")] == [c]
    view = await service.queue_view()
    assert f"№{a}" in view.text and f"№{c}" not in view.text
    assert view.buttons == "queue" and view.queue_ids == [a]


async def test_queue_order_is_unique_even_within_a_second(service):
    for n in range(3):
        await service.queue("Администрация", f"П{n}")
    times = [p.queued_at for p in await _queued(service, "Администрация")]
    assert len(set(times)) == 3


async def test_draft_preview_then_queue_once(service):
    reply = await service.draft(PRESS, page=page(), text="Заголовок\nТекст")
    assert reply.ok and reply.post_id
    assert "Предпросмотр" in reply.text and "09:00" in reply.text
    assert "<b>Заголовок</b>" in reply.text
    queued = await service.confirm(reply.post_id, PRESS)
    assert "в очереди" in queued.text and "23.11 09:00" in queued.text
    again = await service.confirm(reply.post_id, PRESS)
    assert not again.ok and again.alert


async def test_fixed_time_breaking_the_gap_asks_to_confirm_or_move(service):
    await service.queue("Администрация", "Первый", when=MONDAY.replace(hour=10))
    reply = await service.draft(PRESS, page=page(), text="Второй",
                                when=MONDAY.replace(hour=10, minute=20))
    assert "меньше 60 мин" in reply.text
    assert reply.buttons == "confirm"
    asked = await service.confirm(reply.post_id, PRESS, "q")
    assert not asked.ok and asked.alert and "меньше 60 мин" in asked.text
    moved = await service.confirm(reply.post_id, PRESS, "m")  # to a free slot instead
    assert moved.ok
    post = await get_post(service.hub.db.reader, reply.post_id)
    assert post.fixed_at is None and post.status == "queued"


async def test_draft_over_the_limit_is_not_stored(service):
    reply = await service.draft(PRESS, page=page(), text="я" * 17000)
    assert not reply.ok and "16384" in reply.text and reply.post_id is None


async def test_draft_too_long_for_some_targets_says_where_it_will_not_go(service):
    reply = await service.draft(PRESS, page=page(), text="я" * 5000)
    assert reply.ok and reply.post_id is not None
    assert "Не выйдет — Telegram-канал: Текст длиннее 4096" in reply.text
    assert "Не выйдет — канал в MAX: Текст длиннее 4000" in reply.text


# -- hooks: links, failures --------------------------------------------------------------


async def _settle(service: Publishing, item: rows.Item, result: Any = None,
                  error: str | None = None) -> None:
    async with service.hub.db.tx() as conn:
        await rows.mark_sending(conn, item.id)
        if error is None:
            await rows.mark_done(conn, item.id, result, service.hub.clock.now())
            await service.on_done(conn, item, result)
        else:
            await rows.mark_failed(conn, item.id, error, service.hub.clock.now())
            await service.on_failed(conn, item, error)


async def test_links_go_to_the_press_secretary_when_every_target_is_done(service):
    text = "Заголовок\n" + "Длинный текст. " * 100
    post_id = (await service.queue("Администрация", text, photos=["f1", "f2"], by=PRESS)).post_id
    await service.publish_now(post_id)
    vk, album, max_post, ok_topic = await outbox_rows(service)
    assert album.method == "sendMediaGroup"
    await _settle(service, max_post, {"mid": "mid.1", "url": "https://max.ru/adm/7"})
    await _settle(service, ok_topic, {"topic_id": "1600"})
    await _settle(service, vk, {"post_id": 41, "owner_id": -100001})
    await _settle(service, album, [{"message_id": 9, "chat": {"id": CHANNEL}},
                                   {"message_id": 10, "chat": {"id": CHANNEL}}])
    assert (await get_post(service.hub.db.reader, post_id)).status == "publishing"
    # the text follows only once the album is there, so a retried album is never overtaken
    message = (await outbox_rows(service))[-1]
    assert message.method == "sendMessage" and message.key.endswith(":1")
    await _settle(service, message, {"message_id": 11, "chat": {"id": CHANNEL}})
    assert (await get_post(service.hub.db.reader, post_id)).status == "published"
    (notice,) = await outbox_rows(service, f"notify:{PRESS}:pubdone")
    assert "https://vk.com/wall-100001_41" in notice.params["text"]
    assert "https://t.me/c/1000000003/9" in notice.params["text"]
    assert "https://max.ru/adm/7" in notice.params["text"]
    assert f"https://ok.ru/group/{world.OK_GROUP}/topic/1600" in notice.params["text"]


async def test_a_permanent_failure_is_reported_in_the_platforms_words(service):
    post_id = (await service.queue("Глава", "Пост", by=PRESS)).post_id
    await service.publish_now(post_id)
    (vk,) = await outbox_rows(service)
    await _settle(service, vk, error="VK error 214: Access to adding post denied")
    post = await get_post(service.hub.db.reader, post_id)
    assert post.status == "failed" and "214" in post.error
    for user in (PRESS, ADMIN):
        (notice,) = await outbox_rows(service, f"notify:{user}:pubfail")
        assert "Access to adding post denied" in notice.params["text"]
        # then what it means, in Russian, and the page by its name
        assert "Что это значит: ВКонтакте не принял запись" in notice.params["text"]
        assert "ВКонтакте «Глава»" in notice.params["text"]
    # a post that reached no target does not count toward the quota
    from storage.posts import published_times

    assert await published_times(service.hub.db.reader, "Глава", MONDAY) == []


async def test_a_failed_album_does_not_send_its_text_alone(service):
    text = "Заголовок\n" + "Длинный текст. " * 100
    post_id = (await service.queue("Администрация", text, photos=["f1", "f2"])).post_id
    await service.publish_now(post_id)
    vk, album, max_post, ok_topic = await outbox_rows(service)
    await _settle(service, album, error="Bad Request: wrong file identifier")
    assert len(await outbox_rows(service)) == 4  # the text is never queued
    await _settle(service, max_post, {"mid": "mid.1"})
    await _settle(service, ok_topic, {"topic_id": "1600"})
    await _settle(service, vk, {"post_id": 5, "owner_id": -100001})
    post = await get_post(service.hub.db.reader, post_id)
    assert post.status == "failed"
    (notice,) = await outbox_rows(service, f"notify:{PRESS}:pubdone")
    assert "wall-100001_5" in notice.params["text"] and "не везде" in notice.params["text"]


# -- the shortfall warning -------------------------------------------------------------------


async def test_shortfall_warning_once_a_day_at_warn_at(service):
    for n in range(3):
        await service.queue("Администрация", f"Пост {n}")
    await run_clock(service, MONDAY.replace(hour=11, minute=55), timedelta(minutes=5))
    assert await outbox_rows(service, "notify:") == []
    await run_clock(service, MONDAY.replace(hour=13), timedelta(minutes=5))
    (warning,) = await outbox_rows(service, "notify:")
    assert warning.params["chat_id"] == PRESS
    assert "План на сегодня: 3 из 5" in warning.params["text"]
    await run_clock(service, MONDAY.replace(hour=14), timedelta(minutes=5))
    assert len(await outbox_rows(service, "notify:")) == 1


# -- VK delivery -----------------------------------------------------------------------------


class FakeVk:
    def __init__(self, fail: dict[str, VkError] | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}

    async def call(self, method: str, **params: Any) -> Any:
        self.calls.append((method, params))
        if method in self.fail:
            raise self.fail.pop(method)
        if method == "polls.create":
            return {"id": 3, "owner_id": params["owner_id"]}
        return {"post_id": 77}

    async def upload_wall_photo(self, group_id: int, data: bytes, filename: str) -> str:
        self.calls.append(("upload", {"group_id": group_id, "size": len(data)}))
        return f"photo-{group_id}_{len(self.calls)}"


class FakeBot:
    async def download(self, file_id: str) -> io.BytesIO:
        return io.BytesIO(b"jpeg:" + file_id.encode())


def vk_walls(service: Publishing, clients: dict[str, Any], bot: Any = None) -> VkPage:
    """The VK page adapter of the service's hub, with these clients (and this bot to
    fetch photos from)."""
    page = service.hub.pages["vk"]
    assert isinstance(page, VkPage)
    page.clients = clients
    if bot is not None:
        page.fetch_photo = lambda file_id: download(bot, file_id)
    return page


async def test_vk_photos_are_uploaded_once_then_posted_with_guid(service):
    vk = FakeVk(fail={"wall.post": VkError(10, "Internal server error")})
    walls = vk_walls(service, {"vk:user:100001": vk}, FakeBot())
    post_id = (await service.queue("Администрация", "Фото", photos=["a", "b"])).post_id
    await service.publish_now(post_id)
    item = (await outbox_rows(service))[0]
    with pytest.raises(Retry):
        await walls.deliver_wall_post(item)
    result = await walls.deliver_wall_post(item)  # the retry does not upload again
    assert result == {"post_id": 77, "owner_id": -100001}
    methods = [method for method, _ in vk.calls]
    assert methods == ["upload", "upload", "wall.post", "wall.post"]
    post = vk.calls[-1][1]
    assert post["owner_id"] == -100001 and post["from_group"] == 1
    assert post["attachments"] == "photo-100001_1,photo-100001_2"
    assert post["guid"] == vk.calls[-2][1]["guid"]


async def test_vk_poll_is_created_then_attached(service):
    vk = FakeVk()
    walls = vk_walls(service, {"vk:user:100002": vk})
    poll = parse_poll("Каток где?\nУ школы\nВ парке")
    post_id = (await service.queue("Глава", poll=poll)).post_id
    await service.publish_now(post_id)
    (item,) = await outbox_rows(service)
    await walls.deliver_wall_post(item)
    assert [m for m, _ in vk.calls] == ["polls.create", "wall.post"]
    assert vk.calls[0][1]["add_answers"] == '["У школы", "В парке"]'
    assert vk.calls[1][1]["attachments"] == "poll-100002_3"


@pytest.mark.parametrize(("code", "kind"), [(214, Permanent), (5, Permanent), (27, Permanent),
                                            (6, Retry), (9, Retry)])
async def test_vk_errors_are_sorted(service, code, kind):
    walls = vk_walls(service, {"vk:user:100002": FakeVk(fail={"wall.post": VkError(code, "x")})})
    post_id = (await service.queue("Глава", "Пост")).post_id
    await service.publish_now(post_id)
    (item,) = await outbox_rows(service)
    with pytest.raises(kind):
        await walls.deliver_wall_post(item)


async def test_no_user_token_is_a_permanent_failure_that_says_so(service):
    walls = vk_walls(service, {})
    post_id = (await service.queue("Глава", "Пост")).post_id
    await service.publish_now(post_id)
    (item,) = await outbox_rows(service)
    with pytest.raises(Permanent, match="нет токена администратора сообщества"):
        await walls.deliver_wall_post(item)


async def test_plan_view_counts_against_the_quota(service):
    for n in range(3):
        await service.queue("Администрация", f"Пост {n}")
    text = (await service.plan_view()).text
    assert "«Администрация»" in text and "3 из 5" in text and "⚠️" in text
    assert "«Глава»" in text and "0 из 5" in text


# -- the buttons' guards ------------------------------------------------------------------


class FakeQuery:
    def __init__(self, user_id: int):
        from types import SimpleNamespace

        self.from_user = SimpleNamespace(id=user_id)
        self.message = None
        self.id = "q1"
        self.answers: list[tuple[str | None, bool]] = []

    async def answer(self, text: str | None = None, show_alert: bool = False) -> None:
        self.answers.append((text, show_alert))


@pytest.mark.parametrize(("user", "data", "words"), [
    (2001, DraftCb(a="q", id=1), "для пресс-секретаря"),
    (1005, QueueCb(a="n", id=1), "для пресс-секретаря"),
    (PRESS, DraftCb(a="q", id=2**80), "не распознана"),
    (PRESS, DraftCb(a="zz", id=1), "не распознана"),
    (PRESS, QueueCb(a="n", id=-5), "не распознана"),
])
async def test_forged_or_foreign_presses_change_nothing(service, user, data, words):
    from handlers.press import on_draft_button, on_queue_button

    post_id = (await service.queue("Администрация", "Пост")).post_id
    assert post_id == 1
    query = FakeQuery(user)
    handler = on_draft_button if isinstance(data, DraftCb) else on_queue_button
    await handler(query, data, service.hub, service)  # type: ignore[arg-type]
    ((text, alert),) = query.answers
    assert alert and words in text
    (post,) = await _queued(service, "Администрация")
    assert post.fixed_at is None  # not published now, not moved


@pytest.mark.parametrize(("error", "phrase"), [
    ("VK error 214: Access to adding post denied", "why_vk_limit"),
    ("VK error 5: User authorization failed: invalid access_token", "why_vk_token"),
    ("VK error 27: Group authorization failed", "why_vk_rights"),
    ("Bad Request: chat not found", "why_tg_chat"),
    ("Forbidden: bot is not a member of the channel chat", "why_tg_chat"),
    ("Bad Request: not enough rights to send text messages to the chat", "why_tg_rights"),
    ("Bad Request: message is too long", "why_too_long"),
    ("Bad Request: wrong file identifier/HTTP URL specified", "why_file"),
    ("gave up after 8 attempts: transient: 502", "why_gave_up"),
    ("something new", "why_unknown"),
])
def test_a_platforms_refusal_is_explained_in_russian(error: str, phrase: str):
    from bot.services.publishing.compose import explain_failure

    assert explain_failure(error) == phrase


async def test_shortfall_warning_judges_each_target(service):
    """Five posts today, one too long for MAX: VK, Telegram and OK reach the floor of
    five, the MAX channel does not, and the warning says so by name."""
    for n in range(4):
        await service.queue("Администрация", f"Пост {n}")
    await service.queue("Администрация", "Длинный отчёт\n" + "слово " * 668)  # 4,000–4,096
    await run_clock(service, MONDAY.replace(hour=12, minute=5), timedelta(minutes=5))
    (warning,) = await outbox_rows(service, "notify:")
    assert "План на сегодня: канал в MAX — 4 из 5" in warning.params["text"]
    assert "ВКонтакте" not in warning.params["text"]


async def test_queuing_a_fifth_post_keeps_the_first_at_its_confirmed_time(service):
    """Issue 19: at 09:05 the first post is told «по плану выйдет 23.11 10:48»; the four
    queued after it must not move it (it used to jump to 09:05 with the fifth)."""
    service.hub.clock.set(MONDAY.replace(hour=9, minute=5))
    first = await service.queue("Администрация", "Пост 1\nТекст 1")
    assert "23.11 10:48" in first.text
    told = []
    for n in range(2, 6):
        reply = await service.queue("Администрация", f"Пост {n}\nТекст {n}")
        told.append(reply.text)
        assert (await get_post(service.hub.db.reader, first.post_id)).planned_at == \
            MONDAY.replace(hour=10, minute=48)
    plan = [p.planned_at.astimezone(TZ).strftime("%H:%M")
            for p in await queued_posts(service.hub.db.reader, "Администрация")]
    assert plan == ["10:48", "12:36", "14:24", "16:12", "17:12"]  # five today, none moved
