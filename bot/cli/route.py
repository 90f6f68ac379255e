"""``mcu-hub route``: how a message would be routed, why, and how well a config routes.

``mcu-hub route "текст"`` prints the block, priority and policy and the evidence that
chose them (``--explain``: every block's evidence). ``mcu-hub route --eval FILE.jsonl``
routes a file of JSON lines ``{"text": …, "block": …}`` and prints per-block precision
and recall, the confusion matrix and the worst misroutes; its last line is one JSON
object ``{"n": …, "accuracy": …, "per_block_recall": {…}}`` for scripts.

Only what routing reads is taken from the config — ``blocks`` (names, keywords,
default), ``routing`` and ``sla`` — so a config whose tokens are still placeholders can
be tried before it is finished (``check-config`` checks the whole file). Without ``-c``
the example config's routing is used (``config.example.toml``, the vocabulary a
municipality starts from), or the sandbox world's when the example is not installed;
the config used is named on stderr, so stdout stays the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bot.cli.route_learned as route_learned
from bot.config import Config, ConfigError, example_config, parse_config
from bot.domain import places, routing
from bot.domain.routing import FAST, Message, Route, Router

SANDBOX_URL = "http://127.0.0.1:8081"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config.example.toml"
ROUTING_SECTIONS = ("blocks", "routing", "sla")
WORST = 10


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``route`` subcommand to the top-level CLI's subparsers."""
    parser = subparsers.add_parser(
        "route",
        help="show the block, priority and SLA policy a message would get, and why",
        description=(
            "Route a message with a config's blocks and rules and show the evidence, or "
            "measure a config's routing on a file of messages with known blocks (--eval)."
        ),
    )
    parser.add_argument(
        "text", nargs="*", help="the message text (several words are joined with spaces)"
    )
    parser.add_argument(
        "-c", "--config",
        help="config file whose blocks, routing and sla sections are used "
             "(default: config.example.toml)",
    )
    parser.add_argument(
        "--source", default="",
        help="where the message came from, for routing rules: vk:100002, tg:private, portal",
    )
    parser.add_argument(
        "--author", default="", help="who wrote it, for routing rules: vk:500101, tg:2001"
    )
    parser.add_argument(
        "--explain", action="store_true",
        help="also show every block's score and the keywords found for it",
    )
    parser.add_argument(
        "--eval", metavar="FILE.jsonl", dest="eval_file",
        help='route every line {"text": ..., "block": ...} of FILE and report accuracy, '
             "per-block precision and recall, the confusion matrix and the worst misroutes",
    )
    parser.add_argument(
        "--worst", type=int, default=WORST, metavar="N",
        help=f"how many misroutes --eval lists, most confident first (default {WORST})",
    )
    route_learned.add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


# -- which config -------------------------------------------------------------------------


def _read_toml(path: Path | None) -> dict[str, Any]:
    """A config file's TOML; None reads the example config shipped in the package."""
    try:
        text = example_config() if path is None else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


def routing_config(path: str | None) -> tuple[Config, str]:
    """The config to route with and a line naming it.

    The file's ``blocks``, ``routing`` and ``sla`` sections on the sandbox world's
    skeleton; block executors and leads are dropped (they do not route), so problems
    reported are the routing sections' own, with their usual key paths.
    """
    from bot.sandbox.world import config_dict

    raw = config_dict(SANDBOX_URL)
    file = Path(path) if path is not None else None
    document = _read_toml(file)
    for section in ROUTING_SECTIONS:
        raw.pop(section, None)
        if section in document:
            raw[section] = document[section]
    blocks = raw.get("blocks")
    if isinstance(blocks, list):
        raw["blocks"] = [
            {k: v for k, v in block.items() if k not in ("executors", "lead")}
            if isinstance(block, dict) else block
            for block in blocks
        ]
    raw["telegram"]["topics"] = {}
    for member in raw["staff"]:
        member["blocks"] = []
    config = parse_config(raw, environ={})
    name = "the example config (config.example.toml)" if file is None else file.resolve()
    return config, f"config: {name} ({', '.join(ROUTING_SECTIONS)})"


# -- one message --------------------------------------------------------------------------


def format_route(route: Route) -> str:
    """The four lines ``route`` prints: block, priority, policy and why."""
    priority = route.priority
    if route.priority == FAST and route.fast_rule:
        priority += f" ({route.fast_rule})"
    policy = route.policy
    if route.policy_rule:
        policy += f" ({route.policy_rule})"
    return f"block: {route.block}\npriority: {priority}\npolicy: {policy}\nmatched: {route.rule}\n"


def _note(note: str) -> str:
    """A weighing note with its factor: «landmark ×0.3»."""
    factors = {"phrase": routing.PHRASE, "weak": routing.WEAK, "family": routing.FAMILY,
               "typo": routing.TYPO, "landmark": places.LANDMARK, "place": places.PLACE,
               "subject": places.SUBJECT}
    if note in factors:
        return f"{note} ×{factors[note]:g}"
    if note.startswith("in ") and note.endswith(" blocks"):
        return f"{note} ×1/{note.split()[1]}"
    return note


def format_evidence(route: Route) -> str:
    """Every block's score and the keywords behind it (``--explain``)."""
    lines = ["evidence:"]
    for score in route.scores:
        lines.append(f"  {score.block}: {score.score:.2f}")
        for e in score.evidence:
            notes = [_note(note) for note in e.notes]
            if e.count > 1:
                notes.append(f"found {e.count} times, +{routing.REPEAT:g} each")
            found = "" if e.found == e.term.lower() else f" as «{e.found}»"
            extra = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"    «{e.term}»{found} {e.weight:.2f}{extra}")
    return "\n".join(lines) + "\n"


