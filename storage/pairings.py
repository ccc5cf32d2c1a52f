"""Who pairs with whom, stored: relations and their evidence (pairing_relations, pairing_evidence).

The facts stage (pipelines.pairings) reads an article's facts and hands them here as plain records; an
article's evidence is replaced whole each time its text is read again (a revision, a reprocess), and a
relation no evidence holds any more is deleted with its last piece. Queries find relations by place (in
either direction: the side named may be a or b), province, kind and date."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import Article, PairingEvidence, PairingRelation, Source

# The kinds of programme a relation or a sentence may name, most specific first (pipelines.facts reads them).
KIND_NAMES = ("组团式帮扶", "对口支援", "集团化办学", "教育联盟/共同体", "姊妹学校", "结对共建", "结对帮扶")


@dataclass(frozen=True)
class SideRecord:
    """One side of a fact as the stage read it."""

    code: str | None  # six-digit division code, None where unresolved
    place: str  # as written ('' where the side names only schools)
    town: str | None = None
    schools: tuple[str, ...] = ()
    count: int | None = None
    role: str | None = None  # helper, helped

    def key(self) -> str:
        where = self.code or f"?{self.place}"
        return json.dumps([where, self.town or "", sorted(self.schools)], ensure_ascii=False)


@dataclass(frozen=True)
class FactRecord:
    kind: str
    a: SideRecord
    b: SideRecord
    year: int | None
    start: int
    end: int
    sentence: str


@dataclass
class RelationRow:
    """A relation with what its evidence says, for listing and export."""

    id: int
    kind: str
    a: dict[str, Any]
    b: dict[str, Any]
    directed: bool  # some sentence says who helps whom
    years: list[int]
    articles: list[int]
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _relation_key(first: SideRecord, second: SideRecord) -> str:
    return hashlib.sha256(json.dumps([first.key(), second.key()], ensure_ascii=False).encode()).hexdigest()


def record_facts(session: Session, article_id: int, facts: Sequence[FactRecord], reader: str) -> int:
    """Replace the article's evidence with `facts` (one relation each, found or made); relations left
    without evidence go. Returns how many pieces of evidence the article now holds."""
    before = set(
        session.scalars(select(PairingEvidence.relation_id).where(PairingEvidence.article_id == article_id))
    )
    session.execute(delete(PairingEvidence).where(PairingEvidence.article_id == article_id))
    touched: set[int] = set(before)
    for fact in facts:
        first, second = sorted((fact.a, fact.b), key=SideRecord.key)
        key = _relation_key(first, second)
        relation = session.scalar(select(PairingRelation).where(PairingRelation.key == key))
        if relation is None:
            relation = PairingRelation(
                key=key,
                kind=fact.kind,
                a_code=first.code,
                a_place=first.place,
                a_town=first.town,
                a_schools=list(first.schools),
                b_code=second.code,
                b_place=second.place,
                b_town=second.town,
                b_schools=list(second.schools),
            )
            session.add(relation)
            session.flush()
        session.add(
            PairingEvidence(
                relation_id=relation.id,
                article_id=article_id,
                kind=fact.kind,
                a_count=first.count,
                b_count=second.count,
                a_role=first.role,
                b_role=second.role,
                year=fact.year,
                start=fact.start,
                end=fact.end,
                sentence=fact.sentence,
                reader=reader,
            )
        )
        before.discard(relation.id)
        touched.add(relation.id)
    session.flush()
    _drop_orphans(session, before)
    _rekind(session, touched)
    return len(facts)


def _rekind(session: Session, relation_ids: Iterable[int]) -> None:
    """Each relation's kind: the one most of its evidence names (the earliest stated, on a tie)."""
    for relation_id in relation_ids:
        kinds = list(
            session.scalars(
                select(PairingEvidence.kind)
                .where(PairingEvidence.relation_id == relation_id)
                .order_by(PairingEvidence.id)
            )
        )
        relation = session.get(PairingRelation, relation_id)
        if relation is not None and kinds:
            relation.kind = _most_said(kinds)


def _drop_orphans(session: Session, relation_ids: Iterable[int]) -> None:
    ids = list(relation_ids)
    if not ids:
        return
    held = set(
        session.scalars(
            select(PairingEvidence.relation_id).where(PairingEvidence.relation_id.in_(ids)).distinct()
        )
    )
    gone = [i for i in ids if i not in held]
    if gone:
        session.execute(delete(PairingRelation).where(PairingRelation.id.in_(gone)))


def _side(relation: PairingRelation, which: str) -> dict[str, Any]:
    return {
        "code": getattr(relation, f"{which}_code"),
        "place": getattr(relation, f"{which}_place"),
        "town": getattr(relation, f"{which}_town"),
        "schools": list(getattr(relation, f"{which}_schools") or []),
    }


def _within(column: Any, code: str) -> Any:
    """A division code column inside division `code` (a province 35xxxx, a city 3502xx, a county)."""
    if code.endswith("0000"):
        return column.like(code[:2] + "%")
    if code.endswith("00"):
        return column.like(code[:4] + "%")
    return column == code


