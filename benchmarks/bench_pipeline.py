"""Per-article cost of pairchive's stages against bare `trafilatura.extract` on the same pages, same run.

    python benchmarks/bench_pipeline.py --data DIR [--rounds 5]

DIR holds saved HTML pages (searched recursively for *.html). Each round runs both on every page, in
alternating order; CPU time per page is summed per round and the median round is reported. The figure to
read is the ratio (this machine is noisy; absolute milliseconds drift).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import trafilatura
from ratios import ratio
from scrapy.exceptions import DropItem
from w3lib.encoding import html_to_unicode

from crawler.vocabulary.items import PageItem
from pipelines.page import process_page


def load_pages(folder: Path) -> list[tuple[str, str]]:
    pages = []
    for path in sorted(folder.rglob("*.html")):
        _, text = html_to_unicode(None, path.read_bytes())
        pages.append((f"http://bench.example/{path.relative_to(folder)}", text))
    return pages


def bare(pages: list[tuple[str, str]]) -> float:
    start = time.process_time()
    for url, html in pages:
        trafilatura.extract(html, url=url)
    return time.process_time() - start


def ours(pages: list[tuple[str, str]]) -> tuple[float, int]:
    start = time.process_time()
    kept = 0
    for url, html in pages:
        item = PageItem(
            url=url, source="bench", html=html, http_status=200, charset="utf-8", fetched_at=datetime.now(UTC)
        )
        try:
            process_page(item)
            kept += 1
        except DropItem:
            pass
    return time.process_time() - start, kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of saved HTML pages")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = load_pages(args.data)
    if not pages:
        print(f"no *.html under {args.data}", file=sys.stderr)
        return 2
    ours(pages[:3])  # warm-up: imports, langdetect profiles, term model
    bare(pages[:3])
    base_times, our_times = [], []
    kept = 0
    for r in range(args.rounds):
        if r % 2:
            our_t, kept = ours(pages)
            base_t = bare(pages)
        else:
            base_t = bare(pages)
            our_t, kept = ours(pages)
        base_times.append(base_t)
        our_times.append(our_t)
    base_ms = statistics.median(base_times) / len(pages) * 1000
    our_ms = statistics.median(our_times) / len(pages) * 1000
    print(f"pages: {len(pages)}, rounds: {args.rounds}, pages with text after all stages: {kept}")
    print("| what | CPU ms/page (median round) | ratio to bare trafilatura.extract |")
    print("| --- | --- | --- |")
    print(f"| bare trafilatura.extract (defaults) | {base_ms:.2f} | 1.00 |")
    print(
        f"| pairchive per-article stages (extract+clean+language+relevance+identity) | {our_ms:.2f} "
        f"| {our_ms / base_ms:.2f} |"
    )
    ratio("per-article stages", our_ms / base_ms, "bare trafilatura.extract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
