"""Search and export at scale: ingest rate, size on disk, search latency against an unindexed LIKE scan.

    python benchmarks/bench_search.py --data DIR --sizes 100000 [--pg URL] [--queries 40]

A generator fills a fresh database (SQLite file, or a fresh schema of the PostgreSQL database at URL) with N
articles through pairchive's own insert path (article, revision, sighting, band keys, full-text index): 6-12
sentences drawn from the real stories in DIR (saved Chinese news pages), numbers redrawn, with one article in
four written in English from a word pool. Then, in the same run:

- search latency p50/p95 of `storage.search.search` (20 best hits) for 2-character and 4-character
  Chinese terms and English words, each against the same question asked without the index: the 20 newest
  articles whose search text is `LIKE '%term%'`;
- export: `storage.queries.iter_records` over the whole archive, in articles per second;
- size on disk (SQLite) or of the schema's tables and indexes (PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_dedup import Generator, load_texts
from ratios import ratio

from pipelines.dedup import content_hash
from pipelines.minhash import sketch
from storage.archive import insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.fulltext import index_text
from storage.models import Article, Story
from storage.normalize import search_form
from storage.queries import iter_records
from storage.search import search

ENGLISH = [
    "school",
    "schools",
    "pairing",
    "twinning",
    "teachers",
    "students",
    "education",
    "bureau",
    "county",
    "district",
    "signed",
    "agreement",
    "exchange",
    "training",
    "classroom",
    "lessons",
    "rural",
    "urban",
    "hospital",
    "company",
    "village",
    "program",
    "support",
    "assistance",
    "counterpart",
    "cooperation",
    "alliance",
    "community",
    "group",
    "principal",
    "kindergarten",
    "university",
    "teaching",
    "research",
]
TERMS = {
    "zh 2 chars": ["结对", "学校", "帮扶", "教师", "发展", "工作", "学生", "教育"],
    "zh 4 chars": [
        "结对帮扶",
        "教育教学",
        "乡村振兴",
        "高质量发",
        "人民群众",
        "疫情防控",
        "社会各界",
        "交流学习",
    ],
    "en word": ["pairing", "teachers", "hospital", "twinning", "rural", "alliance", "principal", "exchange"],
}


def english(rng: random.Random) -> str:
    return "\n".join(
        " ".join(rng.choice(ENGLISH) for _ in range(rng.randint(10, 25))).capitalize() + "."
        for _ in range(rng.randint(4, 9))
    )


def fill(url: str, gen: Generator, size: int) -> float:
    sessions = open_for_writing(url).sessions
    now = datetime(2022, 11, 16, tzinfo=UTC)
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "bench", "title": "Bench"}])["bench"]
        run_id = start_run(s, source_id, "cli")
    started = time.perf_counter()
    batch = 1000
    for start in range(0, size, batch):
        with sessions.begin() as s:
            for i in range(start + 1, min(start + batch, size) + 1):
                values = _values(i, gen, source_id, run_id, now)
                insert_article(s, values, keys=sketch(str(values["text"])))
    return time.perf_counter() - started


def _values(i: int, gen: Generator, source_id: int, run_id: int, now: datetime) -> dict[str, object]:
    rng = random.Random(i)
    text = english(rng) if i % 4 == 0 else gen.text(i)
    return {
        "source_id": source_id, "run_id": run_id, "url": f"http://b.example/{i}",
        "fetched_url": f"http://b.example/{i}", "title": text.splitlines()[0][:40],
        "published": datetime(2020 + i % 5, 1 + i % 12, 1 + i % 28, tzinfo=UTC), "author": None,
        "source_name": None, "language": "en" if i % 4 == 0 else "zh-Hans", "text": text,
        "search_text": search_form(text), "relevance": 1.0, "is_pairing": True,
        "relevance_terms": [], "content_hash": content_hash(text), "charset": "utf-8",
        "http_status": 200, "first_seen": now,
    }  # fmt: skip


def bulk_fill(url: str, gen: Generator, size: int) -> float:
    """The same articles, as rows in batches: article, story and full-text index only (what search and
    export read), without the per-article work of the crawl's insert path (revision, sighting, band keys).
    The search index is filled the way the store fills it (storage.archive.index_article's statements)."""
    database = open_for_writing(url)
    engine, sessions = database.engine, database.sessions
    now = datetime(2022, 11, 16, tzinfo=UTC)
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "bench", "title": "Bench"}])["bench"]
        run_id = start_run(s, source_id, "cli")
    sqlite = engine.dialect.name == "sqlite"
    index = (
        "INSERT INTO articles_fts (rowid, tokens) VALUES (:id, :tokens)"
        if sqlite
        else "INSERT INTO article_search (article_id, tokens) VALUES (:id, to_tsvector('simple', :tokens))"
    )
    started = time.perf_counter()
    batch = 2000
    for start in range(1, size + 1, batch):
        ids = range(start, min(start + batch, size + 1))
        rows = [{"id": i, "story_id": i, **_values(i, gen, source_id, run_id, now)} for i in ids]
        with engine.begin() as conn:
            conn.execute(sa.insert(Story), [{"id": i, "first_seen": now} for i in ids])
            conn.execute(sa.insert(Article), rows)
            conn.execute(
                sa.text(index),
                [{"id": r["id"], "tokens": index_text(str(r["title"]), str(r["text"]))} for r in rows],
            )
        if start // batch % 50 == 0:
            print(f"  {start + len(ids) - 1:,} articles", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure(url: str, label: str, size: int, queries: int, like: bool = True, export: bool = True) -> None:
    sessions = open_for_writing(url).sessions
    rows = []
    kinds = [(kind, terms, "relevance") for kind, terms in TERMS.items()]
    kinds.append(("zh 2 chars, newest first", TERMS["zh 2 chars"], "date"))
    for kind, terms, sort in kinds:
        indexed, scanned, hits = [], [], []
        # each term once, untimed in the table: the first asking of a term reads its index pages
        first = []
        for term in terms:
            with sessions() as s:
                first += timed(lambda s=s, term=term, sort=sort: search(s, term, limit=20, sort=sort), 1)
        for term in (terms * queries)[:queries]:
            with sessions() as s:
                found: list[object] = []
                indexed += timed(
                    lambda s=s, term=term, found=found, sort=sort: found.extend(
                        search(s, term, limit=20, sort=sort)
                    ),
                    1,
                )
                hits.append(len(found))
                if not like:
                    scanned += [float("nan")]
                    continue
                pattern = f"%{search_form(term)}%"
                # the same question without the index: the 20 newest stories containing the term
                stmt = (
                    sa.select(Article.id)
                    .where(Article.search_text.like(pattern))
                    .order_by(Article.published.desc())
                    .limit(20)
                )
                scanned += timed(lambda s=s, stmt=stmt: s.execute(stmt).all(), 1)
        q = statistics.quantiles
        rows.append(
            f"| {label} | {size:,} | {kind} | {statistics.median(indexed):.1f} | {q(indexed, n=20)[18]:.1f} "
            f"| {statistics.median(scanned):.1f} | {q(scanned, n=20)[18]:.1f} | {statistics.fmean(hits):.1f} "
            f"| {max(first):.1f} |"
        )
        if like:
            p95 = q(indexed, n=20)[18] / q(scanned, n=20)[18]
            ratio(f"{label} {size:,} {kind}: indexed p95", p95, "LIKE scan p95")
    for row in rows:
        print(row, flush=True)
    if not export:
        return
    with sessions() as s:
        # resident memory sampled as the export goes: constant memory means no growth with the archive
        start_rss = peak_rss = rss_mib()
        t = time.perf_counter()
        n = 0
        for _ in iter_records(s):
            n += 1
            if n % 10_000 == 0:
                peak_rss = max(peak_rss, rss_mib())
        rate = n / (time.perf_counter() - t)
    print(
        f"export: {n:,} articles, {rate:,.0f} articles/s; resident memory {start_rss:,.0f} MiB before, "
        f"{peak_rss:,.0f} MiB at most during it",
        flush=True,
    )


def rss_mib() -> float:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="saved Chinese news pages to draw sentences from"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--pg", metavar="URL", help="also measure PostgreSQL (a fresh schema is made and dropped)"
    )
    parser.add_argument("--queries", type=int, default=40, help="queries per term kind")
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="fill with batched rows (article, story, index) instead of the crawl's insert path: for 1M",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--tmp", type=Path, help="where the SQLite file is made (default: the system's)")
    parser.add_argument(
        "--skip-like",
        action="store_true",
        help="do not time the LIKE scans (measured once is enough: the generator is deterministic)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL schema (its name is printed)"
    )
    parser.add_argument(
        "--pg-schema", metavar="NAME", help="fill this PostgreSQL schema, or only measure it if it exists"
    )
    parser.add_argument(
        "--measure",
        type=Path,
        metavar="FILE",
        help="only measure this SQLite file, filled by an earlier run (its size is --sizes' first)",
    )
    parser.add_argument("--search-only", action="store_true", help="time search only, not the export")
    parser.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the measuring sessions (repeatable), e.g. work_mem=64MB",
    )
    args = parser.parse_args()
    gen = Generator(load_texts(args.data))
    print(
        "| database | articles | query | indexed p50 ms | indexed p95 ms | LIKE p50 ms | LIKE p95 ms | hits "
        "| first asking, max ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    fill_with = bulk_fill if args.bulk else fill
    if args.measure:
        measure(f"sqlite:///{args.measure}", "SQLite", args.sizes[0], args.queries, like=not args.skip_like)
        return 0
    for size in args.sizes:
        if not args.no_sqlite:
            with tempfile.TemporaryDirectory(dir=args.tmp) as folder:
                path = Path(folder) / "bench.db"
                url = f"sqlite:///{path}"
                seconds = fill_with(url, gen, size)
                close_all()
                disk = sum(p.stat().st_size for p in Path(folder).iterdir()) / 2**20
                print(f"sqlite ingest: {size / seconds:,.0f} articles/s; {disk:,.0f} MB on disk", flush=True)
                measure(url, "SQLite", size, args.queries)
                close_all()
        if args.pg:
            schema = args.pg_schema or f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(args.pg)
            with admin.begin() as c:
                exists = c.execute(
                    sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
                ).first()
                if not exists:
                    c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            options = " ".join([f"-csearch_path={schema}", *(f"-c{kv}" for kv in args.pg_setting)])
            url = sa.engine.make_url(args.pg).update_query_dict({"options": options})
            pg_url = url.render_as_string(hide_password=False)
            try:
                if not exists:  # else filled by an earlier run kept with --keep: measure only
                    seconds = fill_with(pg_url, gen, size)
                    # What autovacuum does on a live archive, done at once after a bulk load: statistics for
                    # the planner, the visibility map and hint bits (else the first reads of each page write).
                    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                        c.execute(sa.text(f'VACUUM ANALYZE "{schema}".articles'))
                        c.execute(sa.text(f'VACUUM ANALYZE "{schema}".article_search'))
                        c.execute(sa.text(f'VACUUM ANALYZE "{schema}".sources'))
                    with admin.connect() as c:
                        mb = c.execute(
                            sa.text(
                                "SELECT sum(pg_total_relation_size(c.oid)) / 1048576.0 FROM pg_class c"
                                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'r'"
                            ),
                            {"s": schema},
                        ).scalar_one()
                    print(f"postgresql ingest: {size / seconds:,.0f} articles/s; {mb:,.0f} MB", flush=True)
                measure(
                    pg_url,
                    "PostgreSQL",
                    size,
                    args.queries,
                    like=not args.skip_like,
                    export=not args.search_only,
                )
            finally:
                close_all()
                if args.keep or exists:  # a schema this run did not fill is never dropped
                    print(f"kept PostgreSQL schema {schema}", flush=True)
                else:
                    with admin.begin() as c:
                        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
