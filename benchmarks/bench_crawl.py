"""A full `pairchive crawl` of a generated loopback web, against bare Scrapy and bare trafilatura, same run.

    python benchmarks/bench_crawl.py --pages 2000            # speed: pages/s and CPU ms per page
    python benchmarks/bench_crawl.py --memory 2000 10000     # peak memory of the crawl process per size

Each crawl runs as its own subprocess (as in production); CPU time and peak resident memory are read from
the kernel's accounting of that subprocess and its children (resource.getrusage). The web server runs in
this process and is not counted. Bare trafilatura runs `trafilatura.extract` over the same generated HTML
in this process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).parent))
from ratios import ratio
from synthweb import SyntheticWeb, article_html

LOOPBACK = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "WARNING",
}

BARE_SPIDER = r"""
import re, sys
import scrapy
from scrapy.crawler import CrawlerProcess

class Bare(scrapy.Spider):
    name = "bare"
    def __init__(self, start, **kw):
        super().__init__(**kw)
        self.start_urls = [start]
    def parse(self, response):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if re.search(r"/a/\d+\.html$", url):
                yield scrapy.Request(url, callback=self.article)
            elif re.search(r"/list/\d+\.html$", url):
                yield scrapy.Request(url, callback=self.parse)
    def article(self, response):
        response.text  # decode, as any consumer would; nothing else

settings = {"LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "REMOTE_CONTROL_ENABLED": False}
process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler, start=sys.argv[1])
process.start()
with open(sys.argv[2], "w") as f:
    f.write(str(crawler.stats.get_value("response_received_count", 0) - 1))  # pages, not robots.txt

"""


def measured(cmd: list[str]) -> dict[str, float]:
    """Run `cmd` in a wrapper process that reports the CPU and peak RSS of everything under it."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': rc, 'wall': wall, 'cpu': r.ru_utime + r.ru_stime, 'maxrss_mb': r.ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[:4]} exited {result['rc']}: {out.stderr[-2000:]}")
    return result


def pairchive_crawl(web: SyntheticWeb, workdir: Path) -> tuple[dict[str, float], dict[str, int]]:
    sources = workdir / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "synth"\nstart_urls = ["{web.base_url}/list/1.html"]\n'
        f"article_pattern = '/a/\\d+\\.html$'\nlisting_pattern = '/list/\\d+\\.html$'\n",
        encoding="utf-8",
    )
    db = workdir / "bench.db"
    db.unlink(missing_ok=True)
    settings = [arg for key, value in LOOPBACK.items() for arg in ("-s", f"{key}={value}")]
    result = measured(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--sources",
            str(sources),
            "--db",
            str(db),
            "--quiet",
            *settings,
        ]
    )
    import sqlite3

    conn = sqlite3.connect(db)
    (counts,) = conn.execute("select counts from crawl_runs").fetchone()
    conn.close()
    return result, json.loads(counts)


def bare_trafilatura(pages: int) -> float:
    start = time.process_time()
    for i in range(pages):
        trafilatura.extract(article_html(i).decode("utf-8"))
    return time.process_time() - start


def generation_cost(pages: int) -> float:
    start = time.process_time()
    for i in range(pages):
        article_html(i).decode("utf-8")
    return time.process_time() - start


def speed(pages: int) -> None:
    with SyntheticWeb(pages) as web, tempfile.TemporaryDirectory() as tmp:
        ours, counts = pairchive_crawl(web, Path(tmp))
        count_file = Path(tmp) / "bare-count"
        script = Path(tmp) / "bare_spider.py"  # a file: Scrapy reads its callbacks' source
        script.write_text(BARE_SPIDER, encoding="utf-8")
        bare = measured([sys.executable, str(script), f"{web.base_url}/list/1.html", str(count_file)])
        bare_fetched = int(count_file.read_text())
    extract_cpu = bare_trafilatura(pages) - generation_cost(pages)
    fetched = counts["fetched"]
    print(f"pages: {pages} articles (+{(pages + 19) // 20} listing pages); pairchive counts: {counts}")
    print("| what | wall s | pages/s | CPU ms/page | ratio to bare trafilatura.extract |")
    print("| --- | --- | --- | --- | --- |")
    if bare_fetched != fetched:
        print(f"warning: bare Scrapy fetched {bare_fetched} pages, pairchive {fetched}")
    per_page = {
        "full `pairchive crawl` (all stages, SQLite)": (ours["wall"], ours["cpu"] / fetched * 1000),
        "bare Scrapy (fetch + decode, no pipelines)": (bare["wall"], bare["cpu"] / bare_fetched * 1000),
    }
    extract_ms = extract_cpu / pages * 1000
    counted = {name: n for name, n in zip(per_page, (fetched, bare_fetched), strict=True)}
    for name, (wall, ms) in per_page.items():
        print(f"| {name} | {wall:.1f} | {counted[name] / wall:.0f} | {ms:.2f} | {ms / extract_ms:.2f} |")
    print(f"| bare `trafilatura.extract` on the same HTML, one process | - | - | {extract_ms:.2f} | 1.00 |")
    crawl_ms = per_page["full `pairchive crawl` (all stages, SQLite)"][1]
    print(
        f"\nfull crawl minus bare Scrapy, per page: {crawl_ms - per_page['bare Scrapy (fetch + decode, no pipelines)'][1]:.2f} "
        f"CPU ms = {(crawl_ms - per_page['bare Scrapy (fetch + decode, no pipelines)'][1]) / extract_ms:.2f}x extraction"
    )
    ratio("full crawl", crawl_ms / extract_ms, "bare trafilatura.extract")


def memory(sizes: list[int]) -> None:
    print("| articles | fetched | peak RSS of the crawl (MB) | wall s |")
    print("| --- | --- | --- | --- |")
    for pages in sizes:
        with SyntheticWeb(pages) as web, tempfile.TemporaryDirectory() as tmp:
            ours, counts = pairchive_crawl(web, Path(tmp))
        print(f"| {pages} | {counts['fetched']} | {ours['maxrss_mb']:.0f} | {ours['wall']:.0f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--memory", type=int, nargs="+", metavar="N")
    args = parser.parse_args()
    if args.memory:
        memory(args.memory)
    else:
        speed(args.pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
