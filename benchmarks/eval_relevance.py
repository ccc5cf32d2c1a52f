"""Precision and recall of the school-pairing gate on the project's labelled cases; its cost per page.

    python benchmarks/eval_relevance.py [--cases tests/fixtures/relevance_labelled.toml] [--errors]
    python benchmarks/eval_relevance.py --cost DIR [--rounds 5]
    python benchmarks/eval_relevance.py --cost-synth N [--rounds 5]

`--cost` times the gate (`pipelines.relevance.classify`) on the extracted stories of the saved pages
under DIR against bare `trafilatura.extract` on the same pages, in alternating rounds, and reports CPU
time per page of the median round and their ratio, for the gate given the story as it comes and as in a
crawl, where the clean stage has just made the text's search form (kept for the texts in flight).
`--cost-synth N` does the same on N article pages of the generated web (`synthweb.py`). (Precision and recall on real pages, measured by
cross-validation, come from `train_relevance.py`.)

The cases are short texts written for the project (pairing stories in many phrasings, and hard negatives:
pairings of hospitals, villages, companies and Party branches, school news without a pairing), in
simplified and traditional characters and machine-translated English. Cases marked `split = "tune"` may
be looked at when the term weights change; `held_out` ones may not, so their figures say how the weights
carry over to texts nobody tuned them on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from ratios import ratio

from pipelines.relevance import classify

DEFAULT_CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "relevance_labelled.toml"


def load_cases(path: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8"))["case"]
    return cases


def precision_recall(results: list[tuple[bool, bool]]) -> tuple[float, float, int, int, int]:
    """(precision, recall, true positives, false positives, false negatives) of (label, predicted) pairs."""
    tp = sum(label and pred for label, pred in results)
    fp = sum(pred and not label for label, pred in results)
    fn = sum(label and not pred for label, pred in results)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def saved_pages(folder: Path) -> list[tuple[str, bytes]]:
    return [
        (f"http://bench.example/{p.relative_to(folder)}", p.read_bytes())
        for p in sorted(folder.rglob("*.html"))
    ]


def generated_pages(n: int) -> list[tuple[str, bytes]]:
    from synthweb import article_html

    return [(f"http://127.0.0.1/a/{i}.html", article_html(i)) for i in range(n)]


def cost(pages_in: list[tuple[str, bytes]], rounds: int, name: str = "relevance gate") -> int:
    import trafilatura
    from scrapy.exceptions import DropItem

    from pipelines.page import page_item, process_page
    from storage.normalize import search_form

    pages, stories = [], []
    for url, body in pages_in:
        item = page_item(body, url)
        pages.append((url, item.html))
        try:
            done = process_page(item)
            stories.append((done.title, done.text))
        except DropItem:
            pass
    if not pages:
        print("no pages", file=sys.stderr)
        return 2
    forget = getattr(search_form, "cache_clear", lambda: None)  # the search form is kept for texts in flight

    def bare() -> float:
        start = time.process_time()
        for url, html in pages:
            trafilatura.extract(html, url=url)
        return time.process_time() - start

    def gate() -> float:  # the story as it comes: its search form made here
        forget()
        start = time.process_time()
        for title, text in stories:
            classify(title, text)
        return time.process_time() - start

    def in_crawl() -> float:  # as in a crawl: the clean stage has just made the text's search form
        forget()
        spent = 0.0
        for title, text in stories:
            search_form(text)
            start = time.process_time()
            classify(title, text)
            spent += time.process_time() - start
        return spent

    runs = {"bare": bare, "gate": gate, "in_crawl": in_crawl}
    for run in runs.values():
        run()  # warm-up: the model, OpenCC, trafilatura's caches
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(rounds):
        for key in list(runs)[:: -1 if r % 2 else 1]:
            times[key].append(runs[key]())
    ms = {
        k: statistics.median(v) / (len(pages) if k == "bare" else len(stories)) * 1000
        for k, v in times.items()
    }
    print(f"{len(pages)} pages, {len(stories)} stories, {rounds} rounds (CPU ms per page, median round)")
    print("| what | CPU ms/page | ratio |\n| --- | --- | --- |")
    print(f"| bare `trafilatura.extract` | {ms['bare']:.2f} | 1.00 |")
    print(f"| relevance gate (`classify`) | {ms['gate']:.2f} | {ms['gate'] / ms['bare']:.3f} |")
    print(f"| the gate after the clean stage | {ms['in_crawl']:.2f} | {ms['in_crawl'] / ms['bare']:.3f} |")
    ratio(name, ms["gate"] / ms["bare"], "bare trafilatura.extract")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--errors", action="store_true", help="list every wrong decision with its terms")
    parser.add_argument("--cost", type=Path, metavar="DIR", help="time the gate against bare trafilatura")
    parser.add_argument("--cost-synth", type=int, metavar="N", help="the same on N generated article pages")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.cost:
        return cost(saved_pages(args.cost), args.rounds)
    if args.cost_synth:
        return cost(generated_pages(args.cost_synth), args.rounds, "relevance gate, generated pages")
    cases = load_cases(args.cases)
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    errors = []
    for case in cases:
        found = classify(case["title"], case["text"])
        pair = (bool(case["label"]), found.is_pairing)
        for group in ("all", f"split={case['split']}", f"script={case['script']}"):
            groups[group].append(pair)
        if pair[0] != pair[1]:
            errors.append((case, found))
    print(f"{len(cases)} cases, {sum(c['label'] for c in cases)} pairing stories")
    print("| cases | n | precision | recall | false positives | false negatives |")
    print("| --- | --- | --- | --- | --- | --- |")
    for group in sorted(groups, key=lambda g: (g != "all", g)):
        p, r, _, fp, fn = precision_recall(groups[group])
        print(f"| {group} | {len(groups[group])} | {p:.3f} | {r:.3f} | {fp} | {fn} |")
    if args.errors:
        for case, found in errors:
            print(f"{case['id']} ({case['kind']}, label {case['label']}): {found.explain()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
