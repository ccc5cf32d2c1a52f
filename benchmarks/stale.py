"""Which figures of benchmarks/README.md were measured on code that has changed since.

    python benchmarks/stale.py              # every figure: fresh, or stale with the files changed since
    python benchmarks/stale.py --markdown   # the index table at the top of benchmarks/README.md
    python benchmarks/stale.py --write      # write that table into benchmarks/README.md

A figure is stale when a file under its `code` paths (benchmarks/figures.toml) differs between the commit
it was measured on and the working tree (uncommitted changes count: a change is checked before it lands).
A file only renamed, its content the same, is not a change. Exits 1 when a figure is stale, 2 when the
repository's history is not at hand (a copy without .git, or a commit it does not hold).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures.toml"


@dataclass(frozen=True)
class Figure:
    name: str
    section: str
    command: str
    commit: str
    code: tuple[str, ...] = field(default_factory=tuple)


def load(path: Path = FIGURES) -> list[Figure]:
    with path.open("rb") as f:
        entries = tomllib.load(f)["figure"]
    return [Figure(e["name"], e["section"], e["command"], e["commit"], tuple(e["code"])) for e in entries]


class NoHistory(Exception):
    pass


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NoHistory(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed"
        )
    return done.stdout


def _under(path: str, code: tuple[str, ...]) -> bool:
    return any(path == c or (c.endswith("/") and path.startswith(c)) for c in code)


def changed_since(repo: Path, commit: str, code: tuple[str, ...]) -> list[str]:
    """Files under `code` whose content differs between `commit` and the working tree."""
    _git(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    # The whole tree, so that git can pair a rename whose old path lies outside `code`.
    out = _git(repo, "diff", "--name-status", "-M", "--no-color", commit, "--")
    changed = []
    for line in out.splitlines():
        status, *paths = line.split("\t")
        if status == "R100":  # moved, not changed
            continue
        if any(_under(p, code) for p in paths):
            changed.append(paths[-1])
    return sorted(set(changed))


def markdown(figures: list[Figure]) -> str:
    rows = ["| figure | section | command | measured on |", "| --- | --- | --- | --- |"]
    rows += [f"| {f.name} | {f.section} | `{f.command}` | {f.commit} |" for f in figures]
    return "\n".join(rows)


def write_index(figures: list[Figure], readme: Path = HERE / "README.md") -> None:
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- figures index: begin -->\n", "\n<!-- figures index: end -->"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    readme.write_text(head + begin + markdown(figures) + end + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the README's index of figures")
    parser.add_argument("--write", action="store_true", help="write the index into benchmarks/README.md")
    args = parser.parse_args()
    figures = load()
    if args.write:
        write_index(figures)
        return 0
    if args.markdown:
        print(markdown(figures))
        return 0
    repo = HERE.parent
    stale = 0
    for figure in figures:
        try:
            files = changed_since(repo, figure.commit, figure.code)
        except (NoHistory, OSError) as e:
            print(f"stale.py: cannot compare with {figure.commit} ({e}); this needs the repository's history")
            return 2
        if files:
            stale += 1
            shown = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
            print(f"stale  {figure.name} (measured on {figure.commit}): {shown}")
        else:
            print(f"fresh  {figure.name} (measured on {figure.commit})")
    print(f"{stale} of {len(figures)} figures stale" if stale else f"all {len(figures)} figures fresh")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
