"""Relevance stage: is this a school-pairing story? A score, a yes/no and the terms that decided it.

The decision is a reviewed list of weighted terms (`relevance_terms.toml`), so every answer can be explained
to an archivist: the stored `relevance_terms` say which words counted, how often and for what.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crawler.items import PageItem
from pipelines import Stage, rejected
from pipelines.normalize import search_form, simplified

logger = logging.getLogger(__name__)

TERMS_FILE = Path(__file__).with_name("relevance_terms.toml")
# The gate's version, recorded with every article and revision it judged (which judgement a story carries).
VERSION = "terms-1"
CATEGORIES = ("pairing", "education", "other_domain")
HYPHEN_SPACING_RE = re.compile(r"\s*-\s*(?=[a-z])|(?<=[a-z])\s+-(?=\S)")


@dataclass(frozen=True)
class Relevance:
    score: float
    is_pairing: bool
    terms: list[dict[str, Any]]
    scores: dict[str, float]

    def explain(self) -> str:
        top = ", ".join(f"{t['term']}x{t['count']}" for t in self.terms[:6]) or "no terms"
        s = self.scores
        return f"pairing {s['pairing']:.1f}, education {s['education']:.1f}, other {s['other_domain']:.1f} ({top})"


@dataclass(frozen=True)
class TermModel:
    """Weighted terms per category, matched in the text's simplified search form.

    Within a category each stretch of text counts for one term only, the longest that matches there:
    对口支援 counts as 对口支援, not also as 对口. Han terms match anywhere (Chinese has no word spaces);
    English terms match whole words. Terms in traditional characters are read as their simplified form.
    """

    max_count: int
    title_weight: int
    thresholds: Mapping[str, float]
    weights: Mapping[str, Mapping[str, float]]  # category -> term (simplified, lower case) -> weight
    patterns: Mapping[str, re.Pattern[str]]  # category -> one alternation, longest terms first

    @classmethod
    def from_toml(cls, path: Path) -> TermModel:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        weights: dict[str, dict[str, float]] = {}
        patterns: dict[str, re.Pattern[str]] = {}
        for category in CATEGORIES:
            terms: dict[str, float] = {}
            for term, weight in doc[category].items():
                key = simplified(term).lower()
                terms[key] = max(float(weight), terms.get(key, 0.0))
            weights[category] = terms
            alternatives = [
                re.escape(t) if not t.isascii() else rf"\b{re.escape(t)}\b"
                for t in sorted(terms, key=lambda t: (-len(t), t))
            ]
            patterns[category] = re.compile("|".join(alternatives))
        return cls(
            int(doc["max_count"]), int(doc["title_weight"]), dict(doc["thresholds"]), weights, patterns
        )

    def classify(self, text: str, title: str = "") -> Relevance:
        """Score a text; a term in the title counts `title_weight` times (a headline names its subject)."""
        body = HYPHEN_SPACING_RE.sub("-", search_form(text).lower())
        head = HYPHEN_SPACING_RE.sub("-", search_form(title).lower())
        scores = dict.fromkeys(CATEGORIES, 0.0)
        terms: list[dict[str, Any]] = []
        for category, pattern in self.patterns.items():
            counts = Counter(m.group(0) for m in pattern.finditer(body))
            for m in pattern.finditer(head):
                counts[m.group(0)] += self.title_weight
            for term, count in counts.items():
                weight = self.weights[category][term]
                scores[category] += weight * min(count, self.max_count)
                terms.append({"term": term, "category": category, "count": count, "weight": weight})
        terms.sort(key=lambda t: (-t["weight"] * min(t["count"], self.max_count), t["term"]))
        p_min, e_min = self.thresholds["pairing"], self.thresholds["education"]
        pairing, education, other = scores["pairing"], scores["education"], scores["other_domain"]
        domain = education / (education + other) if education + other else 0.0
        score = round(min(pairing / p_min, 1.0) * min(education / e_min, 1.0) * domain, 3)
        is_pairing = pairing >= p_min and education >= e_min and education >= other
        return Relevance(score=score, is_pairing=is_pairing, terms=terms, scores=scores)


@cache
def default_model() -> TermModel:
    return TermModel.from_toml(TERMS_FILE)


def classify(title: str, text: str) -> Relevance:
    """Classify a story by its title and cleaned text with the shipped term model."""
    return default_model().classify(text, title)


def judge(item: PageItem) -> Relevance:
    """Fill in the item's relevance fields; the caller decides what a no means."""
    found = classify(item.title, item.text)
    item.relevance = found.score
    item.is_pairing = found.is_pairing
    item.relevance_terms = found.terms
    return found


class RelevancePipeline(Stage):
    def process(self, item: PageItem) -> PageItem:
        found = judge(item)
        # A re-fetched story stays in the archive whatever its new wording scores: it is judged, not dropped.
        if not found.is_pairing and item.recrawl_of is None:
            raise rejected("not_pairing", found.explain())
        return item