def relations(
    session: Session,
    *,
    codes: Sequence[str] = (),
    place: str | None = None,
    within: Sequence[str] = (),
    kind: str | None = None,
    since: date | None = None,
    article_id: int | None = None,
    limit: int | None = None,
) -> list[RelationRow]:
    """Relations with a side inside one of the divisions `codes` or whose written place or school holds
    `place` (either side: whom does 湖里区 pair with, who pairs with 临夏), with a side inside one of the
    divisions `within` (a province), of `kind`, with evidence from articles published (or, undated, first
    stored) on or after `since`; newest relation first."""
    stmt = select(PairingRelation).order_by(PairingRelation.id.desc())
    if kind:  # a relation some sentence names with this kind
        stmt = stmt.where(
            PairingRelation.id.in_(select(PairingEvidence.relation_id).where(PairingEvidence.kind == kind))
        )
    wanted = []
    for code in codes:
        wanted += [_within(PairingRelation.a_code, code), _within(PairingRelation.b_code, code)]
    if place:
        like = f"%{place}%"
        wanted += [PairingRelation.a_place.like(like), PairingRelation.b_place.like(like)]
        wanted += [PairingRelation.a_town.like(like), PairingRelation.b_town.like(like)]
    if codes or place:
        stmt = stmt.where(or_(*wanted))
    if within:
        inside = []
        for code in within:
            inside += [_within(PairingRelation.a_code, code), _within(PairingRelation.b_code, code)]
        stmt = stmt.where(or_(*inside))
    evidence = select(PairingEvidence.relation_id).join(Article, Article.id == PairingEvidence.article_id)
    if since:
        start = datetime.combine(since, time.min, tzinfo=UTC)  # the day in UTC
        evidence = evidence.where(func.coalesce(Article.published, Article.first_seen) >= start)
    if article_id is not None:
        evidence = evidence.where(PairingEvidence.article_id == article_id)
    if since or article_id is not None:
        stmt = stmt.where(PairingRelation.id.in_(evidence))
    if limit:
        stmt = stmt.limit(limit)
    found = list(session.scalars(stmt))
    pieces: dict[int, list[tuple[PairingEvidence, Article, str]]] = {r.id: [] for r in found}
    if found:
        rows = session.execute(
            select(PairingEvidence, Article, Source.name)
            .join(Article, Article.id == PairingEvidence.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(PairingEvidence.relation_id.in_(list(pieces)))
            .order_by(PairingEvidence.id)
        )
        for piece, article, source in rows:
            pieces[piece.relation_id].append((piece, article, source))
    out = []
    for relation in found:
        said = pieces[relation.id]
        a, b = _side(relation, "a"), _side(relation, "b")
        a["count"] = _most_said(p.a_count for p, _, _ in said)
        b["count"] = _most_said(p.b_count for p, _, _ in said)
        a["role"] = _most_said(p.a_role for p, _, _ in said)
        b["role"] = _most_said(p.b_role for p, _, _ in said)
        out.append(
            RelationRow(
                id=relation.id,
                kind=relation.kind,
                a=a,
                b=b,
                directed=bool(a["role"] or b["role"]),
                years=sorted({p.year for p, _, _ in said if p.year}),
                articles=sorted({p.article_id for p, _, _ in said}),
                evidence=[
                    {
                        "article_id": p.article_id,
                        "source": source,
                        "title": article.title,
                        "published": article.published.isoformat() if article.published else None,
                        "start": p.start,
                        "end": p.end,
                        "sentence": p.sentence,
                        "kind": p.kind,
                        "a_count": p.a_count,
                        "b_count": p.b_count,
                        "year": p.year,
                    }
                    for p, article, source in said
                ],
            )
        )
    return out


def _most_said(values: Iterable[Any]) -> Any:
    """The value most pieces of evidence give (the first said, on a tie); None where none gives one."""
    counted: dict[Any, int] = {}
    for value in values:
        if value is not None:
            counted[value] = counted.get(value, 0) + 1
    return max(counted, key=lambda v: counted[v]) if counted else None


def relation_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PairingRelation)) or 0)


def facts_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each article's pairing facts (its evidence, with its relation's sides), in text order."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in article_ids}
    if not article_ids:
        return found
    rows = session.execute(
        select(PairingEvidence, PairingRelation)
        .join(PairingRelation, PairingRelation.id == PairingEvidence.relation_id)
        .where(PairingEvidence.article_id.in_(list(article_ids)))
        .order_by(PairingEvidence.article_id, PairingEvidence.start, PairingEvidence.id)
    )
    for piece, relation in rows:
        a, b = _side(relation, "a"), _side(relation, "b")
        a.update(count=piece.a_count, role=piece.a_role)
        b.update(count=piece.b_count, role=piece.b_role)
        found[piece.article_id].append(
            {
                "relation": relation.id,
                "kind": piece.kind,
                "a": a,
                "b": b,
                "year": piece.year,
                "start": piece.start,  # -1: read from the headline
                "end": piece.end,
                "sentence": piece.sentence,
                "reader": piece.reader,
            }
        )
    return found
