"""The reading room's page latency: search and story pages served by `pairchive serve`, under 1, 10 and 50
concurrent clients, against the bare storage calls behind them measured in the same run.

    python benchmarks/bench_web.py --data DIR --sizes 100000 1000000 [--sqlite-dir DIR2] [--pg URL --pg-sizes N]

For each size, an archive is filled with bench_search.py's batched fill (article, story, search index;
synthetic stories drawn from the saved Chinese news pages in DIR), or reused: with --sqlite-dir the SQLite
file DIR2/sqlite_N.db is kept and measured again by later runs; with --pg the PostgreSQL schema
bench_web_N is filled once and kept, unless --drop. Then `pairchive serve --db URL --port 0` is started as
a subprocess and, for each number of clients, in the same run:

- the bare call: `storage.search.search` with the page's own arguments (SearchParams of the same query
  string, 21 hits for a page of 20), or the story page's storage reads, each in a session of its own, from
  that many threads of one process (the server is one process too);
- the page: the same requests as HTTP GETs over loopback from that many client threads, each with a
  keep-alive connection (http.client), after a warm-up that is not counted.

Search pages are a fixed mix of queries (two-character word, OR, phrase, traditional script); story pages
are seeded random ids. A search filtered by source and day is its own case, a few requests (--filtered)
from one client only. Latency is per request, p50 and p95 in ms; the ratio is the page's p95 over the bare
call's p95 at the same number of clients. A second table gives each query's p50.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus, urlencode, urlsplit

import sqlalchemy as sa
from starlette.datastructures import QueryParams

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import bulk_fill
from eval_dedup import Generator, load_texts
from ratios import ratio

from crawler.web.params import SearchParams
from storage.db import close_all, open_for_reading, open_for_writing
from storage.models import Article
from storage.pairings import facts_of
from storage.queries import article_record, fetch_times, get_article, sightings_of, story_merges
from storage.reading import revisions_of
from storage.search import search

ROOT = Path(__file__).resolve().parent.parent
# The search pages asked for, in turn: a two-character word, OR, a phrase, traditional script. bench_search's
# stories are drawn from general news, where 结对 and 结对帮扶 never occur: these are words of the same kinds
# that do, each with hundreds of hits (a page of 20 and a count).
QUERIES = [
    {"q": "学校"},
    {"q": "帮扶 OR 支援"},
    {"q": '"乡村振兴"'},
    {"q": "學生"},  # matched through the simplified index
]
# A search with a source and a day: its own case, a few requests from one client, because its count takes
# seconds on SQLite at 1M (see the README).
FILTERED = {"q": "学校", "source": "bench", "since": "2023-01-01"}
SERVING = re.compile(r"serving the archive at (http://\S+?)/? ")


@dataclass(frozen=True)
class Case:
    kind: str  # "search", "story" or "filtered search"
    paths: list[str]  # the requests, in order
    bare: Callable[[str], object]  # the storage calls behind one request
    clients: int | None = None  # measured with this many clients only


def search_case(url: str, requests: int, queries: list[dict[str, str]] = QUERIES) -> Case:
    sessions = open_for_reading(url).sessions

    def bare(path: str) -> object:
        params = SearchParams.of(QueryParams(urlsplit(path).query))
        with sessions() as s:
            return search(
                s, params.q, **params.filters(), sort=params.sort, limit=params.per_page + 1, offset=0
            )

    return Case("search", [f"/search?{urlencode(queries[i % len(queries)])}" for i in range(requests)], bare)


def story_case(url: str, requests: int, seed: int = 16) -> Case:
    sessions = open_for_reading(url).sessions
    with sessions() as s:
        top = s.execute(sa.select(sa.func.max(Article.id))).scalar_one()
    rng = random.Random(seed)
    ids = [rng.randint(1, top) for _ in range(requests)]

    def bare(path: str) -> object:
        # what ReadingRoom._story reads: the article, its story's sightings, fetch time, pairing facts,
        # merges, revisions
        article_id = int(path.rsplit("/", 1)[1])
        with sessions() as s:
            article = get_article(s, article_id)
            assert article is not None, article_id
            record = article_record(
                article,
                sightings_of(s, [article.story_id])[article.story_id],
                fetch_times(s, [article.id]).get(article.id),
                facts_of(s, [article.id])[article.id],
            )
            return record, list(story_merges(s, article.story_id)), revisions_of(s, article.id)

    return Case("story", [f"/stories/{i}" for i in ids], bare)


def pooled(
    clients: int, paths: list[str], one: Callable[[str, threading.local], None]
) -> tuple[list[float], float]:
    """Each path done once by a pool of `clients` threads: the ms each took, and the wall seconds."""
    local = threading.local()

    def timed(path: str) -> float:
        started = time.perf_counter()
        one(path, local)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        ms = list(pool.map(timed, paths))
    return ms, time.perf_counter() - started


def http_get(base: str) -> Callable[[str, threading.local], None]:
    host, port = urlsplit(base).hostname, urlsplit(base).port

    def one(path: str, local: threading.local) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, port, timeout=120)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or not body:
            raise RuntimeError(f"{path}: HTTP {response.status}")

    return one


def start_server(url: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--db", url, "--port", "0"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if found := SERVING.search(line):
            # keep draining stderr, so a chatty server never blocks on a full pipe
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, found.group(1)
        print(f"  serve: {line.rstrip()}", file=sys.stderr)
    raise RuntimeError(f"pairchive serve exited ({proc.wait()}) before saying where it listens")


def quantiles(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), statistics.quantiles(ms, n=20)[18]


def measure(
    url: str, label: str, size: int, clients: list[int], requests: int, warmup: int, filtered: int
) -> None:
    cases = [search_case(url, requests), story_case(url, requests)]
    if filtered:
        cases.append(
            dataclasses.replace(search_case(url, filtered, [FILTERED]), kind="filtered search", clients=1)
        )
    proc, base = start_server(url)
    get = http_get(base)
    by_query: list[str] = []
    try:
        for case in cases[:2]:
            pooled(4, case.paths[:warmup], get)  # the server's first pages: templates, caches
            for path in case.paths[:warmup]:
                case.bare(path)
        for n in clients:
            for case in cases:
                if case.clients not in (None, n):
                    continue
                bare, _ = pooled(n, case.paths, lambda path, _local, case=case: case.bare(path))
                page, wall = pooled(n, case.paths, get)
                (b50, b95), (p50, p95) = quantiles(bare), quantiles(page)
                print(
                    f"| {label} | {size:,} | {case.kind} | {n} | {b50:.1f} | {b95:.1f} | {p50:.1f} "
                    f"| {p95:.1f} | {p95 / b95:.2f} | {len(page) / wall:.1f} |",
                    flush=True,
                )
                if case.kind != "story":
                    by_query += [
                        f"| {label} | {size:,} | {n} | {unquote_plus(query)} | {_p50(bare, case.paths, query)} "
                        f"| {_p50(page, case.paths, query)} |"
                        for query in dict.fromkeys(case.paths)
                    ]
                what = "storage reads" if case.kind == "story" else "storage.search"
                who = f"{n} client" + ("s" if n > 1 else "")
                ratio(f"{label} {size:,} {case.kind} page, {who}: p95", p95 / b95, f"bare {what} p95")
        print("\n| database | stories | clients | search | bare p50 ms | page p50 ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        print("\n".join(by_query) + "\n", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        close_all()


def _p50(ms: list[float], paths: list[str], path: str) -> str:
    return f"{statistics.median(t for t, p in zip(ms, paths, strict=True) if p == path):.1f}"


def count_articles(url: str) -> int | None:
    """How many articles the archive at `url` holds; None when it has no tables yet."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(sa.text("SELECT count(*) FROM articles")).scalar_one())
    except sa.exc.DBAPIError:
        return None
    finally:
        engine.dispose()


