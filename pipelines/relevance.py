"""Relevance stage: is this a school-pairing story? A calibrated score, a yes/no and the evidence for each.

The gate is a logistic model (`relevance_model.json`, trained by `benchmarks/train_relevance.py` on real
labelled pages and the project's written cases) over the features `pipelines.relevance_features` reads:
the wording, the reviewed term list (`relevance_terms.toml`), which parties stand beside the pairing words,
and the labelling guideline's notions. Its score is the model's probability that the story is a
school-pairing story, and `is_pairing` is exactly `score >= threshold` (`PAIRCHIVE_RELEVANCE_THRESHOLD`).
The stored `relevance_terms` are the evidence: the features that weighed most for and against, with how
often their words occur and what they added to the log-odds, so an archivist can see why.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import operator
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines import Stage
from pipelines.relevance_features import Finder, Reading, prepared, read
from storage.normalize import simplified

logger = logging.getLogger(__name__)

TERMS_FILE = Path(__file__).with_name("relevance_terms.toml")
MODEL_FILE = Path(__file__).with_name("relevance_model.json")
CATEGORIES = ("pairing", "education", "other_domain")
# The score from which a story is kept; the model is trained so that 0.5 balances precision and recall.
DEFAULT_THRESHOLD = 0.5
EVIDENCE_SIDE = 8  # features kept as evidence on each side (for, against)
PARTY_LABELS = {
    "school": "schools",
    "edu": "education",
    "medical": "hospitals",
    "village": "villages",
    "enterprise": "companies",
    "party": "Party branches",
    "mentor": "mentoring",
    "pupil": "pupils cared for",
    "city": "cities and mayors",
    "donation": "donations",
    "sector": "other sectors",
}
CONCEPT_LABELS = {
    "P_pairschools": "paired schools named",
    "P_alliance": "alliance or education group",
    "P_branch": "branch campus or trusteeship",
    "P_sister": "sister schools",
    "P_pairverb": "pairing or signing verbs",
    "P_eduaid": "education aid",
    "P_edubureau": "education bureaus",
    "N_hospital": "hospitals and medicine",
    "N_village": "villages and households",
    "N_party": "Party branches",
    "N_mentor": "mentoring inside a school",
    "N_pupil": "care for pupils",
    "N_donation": "donations and funding",
    "N_sectors": "other sectors",
    "N_city": "sister cities and mayors",
    "N_visit": "visits and delegations",
    "N_dispatch": "volunteers and teacher dispatch",
    "N_industry": "companies and research",
    "N_family": "families and communities",
    "N_civic": "civic campaigns",
    "N_police": "police and army",
    "E_school": "schools named",
}

RELATION_LABELS = {
    "rel": "{} joined",
    "rellead": "{} joined in the lead",
    "relpair": "{} joined beside a pairing word",
    "relshare": "share of sentences joining {}",
}


@dataclass(frozen=True)
class TermMatch:
    """The term list's reading of a story: category sums and every matched term."""

    scores: dict[str, float]
    terms: list[dict[str, Any]]


