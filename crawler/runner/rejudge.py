"""What today's per-article stages make of one raw capture, and how that is applied to the archive.

A capture is rebuilt into a PageItem from its WARC record (the body with any Content-Encoding undone,
decoded as the crawl decoded it: the stored article's charset, else the record's Content-Type and the
source's `encoding`; fetched at the capture's time, in the source's time zone) and run through extract,
clean, language and relevance (pipelines.page), each stage once; the identities dedup compares are computed
where they are compared, as in a crawl (not for a page the gate still rejects). Stored stories are compared
with their article row; rejected pages go through dedup as a crawl would store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines.dedup import identify, near_copies
from pipelines.page import judged_page, page_item
from pipelines.pairings import VERSION as FACTS_VERSION
from pipelines.pairings import read_facts
from pipelines.relevance import Relevance, classify
from pipelines.store import article_values
from storage.archive import add_revision, find_duplicate, insert_article, near_candidates, record_sighting
from storage.models import Article
from storage.pairings import FactRecord, record_facts
from storage.reprocess import (
    Selection,
    Work,
    other_with_hash,
    record_reprocessed,
    rejudge,
    set_flag,
    sighting_exists,
)
from storage.warc import WarcError, read_exchange

# Kinds of outcome, in report order. A page may be more than one (`revised` and `flagged`).
KINDS = ("new_story", "copy", "flagged", "unflagged", "revised", "duplicate", "unreadable", "unchanged")


@dataclass(frozen=True)
class SourceInfo:
    """What a reprocess needs of a source: its row id and the settings its pages were read with."""

    id: int
    name: str
    timezone: str
    same_hosts: tuple[str, ...]
    encoding: str | None
    region: str | None = None

    @classmethod
    def of(cls, source_id: int, name: str, config: dict[str, Any]) -> SourceInfo:
        return cls(
            source_id,
            name,
            config.get("timezone") or "Asia/Shanghai",
            tuple(config.get("same_hosts") or ()),
            config.get("encoding"),
            config.get("region"),
        )


@dataclass
class Decision:
    """What today's stages say of one capture; `kinds` empty means unchanged."""

    kinds: list[str]
    detail: str
    article_id: int | None = None
    item: PageItem | None = None  # the page as processed today, when it was read
    verdict: dict[str, Any] = field(default_factory=dict)  # judgement to record on the stored article
    flag: tuple[str | None, str] | None = None  # (reason, or None to clear; detail), None: no change
    copy_of: Article | None = None
    facts: list[FactRecord] | None = None  # the stored article's facts as read today; None: not read

    @property
    def outcome(self) -> str:
        return ",".join(self.kinds) or "unchanged"


def explain(found: Relevance) -> str:
    how = getattr(found, "explain", None)
    return how() if callable(how) else f"score {found.score:.2f}"


def rebuild(work: Work, source: SourceInfo, root: Path, charset: str | None) -> PageItem:
    """The PageItem a crawl made of this capture, before any stage ran; raises WarcError."""
    exchange = read_exchange(root, work.warc_file, work.offset, work.length)
    content_type = next((v for k, v in exchange.headers if k.lower() == "content-type"), None)
    item = page_item(
        exchange.content,
        work.url,
        content_type=content_type,
        charset=charset or source.encoding,
        timezone=source.timezone,
        source=source.name,
    )
    item.region = source.region
    item.http_status = work.http_status
    item.fetched_at = work.fetched_at
    item.same_hosts = source.same_hosts
    item.source_id = source.id
    item.capture_id = work.capture_id
    return item


def _verdict(item_or_found: PageItem | Relevance, versions: dict[str, str]) -> dict[str, Any]:
    if isinstance(item_or_found, PageItem):
        score, yes, terms = item_or_found.relevance, item_or_found.is_pairing, item_or_found.relevance_terms
    else:
        score, yes, terms = item_or_found.score, item_or_found.is_pairing, item_or_found.terms
    return {"relevance": score, "is_pairing": yes, "relevance_terms": terms, "stage_versions": versions}


def _flag(article: Article, reason: str | None, detail: str) -> tuple[str, tuple[str | None, str]] | None:
    """The flag change (kind, (reason, detail)) when today's verdict differs from the article's flag."""
    if reason is not None and article.flag_reason != reason:
        return "flagged", (reason, detail)
    if reason is None and article.flag_reason is not None:
        return "unflagged", (None, f"accepted again ({detail}); was flagged {article.flag_reason}")
    return None


