"""`make bench-quick`: a small version of every benchmark, in minutes, and one table of their ratios.

    python benchmarks/quick.py [--data DIR]

Each benchmark runs as its own process with small sizes; its own output is shown as it comes, and the
`ratio:` lines it prints (benchmarks/ratios.py) are gathered into the summary at the end, with the commit
and the machine's load, ready to be pasted into benchmarks/README.md. The figures of the README are
measured at full size and differ from these; what these are for is seeing at once whether a change moved a
ratio. DIR (saved news pages, none ship here) adds the per-article, relevance-cost, near-copy-cost, search
and reading-room benchmarks.
Exits 1 when a benchmark failed (the others still run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ratios import parse  # noqa: E402

QUICK: list[tuple[str, list[str], bool]] = [
    ("full crawl", ["bench_crawl.py", "--pages", "300"], False),
    ("reprocess", ["bench_reprocess.py", "--pages", "300"], False),
    ("CLI start-up", ["bench_startup.py", "--rounds", "5"], False),
    ("daemon memory", ["bench_daemon.py", "--runs", "10"], False),
    ("per-article stages", ["bench_pipeline.py", "--data", "{data}", "--rounds", "2"], True),
    ("relevance cost", ["eval_relevance.py", "--cost", "{data}", "--rounds", "2"], True),
    ("extraction health", ["bench_health.py", "--data", "{data}", "--rounds", "2", "--portals", "5"], True),
    (
        "near-copy cost",
        ["eval_dedup.py", "--cost", "2000", "20000", "--queries", "100", "--data", "{data}"],
        True,
    ),
    ("search", ["bench_search.py", "--data", "{data}", "--sizes", "10000", "--queries", "10"], True),
    (
        "reading room",
        ["bench_web.py", "--data", "{data}", "--sizes", "10000", "--requests", "100", "--clients", "1", "10"],
        True,
    ),
]


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown commit"
    return head + (
        " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def run(argv: list[str]) -> tuple[int, list[tuple[str, float, str]], float]:
    """Run one benchmark, echoing its output; its exit status, its ratios and its wall time."""
    started = time.perf_counter()
    found = []
    with subprocess.Popen(
        [sys.executable, *argv], cwd=HERE.parent, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if (figure := parse(line)) is not None:
                found.append(figure)
    return proc.returncode, found, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="saved news pages (adds five benchmarks)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results: list[tuple[str, int, list[tuple[str, float, str]], float]] = []
    skipped = []
    for name, argv, needs_data in QUICK:
        if needs_data and args.data is None:
            skipped.append(name)
            continue
        argv = [str(HERE / argv[0]), *(a.format(data=args.data) for a in argv[1:])]
        print(
            f"\n== {name}: {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(argv))}", flush=True
        )
        results.append((name, *run(argv)))
    print(f"\nmake bench-quick, {datetime.now(UTC):%Y-%m-%d}, commit {commit()}, "
          f"load {load_before:.1f} before and {os.getloadavg()[0]:.1f} after (1-minute average, "
          f"{os.cpu_count()} cores)\n")  # fmt: skip
    print("| benchmark | figure | ratio | against | wall s |")
    print("| --- | --- | --- | --- | --- |")
    failed = 0
    for name, rc, found, wall in results:
        if rc != 0:
            failed += 1
            print(f"| {name} | failed (exit {rc}) | - | - | {wall:.0f} |")
        for figure, value, baseline in found:
            print(f"| {name} | {figure} | {value:.2f} | {baseline} | {wall:.0f} |")
        if rc == 0 and not found:
            print(f"| {name} | (printed no ratio) | - | - | {wall:.0f} |")
    if skipped:
        print(f"\nnot run without --data DIR (BENCH_DATA=DIR for make): {', '.join(skipped)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
