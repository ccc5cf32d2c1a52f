"""The floors of the house: the import contracts of pyproject.toml hold, and so does the daemon's place.

`make lint` runs the contracts too; running them here makes a back-edge fail `make test` as well.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_of_pyproject_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (it comes with the project's test extra: make venv)")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def imports_of(path: Path) -> set[str]:
    """The modules a file imports, at any depth of its code (lazy imports count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_daemon_stands_beside_the_cli_and_uses_the_runner_not_the_crawl_process() -> None:
    # scheduler.py is a top-level module, which the import linter cannot take as a root: checked here.
    project = ("crawler", "spiders", "pipelines", "storage")
    imports = {n for n in imports_of(ROOT / "scheduler.py") if n.split(".")[0] in project}
    assert imports, "scheduler.py imports nothing of the project?"
    allowed = ("crawler.runner", "crawler.vocabulary", "storage")
    assert {n for n in imports if not n.startswith(allowed)} == set()


def test_no_floor_below_the_shell_imports_the_daemon() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("crawler", "spiders", "pipelines", "storage")
        for path in (ROOT / package).rglob("*.py")
        if "scheduler" in {n.split(".")[0] for n in imports_of(path)} and "cli" not in path.parts
    ]
    assert offenders == []