@dataclass(frozen=True)
class TermModel:
    """Weighted terms per category, matched in the text's simplified search form.

    Within a category each stretch of text counts for one term only, the longest that matches there:
    对口支援 counts as 对口支援, not also as 对口. Han terms match anywhere (Chinese has no word spaces);
    English terms match whole words. Terms in traditional characters are read as their simplified form.
    """

    max_count: int
    title_weight: int
    weights: Mapping[str, Mapping[str, float]]  # category -> term (simplified, lower case) -> weight
    patterns: Mapping[str, Finder]  # category -> one alternation, longest terms first

    @classmethod
    def from_toml(cls, path: Path) -> TermModel:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        weights: dict[str, dict[str, float]] = {}
        patterns: dict[str, Finder] = {}
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
            patterns[category] = Finder("|".join(alternatives))
        return cls(int(doc["max_count"]), int(doc["title_weight"]), weights, patterns)

    def match(self, text: str, title: str = "") -> TermMatch:
        """Sum each category's weights; a term in the title counts `title_weight` times."""
        return self.match_prepared(prepared(text), prepared(title))

    def match_prepared(self, body: str, head: str) -> TermMatch:
        """`match` of texts already in their prepared form (`relevance_features.prepared`)."""
        scores = dict.fromkeys(CATEGORIES, 0.0)
        terms: list[dict[str, Any]] = []
        body_chars, head_chars = set(body), set(head)
        for category, pattern in self.patterns.items():
            counts = Counter(m.group(0) for m in pattern.finditer(body, chars=body_chars))
            for m in pattern.finditer(head, chars=head_chars):
                counts[m.group(0)] += self.title_weight
            for term, count in counts.items():
                weight = self.weights[category][term]
                scores[category] += weight * min(count, self.max_count)
                terms.append({"term": term, "category": category, "count": count, "weight": weight})
        terms.sort(key=lambda t: (-t["weight"] * min(t["count"], self.max_count), t["term"]))
        return TermMatch(scores, terms)

    def features(self, body: str, head: str) -> tuple[dict[str, float], dict[str, int]]:
        """The term list as model features of a prepared text (values, and occurrence counts by feature)."""
        found = self.match_prepared(body, head)
        values = {f"score:{c}": math.log1p(v) for c, v in found.scores.items()}
        education, other = found.scores["education"], found.scores["other_domain"]
        values["score:edu_share"] = education / (education + other) if education + other else 0.0
        counts: dict[str, int] = {}
        for t in found.terms:
            key = f"term:{t['category']}:{t['term']}"
            values[key] = math.log1p(min(t["count"], 5))
            counts[key] = t["count"]
        return values, counts


@dataclass(frozen=True)
class Relevance:
    score: float  # the model's probability of a school-pairing story
    is_pairing: bool  # score >= threshold
    terms: list[dict[str, Any]]  # evidence: {"term", "category": for|against, "count", "weight": log-odds}
    scores: dict[str, float]  # the term list's category sums, the log-odds and the threshold

    def explain(self) -> str:
        def side(name: str) -> str:
            items = [t for t in self.terms if t["category"] == name][:4]
            return ", ".join(f"{t['term']} x{t['count']} {t['weight']:+.2f}" for t in items) or "nothing"

        verdict = ">=" if self.is_pairing else "<"
        return (
            f"score {self.score:.3f} {verdict} {self.scores['threshold']:g}; "
            f"for: {side('for')}; against: {side('against')}"
        )


@cache
def feature_label(key: str) -> str:
    """The words an archivist reads for a feature key."""
    family, _, name = key.partition(":")
    if family in ("c", "w"):
        return name
    if family == "term":
        return name.partition(":")[2]
    if family in ("k", "klead"):
        return CONCEPT_LABELS.get(name, name) + (" in the lead" if family == "klead" else "")
    if family in RELATION_LABELS:
        return RELATION_LABELS[family].format("two schools" if name == "schools" else "two education bureaus")
    if family == "co":
        return "pairing verb with " + CONCEPT_LABELS.get(name.removeprefix("pv+"), name)
    if family in ("near", "nearshare"):
        return f"pairing words beside {PARTY_LABELS.get(name, name)}"
    if family == "ent":
        return f"{PARTY_LABELS.get(name, name)} named"
    if family == "score":
        return f"term list {name} score"
    return {
        "cue": "pairing words",
        "len": "text length",
        "schools": "distinct schools named",
        "places": "places named" + (" in the lead" if name == "lead" else ""),
        "share": "share of sentences pairing schools",
    }.get(family, key)


