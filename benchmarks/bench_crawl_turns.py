"""The full crawl of `bench_crawl.py`, run by several source trees taking turns on one generated web.

    git archive c747d40 | tar -x -C /tmp/old-c747d40
    python benchmarks/bench_crawl_turns.py --pages 1000 /tmp/old-c747d40 . . /tmp/old-c747d40

Each tree (a folder holding `crawler/`, `pipelines/`...) crawls in turn, in the order given, with
PYTHONPATH pointing at it; the web, the settings and this harness are the same for all. Bare
`trafilatura.extract` is measured at the first, middle and last turn, so each crawl has a baseline measured
near it. One JSON line per turn on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_crawl import bare_trafilatura, generation_cost, pairchive_crawl
from synthweb import SyntheticWeb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("trees", nargs="+", type=Path, help="source trees, in the order of the turns")
    args = parser.parse_args()
    baseline_turns = {0, len(args.trees) // 2, len(args.trees) - 1}
    with SyntheticWeb(args.pages) as web:
        for turn, tree in enumerate(args.trees):
            root = tree.resolve()
            os.environ["PYTHONPATH"] = str(root)
            os.chdir(root)  # scrapy.cfg is read from the working folder
            with tempfile.TemporaryDirectory() as tmp:
                result, counts = pairchive_crawl(web, Path(tmp))
            line = {
                "turn": turn,
                "tree": str(tree),
                "cpu_ms_per_page": round(result["cpu"] / counts["fetched"] * 1000, 2),
                "wall_s": round(result["wall"], 1),
                "counts": counts,
            }
            if turn in baseline_turns:
                extract = bare_trafilatura(args.pages) - generation_cost(args.pages)
                line["bare_extract_ms_per_page"] = round(extract / args.pages * 1000, 2)
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
