"""The reading room's routes: HTML pages and their JSON twins under /api/, read-only, thin over
storage.search and storage.queries.

These URLs are a public contract, kept stable: `/` and `/search?q=...`, `/stories/ID`, `/stories/ID/raw`,
`/sources`, `/timeline`, `/export.jsonl` and `/export.csv`, `/api/search`, `/api/stories/ID`,
`/api/sources`, `/api/timeline`.

The endpoints are plain functions: Starlette runs each in its thread pool, with a session of its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.vocabulary.errors import first_line
from crawler.web import i18n
from crawler.web.params import MAX_HITS, BadParameter, SearchParams, record_id
from crawler.web.shaping import citation, marked, paragraphs, revision_record, revision_views
from storage.db import Database, open_for_reading
from storage.errors import StorageError
from storage.exports import CSV_COLUMNS, csv_lines, csv_row
from storage.fulltext import QueryError, highlight_terms, parse
from storage.models import Source
from storage.pairings import facts_of, relations
from storage.places import gazetteer
from storage.queries import (
    article_record,
    fetch_times,
    get_article,
    iter_records,
    local_published,
    sightings_of,
    story_merges,
)
from storage.reading import newest_articles, revisions_of, source_rows
from storage.redact import scrub
from storage.search import count, months, search
from storage.warc import WarcError, read_exchange

log = logging.getLogger(__name__)

PLACE_RELATIONS = 1000  # relations listed on a place's page, newest first
COUNT_CAP = 500  # matches counted exactly up to this; more is shown as "more than 500"
EXPORT_BATCH = 200

# Nothing from another host, no inline script or style, no framing, no plugins, forms post only here.
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The raw capture is the portal's page: never live on the archive's origin.
RAW_CSP = "sandbox; default-src 'none'"


class Shell:
    """Around every request: the security headers above on every response (one that set its own CSP
    keeps it), and an error nothing else handled answered with a 500 page of one line and logged once,
    its traceback in the server's log only."""

    def __init__(self, app: ASGIApp, pages: Callable[[Request, int, str], Response]) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            request = Request(scope)
            log.exception("%s: unexpected error", request.url.path)
            if started:  # a download cut short: the client sees it end early
                return
            line = f"an unexpected error ({type(exc).__name__}: {scrub(first_line(exc))}); it is logged"
            response = await run_in_threadpool(self.pages, request, 500, line)
            await response(scope, receive, with_headers)


