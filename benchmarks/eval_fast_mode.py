"""trafilatura's default cascade against `fast=True` on the tree pairchive gives it, page by page.

    python benchmarks/eval_fast_mode.py --data DIR --format FMT [--floor 3000]

For each page of a data set (the loaders of `eval_extraction.py`): the page parsed, its layout tables
unwrapped and its link lists pruned as the extract stage does, then `bare_extraction` with its defaults and
with `fast=True`. Prints the CPU time of each, how many pages' texts differ, and how many of those a
"fast text is enough" test would have let through (a fast text of at least `--floor` characters, with
paragraph text, no sanitized elements and no more tables than paragraphs: the signs trafilatura itself
reads before it calls its fallbacks).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import trafilatura
from trafilatura.external import SANITIZED_XPATH
from trafilatura.utils import load_html

sys.path.insert(0, str(Path(__file__).parent))
from eval_extraction import LOADERS

from crawler.vocabulary.charset import decode_page
from pipelines.extract import XML_UNSAFE_REF_RE, prune_link_lists, unwrap_layout_tables

OPTIONS = {"with_metadata": False, "include_comments": False, "include_tables": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--format", required=True, choices=sorted(LOADERS))
    parser.add_argument("--floor", type=int, default=3000, help="characters a fast text needs to be enough")
    args = parser.parse_args()
    full_cpu = fast_cpu = 0.0
    pages = differ = passed = passed_and_differ = 0
    for page in LOADERS[args.format](args.data):
        tree = load_html(XML_UNSAFE_REF_RE.sub("", decode_page(page.body).text))
        if tree is None:
            continue
        unwrap_layout_tables(tree)
        prune_link_lists(tree)
        start = time.process_time()
        full = trafilatura.bare_extraction(tree, url=page.url, **OPTIONS)
        middle = time.process_time()
        fast = trafilatura.bare_extraction(tree, url=page.url, fast=True, **OPTIONS)
        full_cpu, fast_cpu = full_cpu + middle - start, fast_cpu + time.process_time() - middle
        full_text = full.text.strip() if full is not None and full.text else ""
        fast_text = fast.text.strip() if fast is not None and fast.text else ""
        body = fast.body if fast is not None else None
        enough = (
            body is not None
            and len(fast_text) >= args.floor
            and bool(body.xpath(".//p//text()"))
            and not body.xpath(SANITIZED_XPATH)
            and len(body.findall(".//table")) <= len(body.findall(".//p"))
        )
        pages += 1
        differ += full_text != fast_text
        passed += enough
        passed_and_differ += enough and full_text != fast_text
    print(
        f"{args.format}: {pages} pages; CPU s default {full_cpu:.2f}, fast {fast_cpu:.2f}; "
        f"{differ} differ; {passed} pass the {args.floor}-character test, {passed_and_differ} of them differ"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