@dataclass(frozen=True)
class GateModel:
    """The trained logistic model: one weight per feature key, a bias, and the version it was trained as."""

    version: str
    bias: float
    weights: Mapping[str, float]
    terms: TermModel

    @classmethod
    def load(cls, path: Path = MODEL_FILE, terms_file: Path = TERMS_FILE) -> GateModel:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(doc["version"], float(doc["bias"]), doc["weights"], TermModel.from_toml(terms_file))

    @cached_property
    def labels(self) -> dict[str, str]:
        """The label of every weighted feature, looked up once per model rather than once per story."""
        return {key: feature_label(key) for key in self.weights}

    def reading(self, text: str, title: str = "") -> Reading:
        """Every feature of a story, as the model weighs them (training reads stories through this too)."""
        head, body = prepared(title), prepared(text)
        return read(head, body, *self.terms.features(body, head))

    def classify(self, text: str, title: str = "", threshold: float = DEFAULT_THRESHOLD) -> Relevance:
        reading = self.reading(text, title)
        contributions: dict[str, float] = {}
        counts: dict[str, int] = {}
        logit = self.bias
        weights, labels = self.weights, self.labels
        values, found = reading.values, reading.counts
        found_weights = list(map(weights.get, values))  # in C: most keys (n-grams) have no weight
        weighed = itertools.compress(
            zip(values, values.values(), found_weights, strict=True),
            map(operator.is_not, found_weights, itertools.repeat(None)),
        )
        for key, value, weight in weighed:
            if not value or weight is None:  # (compress has already left out the features without one)
                continue
            part = weight * value
            logit += part
            label = labels[key]
            contributions[label] = contributions.get(label, 0.0) + part
            counts[label] = max(counts.get(label, 0), found.get(key, 1))

        score = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))

        def strongest(side: int) -> list[tuple[str, float]]:  # sorted(...)[:EVIDENCE_SIDE], as heapq says
            found = [kv for kv in contributions.items() if kv[1] * side > 0]
            return heapq.nsmallest(EVIDENCE_SIDE, found, key=lambda kv: (-abs(kv[1]), kv[0]))

        evidence = [
            {
                "term": label,
                "category": "for" if c > 0 else "against",
                "count": counts[label],
                "weight": round(c, 3),
            }
            for side in (1, -1)
            for label, c in strongest(side)
        ]
        scores = {**term_sums(reading.values), "logit": round(logit, 3), "threshold": threshold}
        return Relevance(round(score, 4), score >= threshold, evidence, scores)


def term_sums(values: Mapping[str, float]) -> dict[str, float]:
    """The term list's category sums back from their log1p features (for the explanation)."""
    return {c: round(math.expm1(values[f"score:{c}"]), 3) for c in CATEGORIES}


@cache
def default_model() -> GateModel:
    return GateModel.load()


def __getattr__(name: str) -> Any:
    # `VERSION`, recorded with every article and revision: which trained gate judged it. Read on first use,
    # so importing the stage does not load the model.
    if name == "VERSION":
        return default_model().version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def classify(title: str, text: str, threshold: float = DEFAULT_THRESHOLD) -> Relevance:
    """Classify a story by its title and cleaned text with the shipped model."""
    return default_model().classify(text, title, threshold)


def judge(item: PageItem, threshold: float = DEFAULT_THRESHOLD) -> Relevance:
    """Fill in the item's relevance fields; the caller decides what a no means."""
    found = classify(item.title, item.text, threshold)
    item.relevance = found.score
    item.is_pairing = found.is_pairing
    item.relevance_terms = found.terms
    return found


class RelevancePipeline(Stage):
    def __init__(self, crawler: Crawler | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(crawler)
        self.threshold = threshold

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getfloat("PAIRCHIVE_RELEVANCE_THRESHOLD", DEFAULT_THRESHOLD))

    def process(self, item: PageItem) -> PageItem:
        found = judge(item, self.threshold)
        # A re-fetched story stays in the archive whatever its new wording scores: it is judged, not dropped.
        if not found.is_pairing and item.recrawl_of is None:
            raise Rejected(Reason.NOT_PAIRING, found.explain())
        return item
