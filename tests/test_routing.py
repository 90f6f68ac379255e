"""Routing against the sandbox world's config: blocks, fast track, rules, morphology, noise.

The example config's vocabulary and scoring on citizens' words: test_routing_example.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from bot.cli.route import format_route, main
from bot.config import Config, parse_config
from bot.domain.keywords import KeywordIndex, analyse, matches_any
from bot.domain.routing import Message, Reason, Route, Router
from bot.domain.text import is_noise, words
from bot.sandbox.world import PUBLIC_KEYWORDS, config_dict


def world_raw() -> dict[str, Any]:
    return config_dict("http://127.0.0.1:8081")


def make_config(**routing: Any) -> Config:
    raw = world_raw()
    raw["routing"].update(routing)
    return parse_config(raw, environ={})


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(make_config())


def route(router: Router, text: str, source: str = "vk:100001", author: str = "vk:500101") -> Route:
    return router.route(Message(text=text, source=source, author=author))


def why(r: Route) -> tuple[str, str, tuple[str, ...]]:
    """The structured reason: kind, block, keywords (strongest first)."""
    assert r.reason is not None
    return r.reason.kind, r.reason.block, r.reason.terms


# -- acceptance -----------------------------------------------------------------------


def test_heating_goes_to_housing(router: Router) -> None:
    r = route(router, "У нас третий день нет отопления в доме 5 по ул. Ленина")
    assert (r.block, r.priority, r.policy, r.fast_rule) == ("ЖКХ", "normal", "answer", None)
    assert why(r) == ("terms", "ЖКХ", ("отопление",))
    assert r.rule == "keyword «отопление» (block ЖКХ, score 1.50)"  # «нет …»: the subject


def test_pothole_goes_to_roads(router: Router) -> None:
    r = route(router, "яма на дороге", source="tg:-1001000000002", author="tg:2001")
    assert r.block == "Дороги и транспорт"
    assert why(r) == ("terms", "Дороги и транспорт", ("яма", "дорога"))
    assert r.priority == "normal"


def test_burst_pipe_is_fast_tracked(router: Router) -> None:
    r = route(router, "прорыв трубы, затопило подвал")
    assert r.block == "ЖКХ"
    assert r.priority == "fast"
    assert r.policy == "fast_track"
    assert why(r) == ("terms", "ЖКХ", ("труба", "подвал"))
    assert r.fast_rule == "keyword «прорыв»"
    assert r.policy_rule is None


def test_heads_page_is_fast_by_source_rule(router: Router) -> None:
    r = route(router, "Когда починят светофор?", source="vk:100002")
    assert r.priority == "fast"
    assert r.fast_rule == "rule routing.rules[0]: source vk:100002"
    assert r.policy == "fast_track"
    assert r.block == "Дороги и транспорт"  # the rule names no block: keywords decide


def test_unmatched_goes_to_default_block(router: Router) -> None:
    r = route(router, "Здравствуйте, подскажите часы приёма главы")
    assert (r.block, r.priority, r.policy) == ("Прочее", "normal", "answer")
    assert r.reason == Reason("none", "Прочее")
    assert r.rule == "default block (no keyword)"


# -- morphology -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "block", "keyword"),
    [
        ("Отопления нет", "ЖКХ", "отопление"),
        ("что с отоплением?", "ЖКХ", "отопление"),
        ("ОТОПЛЕНИЮ конец", "ЖКХ", "отопление"),
        ("кругом ямы", "Дороги и транспорт", "яма"),
        ("сколько ям", "Дороги и транспорт", "яма"),
        ("стою на дороге", "Дороги и транспорт", "дорога"),
        ("опять гололед", "Дороги и транспорт", "гололёд"),
        ("на ГОЛОЛЁДЕ упал", "Дороги и транспорт", "гололёд"),
        ("батареи холодные", "ЖКХ", "батарея"),
        ("нет электричества", "ЖКХ", "электричество"),
        ("учителя грубят", "Образование", "учитель"),
        ("автобусы не ходят", "Дороги и транспорт", "автобус"),
    ],
)
def test_inflected_forms(router: Router, text: str, block: str, keyword: str) -> None:
    r = route(router, text)
    assert why(r) == ("terms", block, (keyword,))


@pytest.mark.parametrize(
    ("text", "block", "keyword"),
    [
        ("Управляющая компания не отвечает", "ЖКХ", "управляющая компания"),
        ("жалоба на управляющую компанию", "ЖКХ", "управляющая компания"),
        ("в детском саду холодно", "Образование", "детский сад"),
        ("детские сады переполнены", "Образование", "детский сад"),
    ],
)
def test_multi_word_keywords(router: Router, text: str, block: str, keyword: str) -> None:
    r = route(router, text)
    assert why(r) == ("terms", block, (keyword,))


def test_multi_word_keyword_needs_consecutive_words(router: Router) -> None:
    assert route(router, "компания управляющая").block == "Прочее"
    assert route(router, "детский праздник в саду").block == "Прочее"


def test_fast_track_multi_word(router: Router) -> None:
    r = route(router, "Сидим без света третий час")
    assert (r.priority, r.fast_rule) == ("fast", "keyword «без света»")
    assert r.block == "ЖКХ"  # «свет»


def test_fast_track_inflected(router: Router) -> None:
    assert route(router, "на трассе авария").fast_rule == "keyword «авария»"
    assert route(router, "после аварии нет воды").fast_rule == "keyword «авария»"
    assert route(router, "пожары в лесу").fast_rule == "keyword «пожар»"


def test_dictionary_form_keyword_does_not_match_other_lemmas(router: Router) -> None:
    # «дорога» may be the short adjective of «дорогой»; a keyword means the noun only
    assert route(router, "Дорогие жители, поздравляем").block == "Прочее"


def test_more_evidence_wins_not_config_order(router: Router) -> None:
    # ЖКХ comes first in the config, but roads have two keywords to its one
    r = route(router, "снег на дороге и на крыше")
    assert why(r) == ("terms", "Дороги и транспорт", ("снег", "дорога"))
    assert [(s.block, round(s.score, 2)) for s in r.scores[:2]] == [
        ("Дороги и транспорт", 1.8), ("ЖКХ", 0.8)]


def test_equal_evidence_is_a_tie_for_the_default_block(router: Router) -> None:
    r = route(router, "труба и яма")
    assert r.block == "Прочее"
    assert r.reason == Reason("tie", "Прочее", rivals=("ЖКХ", "Дороги и транспорт"))
    assert r.rule == "default block (tie: ЖКХ 1.00 = Дороги и транспорт 1.00)"


def test_strongest_keywords_are_reported_first(router: Router) -> None:
    assert why(route(router, "подвал залило, труба лопнула")) == (
        "terms", "ЖКХ", ("подвал", "труба"))
    # a keyword found again adds a fifth of its weight, a new one its whole weight
    r = route(router, "труба, труба, подвал")
    assert [(e.term, round(e.weight, 2), e.count) for e in r.scores[0].evidence] == [
        ("труба", 1.2, 2), ("подвал", 1.0, 1)]


def test_words_and_folding() -> None:
    assert words("Ул. Ленина, д.5 — ГОЛОЛЁД!") == ["ул", "ленина", "д", "5", "гололед"]
    assert analyse("") == []


# -- explicit rules -------------------------------------------------------------------


def test_rule_with_block_wins_over_keywords() -> None:
    router = Router(make_config(rules=[{"source": "portal", "block": "Образование"}]))
    r = route(router, "яма на дороге", source="portal")
    assert r.block == "Образование"
    assert r.rule == "rule routing.rules[0]: source portal"
    assert r.reason == Reason("rule", "Образование", rule=0)
    assert r.priority == "normal"


def test_first_matching_rule_wins_and_later_rules_are_ignored() -> None:
    router = Router(
        make_config(
            rules=[
                {"author": "tg:2001", "policy": "governor"},
                {"author": "tg:2001", "block": "Образование", "priority": "fast"},
            ]
        )
    )
    r = route(router, "яма", source="tg:-1001000000002", author="tg:2001")
    assert r.block == "Дороги и транспорт"
    assert r.priority == "normal"
    assert r.policy == "governor"
    assert r.policy_rule == "rule routing.rules[0]: author tg:2001"
    other = route(router, "яма", source="tg:-1001000000002", author="tg:2002")
    assert other.policy == "answer"


def test_rule_conditions_are_anded_and_keyword_uses_morphology() -> None:
    router = Router(
        make_config(rules=[{"source": "vk", "keyword": "школа", "block": "Образование"}])
    )
    r = route(router, "мусор у школы", source="vk:100003")
    assert r.block == "Образование"
    assert r.rule == "rule routing.rules[0]: source vk, keyword «школа»"
    assert route(router, "мусор у школы", source="tg:private").block == "ЖКХ"
    assert route(router, "мусор во дворе", source="vk:100003").block == "ЖКХ"


def test_platform_prefix_is_not_a_partial_id() -> None:
    router = Router(make_config(rules=[{"source": "vk:1000", "priority": "fast"}]))
    assert route(router, "привет", source="vk:100001").priority == "normal"


def test_rule_priority_normal_overrides_fast_keyword() -> None:
    router = Router(make_config(rules=[{"source": "vk:100003", "priority": "normal"}]))
    r = route(router, "авария на трассе", source="vk:100003")
    assert (r.priority, r.fast_rule, r.policy) == ("normal", None, "answer")


def test_rule_policy_with_fast_priority() -> None:
    router = Router(
        make_config(rules=[{"source": "vk:100002", "priority": "fast", "policy": "governor"}])
    )
    r = route(router, "вопрос", source="vk:100002")
    assert (r.priority, r.policy, r.block) == ("fast", "governor", "Прочее")


# -- watch keywords -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("В Шиханах опять отключили воду", "Шиханы"),
        ("Администрации города вопрос", "администрация"),
        ("кот потерялся, помогите", None),
        ("ямы и мусор", "яма"),
        ("", None),
    ],
)
def test_matches_any(text: str, expected: str | None) -> None:
    assert matches_any(text, PUBLIC_KEYWORDS) == expected


def test_matches_any_without_keywords() -> None:
    assert matches_any("что угодно", []) is None


def test_keyword_index_skips_keywords_without_words() -> None:
    index = KeywordIndex([("!!!", ("watch", 0)), ("яма", ("watch", 1))])
    assert [hit.keyword for hit in index.hits(index.analyse("!!! яма"))] == ["яма"]


# -- noise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "has_media", "noise"),
    [
        ("", False, True),
        ("   \n", False, True),
        ("", True, False),  # a photo without a caption
        ("+", False, True),
        ("++", False, True),
        ("+1", False, True),
        ("👍", False, True),
        ("👍🏻👍🏻👍🏻", False, True),
        ("👨‍👩‍👧", False, True),
        ("1️⃣", False, True),
        ("!!!", False, True),
        (")))", False, True),
        ("?", False, True),
        ("а", False, True),
        ("+", True, False),
        ("ок", False, False),
        ("спасибо", False, False),
        ("Спасибо!", False, False),
        ("яма 👍", False, False),
        ("15", False, False),
    ],
)
def test_is_noise(text: str, has_media: bool, noise: bool) -> None:
    assert is_noise(text, has_media) is noise


# -- CLI ------------------------------------------------------------------------------


def test_cli_default_is_the_example_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["прорыв трубы, затопило подвал"]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "block: ЖКХ\n"
        "priority: fast (keyword «прорыв»)\n"
        "policy: fast_track\n"
        "matched: keywords «труба», «подвал» (block ЖКХ, score 2.00)\n"
    )
    assert captured.err == (
        "config: the example config (config.example.toml) (blocks, routing, sla)\n")


def test_cli_source_and_words_joined(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["яма", "на", "дороге", "--source", "vk:100002"]) == 0
    assert capsys.readouterr().out == (
        "block: Дороги и транспорт\n"
        "priority: fast (rule routing.rules[0]: source vk:100002)\n"
        "policy: fast_track\n"
        "matched: keywords «яма», «дорога» (block Дороги и транспорт, score 1.80)\n"
    )


def test_cli_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = world_raw()
    raw["routing"]["rules"] = [{"author": "tg:2001", "block": "Образование", "policy": "portal"}]
    path = tmp_path / "mcu.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert main(["привет", "-c", str(path), "--author", "tg:2001"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"config: {path} (blocks, routing, sla)\n"
    assert captured.out == (
        "block: Образование\n"
        "priority: normal\n"
        "policy: portal (rule routing.rules[0]: author tg:2001)\n"
        "matched: rule routing.rules[0]: author tg:2001\n"
    )


def test_cli_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = world_raw()
    raw["routing"]["rules"] = [{"source": "vk:1", "block": "Нет такого"}]
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert main(["привет", "-c", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "routing.rules[0].block: unknown block 'Нет такого'" in captured.err


def test_cli_routes_with_the_files_routing_sections_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config still full of placeholders can be tried: only what routes is read."""
    raw = world_raw()
    raw["telegram"]["token"] = "REPLACE-WITH-THE-TOKEN"
    raw["digest"]["recipients"] = [999]  # not in [[staff]]: check-config's business
    raw["blocks"][0]["executors"] = [999]
    path = tmp_path / "draft.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert main(["нет отопления", "-c", str(path)]) == 0
    assert capsys.readouterr().out.startswith("block: ЖКХ\n")


def test_cli_needs_a_text_or_eval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "give either a message text or --eval FILE.jsonl" in capsys.readouterr().err


def test_format_route_normal() -> None:
    text = format_route(Route("Прочее", "normal", "answer", "default block (no keyword)", None))
    assert text == (
        "block: Прочее\npriority: normal\npolicy: answer\nmatched: default block (no keyword)\n"
    )


# -- speed ----------------------------------------------------------------------------


def test_routing_is_fast(router: Router) -> None:
    """Ingest aims at 2,000 events/s; routing must be a small part of that (< 0.2 ms)."""
    texts = [
        f"Жители дома {n} по улице Ленина третий день без горячей воды, управляющая "
        f"компания не отвечает, в подъезде темно, на дороге у остановки яма {n}."
        for n in range(200)
    ]
    for text in texts:  # warm the lemma cache, as a running process would be
        route(router, text)
    started = time.perf_counter()
    for _ in range(5):
        for text in texts:
            route(router, text)
    per_message = (time.perf_counter() - started) / (5 * len(texts))
    assert per_message < 0.001  # generous against slow CI; measured ~0.03 ms
