"""Extraction health: what counting it costs per page, and how often the drift verdict cries wolf.

    python benchmarks/bench_health.py --data DIR [--rounds 5] [--portals 20] [--runs 100] [--seed 0]

DIR holds saved HTML pages (searched recursively for *.html), read once by the per-article stages.

Cost: each round times bare `trafilatura.extract` on every page and, on the same pages as the stages left
them, the crawl's health counting (crawler.process.health.PageHealth: one page's counts and the cleaning
rules' line patterns over its text, then the run's health); CPU time, the median round, as a ratio.

False alarms: `--portals` simulated portals, each crawled `--runs` times, unchanged. A portal is a pool of
the real pages as the stages read them; each run draws its article pages from that pool (a night's number
of new pages drawn around the portal's usual number, some nights too few to judge), with the night's share
of pairing stories, of duplicates and of undated pages drawn anew (news varies from night to night; a
template does not). Each run is judged against the portal's ok runs before it, as a crawl judges it. The
same portals then break, once each kind: most pages without text, texts cut to a third, dates gone,
sidebar lines left in the texts: how many of those runs the verdict catches.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trafilatura
from ratios import ratio
from scrapy.exceptions import DropItem

from crawler.process.health import PageHealth
from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason
from pipelines.page import page_item, process_page
from storage.health import judge


def read_pages(folder: Path) -> list[tuple[str, str, PageItem, Reason | None]]:
    """(url, html, the item as the stages left it, the reason it was dropped) per page."""
    out = []
    for path in sorted(folder.rglob("*.html")):
        url = f"http://bench.example/{path.relative_to(folder)}"
        item = page_item(path.read_bytes(), url)
        html = item.html
        dropped: Reason | None = None
        try:
            process_page(item)
        except DropItem:
            dropped = Reason.NO_TEXT
        out.append((url, html, item, dropped))
    return out


def bare(pages: list[tuple[str, str, PageItem, Reason | None]]) -> float:
    start = time.process_time()
    for url, html, _, _ in pages:
        trafilatura.extract(html, url=url)
    return time.process_time() - start


def counting(pages: list[tuple[str, str, PageItem, Reason | None]]) -> float:
    start = time.process_time()
    health = PageHealth()
    for _, _, item, dropped in pages:
        health.count(item, dropped)
    health.health()
    return time.process_time() - start


def cost(pages: list[tuple[str, str, PageItem, Reason | None]], rounds: int) -> None:
    bare(pages[:3])
    base_times, our_times = [], []
    for r in range(rounds):
        order = (bare, counting) if r % 2 else (counting, bare)
        times = {f: f(pages) for f in order}
        base_times.append(times[bare])
        our_times.append(times[counting])
    base_ms = statistics.median(base_times) / len(pages) * 1000
    our_ms = statistics.median(our_times) / len(pages) * 1000
    print(f"pages: {len(pages)}, rounds: {rounds}")
    print("| what | CPU ms/page (median round) | ratio to bare trafilatura.extract |")
    print("| --- | --- | --- |")
    print(f"| bare trafilatura.extract (defaults) | {base_ms:.3f} | 1.00 |")
    print(
        f"| health counting (PageHealth.count, then the run's health) | {our_ms:.4f} | {our_ms / base_ms:.4f} |"
    )
    ratio("health counting", our_ms / base_ms, "bare trafilatura.extract")


# One simulated page: what the health counting reads of it.
Page = tuple[PageItem, Reason | None]


def night(pool: list[Page], rng: random.Random, usual: int) -> list[Page]:
    """One unchanged night's article pages: how many, which, and the night's own news mix."""
    n = max(0, round(rng.lognormvariate(math.log(usual), 0.6)))
    pairing = rng.betavariate(2, 5)  # the share of pairing stories: some weeks are full of them
    duplicates = rng.uniform(0.0, 0.15)  # re-posts of stories already stored
    undated = rng.uniform(0.0, 0.1)  # pages whose byline the night's editors left out
    pages = []
    for _ in range(n):
        item, dropped = rng.choice(pool)
        item = copy.copy(item)
        if item.text:
            item.is_pairing = rng.random() < pairing
            if rng.random() < undated:
                item.published = None
            if rng.random() < duplicates:
                dropped = Reason.DUPLICATE
        pages.append((item, dropped))
    return pages


def health_of_night(pages: list[Page]) -> dict[str, Any]:
    counted = PageHealth()
    for item, dropped in pages:
        counted.count(item, dropped)
    return counted.health()


SIDEBAR = "\n相关阅读\n2024-05-01 某地召开教育工作会议\n分享到：微信 微博 QQ空间"


def break_no_text(item: PageItem, rng: random.Random) -> PageItem:
    if rng.random() < 0.6:
        item.text = ""
    return item


def break_cut(item: PageItem, rng: random.Random) -> PageItem:
    item.text = item.text[: len(item.text) // 3]
    return item


def break_dates(item: PageItem, rng: random.Random) -> PageItem:
    item.published = None
    return item


def break_sidebar(item: PageItem, rng: random.Random) -> PageItem:
    if item.text:
        item.text += SIDEBAR
    return item


BREAKS: dict[str, Callable[[PageItem, random.Random], PageItem]] = {
    "most pages without text": break_no_text,
    "texts cut to a third": break_cut,
    "dates gone": break_dates,
    "sidebar lines left in": break_sidebar,
}


def simulate(pool: list[Page], portals: int, runs: int, seed: int) -> None:
    verdicts: Counter[str] = Counter()
    alarms: list[str] = []
    caught: Counter[str] = Counter()
    judged_breaks: Counter[str] = Counter()
    for p in range(portals):
        rng = random.Random(seed * 1000 + p)
        usual = rng.choice([6, 10, 15, 25, 40])
        history: list[dict[str, Any]] = []  # ok runs, newest first
        for r in range(runs):
            health = health_of_night(night(pool, rng, usual))
            verdict = judge(health, history)
            verdicts[verdict.word] += 1
            if verdict.degraded:
                alarms.append(f"portal {p} run {r}: {verdict.line}")
            else:
                history.insert(0, health)
        for kind, broken in BREAKS.items():
            pages = night(pool, rng, usual)
            while len(pages) < 5:  # a night too small to judge says nothing of a break
                pages = night(pool, rng, usual)
            pages = [(broken(copy.copy(item), rng), dropped) for item, dropped in pages]
            verdict = judge(health_of_night(pages), history)
            judged_breaks[kind] += 1
            caught[kind] += verdict.degraded
    total = sum(verdicts.values())
    print(f"\n{portals} unchanged portals x {runs} runs = {total} runs judged")
    print("| verdict | runs |")
    print("| --- | --- |")
    for word in ("steady", "no_verdict", "degraded"):
        print(f"| {word} | {verdicts[word]} |")
    for line in alarms[:10]:
        print(f"  false alarm: {line}")
    print("\n| a broken template (one run per portal) | runs | marked degraded |")
    print("| --- | --- | --- |")
    for kind in BREAKS:
        print(f"| {kind} | {judged_breaks[kind]} | {caught[kind]} |")
    judged = verdicts["steady"] + verdicts["degraded"]
    ratio("drift false alarms", verdicts["degraded"] / max(judged, 1), "runs judged of unchanged portals")
    ratio("drift caught", sum(caught.values()) / max(sum(judged_breaks.values()), 1), "broken-template runs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of saved HTML pages")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--portals", type=int, default=20)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pages = read_pages(args.data)
    if not pages:
        print(f"no *.html under {args.data}", file=sys.stderr)
        return 2
    cost(pages, args.rounds)
    simulate([(item, dropped) for _, _, item, dropped in pages], args.portals, args.runs, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