# -- a file of messages -------------------------------------------------------------------


def _read_examples(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, block) pairs and a warning per line that is not one."""
    examples: list[tuple[str, str]] = []
    warnings: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if (not isinstance(item, dict) or not isinstance(item.get("text"), str)
                or not isinstance(item.get("block"), str)):
            warnings.append(f'{path}:{number}: skipped: not {{"text": "...", "block": "..."}}')
            continue
        examples.append((item["text"], item["block"]))
    return examples, warnings


def evaluate(router: Router, blocks: Sequence[str],
             examples: Sequence[tuple[str, str]], source: str = "", author: str = "",
             worst: int = WORST) -> tuple[str, dict[str, Any]]:
    """The report's lines and its summary (the last line's JSON)."""
    names = list(blocks) + sorted({b for _, b in examples} - set(blocks))
    confusion = {expected: dict.fromkeys(names, 0) for expected in names}
    misses: list[tuple[float, str, str, Route]] = []
    for text, expected in examples:
        route = router.route(Message(text=text, source=source, author=author))
        confusion[expected][route.block] += 1
        if route.block != expected:
            scores = {s.block: s.score for s in route.scores}
            margin = scores.get(route.block, 0.0) - scores.get(expected, 0.0)
            misses.append((margin, text, expected, route))
    n = len(examples)
    correct = sum(confusion[b][b] for b in names)
    accuracy = correct / n if n else 0.0
    lines = [f"messages: {n}, routed right: {correct}, accuracy: {accuracy:.1%}", ""]
    width = max(len(b) for b in names) + 2
    lines.append(f"{'block':<{width}}{'precision':>10}{'recall':>9}{'messages':>10}")
    recall: dict[str, float] = {}
    for block in names:
        expected_count = sum(confusion[block].values())
        routed_count = sum(confusion[other][block] for other in names)
        hit = confusion[block][block]
        precision = hit / routed_count if routed_count else 0.0
        if expected_count:
            recall[block] = round(hit / expected_count, 4)
        shown_recall = f"{hit / expected_count:.1%}" if expected_count else "—"
        shown_precision = f"{precision:.1%}" if routed_count else "—"
        lines.append(f"{block:<{width}}{shown_precision:>10}{shown_recall:>9}"
                     f"{expected_count:>10}")
    lines += ["", "confusion (rows: expected block, columns: routed to):"]
    short = [f"{i + 1}" for i in range(len(names))]
    lines.append(" " * width + "".join(f"{s:>6}" for s in short))
    for i, block in enumerate(names):
        row = "".join(f"{confusion[block][other]:>6}" for other in names)
        lines.append(f"{short[i] + ' ' + block:<{width}}{row}")
    misses.sort(key=lambda item: -item[0])
    if misses and worst > 0:
        lines += ["", f"worst misroutes ({min(worst, len(misses))} of {len(misses)}, "
                      "most confident first):"]
        for margin, text, expected, route in misses[:worst]:
            clipped = text if len(text) <= 100 else text[:99] + "…"
            lines.append(f"  expected {expected}, routed {route.block} (+{margin:.2f}): "
                         f"{route.rule}")
            lines.append(f"    «{clipped}»")
    summary = {"n": n, "accuracy": round(accuracy, 4), "per_block_recall": recall}
    return "\n".join(lines) + "\n", summary


# -- the command --------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Route ``args.text`` or evaluate ``args.eval_file``; 2 on bad input or config."""
    if route_learned.wanted(args):
        return _learned(args)
    if bool(args.text) == bool(args.eval_file):
        print('route: give either a message text or --eval FILE.jsonl, e.g. '
              'mcu-hub route "нет отопления" or mcu-hub route --eval messages.jsonl',
              file=sys.stderr)
        return 2
    try:
        config, used = routing_config(args.config)
        examples, warnings = (_read_examples(Path(args.eval_file)) if args.eval_file
                              else ([], []))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    print(used, file=sys.stderr)
    document = _read_toml(Path(args.config)) if args.config else {}
    config = route_learned.with_municipality(config, document)
    taught = route_learned.learned_keywords(
        config, route_learned.database_path(document, args.config))
    if taught:
        print(f"with {sum(map(len, taught.values()))} learned word(s) from the corrections "
              "in its database", file=sys.stderr)
    router = Router(config, taught)
    if args.eval_file:
        names = [b.name for b in config.blocks]
        for name in sorted({b for _, b in examples} - set(names)):
            warnings.append(f"block {name!r} is not in the config ({', '.join(names)}): "
                            "its messages cannot be routed right")
        for warning in warnings:
            print(warning, file=sys.stderr)
        report, summary = evaluate(router, names, examples,
                                   args.source, args.author, args.worst)
        sys.stdout.write(report)
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return 0
    text = " ".join(args.text)
    route = router.route(Message(text=text, source=args.source, author=args.author),
                         explain=args.explain)
    sys.stdout.write(format_route(route))
    if args.explain:
        sys.stdout.write(format_evidence(route))
    return 0


def _learned(args: argparse.Namespace) -> int:
    """--learned, --unlearn, --relearn, --eval-history (``route_learned``)."""
    try:
        config, used = routing_config(args.config)
        document = _read_toml(Path(args.config)) if args.config else {}
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    print(used, file=sys.stderr)
    config = route_learned.with_municipality(config, document)
    return route_learned.run(args, config, route_learned.database_path(document, args.config))


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (``python -m bot.cli.route``) until the main CLI wires it."""
    parser = argparse.ArgumentParser(prog="mcu-hub")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["route", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
