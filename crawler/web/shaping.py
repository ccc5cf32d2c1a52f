"""What a page shows, shaped from stored records: marked snippets, paragraphs, revision diffs, citations.

Everything here returns plain text pieces; the templates escape them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import ArticleRevision
from storage.normalize import simplified


def _folded(text: str) -> str:
    """`text` in simplified script and lower case, character for character where the conversion keeps
    the length (so positions in it are positions in `text`)."""
    converted = simplified(text)
    return (converted if len(converted) == len(text) else text).lower()


def marked(snippet: str, marks: list[str]) -> list[tuple[str, bool]]:
    """The snippet as pieces of (text, is a match): every occurrence of a searched phrase, in either
    script, is a match. storage.search's snippet puts [ ] around the first match; those brackets go."""
    wanted = [_folded(m) for m in marks if m]
    folded = _folded(snippet)
    for mark in wanted:
        at = folded.find("[" + mark + "]")
        if at >= 0:
            snippet = snippet[:at] + snippet[at + 1 : at + 1 + len(mark)] + snippet[at + 2 + len(mark) :]
            folded = _folded(snippet)
            break
    spans = []
    for mark in wanted:
        start = folded.find(mark)
        while start >= 0:
            spans.append((start, start + len(mark)))
            start = folded.find(mark, start + len(mark))
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:  # overlapping matches: the first wins
            continue
        if start > pos:
            pieces.append((snippet[pos:start], False))
        pieces.append((snippet[start:end], True))
        pos = end
    if pos < len(snippet):
        pieces.append((snippet[pos:], False))
    return pieces


def paragraphs(text: str) -> list[str]:
    """The stored text's paragraphs (its lines), blank lines left out."""
    return [line.strip() for line in text.split("\n") if line.strip()]


@dataclass
class RevisionView:
    revision: int
    fetched_at: datetime
    made_by: str
    run_id: int | None
    content_hash: str
    title: str
    # (kind, paragraph): "same", "added" or "removed", against the revision before; empty for the first
    changes: list[tuple[str, str]]


CONTEXT = 1  # unchanged paragraphs kept around a change


def revision_views(revisions: list[ArticleRevision]) -> list[RevisionView]:
    """Every revision, newest first, each with its paragraph diff against the one before."""
    views = []
    before: list[str] = []
    for rev in revisions:
        now = paragraphs(rev.text)
        changes: list[tuple[str, str]] = []
        if rev.revision > 1 or before:
            changes = _diff(before, now)
        views.append(
            RevisionView(
                rev.revision, rev.fetched_at, rev.made_by, rev.run_id, rev.content_hash, rev.title, changes
            )
        )
        before = now
    return list(reversed(views))


def _diff(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if out:
            out.append(("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(("same", p) for p in before[i1:i2])
                continue
            out.extend(("removed", p) for p in before[i1:i2])
            out.extend(("added", p) for p in after[j1:j2])
    return out


def revision_record(view: RevisionView) -> dict[str, Any]:
    """A revision as the JSON API gives it."""
    return {
        "revision": view.revision,
        "fetched_at": view.fetched_at.isoformat(),
        "made_by": view.made_by,
        "run_id": view.run_id,
        "content_hash": view.content_hash,
        "title": view.title,
        "changes": [{"kind": kind, "text": text} for kind, text in view.changes],
    }


SPACES = re.compile(r"\s+")


def citation(record: dict[str, Any], portal_title: str, link: str) -> str:
    """The story cited in the style of APA 7 for a news article online, with the archive's stable link
    and when the archived copy was fetched."""
    who = record["author"] or record["source_name"] or portal_title
    published = record["published"]
    when = published[:10] if published else "n.d."
    title = SPACES.sub(" ", record["title"]).strip()
    fetched = record["fetched_at"][:10]
    # APA leaves the site name out where the author already is the site
    site = "" if _same_name(who, portal_title) else f" {portal_title}."
    return f"{who}. ({when}). {title}.{site} {record['url']} (archived {fetched} by pairchive: {link})"


def _same_name(a: str, b: str) -> bool:
    return SPACES.sub("", a).casefold() == SPACES.sub("", b).casefold()
