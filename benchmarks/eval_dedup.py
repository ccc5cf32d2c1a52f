"""Near-copy detection: pairwise precision and recall on labelled variants of real texts, and per-article cost
against the size of the archive.

    python benchmarks/eval_dedup.py --quality DIR [--threshold 0.8] [--min-jaccard 0.5]
    python benchmarks/eval_dedup.py --cost 10000 100000 1000000 --data DIR [--queries 300]

**Quality.** DIR holds saved Chinese news pages (searched recursively for *.html, e.g. the GNE test pages);
each page's story is extracted and cleaned by pairchive, and pages with at least 300 characters of story
are used. For each text, variants that must join it:

    chrome      the same story with other credit, byline, share and related-reading lines around it
    credits     a reporter credit and an outlet line added
    drop5/10/30 5%, 10% or 30% of its sentences dropped
    reorder     its paragraphs in another order
    traditional converted to traditional characters (OpenCC s2t)
    pinyin      pinyin annotations after some characters (`學(xué)`)

and hard negatives that must stay apart: every other text; texts with the same boilerplate paragraph
appended; different signing stories generated from one template (same district, same phrasing, other
schools, dates and numbers). A pair is judged a copy as the dedup stage judges it: the same content hash,
or a shared MinHash band (the candidate lookup) and containment >= threshold and Jaccard >= min-jaccard.

**Cost.** A generator fills a fresh SQLite database with N stored articles (6-12 sentences drawn from the
real stories in DIR, numbers redrawn, with their band keys), then times what the dedup stage does for
each of `--queries` new articles (a third of them near copies of stored ones): content-hash lookup, band
lookup, candidate verification. Reported per article, with the same-run cost of sketching alone.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import opencc
from ratios import ratio
from scrapy.exceptions import DropItem

from pipelines.dedup import content_hash
from pipelines.minhash import jaccard, shingles, similarity, sketch
from pipelines.page import page_item, process_page

BOILERPLATE = "区教育局表示，下一步将继续深化东西部教育协作，推动优质教育资源共享，助力乡村教育振兴，让每个孩子都能享有公平而有质量的教育。"
CHROME_HEAD = ["发布时间：2022-11-16 09:30　来源：示例新闻网", "【字体：大 中 小】"]
CHROME_TAIL = [
    "（记者 张晓 通讯员 李明）",
    "责任编辑：王敏",
    "分享到：微信 微博",
    "相关阅读",
    "某地召开教育工作会议 2022-11-10",
]
PINYIN = {"学": "xué", "校": "xiào", "教": "jiào", "育": "yù", "师": "shī", "生": "shēng", "区": "qū"}


def load_texts(folder: Path, min_chars: int = 300) -> list[str]:
    texts = []
    for path in sorted(folder.rglob("*.html")):
        try:
            item = process_page(page_item(path.read_bytes(), f"http://eval.example/{path.name}"))
        except DropItem:
            continue
        if len(item.text) >= min_chars and item.text not in texts:
            texts.append(item.text)  # a data set may hold one page twice: it is one story, not two
    return texts


def sentences(text: str) -> list[str]:
    out, current = [], ""
    for ch in text:
        current += ch
        if ch in "。！？\n":
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def drop(text: str, share: float, rng: random.Random) -> str:
    parts = sentences(text)
    n = max(1, round(len(parts) * share))
    gone = set(rng.sample(range(len(parts)), n)) if len(parts) > n else set()
    return "".join(p for i, p in enumerate(parts) if i not in gone)


def variants(text: str, rng: random.Random, to_traditional: opencc.OpenCC) -> dict[str, str]:
    from pipelines.clean import clean_text

    lines = text.splitlines()
    shuffled = lines[:]
    rng.shuffle(shuffled)
    return {
        # chrome and credits go through cleaning, as a crawled copy would
        "chrome": clean_text("\n".join([*CHROME_HEAD, *lines, *CHROME_TAIL])).text,
        "credits": clean_text("\n".join(["来源：厦门日报", *lines, "（记者 王丽）"])).text,
        "drop5": drop(text, 0.05, rng),
        "drop10": drop(text, 0.10, rng),
        "drop30": drop(text, 0.30, rng),
        "reorder": "\n".join(shuffled),
        "traditional": to_traditional.convert(text),
        "pinyin": "".join(
            f"{ch}({PINYIN[ch]})" if ch in PINYIN and rng.random() < 0.3 else ch for ch in text
        ),
    }


DISTRICTS = ["湖里区", "思明区", "海沧区", "集美区", "同安区", "翔安区"]
COUNTIES = ["东乡县", "临夏县", "积石山县", "和政县", "康乐县", "永靖县"]
SUBJECTS = ["数学", "语文", "英语", "物理", "美术", "音乐", "科学", "体育"]
TEMPLATE = [
    "{m}月{d}日，厦门市{a}教育局与甘肃省{b}教育局在{b}举行学校结对帮扶签约仪式，两地{n}所中小学结成{h}对帮扶对子。",
    "根据协议，{a}将在{y}年内每学期选派{t}名骨干教师到结对学校支教，{b}学校则每年派出青年教师到{a}跟岗学习。",
    "签约仪式后，{a}{s1}的教师为{b}{s2}的学生上了{x}和{z}示范课，并与当地教师集体评课。",
    "{b}教育局负责人介绍，全县乡村学校缺少{x}、{z}专任教师，结对帮扶将首先补上这些学科的短板。",
    "{a}教育局已连续{k}年开展对{b}的教育帮扶，先后派出支教教师{p}人次，培训当地教师{q}多人次。",
]
SCHOOLS = ["实验小学", "第二小学", "第一中学", "中心小学", "第三中学", "外国语学校"]


def template_story(rng: random.Random) -> str:
    fill = {
        "m": rng.randint(1, 12), "d": rng.randint(1, 28), "a": rng.choice(DISTRICTS), "b": rng.choice(COUNTIES),
        "n": rng.randint(4, 20), "h": rng.randint(2, 10), "y": rng.randint(2, 5), "t": rng.randint(3, 30),
        "s1": rng.choice(SCHOOLS), "s2": rng.choice(SCHOOLS), "x": rng.choice(SUBJECTS), "z": rng.choice(SUBJECTS),
        "k": rng.randint(2, 9), "p": rng.randint(20, 200), "q": rng.randint(500, 5000),
    }  # fmt: skip
    return "\n".join(line.format(**fill) for line in TEMPLATE) + "\n" + BOILERPLATE


def judge(a: str, b: str, threshold: float, min_jaccard: float) -> bool:
    if content_hash(a) == content_hash(b):
        return True
    if not set(sketch(a)) & set(sketch(b)):
        return False  # never a candidate
    ga, gb = shingles(a), shingles(b)
    return similarity(ga, gb) >= threshold and jaccard(ga, gb) >= min_jaccard


def quality(folder: Path, threshold: float, min_jaccard: float) -> int:
    texts = load_texts(folder)
    if len(texts) < 5:
        print(f"too few stories under {folder}", file=sys.stderr)
        return 2
    rng = random.Random(7)
    to_traditional = opencc.OpenCC("s2t")
    pairs: list[tuple[str, str, str, bool]] = []  # kind, a, b, same story
    for text in texts:
        for kind, variant in variants(text, rng, to_traditional).items():
            pairs.append((kind, text, variant, True))
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            pairs.append(("other story", a, b, False))
            pairs.append(("same boilerplate", a + "\n" + BOILERPLATE, b + "\n" + BOILERPLATE, False))
    stories = [template_story(rng) for _ in range(40)]
    for i, a in enumerate(stories):
        for b in stories[i + 1 :]:
            if a != b:
                pairs.append(("same template", a, b, False))
    by_kind: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for kind, a, b, same in pairs:
        said = judge(a, b, threshold, min_jaccard)
        outcome = ("tp" if said else "fn") if same else ("fp" if said else "tn")
        by_kind.setdefault(kind, Counter())[outcome] += 1
        totals[outcome] += 1
    precision = totals["tp"] / max(1, totals["tp"] + totals["fp"])
    recall = totals["tp"] / max(1, totals["tp"] + totals["fn"])
    print(f"{len(texts)} real stories, {len(pairs)} pairs; threshold {threshold}, min Jaccard {min_jaccard}")
    print(f"pairwise precision {precision:.4f}, recall {recall:.4f}")
    print("| pair kind | pairs | judged the same story | right |")
    print("| --- | --- | --- | --- |")
    for kind, c in by_kind.items():
        n = sum(c.values())
        said = c["tp"] + c["fp"]
        right = c["tp"] + c["tn"]
        print(f"| {kind} | {n} | {said} | {right / n:.3f} |")
    return 0


DIGIT_RE = re.compile(r"\d+")


class Generator:
    """Synthetic stored articles as alike as real news is: 6-12 sentences drawn from the sentences of real
    stories (DIR), their numbers redrawn. Real regional news shares phrases and the odd sentence, not whole
    stories: random pairs of these texts have a shingle Jaccard of the same order as real pairs (printed by
    --cost). A generator drawing from a small phrase pool makes every text a near copy of thousands of
    others and measures nothing real."""

    def __init__(self, texts: list[str]) -> None:
        self.pool = [s for t in texts for s in sentences(t) if len(s) >= 12]

    def text(self, i: int) -> str:
        rng = random.Random(i)
        picked = rng.sample(self.pool, rng.randint(6, 12))
        return "\n".join(DIGIT_RE.sub(lambda m: str(rng.randint(1, 10 ** len(m[0]))), p) for p in picked)


def cost(folder: Path, sizes: list[int], queries: int) -> int:
    from sqlalchemy import insert

    from storage.archive import find_duplicate, near_candidates, upsert_sources
    from storage.db import close_all, open_for_writing
    from storage.models import Article, MinhashBand, Story

    gen = Generator(load_texts(folder))
    sample = [shingles(gen.text(i)) for i in range(1, 101)]
    pairs = [jaccard(a, b) for k, a in enumerate(sample) for b in sample[k + 1 :]]
    print(
        f"sentence pool {len(gen.pool)}; mean Jaccard of random generated pairs {statistics.fmean(pairs):.4f}"
    )
    print(
        "| stored articles | fill s | dedup ms/article (median) | p95 ms | sketch only ms | candidates/article | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    medians: list[float] = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            sessions = open_for_writing(url).sessions
            started = time.perf_counter()
            now = datetime(2022, 11, 16, tzinfo=UTC)
            with sessions.begin() as s:
                source_id = upsert_sources(s, [{"name": "bench", "title": "Bench"}])["bench"]
            batch = 2000
            for start in range(0, size, batch):
                ids = range(start + 1, min(start + batch, size) + 1)
                texts = {i: gen.text(i) for i in ids}
                with sessions.begin() as s:
                    s.execute(insert(Story), [{"id": i, "first_seen": now} for i in ids])
                    s.execute(
                        insert(Article),
                        [
                            {
                                "id": i,
                                "story_id": i,
                                "source_id": source_id,
                                "url": f"http://b.example/{i}",
                                "fetched_url": f"http://b.example/{i}",
                                "title": "t",
                                "language": "zh-Hans",
                                "text": texts[i],
                                "search_text": texts[i],
                                "relevance": 1.0,
                                "is_pairing": True,
                                "relevance_terms": [],
                                "content_hash": content_hash(texts[i]),
                                "http_status": 200,
                                "first_seen": now,
                            }
                            for i in ids
                        ],
                    )
                    s.execute(
                        insert(MinhashBand),
                        [{"article_id": i, "key": k} for i in ids for k in sorted(set(sketch(texts[i])))],
                    )
            fill = time.perf_counter() - started
            rng = random.Random(size)
            timings, sketch_times, counts = [], [], []
            for q in range(queries):
                if q % 3 == 0:
                    text = drop(gen.text(rng.randint(1, size)), 0.1, rng)  # a near copy of a stored one
                else:
                    text = gen.text(size + 1 + q)  # new
                t0 = time.perf_counter()
                keys = sketch(text)
                t1 = time.perf_counter()
                with sessions() as s:
                    find_duplicate(s, f"http://new.example/{q}", content_hash(text))
                    candidates = near_candidates(s, keys)
                grams = shingles(text)
                for _, _, other in candidates:
                    similarity(grams, shingles(other))
                t2 = time.perf_counter()
                timings.append((t2 - t0) * 1000)
                sketch_times.append((t1 - t0) * 1000)
                counts.append(len(candidates))
            close_all()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            p95 = sorted(timings)[int(len(timings) * 0.95)]
            print(
                f"| {size:,} | {fill:.0f} | {statistics.median(timings):.2f} | {p95:.2f} "
                f"| {statistics.median(sketch_times):.2f} | {statistics.fmean(counts):.1f} | {rss:.0f} |",
                flush=True,
            )
            medians.append(statistics.median(timings))
            if len(medians) > 1:
                ratio(
                    f"near-copy dedup at {size:,} stored", medians[-1] / medians[0], f"at {sizes[0]:,} stored"
                )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=Path, metavar="DIR", help="folder of saved Chinese news pages")
    parser.add_argument("--cost", type=int, nargs="+", metavar="N", help="archive sizes to measure")
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="for --cost: pages whose sentences make the texts"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--min-jaccard", type=float, default=0.5)
    args = parser.parse_args()
    if args.quality:
        return quality(args.quality, args.threshold, args.min_jaccard)
    if args.cost:
        if not args.data:
            parser.error("--cost needs --data DIR (real stories to draw sentences from)")
        return cost(args.data, args.cost, args.queries)
    parser.error("give --quality DIR or --cost N ...")
    return 2


if __name__ == "__main__":
    sys.exit(main())
