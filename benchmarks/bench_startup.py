"""How long the `pairchive` command takes to start: `--help`, and a search of the demo archive.

    python benchmarks/bench_startup.py [--rounds 15] [--tree LABEL=DIR ...] [--query 结对]

Each command runs as a fresh interpreter, `python -m crawler ARGS` (what the `pairchive` script runs), with
PYTHONPATH set to a source tree (default: this one), stdout and stderr discarded. The baseline is
`python -c pass` under the same interpreter and PYTHONPATH: the start-up every Python command pays.

The demo archive is built first with `pairchive demo` into a temporary directory, by each tree for itself
(a tree reads only an archive at its own schema revision: readers never migrate). With
several trees (say the code before a change, from `git archive`, and after it), every round runs every
command of every tree, the trees and the commands taking turns in an order that changes from round to
round, so that a drift of the shared machine touches them all alike. One warm-up round is not counted.

Printed per tree and command: median and minimum wall time in ms, and each as a ratio to `python -c pass`
(the median to its median, the minimum to its minimum).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ratios import ratio

HERE = Path(__file__).resolve().parent.parent


def run(tree: Path, args: list[str], cwd: Path) -> float:
    """Wall time in seconds of one fresh interpreter running `args` with `tree` first on its path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PAIRCHIVE_DB", None)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed: {result.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def build_demo(tree: Path, folder: Path) -> Path:
    """The demo archive, made by `pairchive demo` of `tree`; returns its SQLite file."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--dir", str(folder)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return folder / "demo.db"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="A source tree to measure (repeatable); default: this one, as `this`.",
    )
    parser.add_argument("--query", default="结对", help="What `pairchive search` looks for.")
    opts = parser.parse_args()
    trees: dict[str, Path] = {}
    for spec in opts.tree or [f"this={HERE}"]:
        label, _, folder = spec.partition("=")
        trees[label] = Path(folder).resolve()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        dbs = {}
        for label, tree in trees.items():
            (work / label).mkdir()
            dbs[label] = build_demo(tree, work / label)
        search = f"pairchive search {opts.query}"
        commands = {
            "python -c pass": ["-c", "pass"],
            "pairchive --help": ["-m", "crawler", "--help"],
            search: ["-m", "crawler", "search", opts.query, "--db"],
        }
        jobs = [(label, name) for label in trees for name in commands]
        times: dict[tuple[str, str], list[float]] = {job: [] for job in jobs}
        for round_no in range(opts.rounds + 1):
            shift = round_no % len(jobs)
            order = jobs[shift:] + jobs[:shift]
            if round_no % 2:
                order.reverse()
            for label, name in order:
                args = [*commands[name], str(dbs[label])] if name == search else commands[name]
                elapsed = run(trees[label], args, work)
                if round_no:  # the first round warms the page cache and the bytecode caches
                    times[(label, name)].append(elapsed)

    print(f"{opts.rounds} rounds, {sys.executable} (Python {sys.version.split()[0]})")
    print(f"{'tree':<10} {'command':<28} {'median ms':>10} {'min ms':>8} {'median x':>9} {'min x':>7}")
    for label in trees:
        base = times[(label, "python -c pass")]
        base_median, base_min = statistics.median(base), min(base)
        for name in commands:
            series = times[(label, name)]
            median, least = statistics.median(series), min(series)
            print(
                f"{label:<10} {name:<28} {median * 1000:>10.0f} {least * 1000:>8.0f} "
                f"{median / base_median:>9.2f} {least / base_min:>7.2f}"
            )
    for label in trees:
        base_median = statistics.median(times[(label, "python -c pass")])
        for name in list(commands)[1:]:
            figure = name if len(trees) == 1 else f"{name} [{label}]"
            ratio(figure, statistics.median(times[(label, name)]) / base_median, "python -c pass (median)")


if __name__ == "__main__":
    main()