def decide_stored(
    session: Session, work: Work, stage: str, source: SourceInfo, root: Path, versions: dict[str, str]
) -> Decision:
    """A stored story: a new text (`revised`), a verdict of the gate's (`flagged`/`unflagged`), or none."""
    article = session.get(Article, work.article_id)
    assert article is not None
    decision = Decision([], "", article_id=article.id)
    if stage == "relevance":  # the stored text is kept and judged again as it is
        found = classify(article.title, article.text)
        decision.verdict = _verdict(
            found,
            {
                **(article.stage_versions or {}),
                "relevance": versions["relevance"],
                "facts": versions["facts"],
            },
        )
        language, region = article.language, source.region
        decision.facts = read_facts(article.title, article.text, language, region) if found.is_pairing else []
        reason, decision.detail = (None if found.is_pairing else Reason.NOT_PAIRING), explain(found)
    else:
        try:
            item, found = judged_page(rebuild(work, source, root, article.charset))
        except Rejected as exc:
            reason, decision.detail = exc.reason, str(exc)
        else:
            identify(item)
            decision.item = item
            decision.facts = item.facts
            found_detail = explain(found)
            if item.content_hash != article.content_hash:
                if (other := other_with_hash(session, item.content_hash, article.id)) is not None:
                    return Decision(["duplicate"], f"the re-extracted text is article {other}'s", article.id)
                decision.kinds.append("revised")
            decision.verdict = _verdict(item, versions)
            reason, decision.detail = (None if item.is_pairing else Reason.NOT_PAIRING), found_detail
    if change := _flag(article, reason, decision.detail):
        decision.kinds.append(change[0])
        decision.flag = change[1]
    return decision


def decide_rejected(
    session: Session, work: Work, source: SourceInfo, root: Path, planned: dict[str, str]
) -> Decision:
    """A page a crawl rejected: a story now (`new_story`), a copy of a stored one (`copy`), or still not.
    `planned` holds the URLs and hashes of pages a dry run would already have stored."""
    try:
        item, found = judged_page(rebuild(work, source, root, None))
    except Rejected as exc:
        return Decision([], f"still rejected: {exc}")
    if not item.is_pairing:  # as in a crawl, its identities are not computed: nothing compares them
        return Decision([], f"still not_pairing: {explain(found)}", item=item)
    grams = identify(item)
    existing = find_duplicate(session, item.canonical_url, item.content_hash)
    if existing is not None:
        if existing.url == item.canonical_url or sighting_exists(session, item.canonical_url):
            return Decision([], f"already stored: article {existing.id}", existing.id)
        detail = f"same text as article {existing.id} (story {existing.story_id}, {existing.url})"
        return Decision(["copy"], detail, existing.id, item=item, copy_of=existing)
    earlier = planned.get(item.canonical_url) or planned.get(item.content_hash)
    if earlier is not None:
        return Decision(["copy"], f"same page or text as {earlier}, stored by this reprocess", item=item)
    item.near = near_copies(grams, near_candidates(session, item.minhash_keys))
    near = f", a near copy in story {item.near[0][0]}" if item.near else ""
    return Decision(["new_story"], f"accepted ({explain(found)}){near}", item=item)


def apply(session: Session, decision: Decision, work: Work, run_id: int, sel: Selection) -> str:
    """Write what the decision says, with its ledger row, in the caller's transaction; the outcome."""
    item = decision.item
    if "new_story" in decision.kinds and item is not None:
        item.run_id = run_id
        new_id = insert_article(
            session, article_values(item), keys=item.minhash_keys, near=item.near, made_by="reprocess"
        )
        if new_id is None:  # stored meanwhile by a crawl
            decision.kinds, decision.detail = ["duplicate"], f"stored meanwhile: {item.canonical_url}"
        decision.article_id = new_id
    elif "copy" in decision.kinds and item is not None and decision.copy_of is not None:
        record_sighting(
            session,
            story_id=decision.copy_of.story_id,
            article_id=decision.copy_of.id,
            source_id=sel.source_id,
            url=item.canonical_url,
            fetched_url=item.url,
            seen_at=work.fetched_at,
            run_id=run_id,
            copy=True,
        )
    if decision.article_id is not None and "new_story" not in decision.kinds:
        if "revised" in decision.kinds and item is not None:
            item.run_id = run_id
            values = {**article_values(item), "fetched_at": work.fetched_at}
            add_revision(session, decision.article_id, values, item.minhash_keys, made_by="reprocess")
        if decision.verdict:
            rejudge(session, decision.article_id, decision.verdict)
        if decision.flag is not None:
            set_flag(session, decision.article_id, decision.flag[0], decision.flag[1], run_id)
        if decision.facts is not None:
            record_facts(session, decision.article_id, decision.facts, FACTS_VERSION)
    elif "new_story" in decision.kinds and item is not None and decision.article_id is not None:
        record_facts(session, decision.article_id, item.facts, FACTS_VERSION)
    record_reprocessed(
        session,
        run_id=run_id,
        capture_id=work.capture_id,
        sel=sel,
        outcome=decision.outcome,
        article_id=decision.article_id,
        detail=decision.detail,
    )
    return decision.outcome


def unreadable(exc: WarcError) -> Decision:
    return Decision(["unreadable"], str(exc))
