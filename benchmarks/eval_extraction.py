"""Extraction quality of pairchive's per-article stages against bare `trafilatura.extract`, same pages, same run.

    python benchmarks/eval_extraction.py --data DIR --format FMT [--lang zh|other|all] [--per-page]

Formats (the folder layouts of public extraction benchmarks and extractors' test suites):

    aeb          ground-truth.json {id: {"articleBody", "url"}} and html/<id>.html.gz
    wcxb         dev/ground-truth/<id>.json (ground_truth.main_content, with, without) and dev/html/<id>.html.gz
    trafilatura  evaldata.json {url: {"file", "with", "without"}} and html/<file>.gz (snippets only)
    gne          tests/*/*.html; silver_gne_output_2019.json {path: {"content"}} where there is one
    readability  test-pages/<case>/source.html.gz and expected.html (pages under 4 KB are skipped)
    newspaper    html/<name>.html and txt/<name>.txt
    goose        content/<name>.html and <name>.json (expected.cleaned_text is often only a prefix:
                 read its recall, not its precision)

Scores, per page and overall (mean over pages, and micro: summed over all pages):
- precision, recall and F1 of the output's tokens against the reference text's, as multisets. Chinese
  (a reference that is mostly Han characters) is scored by character with all whitespace removed; other
  languages by lower-cased word.
- where the data set has snippets: the share of must-keep snippets kept and of must-drop snippets dropped.
- where the data set gives a publication date: the share of pages whose day is right (the baseline's
  date is trafilatura's own metadata pass, htmldate).
- on every page: trailer lines, the lines of the page that look like boilerplate around a story (credit
  lines 责任编辑/来源/编辑, 上一篇/下一篇, related-reading headings, share and QR prompts, copyright and ICP
  footers, END markers, `【详细】` teasers), and the share of them each extractor drops.

`pairchive` is what `pairchive extract` prints (pipelines.page: decode, extract, clean, ...); the baseline
is `trafilatura.extract(html, url=url)` with its defaults, given the same decoded HTML.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import trafilatura
from scrapy.exceptions import DropItem

from crawler.vocabulary.charset import decode_page
from pipelines.page import page_item, process_page

HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_RE = re.compile(r"\w+")
WS_RE = re.compile(r"\s+")
# Lines that are boilerplate around a story, whatever the site: what "must-drop" means when a data set
# has no snippets of its own. Short lines only: a sentence that mentions an editor is story text.
TRAILER_LINE_RE = re.compile(
    r"^[(（【\[]?\s*(?:责任编辑|責任編輯|编辑|編輯|来源|來源|本文来源|稿件来源|审核|校对|监制)\s*[:：]"
    r"|^(?:上一篇|下一篇|上一条|下一条)"
    r"|^[【\[]?\s*(?:相关阅读|相关新闻|相关文章|推荐阅读|相关推荐|新闻推荐|热点推荐|热门推荐|精彩推荐|点击排行"
    r"|猜你喜欢|更多新闻|往期回顾|相关链接)\s*[】\]]?\s*[:：]?$"
    r"|分享到|扫一扫|掃一掃|二维码|打印本页|关闭窗口|【打印】|【关闭】"
    r"|版权所有|版權所有|copyright|©|ICP备|ICP證|违法和不良信息|举报电话"
    r"|^[-—_=·\s]*(?:END|完)[-—_=·\s]*$|【详细】|\[详细\]",
    re.IGNORECASE,
)
MAX_TRAILER_LINE = 120
BLOCKS = (
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "section",
    "article",
    "blockquote",
)


@dataclass
class Page:
    id: str
    url: str
    body: bytes
    reference: str | None = None  # the expected body text
    keep: list[str] = field(default_factory=list)  # must-keep snippets
    drop: list[str] = field(default_factory=list)  # must-drop snippets
    prefix_only: bool = False
    date: str | None = None  # the expected publication day, YYYY-MM-DD


DAY_RE = re.compile(r"^((?:19|20)\d{2})-(\d{2})-(\d{2})")


def _day(value: str | None) -> str | None:
    """YYYY-MM-DD of an expected date, None when it has no full date (GNE's '09月07日')."""
    m = DAY_RE.match(value or "")
    return "-".join(m.groups()) if m else None


def _gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def html_to_text(fragment: str) -> str:
    tree = lxml.html.fromstring(fragment)
    for el in tree.iter(*BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return tree.text_content()


def load_aeb(root: Path) -> Iterator[Page]:
    for key, value in json.loads((root / "ground-truth.json").read_text(encoding="utf-8")).items():
        yield Page(
            key,
            value.get("url") or f"http://aeb.example/{key}",
            _gunzip(root / "html" / f"{key}.html.gz"),
            reference=value["articleBody"],
        )


def load_wcxb(root: Path) -> Iterator[Page]:
    base = root / "dev" if (root / "dev").is_dir() else root
    for path in sorted((base / "ground-truth").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        truth = doc["ground_truth"]
        yield Page(
            path.stem,
            doc.get("url") or f"http://wcxb.example/{path.stem}",
            _gunzip(base / "html" / f"{path.stem}.html.gz"),
            reference=truth.get("main_content"),
            keep=truth.get("with") or [],
            drop=truth.get("without") or [],
            date=_day(truth.get("publish_date")),
        )


def load_trafilatura(root: Path) -> Iterator[Page]:
    for url, value in json.loads((root / "evaldata.json").read_text(encoding="utf-8")).items():
        path = root / "html" / f"{value['file']}.gz"
        if path.exists():
            yield Page(
                value["file"],
                url,
                _gunzip(path),
                keep=value.get("with") or [],
                drop=value.get("without") or [],
                date=_day(value.get("date")),
            )


def load_gne(root: Path) -> Iterator[Page]:
    silver_file = root / "silver_gne_output_2019.json"
    silver = json.loads(silver_file.read_text(encoding="utf-8")) if silver_file.exists() else {}
    for path in sorted((root / "tests").glob("*/*.html")):
        rel = str(path.relative_to(root))
        truth = silver.get(rel)
        yield Page(
            rel,
            f"http://gne.example/{rel}",
            path.read_bytes(),
            reference=truth["content"] if truth else None,
            date=_day(truth["publish_time"]) if truth else None,
        )


def load_readability(root: Path) -> Iterator[Page]:
    for case in sorted((root / "test-pages").iterdir()):
        body = _gunzip(case / "source.html.gz")
        if len(body) < 4096:
            continue  # synthetic test cases, not real pages
        expected = (case / "expected.html").read_text(encoding="utf-8")
        meta_file = case / "expected-metadata.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        yield Page(
            case.name,
            f"http://readability.example/{case.name}/",
            body,
            reference=html_to_text(expected),
            date=_day(meta.get("publishedTime")),
        )


def load_newspaper(root: Path) -> Iterator[Page]:
    for txt in sorted((root / "txt").glob("*.txt")):
        html = root / "html" / f"{txt.stem}.html"
        if html.exists():
            meta_file = root / "metadata" / f"{txt.stem}.json"
            meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
            yield Page(
                txt.stem,
                meta.get("url") or f"http://newspaper.example/{txt.stem}",
                html.read_bytes(),
                reference=txt.read_text(encoding="utf-8"),
                date=_day(meta.get("publish_date")),
            )


def load_goose(root: Path) -> Iterator[Page]:
    for path in sorted((root / "content").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        html = path.with_suffix(".html")
        if html.exists() and doc.get("expected", {}).get("cleaned_text"):
            yield Page(
                path.stem,
                doc.get("url") or f"http://goose.example/{path.stem}",
                html.read_bytes(),
                reference=doc["expected"]["cleaned_text"],
                prefix_only=True,
            )


LOADERS = {
    "aeb": load_aeb,
    "wcxb": load_wcxb,
    "trafilatura": load_trafilatura,
    "gne": load_gne,
    "readability": load_readability,
    "newspaper": load_newspaper,
    "goose": load_goose,
}


def is_chinese(text: str) -> bool:
    sample = WS_RE.sub("", text[:3000])
    return bool(sample) and len(HAN_RE.findall(sample)) >= 0.3 * len(sample)


def tokens(text: str, chinese: bool) -> Counter[str]:
    return Counter(WS_RE.sub("", text)) if chinese else Counter(WORD_RE.findall(text.lower()))


def prf(output: str, reference: str, chinese: bool) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of the output's tokens."""
    out, ref = tokens(output, chinese), tokens(reference, chinese)
    tp = sum((out & ref).values())
    return tp, sum(out.values()) - tp, sum(ref.values()) - tp


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def squash(text: str) -> str:
    return WS_RE.sub(" ", text).strip().lower()


def trailer_lines(text: str) -> set[str]:
    lines = (WS_RE.sub(" ", ln).strip() for ln in text.splitlines())
    return {ln for ln in lines if ln and len(ln) <= MAX_TRAILER_LINE and TRAILER_LINE_RE.search(ln)}


CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def page_text(html: str) -> str:
    try:
        tree = lxml.html.document_fromstring(CONTROL_RE.sub("", html))
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in tree.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for el in tree.iter(*BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return tree.text_content()


def ours(page: Page) -> tuple[str, str | None]:
    """The stored text and publication day, as `pairchive extract` gives them."""
    try:
        item = process_page(page_item(page.body, page.url))
    except DropItem:
        return "", None
    return item.text, item.published.date().isoformat() if item.published else None


def bare(page: Page, html: str) -> tuple[str, str | None]:
    """trafilatura's defaults: `extract` for the text; its metadata pass (htmldate) for the date, only
    when the page has an expected date (it costs as much as extraction)."""
    text = trafilatura.extract(html, url=page.url) or ""
    if not page.date:
        return text, None
    meta = trafilatura.extract_metadata(html, default_url=page.url)
    return text, meta.date[:10] if meta and meta.date else None


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    per_page: list[tuple[float, float, float]] = field(default_factory=list)
    kept: int = 0
    keep: int = 0
    dropped: int = 0
    drop: int = 0
    trailers_left: int = 0
    trailers: int = 0
    pages_with_trailers_left: int = 0
    empty: int = 0
    dates: int = 0
    dates_right: int = 0

    def add(
        self, page: Page, result: tuple[str, str | None], chinese: bool, page_trailers: set[str]
    ) -> tuple[float, float, float] | None:
        output, day = result
        if page.date:
            self.dates += 1
            self.dates_right += day == page.date
        if not output.strip():
            self.empty += 1
        scores = None
        if page.reference is not None:
            counts = prf(output, page.reference, chinese)
            self.tp, self.fp, self.fn = self.tp + counts[0], self.fp + counts[1], self.fn + counts[2]
            scores = f1(*counts)
            self.per_page.append(scores)
        flat = squash(output)
        self.keep += len(page.keep)
        self.kept += sum(squash(s) in flat for s in page.keep)
        self.drop += len(page.drop)
        self.dropped += sum(squash(s) not in flat for s in page.drop)
        left = page_trailers & trailer_lines(output)
        self.trailers += len(page_trailers)
        self.trailers_left += len(left)
        self.pages_with_trailers_left += bool(left)
        return scores

    def row(self, name: str, pages: int) -> str:
        cells = [name]
        if self.per_page:
            mean = [statistics.fmean(x[i] for x in self.per_page) for i in range(3)]
            micro = f1(self.tp, self.fp, self.fn)
            cells += [f"{mean[0]:.3f}", f"{mean[1]:.3f}", f"{mean[2]:.3f}", f"{micro[2]:.3f}"]
        else:
            cells += ["-"] * 4
        cells.append(f"{self.kept}/{self.keep} ({self.kept / self.keep:.3f})" if self.keep else "-")
        cells.append(f"{self.dropped}/{self.drop} ({self.dropped / self.drop:.3f})" if self.drop else "-")
        if self.trailers:
            removed = 1 - self.trailers_left / self.trailers
            cells.append(f"{self.trailers - self.trailers_left}/{self.trailers} ({removed:.3f})")
        else:
            cells.append("-")
        cells.append(str(self.pages_with_trailers_left))
        cells.append(str(self.empty))
        cells.append(
            f"{self.dates_right}/{self.dates} ({self.dates_right / self.dates:.3f})" if self.dates else "-"
        )
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| extractor | P (mean) | R (mean) | F1 (mean) | F1 (micro) | must-keep kept | must-drop dropped "
    "| trailer lines dropped | pages with a trailer line left | empty outputs | date right (day) |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the data set's folder")
    parser.add_argument("--format", required=True, choices=sorted(LOADERS))
    parser.add_argument(
        "--lang",
        choices=["zh", "other", "all"],
        default="all",
        help="only Chinese pages, only the others, or all (default)",
    )
    parser.add_argument("--per-page", action="store_true", help="one line per page with both F1 scores")
    parser.add_argument("--limit", type=int, help="only the first N pages (a quick look)")
    args = parser.parse_args()

    scores = {"bare trafilatura.extract": Score(), "pairchive": Score()}
    pages = 0
    for page in LOADERS[args.format](args.data):
        if args.limit and pages >= args.limit:
            break
        html = decode_page(page.body).text
        visible = page_text(html)
        chinese = is_chinese(page.reference if page.reference else visible)
        if (args.lang == "zh" and not chinese) or (args.lang == "other" and chinese):
            continue
        pages += 1
        page_trailers = trailer_lines(visible)
        base = scores["bare trafilatura.extract"].add(page, bare(page, html), chinese, page_trailers)
        mine = scores["pairchive"].add(page, ours(page), chinese, page_trailers)
        if args.per_page:
            fmt = lambda s: f"{s[2]:.3f}" if s else "-"  # noqa: E731
            print(
                f"{page.id}\t{'zh' if chinese else 'xx'}\tbare {fmt(base)}\tpairchive {fmt(mine)}",
                file=sys.stderr,
            )
    if not pages:
        print(f"no pages of format {args.format} (lang {args.lang}) under {args.data}", file=sys.stderr)
        return 2
    with_ref = len(scores["pairchive"].per_page)
    print(f"{args.format}, lang {args.lang}: {pages} pages, {with_ref} with a reference text")
    print(HEADER)
    for name, score in scores.items():
        print(score.row(name, pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
