"""Train the relevance gate's logistic model, measure it by cross-validation, and write the shipped model.

    python benchmarks/train_relevance.py --real DIR/texts.jsonl [--folds 5] [--repeats 3] [--cv-only] [--errors]

Training data: a labelled set of real public pages (JSON lines with `id`, `label`, `lang`, `kind`, `text`;
third-party texts, read from where they are kept, never copied into the repository) and the `tune` part of
the project's written cases (`tests/fixtures/relevance_*.toml`; their `held_out` part is never trained on). Each real text is wrapped in a minimal HTML page and read
by the same per-article stages as `pairchive extract`, so the model learns from what a crawl would see.

Measure: stratified k-fold cross-validation over the real set (by language and label; the same story in two
languages stays in one fold; the written cases are always in training), repeated with other fold seeds.
Reported per language and per kind, with a reliability table of the out-of-fold scores. Then the model is
trained on everything and written to `pipelines/relevance_model.json` (unless `--cv-only`).

Deterministic: fixed fold seeds, full-batch gradient descent from zeros, features in sorted order.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scrapy.exceptions import DropItem

from pipelines.clean import CleanPipeline
from pipelines.extract import ExtractPipeline
from pipelines.page import page_item
from pipelines.relevance import DEFAULT_THRESHOLD, MODEL_FILE, TERMS_FILE, GateModel, TermModel

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = sorted((ROOT / "tests" / "fixtures").glob("relevance_*.toml"))
L2 = 1e-2  # chosen by cross-validation among 1e-4..3e-2 (3e-3 before the relation features)
STEPS = 600
WRITTEN_WEIGHT = 0.5  # a written case counts half a real page: short, clean texts
MIN_DF = 2  # a feature seen in one training text only is not kept
FOLD_SEED = 20261201
# Texts of one story in two languages, which must stay in one fold (the set's README names them).
SAME_STORY = {"r210": "r024", "r133": "r197"}


def page_of(text: str) -> bytes:
    """A text as a minimal HTML page: one paragraph a line, no title (the set's titles are not page text)."""
    body = "".join(f"<p>{html.escape(line)}</p>\n" for line in text.splitlines() if line.strip())
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><article>{body}</article></body></html>'.encode()


def read_real(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        try:
            # extract and clean as `pairchive extract` does, without the gate being trained
            item = CleanPipeline().process(
                ExtractPipeline().process(page_item(page_of(row["text"]), row["url"]))
            )
            row["title"], row["text"] = item.title, item.text
        except DropItem:
            row["title"], row["text"] = "", ""
    return rows


def read_written() -> list[dict[str, Any]]:
    return [
        {"id": f"{p.stem}:{c['id']}", "label": bool(c["label"]), "lang": c["script"], "kind": c["kind"],
         "title": c["title"], "text": c["text"], "written": True}
        for p in WRITTEN for c in tomllib.loads(p.read_text(encoding="utf-8"))["case"]
        if c["split"] == "tune"  # the held-out written cases stay a measure: tests/test_relevance.py
    ]  # fmt: skip


def fit(x: np.ndarray, y: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by full-batch Adam from zeros: the same data, the same weights."""
    w, b = np.zeros(x.shape[1]), 0.0
    m, v = np.zeros(x.shape[1] + 1), np.zeros(x.shape[1] + 1)
    total = sample.sum()
    for t in range(1, STEPS + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = (p - y) * sample
        grad = np.append(x.T @ g / total + L2 * w, g.sum() / total)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        step = 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        w, b = w - step[:-1], b - float(step[-1])
    return w, b


def train(docs: list[dict[str, Any]]) -> dict[str, float | dict[str, float]]:
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d["features"].keys())
    keys = sorted(k for k, n in df.items() if n >= MIN_DF)
    index = {k: i for i, k in enumerate(keys)}
    x = np.zeros((len(docs), len(keys)))
    for row, d in enumerate(docs):
        for k, value in d["features"].items():
            if k in index:
                x[row, index[k]] = value
    y = np.array([float(d["label"]) for d in docs])
    sample = np.array([WRITTEN_WEIGHT if d.get("written") else 1.0 for d in docs])
    w, b = fit(x, y, sample)
    weights = {k: float(f"{w[i]:.5g}") for k, i in index.items() if abs(w[i]) >= 1e-4}
    return {"bias": float(f"{b:.6g}"), "weights": weights}


def score(model: dict[str, Any], features: dict[str, float]) -> float:
    weights = model["weights"]
    logit = model["bias"] + sum(weights.get(k, 0.0) * v for k, v in features.items())
    return float(1.0 / (1.0 + np.exp(-logit)))


def folds(real: list[dict[str, Any]], k: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    strata: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for r in sorted(real, key=lambda r: r["id"]):
        if r["id"] not in SAME_STORY:
            strata[(r["lang"], r["label"])].append(r["id"])
    fold: dict[str, int] = {}
    for key in sorted(strata):
        ids = strata[key]
        rng.shuffle(ids)
        fold.update({rid: i % k for i, rid in enumerate(ids)})
    fold.update({a: fold[b] for a, b in SAME_STORY.items() if b in fold})
    return fold


def cross_validate(
    real: list[dict[str, Any]], written: list[dict[str, Any]], k: int, repeats: int
) -> dict[str, list[float]]:
    """Out-of-fold scores of every real text, one per repeat."""
    scores: dict[str, list[float]] = defaultdict(list)
    for repeat in range(repeats):
        fold = folds(real, k, FOLD_SEED + repeat)
        for f in range(k):
            model = train([r for r in real if fold[r["id"]] != f] + written)
            for r in real:
                if fold[r["id"]] == f:
                    scores[r["id"]].append(score(model, r["features"]))
        print(f"repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    return scores


def pr(pairs: list[tuple[bool, bool]]) -> tuple[float, float]:
    tp = sum(a and b for a, b in pairs)
    fp = sum(b and not a for a, b in pairs)
    fn = sum(a and not b for a, b in pairs)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def report(
    real: list[dict[str, Any]], scores: dict[str, list[float]], baseline: dict[str, bool], errors: bool
) -> dict[str, Any]:
    repeats = len(next(iter(scores.values())))
    out: dict[str, Any] = {"by_language": {}, "by_kind": {}, "reliability": []}
    print("| texts | n | precision | recall | term list precision | term list recall |")
    print("| --- | --- | --- | --- | --- | --- |")
    for lang in ("all", "zh-Hans", "zh-Hant", "en"):
        rows = [r for r in real if lang in ("all", r["lang"])]
        got = [
            pr([(r["label"], scores[r["id"]][i] >= DEFAULT_THRESHOLD) for r in rows]) for i in range(repeats)
        ]
        p, rc = float(np.mean([g[0] for g in got])), float(np.mean([g[1] for g in got]))
        bp, br = pr([(r["label"], baseline[r["id"]]) for r in rows])
        out["by_language"][lang] = {"n": len(rows), "precision": p, "recall": rc}
        print(f"| {lang} | {len(rows)} | {p:.3f} | {rc:.3f} | {bp:.3f} | {br:.3f} |")
    print("\n| kind | label | n | right (mean over repeats) | term list right |")
    print("| --- | --- | --- | --- | --- |")
    for kind in sorted({r["kind"] for r in real}):
        rows = [r for r in real if r["kind"] == kind]
        right = np.mean([[(s >= DEFAULT_THRESHOLD) == r["label"] for s in scores[r["id"]]] for r in rows])
        base = sum(baseline[r["id"]] == r["label"] for r in rows)
        out["by_kind"][kind] = float(right)
        print(f"| {kind} | {rows[0]['label']} | {len(rows)} | {right * len(rows):.1f} | {base} |")
    print("\n| score band | texts (all repeats) | pairing share |")
    print("| --- | --- | --- |")
    flat = [(s, r["label"]) for r in real for s in scores[r["id"]]]
    for lo in np.arange(0.0, 1.0, 0.1):
        band = [label for s, label in flat if lo <= s < lo + 0.1 or (lo >= 0.9 and s == 1.0)]
        share = sum(band) / len(band) if band else float("nan")
        out["reliability"].append(
            {"band": f"{lo:.1f}-{lo + 0.1:.1f}", "n": len(band), "pairing_share": share}
        )
        print(f"| {lo:.1f}-{lo + 0.1:.1f} | {len(band)} | {share:.2f} |")
    if errors:
        for r in real:
            s = float(np.mean(scores[r["id"]]))
            if (s >= DEFAULT_THRESHOLD) != r["label"]:
                print(f"{r['id']} {r['lang']} {r['kind']} label={r['label']} score={s:.3f}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="the labelled real texts (JSON lines)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cv-only", action="store_true", help="measure; do not write the model")
    parser.add_argument(
        "--errors", action="store_true", help="list the texts the out-of-fold model gets wrong"
    )
    args = parser.parse_args()
    terms = TermModel.from_toml(TERMS_FILE)
    reader = GateModel("untrained", 0.0, {}, terms)
    real, written = read_real(args.real), read_written()
    for d in real + written:
        d["features"] = reader.reading(d["text"], d["title"]).values
    # The term list as it decided before this model: pairing >= 4, education >= 3, education >= other.
    baseline = {}
    for r in real:
        s = terms.match(r["text"], r["title"]).scores
        baseline[r["id"]] = s["pairing"] >= 4 and s["education"] >= 3 and s["education"] >= s["other_domain"]
    summary = report(real, cross_validate(real, written, args.folds, args.repeats), baseline, args.errors)
    if args.cv_only:
        return 0
    model = train(real + written)
    digest = hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()[:12]
    doc = {
        "version": f"logistic-{digest}",
        "threshold": DEFAULT_THRESHOLD,
        "trained_on": {"real": len(real), "written": len(written), "l2": L2, "steps": STEPS},
        "cross_validation": summary["by_language"],
        **model,
    }
    MODEL_FILE.write_text(
        json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8"
    )
    print(f"wrote {MODEL_FILE.name}: {doc['version']}, {len(model['weights'])} weights", file=sys.stderr)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
