"""pip constraints that pin every dependency of pyproject.toml to its floor (`make test-floor`).

    python tests/floor_constraints.py [pyproject.toml] > constraints.txt

Each `name>=X` requirement of [project] dependencies and of the `test` extra becomes `name==X`, so that
installing the project under these constraints tests the oldest versions it claims to work with. A
requirement without a floor (tzdata) is left to pip. Extras are dropped: pip allows none in a constraint.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# name, optional [extras], then the version specifiers up to a marker or the end
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def floor(requirement: str) -> tuple[str, str] | None:
    """The name and floor of one requirement (`psycopg[binary]>=3.1` -> psycopg, 3.1); None if it has none."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    name, specifiers = match.groups()
    floors = [s.strip()[2:].strip() for s in specifiers.split(",") if s.strip().startswith(">=")]
    return (name, floors[0]) if floors else None


def constraints(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project.get("optional-dependencies", {}).get("test", [])]
    return [f"{name}=={version}" for name, version in filter(None, map(floor, requirements))]


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "pyproject.toml")
    print("\n".join(constraints(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
