"""Record what the gate reads and decides on every written case, for tests/test_relevance_readings.py.

    python benchmarks/record_relevance.py [--check]

Writes `tests/fixtures/relevance_readings.json`: for each case of `tests/fixtures/relevance_*.toml`, a
digest of its reading (every feature name, value to the last bit and count, in order) and of its verdict
(score, decision, evidence), with the model version the verdicts were made by. A change that makes the
gate cheaper must leave both unchanged; a change meant to read stories differently, or a retrained model
(a new version), is recorded again with this script and says so in its commit. `--check` compares
instead of writing and lists the cases that differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from pipelines.relevance import GateModel, default_model

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
RECORD = FIXTURES / "relevance_readings.json"


def written_cases() -> list[tuple[str, str, str]]:
    """(set:id, title, text) of every written case."""
    cases = []
    for path in sorted(FIXTURES.glob("relevance_*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            cases.append((f"{path.stem}:{case['id']}", case["title"], case["text"]))
    return cases


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()[:20]


def record(model: GateModel, title: str, text: str) -> dict[str, Any]:
    """The digests of one story's reading and verdict, and its score to read by eye."""
    reading = model.reading(text, title)
    found = model.classify(text, title)
    features = [[key, value.hex(), reading.counts.get(key)] for key, value in reading.values.items()]
    extra = [[key, n] for key, n in reading.counts.items() if key not in reading.values]
    verdict = [found.score, found.is_pairing, found.terms, found.scores]
    return {"score": found.score, "reading": _digest([features, extra]), "verdict": _digest(verdict)}


def records(model: GateModel) -> dict[str, Any]:
    cases = {key: record(model, title, text) for key, title, text in written_cases()}
    return {"model": model.version, "cases": cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the record instead of writing it")
    args = parser.parse_args()
    now = records(default_model())
    if not args.check:
        RECORD.write_text(
            json.dumps(now, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(f"{len(now['cases'])} cases recorded for model {now['model']} in {RECORD.name}")
        return 0
    then = json.loads(RECORD.read_text(encoding="utf-8"))
    differ = sorted(
        k for k in now["cases"].keys() | then["cases"].keys() if now["cases"].get(k) != then["cases"].get(k)
    )
    for key in differ:
        print(f"{key}: recorded {then['cases'].get(key)}, now {now['cases'].get(key)}")
    print(
        f"{len(differ)} of {len(now['cases'])} cases differ; model {then['model']} recorded, {now['model']} now"
    )
    return 1 if differ or then["model"] != now["model"] else 0


if __name__ == "__main__":
    sys.exit(main())
