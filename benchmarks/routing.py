"""Routing: how long ``Router.route`` takes for a ~200-character citizen's message.

Pure CPU, no sandbox. Figures, for the sandbox world's config and for the example
config's vocabulary: microseconds per message warm (the caches hold the words, as in a
running process) and cold (a new router: first sight of every word form), and messages
per second warm — on 2,000 generated ~190-character complaints, and on the 470 varied
messages of ``tests/routing_messages.jsonl`` (``file_*``: many more distinct word forms).
Ingest aims at 2,000 events/s; routing must stay a small part of that.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

from benchmarks.common import emit
from bot.config import Config, parse_config
from bot.domain import text as text_module
from bot.domain.routing import Message, Router
from bot.sandbox.world import config_dict

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 2_000
ROUNDS = 5

OPENINGS = [
    "Здравствуйте, пишут жители дома {n} по улице Ленина",
    "Добрый день! Мы с соседями с улицы Молодёжной {n}",
    "Обращаюсь к вам уже не первый раз, дом {n} корпус 2",
    "Сколько можно это терпеть, ул. Строителей {n}",
]
COMPLAINTS = [
    "третий день без горячей воды, управляющая компания трубку не берёт, в подъезде темно",
    "возле школы нет пешеходного перехода, дети перебегают дорогу, водители не тормозят",
    "мусорные баки не вывозят вторую неделю, контейнерная площадка завалена пакетами",
    "огромная яма на дороге у остановки, автобус объезжает по встречке, асфальт разбит",
    "в детском саду холодно, батареи еле тёплые, воспитатели говорят обращаться в администрацию",
    "во дворе не горят фонари, детская площадка сломана, качели висят на одной цепи",
    "маршрутка номер {n} не пришла утром, люди стояли на остановке сорок минут на морозе",
    "бродячие собаки у поликлиники кидаются на прохожих, страшно выйти с ребёнком",
    "с крыши висят сосульки над входом в подъезд, никто не чистит снег с козырька",
    "учительница в школе {n} кричит на детей, дистанционное обучение опять не работает",
]
ENDINGS = [
    "примите меры пожалуйста, сил уже нет терпеть это безобразие!!!",
    "когда это закончится? жду ответа от администрации города",
    "просим разобраться в ситуации и сообщить сроки исправления",
    "фото прилагаю, заранее спасибо всем кто откликнется",
]


def messages() -> list[str]:
    texts = []
    for n in range(MESSAGES):
        opening = OPENINGS[n % len(OPENINGS)].format(n=n % 211 + 1)
        complaint = COMPLAINTS[n % len(COMPLAINTS)].format(n=n % 53 + 1)
        ending = ENDINGS[(n // 7) % len(ENDINGS)]
        texts.append(f"{opening}, {complaint}, {ending}")
    return texts


def example_config() -> Config:
    """The example config's blocks and routing on top of the sandbox world."""
    raw = config_dict("http://127.0.0.1:8081")
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    raw["blocks"] = [
        {key: value for key, value in block.items() if key in ("name", "keywords", "default")}
        for block in example["blocks"]
    ]
    raw["routing"] = example.get("routing", {})
    raw["telegram"]["topics"] = {}
    for member in raw["staff"]:
        member["blocks"] = []
    return parse_config(raw, environ={})


def file_messages() -> list[str]:
    path = ROOT / "tests" / "routing_messages.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def measure(router: Router, texts: list[str]) -> dict[str, float]:
    text_module.lemmas.cache_clear()
    started = time.perf_counter()
    for text in texts:
        router.route(Message(text=text, source="vk:100001", author="vk:500101"))
    cold = (time.perf_counter() - started) / len(texts)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for text in texts:
            router.route(Message(text=text, source="vk:100001", author="vk:500101"))
        best = min(best, (time.perf_counter() - started) / len(texts))
    return {"warm_us": round(best * 1e6, 1), "cold_us": round(cold * 1e6, 1),
            "per_second": round(1 / best)}


def main() -> None:
    texts = messages()
    text_module.morph()  # the analyser's start-up is not routing
    figures: dict[str, object] = {
        "benchmark": "routing",
        "messages": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts)),
    }
    for name, config in (("world", parse_config(config_dict("http://127.0.0.1:8081"),
                                                environ={})),
                         ("example", example_config())):
        started = time.perf_counter()
        router = Router(config)
        build_ms = round((time.perf_counter() - started) * 1e3, 1)
        figures[name] = {"build_ms": build_ms, **measure(router, texts)}
        varied = measure(Router(config), file_messages())
        figures[name].update({f"file_{key}": value for key, value in varied.items()})
    emit(figures)


if __name__ == "__main__":
    main()