def ready(url: str, size: int, gen: Callable[[], Generator]) -> bool:
    """Fill the archive at `url` with `size` stories unless a former run did; whether this one did."""
    held = count_articles(url)
    if held == size:
        print(f"reusing {url.split('?')[0]}: {size:,} stories", file=sys.stderr, flush=True)
        open_for_writing(url)  # a schema filled by an older pairchive: its migrations, as a writer would
        close_all()
        return False
    if held:
        raise SystemExit(f"{url.split('?')[0]} holds {held:,} stories, not {size:,}: remove it first")
    seconds = bulk_fill(url, gen(), size)
    close_all()
    print(f"filled {size:,} stories in {seconds:.0f} s", file=sys.stderr, flush=True)
    return True


def pg_schema(admin: sa.Engine, pg: str, schema: str, size: int, gen: Callable[[], Generator]) -> str:
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    url = sa.engine.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
    pg_url = url.render_as_string(hide_password=False)
    if ready(pg_url, size, gen):
        # what autovacuum does on a live archive, done at once after a bulk load
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for name in ("articles", "article_search", "sources", "stories"):
                c.execute(sa.text(f'VACUUM ANALYZE "{schema}".{name}'))
    return pg_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="saved Chinese news pages for the fill")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="requests per kind before timing")
    parser.add_argument(
        "--filtered", type=int, default=5, help="requests of the filtered search, from one client (0: none)"
    )
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        help="keep the SQLite archives here (sqlite_N.db) and reuse them (default: a temporary folder)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--pg", metavar="URL", help="also measure PostgreSQL, in schemas bench_web_N")
    parser.add_argument(
        "--pg-sizes", type=int, nargs="+", help="the sizes measured on PostgreSQL (default: --sizes)"
    )
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL schemas at the end")
    args = parser.parse_args()
    texts: list[Generator] = []

    def gen() -> Generator:  # the saved pages are read only when something is to be filled
        if not texts:
            texts.append(Generator(load_texts(args.data)))
        return texts[0]

    print(
        "| database | stories | page | clients | bare p50 ms | bare p95 ms | page p50 ms | page p95 ms "
        "| page p95 / bare p95 | pages/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.sqlite_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        pg_sizes = args.pg_sizes or args.sizes
        for size in sorted({*args.sizes, *pg_sizes}):
            if not args.no_sqlite and size in args.sizes:
                url = f"sqlite:///{folder / f'sqlite_{size}.db'}"
                ready(url, size, gen)
                measure(url, "SQLite", size, args.clients, args.requests, args.warmup, args.filtered)
            if args.pg and size in pg_sizes:
                admin = sa.create_engine(args.pg)
                schema = f"bench_web_{size}"
                try:
                    url = pg_schema(admin, args.pg, schema, size, gen)
                    measure(url, "PostgreSQL", size, args.clients, args.requests, args.warmup, args.filtered)
                finally:
                    if args.drop:
                        with admin.begin() as c:
                            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