class ReadingRoom:
    """The pages over one archive: its database opened read-only, its WARC directory."""

    def __init__(self, db_url: str, warc_dir: Path) -> None:
        self.database: Database = open_for_reading(db_url)
        self.warc_dir = warc_dir
        self.templates = Environment(
            loader=PackageLoader("crawler.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates ship in the package: no stat() of each on every page
        )
        self.templates.tests["http_url"] = is_http
        self.templates.filters["moment"] = moment

    # -- the shell of every page ------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        ui = interface_language(request)
        query = dict(request.query_params)
        query["ui"] = "en" if ui == "zh" else "zh"
        context.update(
            t=i18n.translator(ui),
            ui=ui,
            html_lang=i18n.HTML_LANG[ui],
            switch_label=i18n.SWITCH_LABEL[ui],
            switch_url=request.url.path + "?" + urlencode(query),
            path=request.url.path,
        )
        body = self.templates.get_template(template).render(**context)
        response = HTMLResponse(body, status_code=status)
        chosen = request.query_params.get("ui")
        if chosen in i18n.LANGUAGES:
            response.set_cookie("ui", chosen, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    # -- search -----------------------------------------------------------------------------------

    def search_page(self, request: Request) -> Response:
        params = SearchParams.of(request.query_params)
        with self.database.sessions() as session:
            titles = dict(session.execute(select(Source.name, Source.title).order_by(Source.name)).all())
            sources = list(titles)
            if not params.q:
                newest = [
                    (article, name, local_published(article))
                    for article, name in newest_articles(
                        session, params.per_page, source=params.source or None, pairing_only=not params.all
                    )
                ]
                return self.render(
                    request, "home.html", params=params, sources=sources, titles=titles, newest=newest
                )
            try:
                found = self._found(session, params)
            except QueryError as exc:
                return self.render(
                    request,
                    "search.html",
                    status=400,
                    params=params,
                    sources=sources,
                    titles=titles,
                    error=str(exc),
                )
        return self.render(
            request, "search.html", params=params, sources=sources, titles=titles, error=None, **found
        )

    def _found(self, session: Any, params: SearchParams) -> dict[str, Any]:
        hits = search(
            session,
            params.q,
            **params.filters(),
            sort=params.sort,
            limit=params.per_page + 1,
            offset=params.offset,
        )
        if len(hits) <= params.per_page and (hits or params.offset == 0):
            # the last page: what it shows and what came before are all there is (no second query)
            total = params.offset + len(hits)
        else:
            total = count(session, params.q, **params.filters(), cap=COUNT_CAP)
        more = len(hits) > params.per_page and params.offset + params.per_page < MAX_HITS
        hits = hits[: params.per_page]
        marks = highlight_terms(parse(params.q))
        return {
            "hits": hits,
            "snippets": {hit.id: marked(hit.snippet, marks) for hit in hits},
            "total": min(total, COUNT_CAP),
            "capped": total > COUNT_CAP,
            "next_query": params.query_string(page=params.page + 1) if more else None,
            "prev_query": params.query_string(page=params.page - 1) if params.page > 1 else None,
        }

    def api_search(self, request: Request) -> Response:
        params = SearchParams.of(request.query_params)
        if not params.q:
            raise BadParameter('q: a query is needed (words, "phrases", OR, -word)')
        with self.database.sessions() as session:
            found = self._found(session, params)
        return JSONResponse(
            {
                "query": params.echo(),
                "count": found["total"],
                "count_capped": found["capped"],
                "hits": [dataclasses.asdict(hit) for hit in found["hits"]],
                "next": f"/api/search?{found['next_query']}" if found["next_query"] else None,
            }
        )

    # -- one story --------------------------------------------------------------------------------

    def _story(self, session: Any, article_id: int) -> dict[str, Any]:
        article = get_article(session, article_id)
        if article is None:
            raise HTTPException(404, f"no stored story with id {article_id}")
        record = article_record(
            article,
            sightings_of(session, [article.story_id])[article.story_id],
            fetch_times(session, [article.id]).get(article.id),
            facts_of(session, [article.id])[article.id],
        )
        merges = [
            {
                "story_id": m.story_id,
                "merged_at": m.merged_at.isoformat(),
                "article_id": m.article_id,
                "similarity": m.similarity,
            }
            for m in story_merges(session, article.story_id)
        ]
        return {
            "record": record,
            "portal_title": article.source.title,
            "revisions": revision_views(revisions_of(session, article.id)),
            "merges": merges,
        }

    def story_page(self, request: Request) -> Response:
        article_id = record_id(request.path_params["article_id"])
        with self.database.sessions() as session:
            story = self._story(session, article_id)
        link = str(request.url_for("story", article_id=article_id))
        record = story["record"]
        return self.render(
            request,
            "story.html",
            **story,
            paragraphs=paragraphs(record["text"]),
            link=link,
            citation=citation(record, story["portal_title"], link),
        )

    def api_story(self, request: Request) -> Response:
        article_id = record_id(request.path_params["article_id"])
        with self.database.sessions() as session:
            story = self._story(session, article_id)
        record = dict(story["record"])
        record["revisions"] = [revision_record(v) for v in story["revisions"]]
        record["merges"] = story["merges"]
        record["links"] = {
            "page": f"/stories/{article_id}",
            "raw": f"/stories/{article_id}/raw" if record["capture"] else None,
        }
        return JSONResponse(record)

    def raw_capture(self, request: Request) -> Response:
        article_id = record_id(request.path_params["article_id"])
        with self.database.sessions() as session:
            article = get_article(session, article_id)
            if article is None:
                raise HTTPException(404, f"no stored story with id {article_id}")
            capture = article.capture
            if capture is None:
                raise HTTPException(
                    404, f"article {article_id} has no raw capture (fetched before raw captures were kept)"
                )
            warc_file, offset, length = capture.warc_file, capture.offset, capture.length
        try:
            content = read_exchange(self.warc_dir, warc_file, offset, length).content
        except WarcError as exc:
            raise HTTPException(404, f"article {article_id}: {exc}") from None
        return Response(
            content,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="pairchive-{article_id}.html"',
                "Content-Security-Policy": RAW_CSP,
            },
        )

    # -- sources, timeline ------------------------------------------------------------------------

    def sources_page(self, request: Request) -> Response:
        with self.database.sessions() as session:
            rows = source_rows(session)
        return self.render(request, "sources.html", rows=rows)

    def api_sources(self, request: Request) -> Response:
        with self.database.sessions() as session:
            rows = source_rows(session)
        return JSONResponse([_source_record(row) for row in rows])

    def _months(self, request: Request) -> tuple[SearchParams, list[tuple[str | None, int]]]:
        params = SearchParams.of(request.query_params)
        filters = params.filters()
        del filters["since"], filters["until"]
        with self.database.sessions() as session:
            return params, months(session, params.q or None, **filters)

    def timeline_page(self, request: Request) -> Response:
        try:
            params, counted = self._months(request)
        except QueryError as exc:
            return self.render(
                request, "timeline.html", status=400, params=SearchParams(), error=str(exc), bars=[]
            )
        return self.render(request, "timeline.html", params=params, error=None, **_bars(counted))

    def api_timeline(self, request: Request) -> Response:
        params, counted = self._months(request)
        return JSONResponse(
            {"query": params.echo(), "months": [{"month": m, "stories": n} for m, n in counted]}
        )

    # -- places: who pairs with a place ----------------------------------------------------------

    def _place(self, session: Any, key: str) -> dict[str, Any]:
        """A division by its six-digit code (its relations and those of the places inside it), or a place
        as written (an unresolved place, a town: relations whose sides hold the name)."""
        key = key.strip()
        if not key or len(key) > 100:
            raise BadParameter("place: a division code (350206) or a place name of at most 100 characters")
        places = gazetteer()
        division = places.by_code.get(key) if key.isdigit() else None
        if key.isdigit() and division is None:
            raise HTTPException(404, f"no division with code {key} in the gazetteer")
        if division is not None:
            rows = relations(session, codes=[division.code], limit=PLACE_RELATIONS)
            chain = [{"code": d.code, "name": d.name, "level": d.level} for d in places.chain(division)]
        else:
            rows = relations(session, place=key, limit=PLACE_RELATIONS)
            chain = []
        return {
            "place": {"key": key, "division": chain[-1] if chain else None, "chain": chain},
            "relations": [dataclasses.asdict(r) for r in rows],
            "capped": len(rows) == PLACE_RELATIONS,
        }

    def place_page(self, request: Request) -> Response:
        with self.database.sessions() as session:
            found = self._place(session, request.path_params["key"])
        return self.render(request, "place.html", **found)

    def api_place(self, request: Request) -> Response:
        with self.database.sessions() as session:
            return JSONResponse(self._place(session, request.path_params["key"]))

    # -- exports ----------------------------------------------------------------------------------

    def _records(self, params: SearchParams) -> Iterator[dict[str, Any]]:
        """The search's stories as export records (every stored story without a query), a batch at a time."""
        with self.database.sessions() as session:
            if not params.q:
                yield from iter_records(session, source=params.source or None)
                return
            hits = search(session, params.q, **params.filters(), sort=params.sort, limit=MAX_HITS)
            for start in range(0, len(hits), EXPORT_BATCH):
                batch = [get_article(session, hit.id) for hit in hits[start : start + EXPORT_BATCH]]
                articles = [a for a in batch if a is not None]
                seen = sightings_of(session, sorted({a.story_id for a in articles}))
                fetched = fetch_times(session, [a.id for a in articles])
                facts = facts_of(session, [a.id for a in articles])
                for article in articles:
                    yield article_record(
                        article, seen[article.story_id], fetched.get(article.id), facts[article.id]
                    )
                session.expunge_all()

    def _checked(self, request: Request) -> SearchParams:
        params = SearchParams.of(request.query_params)
        if params.q:
            parse(params.q)  # a bad query is a 400 before the download starts
        return params

    def export_jsonl(self, request: Request) -> Response:
        params = self._checked(request)
        lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in self._records(params))
        return StreamingResponse(
            lines,
            media_type="application/x-ndjson; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pairchive-search.jsonl"'},
        )

    def export_csv(self, request: Request) -> Response:
        params = self._checked(request)
        raw = request.query_params.get("raw_csv") == "1"
        rows = (csv_row(record) for record in self._records(params))
        return StreamingResponse(
            csv_lines(CSV_COLUMNS, rows, raw=raw),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pairchive-search.csv"'},
        )

    # -- errors -----------------------------------------------------------------------------------

    def error_page(self, request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return self.render(request, "error.html", status=status, status_code=status, message=message)


def is_http(url: str | None) -> bool:
    """Whether a stored URL may be a link target: http or https only (a `javascript:` or `data:` URL from a
    hostile page is shown as text, never made a link)."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def moment(value: str | datetime | None) -> str:
    """A stored time as a reader reads it: `2022-06-16 10:30:00 UTC+08:00` (seconds, no fraction)."""
    if value is None:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    offset = when.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{when:%Y-%m-%d %H:%M:%S} {zone}".strip().replace("UTC+00:00", "UTC")


def interface_language(request: Request) -> str:
    chosen = request.query_params.get("ui") or request.cookies.get("ui") or i18n.DEFAULT
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT


def _source_record(row: Any) -> dict[str, Any]:
    run = row.last_run
    return {
        "name": row.name,
        "title": row.title,
        "stories": row.stories,
        "pairing": row.pairing,
        "newest_published": row.newest_published.isoformat() if row.newest_published else None,
        "last_run": None
        if run is None
        else {
            "id": run.id,
            "status": run.status,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "error": run.error,
        },
        "last_ok": row.last_ok.isoformat() if row.last_ok else None,
        "failures_in_a_row": row.failures_in_a_row,
    }


CHART_WIDTH, CHART_HEIGHT = 800, 200
YEAR_LABEL_WIDTH = 36  # chart units a "2026" label needs


def _month_range(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` ("YYYY-MM"), both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _bars(counted: list[tuple[str | None, int]]) -> dict[str, Any]:
    """The timeline as SVG bars (x, y, width, height in the chart's own units) and year labels. Months
    without stories keep their place on the axis (no bar), so the spacing reads as time."""
    stories = {m: n for m, n in counted if m is not None}
    undated = sum(n for m, n in counted if m is None)
    if not stories:
        return {"bars": [], "years": [], "undated": undated, "rows": counted, "peak": 0}
    peak = max(stories.values())
    axis = _month_range(min(stories), max(stories))
    step = CHART_WIDTH / len(axis)
    # one label a year, or one every few years where a year is narrower than its label
    every = max(1, math.ceil(YEAR_LABEL_WIDTH / (step * 12)))
    bars, years = [], []
    for i, month in enumerate(axis):
        if (i == 0 or month.endswith("-01")) and (int(month[:4]) - int(axis[0][:4])) % every == 0:
            years.append({"x": round(i * step, 2), "label": month[:4]})
        n = stories.get(month, 0)
        if not n:
            continue
        height = max(1.0, CHART_HEIGHT * n / peak)
        bars.append(
            {
                "month": month,
                "stories": n,
                "x": round(i * step, 2),
                "y": round(CHART_HEIGHT - height, 2),
                "width": round(max(step * 0.8, 0.5), 2),
                "height": round(height, 2),
            }
        )
    return {"bars": bars, "years": years, "undated": undated, "rows": counted, "peak": peak}


def create_app(db_url: str, warc_dir: Path) -> Starlette:
    """The reading room over the archive at `db_url` (opened read-only now: a missing or outdated
    archive raises StorageError here, before anything listens)."""
    room = ReadingRoom(db_url, warc_dir)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return await _in_thread(room.error_page, request, exc.status_code, exc.detail)

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        return await _in_thread(room.error_page, request, 400, str(exc))

    async def unreadable(request: Request, exc: Exception) -> Response:
        log.error("%s: %s", request.url.path, exc)
        return await _in_thread(room.error_page, request, 503, str(exc))

    async def database_error(request: Request, exc: Exception) -> Response:
        line = scrub(first_line(exc))
        log.error("%s: the database refused a read: %s", request.url.path, line)
        return await _in_thread(room.error_page, request, 503, f"the database cannot be read: {line}")

    static = Path(__file__).with_name("static")
    routes = [
        Route("/", room.search_page, name="home"),
        Route("/search", room.search_page, name="search"),
        Route("/stories/{article_id}", room.story_page, name="story"),
        Route("/stories/{article_id}/raw", room.raw_capture, name="raw"),
        Route("/sources", room.sources_page, name="sources"),
        Route("/places/{key}", room.place_page, name="place"),
        Route("/api/places/{key}", room.api_place, name="api_place"),
        Route("/timeline", room.timeline_page, name="timeline"),
        Route("/export.jsonl", room.export_jsonl, name="export_jsonl"),
        Route("/export.csv", room.export_csv, name="export_csv"),
        Route("/api/search", room.api_search, name="api_search"),
        Route("/api/stories/{article_id}", room.api_story, name="api_story"),
        Route("/api/sources", room.api_sources, name="api_sources"),
        Route("/api/timeline", room.api_timeline, name="api_timeline"),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
        # browsers ask for it whatever the page links: the page's own icon, not a 404 in the log
        Route("/favicon.ico", lambda request: RedirectResponse("/static/favicon.svg", 301)),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: not_found,
            BadParameter: bad_parameter,
            QueryError: bad_parameter,
            StorageError: unreadable,
            DBAPIError: database_error,
        },
    )
    app.add_middleware(Shell, pages=room.error_page)
    return app


async def _in_thread(fn: Any, *args: Any) -> Response:
    response: Response = await run_in_threadpool(fn, *args)
    return response
