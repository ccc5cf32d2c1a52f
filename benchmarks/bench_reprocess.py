"""`pairchive reprocess` speed: pages read back from WARC and judged again, against bare reading, same run.

    python benchmarks/bench_reprocess.py --pages 2000

Builds an archive with a real `pairchive crawl` of the generated loopback web (synthweb.py; one story in
ten a pairing, so most captures are rejections), then measures, on its captures:

- bare reading: every capture's response record read back from its WARC file (storage.warc.read_exchange);
- bare `trafilatura.extract` on each capture's decoded page, after reading it;
- `pairchive reprocess` (dry run) and `pairchive reprocess --apply` as subprocesses (CPU from the kernel's
  accounting), and `--stage relevance` (stored texts judged again, no WARC read for them).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).parent))
from bench_crawl import measured, pairchive_crawl
from ratios import ratio
from synthweb import SyntheticWeb

from storage.warc import read_exchange


def captures(db: Path) -> list[tuple[str, int, int]]:
    conn = sqlite3.connect(db)
    rows = conn.execute("select warc_file, offset, length from captures order by id").fetchall()
    conn.close()
    return [(str(f), int(o), int(n)) for f, o, n in rows]


def bare(root: Path, rows: list[tuple[str, int, int]]) -> tuple[float, float]:
    """CPU seconds to read every record back, and to read and extract each."""
    start = time.process_time()
    pages = [read_exchange(root, *row).content for row in rows]
    read = time.process_time() - start
    start = time.process_time()
    for page in pages:
        trafilatura.extract(page.decode("utf-8"))
    return read, read + time.process_time() - start


def reprocess(db: Path, *args: str) -> tuple[dict[str, float], dict[str, int]]:
    cmd = [sys.executable, "-m", "crawler", "reprocess", "--db", str(db), "--no-progress", *args]
    result = measured([*cmd])
    report = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=False).stdout
    return result, json.loads(report)["counts"] if report else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    with SyntheticWeb(args.pages) as web, tempfile.TemporaryDirectory() as tmp:
        crawl, counts = pairchive_crawl(web, Path(tmp))
        db = Path(tmp) / "bench.db"
        rows = captures(db)
        read_cpu, extract_cpu = bare(Path(tmp) / "warc", rows)
        n = len(rows)
        dry, dry_counts = reprocess(db)
        relevance, _ = reprocess(db, "--stage", "relevance")
        applied = measured([sys.executable, "-m", "crawler", "reprocess", "--db", str(db), "--apply"])
    print(f"archive: {n} captures from a crawl of {args.pages} articles ({counts}); reprocess: {dry_counts}")
    print("| what | wall s | pages/s | CPU ms/page | ratio to read + bare trafilatura.extract |")
    print("| --- | --- | --- | --- | --- |")
    base = extract_cpu / n * 1000
    print(f"| bare read of every WARC record | - | {n / read_cpu:.0f} (CPU) | {read_cpu / n * 1000:.2f} | "
          f"{read_cpu / extract_cpu:.2f} |")  # fmt: skip
    print(f"| read + bare `trafilatura.extract` | - | {n / extract_cpu:.0f} (CPU) | {base:.2f} | 1.00 |")
    ratios = []
    for name, run in (
        ("`pairchive reprocess` (dry run, all stages)", dry),
        ("`pairchive reprocess --apply`", applied),
        ("`pairchive reprocess --stage relevance` (dry run)", relevance),
    ):
        ms = run["cpu"] / n * 1000
        print(f"| {name} | {run['wall']:.1f} | {n / run['wall']:.0f} | {ms:.2f} | {ms / base:.2f} |")
        ratios.append((name, ms / base))
    print(f"\n(the crawl itself: {crawl['wall']:.1f} s wall)")
    for name, value in ratios:
        ratio(name.replace("`", ""), value, "read + bare trafilatura.extract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
