"""Class 15, text arguments: arguments that are not valid UTF-8 (undecodable bytes in a query, a source,
a language, a file name; Python hands them over as lone surrogates \\udcXX), and queries that start
with `-`, which go after `--`.

Argument inputs are command lines split with shlex (a surrogate stands for the byte the shell passed).
The portal `/c15/list.html` has two pairing stories, one of them about a hospital (医院), so that an
exclusion query has something to exclude.
"""

from __future__ import annotations

from tests.hostile import Case, HostileHandler, Route

UNDECODABLE = (
    "search caf\udcff",
    "search 结对\udcff",
    "search 结对 --source a\udc80",
    "search 结对 --lang \udce9n",
    "export --source \udcfe",
    "stories --source \udcff",
    "crawl --source \udcfe",
    "extract page\udcff.html",
)
# Queries that start with a dash, after `--`, and the stories each finds by path (None: the query has
# nothing to search for, one error line).
DASH_QUERIES: dict[str, set[str] | None] = {
    "-医院 结对": {"a/school.html"},
    "结对 -医院": {"a/school.html"},
    "-学校 结对": set(),
    '-"县人民医院" 结对': {"a/school.html"},
    "-学校": None,
    "--json": None,
    "-": None,
}
# A dash before a group: NOT before parentheses, which the query language refuses in one line.
DASH_BEFORE_A_GROUP = "-(医院 OR 学校) 结对"
# The same without `--`: an option click does not know, a usage error.
DASH_WITHOUT_SEPARATOR = ("search -医院", "search --no-such-thing")

SCHOOL = (
    "城区学校与乡村学校结对帮扶，两地学校教师互派交流，共建教育共同体。结对学校组织学生手拉手活动，互赠书信和图书。"
    "帮扶学校派出骨干教师支教一年，指导课堂教学改革，两校共享优质课程资源，开展同步课堂和联合教研。"
)
HOSPITAL = (
    "县实验小学与山区小学结对帮扶，两校教师结对互助，开展送教下乡和同课异构活动。结对学校还邀请县人民医院的医生"
    "走进课堂，为两校学生开展健康教育讲座，医院与学校共建健康校园。两校学生手拉手结对，互赠图书和学习用品。"
)


def _page(title: str, text: str) -> Route:
    def route(handler: HostileHandler) -> None:
        body = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        body += "".join(f"<p>{part}。</p>" for part in text.split("。") if part) + "</article></body></html>"
        handler.send_body(body.encode())

    return route


def _listing(handler: HostileHandler) -> None:
    handler.send_body(
        b'<html><body><a href="/c15/a/school.html">1</a> <a href="/c15/a/hospital.html">2</a></body></html>'
    )


CASES = [
    Case(
        klass=15,
        name="undecodable-arguments",
        does="a query, a source, a language and a file name with bytes that are not UTF-8",
        inputs=UNDECODABLE,
    ),
    Case(
        klass=15,
        name="queries-starting-with-a-dash",
        does="search queries that start with - (an exclusion, a word like --json) given after --",
        routes={
            "list.html": _listing,
            "a/school.html": _page("两地学校结对帮扶", SCHOOL),
            "a/hospital.html": _page("医院专家走进结对学校", HOSPITAL),
        },
        inputs=(*DASH_QUERIES, DASH_BEFORE_A_GROUP),
    ),
    Case(
        klass=15,
        name="dash-queries-without-the-separator",
        does="the same queries without --: an option nobody declared",
        inputs=DASH_WITHOUT_SEPARATOR,
    ),
]
