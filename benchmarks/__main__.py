"""``python -m benchmarks``: every benchmark in turn, each printing its one JSON line.

Each runs in a process of its own (memory figures are per process). Progress goes to
stderr; stdout holds only the JSON lines. ``python -m benchmarks ingest latency`` runs
some. The whole set takes about five minutes on a 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["ingest", "delivery", "edits", "latency", "scale", "deadline_scan", "digest",
         "vk_publics", "routing", "max_ok", "storms", "region"]


def run(name: str) -> dict[str, object]:
    started = time.monotonic()
    print(f"benchmark {name}...", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=HERE.parent,
                          capture_output=True, text=True, timeout=900)
    took = round(time.monotonic() - started, 1)
    print(f"benchmark {name}: {took}s", file=sys.stderr, flush=True)
    for line in reversed(done.stdout.strip().splitlines()):
        try:
            figures = json.loads(line)
        except ValueError:
            continue
        if isinstance(figures, dict):
            return {"benchmark": name, **figures} if "benchmark" not in figures else figures
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"benchmark": name, "error": f"exit {done.returncode}", "detail": tail}


def main(names: list[str]) -> int:
    chosen = names or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    failed = 0
    for name in chosen:
        figures = run(name)
        failed += "error" in figures
        print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
