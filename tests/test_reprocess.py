"""`pairchive reprocess` over the raw captures of a real crawl of a sample portal, on both databases.

An older gate is simulated in the database: a pairing story it rejected (its article taken back out and a
`not_pairing` rejection left in its place, pointing at the page's capture) and a hospital story it let in
(stored from its capture as a crawl stores a page). The reprocess itself reads the real WARC files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crawler.runner.rejudge import SourceInfo, rebuild
from crawler.sampleweb import SampleWeb
from pipelines.dedup import content_hash
from pipelines.page import process_page, stage_versions
from pipelines.store import article_values
from storage.archive import insert_article
from storage.db import close_all, open_for_writing
from storage.models import (
    Article,
    ArticleRevision,
    Capture,
    CrawlRun,
    Lease,
    PairingEvidence,
    PairingRelation,
    Rejection,
    ReprocessedPage,
    Sighting,
    Source,
    Story,
    utcnow,
)
from storage.reprocess import Work
from tests.cli import run_cli
from tests.crawls import WAIT, crawl, demo_sources, pairchive, started

PAIRING = "手拉手"  # the title of linxia-news' school pairing story
HOSPITAL = "医院"  # the title of its hospital pairing story: not about schools


def _crawled(db_url: str, sample_web: SampleWeb, tmp_path: Path) -> Path:
    """A real crawl of one sample portal into `db_url`; returns its data directory (the WARC files)."""
    data = tmp_path / "data"
    result = crawl(
        demo_sources(sample_web, tmp_path), db_url, "--source", "linxia-news", "--data-dir", str(data)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return data


def _reprocess(db_url: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    close_all()  # the subprocess migrates and writes; this process's pooled connections must not hold locks
    return pairchive("reprocess", "--db", db_url, "--data-dir", str(data), *args)


def _report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in result.stderr and result.stdout, result.stderr[-3000:]
    return dict(json.loads(result.stdout))


def _reject_as_an_older_gate(db_url: str, title: str) -> tuple[str, int]:
    """Take a stored story back out, leaving the `not_pairing` rejection an older gate would have left;
    returns its URL and capture id."""
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        article = s.scalars(sa.select(Article).where(Article.title.contains(title))).one()
        url, capture_id, story_id, article_id = article.url, article.capture_id, article.story_id, article.id
        assert capture_id is not None
        s.add(
            Rejection(
                run_id=article.run_id, url=article.fetched_url, reason="not_pairing", title=article.title,
                detail="an older gate's verdict", capture_id=capture_id,
            )
        )  # fmt: skip
        s.execute(sa.delete(Sighting).where(Sighting.article_id == article_id))
        if s.get_bind().dialect.name == "sqlite":
            s.execute(sa.text("DELETE FROM articles_fts WHERE rowid = :id"), {"id": article_id})
        s.execute(sa.delete(Article).where(Article.id == article_id))
        s.execute(sa.delete(Story).where(Story.id == story_id))
    return url, capture_id


def _store_as_an_older_gate(db_url: str, data: Path, title: str) -> int:
    """Store a rejected page from its capture as a crawl stores a page, as an older gate that let it in
    would have; returns the article id."""
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        rejection = s.scalars(sa.select(Rejection).where(Rejection.title.contains(title))).one()
        capture = s.get(Capture, rejection.capture_id)
        run = s.get(CrawlRun, rejection.run_id)
        assert capture is not None and run is not None
        source = s.get(Source, run.source_id)
        assert source is not None
        work = Work(capture.id, capture.url, 200, capture.fetched_at, capture.warc_file, capture.offset,
                    capture.length, None, "not_pairing")  # fmt: skip
        item = process_page(
            rebuild(work, SourceInfo.of(source.id, source.name, source.config), data / "warc", None)
        )
        item.is_pairing, item.run_id = True, run.id
        values = {**article_values(item), "stage_versions": {"relevance": "an-older-gate"}}
        article_id = insert_article(s, values, keys=item.minhash_keys)
        s.delete(rejection)
    assert article_id is not None
    return article_id


def _state(db_url: str) -> dict[str, Any]:
    """What a reprocess could change, for comparing before and after."""
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        state = {
            "articles": s.execute(
                sa.select(
                    Article.id, Article.url, Article.content_hash, Article.is_pairing, Article.flag_reason
                ).order_by(Article.id)
            ).all(),
            "revisions": s.execute(sa.select(ArticleRevision.id, ArticleRevision.made_by)).all(),
            "sightings": s.execute(sa.select(Sighting.url, Sighting.story_id).order_by(Sighting.url)).all(),
            "runs": s.execute(sa.select(CrawlRun.id, CrawlRun.status).order_by(CrawlRun.id)).all(),
            "rejections": s.scalar(sa.select(sa.func.count()).select_from(Rejection)),
            "ledger": s.scalar(sa.select(sa.func.count()).select_from(ReprocessedPage)),
        }
    close_all()
    return state


def test_a_crawl_records_the_stage_versions_of_every_article_and_revision(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    _crawled(db_url, sample_web, tmp_path)
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.scalars(sa.select(Article)).one()
        revision = s.scalars(sa.select(ArticleRevision)).one()
        assert article.stage_versions == revision.stage_versions == stage_versions()
        assert revision.made_by == "crawl" and article.flag_reason is None
    close_all()


def test_a_rejected_page_the_gate_now_accepts_becomes_a_story_with_its_capture(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    url, capture_id = _reject_as_an_older_gate(db_url, PAIRING)
    before = _state(db_url)

    dry = _report(_reprocess(db_url, data, "--json"))
    assert dry["applied"] is False and dry["counts"]["new_story"] == 1
    assert [(c["kind"], c["url"]) for c in dry["changes"]] == [("new_story", url)]
    assert _state(db_url) == before  # a dry run changes nothing

    applied = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert applied["counts"]["new_story"] == 1 and list(applied["runs"]) == ["linxia-news"]
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.scalars(sa.select(Article).where(Article.url == url)).one()
        assert article.capture_id == capture_id and article.is_pairing
        assert article.stage_versions == stage_versions()
        run = s.get(CrawlRun, article.run_id)
        assert run is not None and (run.trigger, run.status) == ("reprocess", "ok")
        assert run.id == applied["runs"]["linxia-news"] and run.counts["new_story"] == 1
        revision = s.scalars(sa.select(ArticleRevision).where(ArticleRevision.article_id == article.id)).one()
        assert (revision.made_by, revision.capture_id) == ("reprocess", capture_id)
        assert s.scalars(sa.select(Sighting.url).where(Sighting.article_id == article.id)).all() == [url]
        # the rejection an older gate left stays: nothing is deleted
        assert s.scalar(sa.select(sa.func.count()).where(Rejection.capture_id == capture_id)) == 1
    close_all()
    search = run_cli("search", PAIRING, "--db", db_url, "--json")
    assert url in search.stdout


def test_a_story_the_gate_now_rejects_is_flagged_with_the_reason_and_kept(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    article_id = _store_as_an_older_gate(db_url, data, HOSPITAL)

    applied = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert applied["counts"]["flagged"] == 1 and applied["counts"]["new_story"] == 0
    assert [(c["kind"], c["article_id"]) for c in applied["changes"]] == [("flagged", article_id)]
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.get(Article, article_id)
        assert article is not None and HOSPITAL in article.title
        assert article.flag_reason == "not_pairing" and article.flag_detail
        assert article.flag_run_id == applied["runs"]["linxia-news"] and article.flagged_at is not None
        assert article.is_pairing is False and article.stage_versions == stage_versions()
        ledger = s.scalars(sa.select(ReprocessedPage).where(ReprocessedPage.article_id == article_id)).one()
        assert ledger.outcome == "flagged"
    close_all()


def test_apply_twice_changes_nothing_the_second_time_and_says_so(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    _reject_as_an_older_gate(db_url, PAIRING)
    _store_as_an_older_gate(db_url, data, HOSPITAL)
    first = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert (first["counts"]["new_story"], first["counts"]["flagged"]) == (1, 1)
    after_first = _state(db_url)

    second = _reprocess(db_url, data, "--apply")
    assert second.returncode == 0, second.stderr
    assert "0 page(s)" in second.stdout and f"{first['counts']['pages']} already reprocessed" in second.stdout
    assert _state(db_url) == after_first
    dry = _report(_reprocess(db_url, data, "--json"))  # a dry run after it agrees: nothing left to change
    assert dry["changes"] == [] and dry["counts"]["already_reprocessed"] == first["counts"]["pages"]


def test_a_text_that_extracts_differently_becomes_a_revision_made_by_reprocess(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:  # what an older extraction made of the page: a trailer left in
        article = s.scalars(sa.select(Article)).one()
        fresh_text, capture_id = article.text, article.capture_id
        article.text = article.text + "\n相关阅读：更多新闻"
        article.content_hash = content_hash(article.text)
        article.stage_versions = None
    applied = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert applied["counts"]["revised"] == 1 and applied["counts"]["flagged"] == 0
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.scalars(sa.select(Article)).one()
        revisions = s.scalars(
            sa.select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(ArticleRevision.revision)
        ).all()
        assert [(r.revision, r.made_by) for r in revisions] == [(1, "crawl"), (2, "reprocess")]
        assert article.text == revisions[1].text == fresh_text and revisions[1].capture_id == capture_id
        assert revisions[1].stage_versions == article.stage_versions == stage_versions()
    close_all()


def test_relevance_stage_judges_the_stored_text_again_without_reading_the_warc_files(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    article_id = _store_as_an_older_gate(db_url, data, HOSPITAL)
    for path in data.rglob("*.warc.gz"):
        path.rename(path.with_suffix(".moved"))
    result = _reprocess(db_url, data, "--stage", "relevance", "--json")
    report = _report(result)
    # the stored stories are judged from their text; the rejected page (not_pairing) needs its capture
    changes = sorted((c["kind"], c["article_id"] or 0) for c in report["changes"])
    assert changes == [("flagged", article_id), ("unreadable", 0)]
    assert result.returncode == 1 and "could not be read" in result.stderr


def test_a_capture_whose_warc_file_is_gone_is_reported_and_the_rest_done(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    data = _crawled(db_url, sample_web, tmp_path)
    url, _ = _reject_as_an_older_gate(db_url, PAIRING)
    (warc,) = data.rglob("*.warc.gz")
    warc.rename(tmp_path / "elsewhere.warc.gz")
    result = _reprocess(db_url, data, "--apply")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "unreadable" in result.stdout and url in result.stdout
    (tmp_path / "elsewhere.warc.gz").rename(warc)
    again = _report(_reprocess(db_url, data, "--apply", "--json"))  # the file back: those pages are done now
    assert again["counts"]["new_story"] == 1 and again["counts"]["unreadable"] == 0


def test_an_unknown_source_is_one_line_and_exit_2(sample_web: SampleWeb, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    data = _crawled(db_url, sample_web, tmp_path)
    result = _reprocess(db_url, data, "--source", "nowhere")
    assert result.returncode == 2 and "no source nowhere" in result.stderr and "linxia-news" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _block_on_a_fifo(db_url: str, data: Path) -> tuple[Path, str]:
    """Point the second capture (in the order a reprocess goes through them) at a named pipe nothing
    writes to, so a reprocess that has done one page waits there; returns the pipe and the real file."""
    fifo = data / "warc" / "wait-here.warc.gz"
    os.mkfifo(fifo)
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        capture = s.scalars(sa.select(Capture).order_by(Capture.id).offset(1).limit(1)).one()
        real, capture.warc_file = capture.warc_file, fifo.name
    close_all()
    return fifo, real


def _restore(db_url: str, fifo: Path, real: str) -> None:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        s.execute(sa.update(Capture).where(Capture.warc_file == fifo.name).values(warc_file=real))
    close_all()


def _interrupted_at_the_fifo(db_url: str, data: Path, how: signal.Signals) -> str:
    """Start `reprocess --apply`, wait until its first page is done (its progress line: the second page,
    on the pipe, never ends), signal it; returns its stderr."""
    args = ("reprocess", "--apply", "--progress", "--db", db_url, "--data-dir", str(data))
    with started(*args) as (proc, lines):
        lines.wait_for(r"^linxia-news: 1/\d+ pages")
        os.kill(proc.pid, how)
        proc.wait(WAIT)
        if how == signal.SIGINT:
            lines.wait_for("^interrupted")
        return "\n".join(lines.seen)


def test_ctrl_c_stops_an_apply_with_one_line_and_the_next_apply_continues(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    data = _crawled(db_url, sample_web, tmp_path)
    _store_as_an_older_gate(db_url, data, HOSPITAL)
    url, _ = _reject_as_an_older_gate(db_url, PAIRING)
    fifo, real = _block_on_a_fifo(db_url, data)
    stderr = _interrupted_at_the_fifo(db_url, data, signal.SIGINT)
    assert "Traceback" not in stderr and "run it again to continue" in stderr
    said = [line for line in stderr.splitlines() if line]
    assert len(said) == 2 and said[1].startswith("interrupted: "), stderr  # progress, then one line
    state = _state(db_url)
    assert [status for _, status in state["runs"]] == ["ok", "interrupted"] and state["ledger"] == 1
    _restore(db_url, fifo, real)
    resumed = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert resumed["counts"]["already_reprocessed"] == 1 and resumed["counts"]["pages"] == 3
    state = _state(db_url)
    assert [status for _, status in state["runs"]] == ["ok", "interrupted", "ok"] and state["ledger"] == 4
    assert [flag for *_, flag in state["articles"]].count("not_pairing") == 1  # flagged once, in either run
    assert [a_url for _, a_url, *_ in state["articles"]].count(url) == 1


def test_a_killed_apply_is_closed_as_interrupted_and_continued_by_the_next(
    db_url: str, sample_web: SampleWeb, tmp_path: Path
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    _store_as_an_older_gate(db_url, data, HOSPITAL)
    url, _ = _reject_as_an_older_gate(db_url, PAIRING)
    fifo, real = _block_on_a_fifo(db_url, data)
    _interrupted_at_the_fifo(db_url, data, signal.SIGKILL)
    _restore(db_url, fifo, real)
    busy = _reprocess(db_url, data, "--apply")  # its lease is still held: a live reprocess would be there
    assert busy.returncode == 3 and "reprocess@" in busy.stderr
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:  # the lease's 120 seconds pass
        s.execute(sa.update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
        killed = s.scalars(sa.select(CrawlRun.id).where(CrawlRun.trigger == "reprocess")).one()
    resumed = _report(_reprocess(db_url, data, "--apply", "--json"))
    assert resumed["counts"]["already_reprocessed"] == 1 and resumed["counts"]["pages"] == 3
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        run = s.get(CrawlRun, killed)
        assert (
            run is not None
            and run.status == "interrupted"
            and f"run {resumed['runs']['linxia-news']}" in (run.error or "")
        )
        assert s.scalar(sa.select(sa.func.count()).where(Article.url == url)) == 1
        assert s.scalar(sa.select(sa.func.count()).where(Article.flag_reason == "not_pairing")) == 1
    close_all()


@pytest.mark.parametrize("stage", ["all", "relevance"])
def test_stories_stored_before_the_facts_stage_get_their_facts_from_a_reprocess(
    db_url: str, sample_web: SampleWeb, tmp_path: Path, stage: str
) -> None:
    data = _crawled(db_url, sample_web, tmp_path)
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        stored = {row for row in s.execute(sa.select(PairingEvidence.article_id, PairingEvidence.sentence))}
    assert stored, "the crawl read the pairing story's facts"
    with sessions.begin() as s:  # an archive from before the stage: no facts, versions without it
        s.execute(sa.delete(PairingEvidence))
        s.execute(sa.delete(PairingRelation))
        for article in s.scalars(sa.select(Article)):
            article.stage_versions = {k: v for k, v in stage_versions().items() if k != "facts"}
    close_all()
    result = _reprocess(db_url, data, "--apply", "--stage", stage)
    assert result.returncode == 0, result.stderr[-2000:]
    with open_for_writing(db_url).sessions() as s:
        again = {row for row in s.execute(sa.select(PairingEvidence.article_id, PairingEvidence.sentence))}
    close_all()
    assert again == stored
