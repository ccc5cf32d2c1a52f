"""A generated loopback web of Chinese regional news for benchmarks: N articles of 30-100 KB each.

Shaped like the portals pairchive crawls: 1,500-6,000 characters of story in a page that is mostly chrome
(navigation, sidebars of headline links, scripts and styles, footer), as on real Chinese news pages.
Deterministic (seeded); pages are built on request from a fixed pool of sentences, so 10,000 pages cost
no memory up front. One in ten stories is a school pairing; listing pages hold 20 links and a next link.
"""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PER_LISTING = 20
SUBJECTS = [
    "湖里区",
    "临夏州",
    "闽宁镇",
    "东乡县",
    "漳州市",
    "安庆市",
    "遂宁市",
    "丽水市",
    "思明区",
    "海沧区",
]
SCHOOL_WORDS = ["实验小学", "第一中学", "中心幼儿园", "第二小学", "职业中学"]
PAIRING = "{a}{s1}与{b}{s2}签订结对帮扶协议，两校将开展手拉手共建活动，教师互派跟岗学习，学生结对交流。"
FILLER = [
    "{a}召开全区经济工作会议，部署明年重点任务，推动高质量发展。",
    "近日，{a}组织开展安全生产大检查，排查整治各类隐患一百余处。",
    "{a}持续优化营商环境，新增市场主体同比增长百分之十二。",
    "据了解，{a}今年以来累计完成固定资产投资八十余亿元，重点项目建设有序推进。",
    "{a}卫生健康部门开展义诊活动，为群众提供健康咨询和免费体检服务。",
    "{b}文化馆举办非遗展演，吸引市民游客前来观看，现场气氛热烈。",
    "{a}教育局表示，将进一步加强教师队伍建设，提升课堂教学质量。",
    "{b}交通部门提醒，节假日期间出行车辆增多，请广大驾驶人注意安全。",
]


def article_html(i: int) -> bytes:
    rng = random.Random(i)
    a, b = rng.sample(SUBJECTS, 2)
    pairing = i % 10 == 0
    target = rng.randint(30_000, 100_000)
    story_chars = rng.randint(1_500, 6_000)
    paras: list[str] = []
    size = 0
    while size < story_chars:
        sentences = [rng.choice(FILLER).format(a=a, b=b) for _ in range(rng.randint(3, 7))]
        if pairing and rng.random() < 0.3:
            sentences.insert(
                0, PAIRING.format(a=a, b=b, s1=rng.choice(SCHOOL_WORDS), s2=rng.choice(SCHOOL_WORDS))
            )
        para = f"<p>{''.join(sentences)}（第{i}篇第{len(paras)}段）</p>"
        paras.append(para)
        size += len(para) - 7
    title = f"{a}与{b}学校结对帮扶签约（{i}）" if pairing else f"{a}新闻动态（{i}）"
    nav = "".join(f'<a href="/c/{k}.html">频道{k}</a>' for k in range(15))
    chrome: list[str] = []
    chrome_size = 0
    k = 0
    while chrome_size < target - 3 * size - 3000:  # headline lists and scripts make up the rest
        block = (
            f'<li><a href="/a/{(i + k) * 7 % 100000}.html">{rng.choice(FILLER).format(a=a, b=b)[:18]}</a>'
            f'<span class="date">2022-{k % 12 + 1:02d}-{k % 28 + 1:02d}</span></li>'
            if k % 5
            else f"<script>var ad{k}={{slot:'{k}',w:300,h:250,src:'/ad/{k}.js'}};</script>"
        )
        chrome.append(block)
        chrome_size += len(block.encode())
        k += 1
    day = f"2022-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
    html = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_示例新闻网</title>'
        f'<meta name="PubDate" content="{day} 10:00"></head><body>'
        f'<div class="nav">{nav}</div><div class="main"><div class="article"><h1>{title}</h1>'
        f'<div class="info">发布时间：{day} 10:00　来源：示例新闻网</div>'
        f'<div class="content">{"".join(paras)}<p>（责任编辑：王敏）</p></div></div>'
        f'<div class="side"><h3>热点新闻</h3><ul>{"".join(chrome)}</ul></div></div>'
        f'<div class="footer">版权所有 示例新闻网</div></body></html>'
    )
    return html.encode("utf-8")


def listing_html(n: int, pages: int) -> bytes:
    start = (n - 1) * PER_LISTING
    links = "".join(
        f'<li><a href="/a/{i}.html">文章{i}</a></li>' for i in range(start, min(start + PER_LISTING, pages))
    )
    more = f'<a href="/list/{n + 1}.html">下一页</a>' if start + PER_LISTING < pages else ""
    return f'<html><head><meta charset="utf-8"></head><body><ul>{links}</ul>{more}</body></html>'.encode()


class SyntheticWeb:
    """Serves `pages` generated articles on 127.0.0.1; `base_url` once started."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path
                body: bytes | None = None
                if path.startswith("/a/") and path.endswith(".html"):
                    i = int(path[3:-5])
                    body = article_html(i) if i < web.pages else None
                elif path.startswith("/list/") and path.endswith(".html"):
                    body = listing_html(int(path[6:-5]), web.pages)
                elif path == "/robots.txt":
                    body = b"User-agent: *\nDisallow:\n"
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                body = body or b"not found"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SyntheticWeb:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
