"""Clean stage: the story kept whole, everything the portal wrapped around it dropped.

Rules describe what a trailer looks like, never one site: an end marker (`- END -`) or a related-reading
heading (`相关阅读`, `Related news`) ends the story; dated headline lists, runs of teaser summaries, keyword,
share and credit lines go wherever they are. Sections that belong to the story (`延伸阅读`, `链接`) stay.
Inline pinyin annotations (`續(xù)` -> `續`) are removed. Credit lines are read before they go: the
originating outlet (`来源:`/`Source:`) and author are metadata, not body text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines import Stage
from storage.normalize import search_form, strip_pinyin

logger = logging.getLogger(__name__)

# The cleaning rules' version, recorded with every article and revision: bump it when a rule changes a text.
VERSION = "2"

END_MARKER_RE = re.compile(
    r"^[-—–_=*·\s(（【\[]*(?:END|THE END|完|全文完|本文完)[-—–_=*·\s)）】\]]*$", re.IGNORECASE
)
RELATED_HEADING_RE = re.compile(
    r"^[【\[]?\s*(?:相关阅读|相關閱讀|相关新闻|相關新聞|相关文章|相關文章|推荐阅读|推薦閱讀|相关推荐|相關推薦"
    r"|新闻推荐|新聞推薦|热点推荐|熱點推薦|热门推荐|熱門推薦|精彩推荐|精彩推薦|点击排行|點擊排行|相关链接|相關鏈接"
    r"|猜你喜欢|猜你喜歡|更多新闻|更多新聞|往期回顾|往期回顧|热点新闻|熱點新聞|热门文章|熱門文章|相关热门文章"
    r"|最新报道|最新報道|热门排行|熱門排行|跟贴排行|排行榜|精彩视频推荐|视频推荐|視頻推薦|相关资讯|相關資訊"
    r"|相关专题|相關專題|今日推荐|今日推薦|编辑推荐|編輯推薦|为您推荐|為您推薦|大家都在看|热门评论|熱門評論"
    r"|related (?:news|articles|stories|reading|content)|recommended(?: reading| stories)?|read more"
    r"|more (?:news|stories)|you may also like)\s*[】\]]?\s*[:：]?$",
    re.IGNORECASE,
)
KEYWORDS_RE = re.compile(
    r"^(?:关键词|關鍵詞|关键字|關鍵字|标签|標籤|tags?|keywords?)\s*(?:[:：]|>>|》)", re.IGNORECASE
)
# The page's footer and rights notices: where one follows the story, the rest of the text is page chrome.
FOOTER_RE = re.compile(
    # "Copyright © 1996-2019 ...", "© 2022 湖里区教育局": a site's notice, not a picture credit ("© dpa").
    r"^\W{0,3}(?:copyright\b|[©Ⓒ]\s*(?:19|20)\d{2}|\(c\)\s*(?:19|20)\d{2})|all rights reserved"
    r"|版权所有|版權所有|未经授权[，,]?\s*不得转载|未經授權[，,]?\s*不得轉載"
    r"|icp[备證证]|违法和不良信息举报|違法和不良信息舉報|举报电话|举报邮箱|^[【\[]?\s*(?:免责声明|免責聲明|特别声明"
    r"|特別聲明|版权声明|版權聲明|声明|聲明)\s*[】\]]?\s*[:：]?",
    re.IGNORECASE,
)
MAX_FOOTER_LEN = 150
CREDIT_LABELS = (
    r"责任编辑|責任編輯|编辑|編輯|审核|審核|校对|校對|监制|監製|来源|來源|作者|author|editors?|source"
    r"|本文来源|稿件来源|图片来源|圖片來源|资料来源|資料來源|信息来源|信息來源|供稿|撰稿|通讯员|通訊員"
    r"|采写|採寫|责编|責編|摄影|攝影|摄|攝|文|图|圖|文字|视频|視頻|出品|策划|策劃|统筹|統籌|制图|製圖"
)
CREDIT_LINE_RE = re.compile(rf"^[(（【\[]?\s*(?:{CREDIT_LABELS})\s*[:：]", re.IGNORECASE)
# An editor credit inside a line: "(Editor: Huang Yan, Gongli)", "（责任编辑：王敏）".
INLINE_EDITOR_RE = re.compile(
    r"[(（【\[]\s*(?:责任编辑|責任編輯|编辑|編輯|editors?|审核|審核)\s*[:：][^)）】\]]*[)）】\]]",
    re.IGNORECASE,
)
SHARE_RE = re.compile(
    r"sharing let more people see\.?|分享让更多人看到|分享讓更多人看到"
    # Whole lines of page furniture only: "分享到：" with its buttons, print/close links, QR prompts.
    r"|^分享到\s*[:：]?[^。，；]{0,40}$"
    r"|^(?:微信)?(?:扫一扫|掃一掃)[^。，]{0,20}$"
    r"|^(?:打印本页|打印本頁|关闭窗口|關閉窗口|【打印】|【关闭】|【纠错】|上一篇|下一篇)(?:\s|[:：【]|$)[^。]{0,60}$",
    re.IGNORECASE,
)
# Whole lines asking the reader to follow an account, scan a code or tap a button: short, and about that only.
PROMO_RE = re.compile(
    r"(?:扫描|掃描|扫码|掃碼|长按|長按|识别|識別).{0,20}(?:二维码|二維碼|关注|關注)|关注.{0,15}(?:公众号|公眾號|微信|微博)"
    r"|^微信公众号|^微信公眾號|点击.{0,10}阅读原文|點擊.{0,10}閱讀原文|【在看】|点个在看|點個在看|分享.{0,6}点赞"
    r"|(?:【详细】|\[详细\]|【詳細】|>>\s*更多|更多>>)\s*$",
)
MAX_PROMO_LEN = 90
HAS_WORD_RE = re.compile(r"[^\W_]")
MIN_REPEAT = 30  # a line this long seen twice is the template repeating itself; short ones (an interview's questions) recur in stories
# A credit closing the story: "(Bai Ping)", "（记者 张三 通讯员 李四）", "Pianshan Rong Media reporter Bu Kai",
# "Supply of the Chuanshan District Education and Sports Bureau" (machine-translated 供稿).
CLOSING_CREDIT_RE = re.compile(
    r"^[(（][^()（）。，,.!?！？]{2,30}[)）]$"
    r"|(?:记者|記者|通讯员|通訊員|供稿|撰稿|摄影|攝影|reporter|correspondent|photographer)[\s:：]*"
    r"[^\s。，,.!?！？]{0,12}(?:\s+[^\s。，,.!?！？]{1,12}){0,3}$"
    r"|^(?:supply of|supplied by|contributed by|provided by|photo by|photos by|by)\s",
    re.IGNORECASE,
)
MAX_CLOSING_CREDIT = 70
# The writer's name in a closing credit: "(Bai Ping)", "（记者 张晓）", "... reporter Bu Kai".
CLOSING_NAME_RE = re.compile(
    r"^[(（]\s*(?:记者|記者|文|reporter)?[\s/:：]*(?P<name>[^()（）\s][^()（）]{0,20}?)\s*[)）]$"
    r"|^.*?(?:记者|記者|reporter)[\s:：]+(?P<name2>[^\s。，,.!?！？][^。，,.!?！？]{0,20})$",
    re.IGNORECASE,
)
OTHER_ROLE_RE = re.compile(
    r"\s*(?:通讯员|通訊員|摄影|攝影|编辑|編輯|correspondent|photographer|editor)", re.I
)
# Short words left at the very end by buttons and widgets ("微信", "微博", "知道了", "EN").
TRAILING_SCRAP_RE = re.compile(r"^[^，。；！？,.;!?]{1,8}$")
# "- headline2022-11-25", "· headline (2022-11-25)", "headline 11-25": one line of a dated headline list.
DATED_HEADLINE_RE = re.compile(
    r"^[-·•*]?\s*\S.{2,80}?\s*[\[(（]?(?:(?:19|20)\d{2}[-./年][01]?\d[-./月][0-3]?\d日?|[01]\d-[0-3]\d)[\])）]?$"
)
# Teaser lines are cut short by the portal: "...", "... -", a single "…". A paragraph ending in the
# writer's own "……" is not a teaser, and teasers are short.
TEASER_RE = re.compile(r"^.{0,150}?(?:\.\.\.|(?<!…)…|⋯)\s*-?\s*$")
BARE_DASH_RE = re.compile(r"^[-—–·•]+$")
# Labels of a byline or credit line; several may share a line: "Author:Zhejiang Daily Time:2022.06.15",
# "2022年05月18日 16:20　来源：临夏州教育局　作者：马珺".
META_LABELS = (
    r"author|source|time|date|editors?|作者|来源|來源|时间|時間|发布时间|發布時間|发布日期|發布日期|日期"
    r"|浏览次数|瀏覽次數|点击数|點擊數|责任编辑|責任編輯|编辑|編輯"
)
LABEL_START_RE = re.compile(rf"^(?<![a-z])(?:{META_LABELS})\s*[:：]", re.IGNORECASE)
LABEL_VALUE_RE = re.compile(
    rf"(?<![a-z])({META_LABELS})\s*[:：]\s*(.*?)\s*(?=(?<![a-z])(?:{META_LABELS})\s*[:：]|$)", re.IGNORECASE
)
SOURCE_LABELS = {"source", "来源", "來源"}
AUTHOR_LABELS = {"author", "作者"}
# A line holding nothing but a date and time: the page's date line, already read as metadata.
LEADING_DATE_RE = re.compile(
    r"^[(（\[]?(?:19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?[)）\]]?"
)
BYLINE_VALUE_MAX = 40
SENTENCE_END_RE = re.compile(r"[。！？!?]$|[a-z]\.$")
SENTENCE_RE = re.compile(r"[，。；！？]|\.\s+[A-Z]")
MIN_RUN = 3  # this many dated headlines or teaser lines in a row make a list, not a story
MAX_CREDIT_LEN = 120


# Every line pattern of the rules above, with the longest line the rules apply it to (None: any) and the
# characters a line it matches can end with ("": any; a line ends so or the pattern cannot match it, which
# spares the search on the story's own lines). A cleaned text still holding lines one of them matches (a
# single dated headline, a lone teaser, a credit line in the middle of the text) is where a portal's new
# template shows first. A teaser or dated headline is never longer than its pattern reaches.
LINE_PATTERNS: tuple[tuple[re.Pattern[str], int | None, str], ...] = (
    (END_MARKER_RE, None, ""),
    (RELATED_HEADING_RE, None, ""),
    (FOOTER_RE, MAX_FOOTER_LEN, ""),
    (KEYWORDS_RE, None, ""),
    (SHARE_RE, MAX_FOOTER_LEN, ""),
    (PROMO_RE, MAX_PROMO_LEN, ""),
    (CREDIT_LINE_RE, MAX_CREDIT_LEN, ""),
    (DATED_HEADLINE_RE, MAX_FOOTER_LEN, "0123456789日])）"),
    (TEASER_RE, MAX_FOOTER_LEN + 10, ".…⋯-\t "),
)


def boilerplate_lines(text: str) -> int:
    """How many lines of a cleaned text look like what the rules drop: a line one of their patterns
    matches, read alone, without the context (a run of them, a place after the story) that made the
    rules keep it."""
    return sum(1 for line in text.splitlines() if _looks_dropped(line))


def carries_boilerplate(text: str) -> bool:
    """Whether a cleaned text holds at least one such line: what extraction health counts per page
    (crawler.process.health), read only up to the first one."""
    return any(_looks_dropped(line) for line in text.splitlines())


def _looks_dropped(line: str) -> bool:
    size, last = len(line), line[-1:]
    return bool(size) and any(
        (longest is None or size <= longest) and (not ends or last in ends) and pattern.search(line)
        for pattern, longest, ends in LINE_PATTERNS
    )


@dataclass
class Cleaned:
    text: str
    removed: list[str] = field(default_factory=list)
    source_name: str | None = None
    author: str | None = None


def _cut_point(lines: list[str]) -> int:
    """Index of the first end marker or related-reading heading that follows some story text."""
    seen = 0
    for i, line in enumerate(lines):
        if seen >= 80 and (
            END_MARKER_RE.match(line)
            or RELATED_HEADING_RE.match(line)
            or (len(line) <= MAX_FOOTER_LEN and FOOTER_RE.search(line))
        ):
            return i
        seen += len(line)
    return len(lines)


def _runs(lines: list[str], pattern: re.Pattern[str], min_run: int) -> set[int]:
    """Indexes of lines that sit in a run of at least `min_run` consecutive matches."""
    out: set[int] = set()
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and pattern.search(lines[end]):
            end += 1
        if end - start >= min_run:
            out.update(range(start, end))
        start = max(end, start + 1)
    return out


def parse_byline(line: str) -> dict[str, str] | None:
    """The labelled values of a line made only of a date and/or `label: value` pairs; None for story text."""
    rest = LEADING_DATE_RE.sub("", line, count=1).strip()
    if not rest:
        return {} if rest != line else None
    if not LABEL_START_RE.match(rest):
        return None
    values = {label.lower(): value.strip(" )）") for label, value in LABEL_VALUE_RE.findall(rest)}
    # A byline's values are short names, outlets and dates; a sentence after a label is story text.
    if any(len(value) > BYLINE_VALUE_MAX or SENTENCE_RE.search(value) for value in values.values()):
        return None
    return values


def clean_text(text: str, title: str = "") -> Cleaned:
    """The story without its trailers, teaser lists, credit, share and keyword lines, or inline pinyin."""
    result = Cleaned(text="")
    lines = [ln.strip() for ln in strip_pinyin(text).splitlines()]
    lines = [ln for ln in lines if ln]
    cut = _cut_point(lines)
    result.removed.extend(lines[cut:])
    lines = lines[:cut]

    dropped = _runs(lines, DATED_HEADLINE_RE, MIN_RUN) | _runs(lines, TEASER_RE, 2)
    kept: list[str] = []
    seen_lines: set[str] = set()
    for i, line in enumerate(lines):
        if (
            i in dropped
            or BARE_DASH_RE.match(line)
            or KEYWORDS_RE.match(line)
            or not HAS_WORD_RE.search(line)
            or (len(line) >= MIN_REPEAT and line in seen_lines)
            or (len(line) <= MAX_PROMO_LEN and PROMO_RE.search(line))
            or (len(line) <= MAX_FOOTER_LEN and FOOTER_RE.search(line))
        ):
            result.removed.append(line)
            continue
        seen_lines.add(line)
        if i == 0 and title and line == title.strip():
            continue  # the headline is stored as the title, not repeated in the body
        byline = parse_byline(line) if len(line) <= MAX_CREDIT_LEN else None
        credit = len(line) <= MAX_CREDIT_LEN and CREDIT_LINE_RE.match(line) and not SENTENCE_RE.search(line)
        if byline is not None or credit:
            for label, value in (byline or {}).items():
                if label in SOURCE_LABELS and value:
                    result.source_name = result.source_name or value
                if label in AUTHOR_LABELS and value:
                    result.author = result.author or value
            result.removed.append(line)
            continue
        stripped = SHARE_RE.sub("", INLINE_EDITOR_RE.sub("", line)).strip()
        if stripped != line:
            result.removed.append(line)
        if stripped:
            kept.append(stripped)
    while len(kept) > 1 and (
        TRAILING_SCRAP_RE.match(kept[-1])
        or (
            len(kept[-1]) <= MAX_CLOSING_CREDIT
            and CLOSING_CREDIT_RE.search(kept[-1])
            and not SENTENCE_END_RE.search(kept[-1])
        )
    ):
        line = kept.pop()
        result.removed.append(line)
        if (name := CLOSING_NAME_RE.match(line)) and not result.author:
            result.author = OTHER_ROLE_RE.split(name["name"] or name["name2"])[0].strip()
    result.text = "\n".join(kept)
    return result


class CleanPipeline(Stage):
    """Clean the extracted text; keep its search form (simplified script, folded widths) beside it."""

    def process(self, item: PageItem) -> PageItem:
        item.title = strip_pinyin(item.title)
        cleaned = clean_text(item.raw_text, item.title)
        if len(cleaned.text) < 50:
            raise Rejected(
                Reason.NO_TEXT, f"only {len(cleaned.text)} characters left after cleaning {item.url}"
            )
        item.text = cleaned.text
        item.search_text = search_form(cleaned.text)
        item.removed = cleaned.removed
        item.source_name = item.source_name or cleaned.source_name
        item.author = item.author or cleaned.author
        logger.debug("cleaned %s: %d lines removed", item.url, len(cleaned.removed))
        return item
