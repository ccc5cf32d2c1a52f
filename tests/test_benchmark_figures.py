"""The benchmarks' index of figures stays true to the README, and the staleness check reads git right."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
README = BENCH / "README.md"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


stale = _module("stale")
ratios = _module("ratios")


def _sections(text: str) -> dict[str, str]:
    """Heading -> the text under it, up to the next heading of any level."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_figure_names_a_section_of_the_readme_that_states_its_commit() -> None:
    sections = _sections(README.read_text(encoding="utf-8"))
    figures = stale.load()
    assert len({f.name for f in figures}) == len(figures)
    for figure in figures:
        assert figure.section in sections, f"{figure.name}: no section {figure.section!r}"
        assert figure.commit in sections[figure.section], (
            f"{figure.name}: its section never names {figure.commit}"
        )
        assert re.fullmatch(r"[0-9a-f]{7,40}", figure.commit)


def test_every_path_a_figure_measures_exists() -> None:
    for figure in stale.load():
        assert figure.code, figure.name
        for path in figure.code:
            assert (ROOT / path).exists(), f"{figure.name}: {path} does not exist"
            assert not path.startswith(("tests/", "docs/")) or figure.name == "test suite"


def test_the_readme_index_is_the_one_figures_toml_makes() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- figures index: begin -->\n(.*?)\n<!-- figures index: end -->", text, re.S)
    assert found is not None
    assert found.group(1).strip() == stale.markdown(stale.load())


def test_every_quick_benchmark_prints_its_ratio_in_the_form_the_summary_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quick = _module("quick")
    for _name, argv, _needs_data in quick.QUICK:
        script = (BENCH / argv[0]).read_text(encoding="utf-8")
        assert "ratio(" in script, f"{argv[0]} prints no ratio line"
    ratios.ratio("full crawl", 1.234, "bare trafilatura.extract")
    line = capsys.readouterr().out.splitlines()[0]
    assert ratios.parse(line) == ("full crawl", 1.23, "bare trafilatura.extract")
    assert ratios.parse("| a table row |") is None
    assert ratios.parse("ratio: broken = many x things") is None


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "clean.py").write_text("RULES = 1\n" * 20)
    (tmp_path / "pipelines" / "dedup.py").write_text("BANDS = 25\n" * 20)
    (tmp_path / "other.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "measured here")
    return tmp_path


def test_a_figure_is_fresh_until_its_code_changes(repo: Path) -> None:
    measured = _git(repo, "rev-parse", "--short", "HEAD")
    (repo / "other.py").write_text("x = 2\n")
    _git(repo, "commit", "-qam", "elsewhere")
    assert stale.changed_since(repo, measured, ("pipelines/",)) == []
    (repo / "pipelines" / "dedup.py").write_text("BANDS = 20\n" * 20)
    # uncommitted changes count: a change is checked before it lands
    assert stale.changed_since(repo, measured, ("pipelines/",)) == ["pipelines/dedup.py"]
    assert stale.changed_since(repo, measured, ("pipelines/clean.py",)) == []


def test_a_file_only_moved_is_not_a_change_but_a_moved_and_edited_one_is(repo: Path) -> None:
    measured = _git(repo, "rev-parse", "HEAD")
    _git(repo, "mv", "pipelines/clean.py", "pipelines/cleaning.py")
    _git(repo, "commit", "-qm", "moved")
    assert stale.changed_since(repo, measured, ("pipelines/",)) == []
    (repo / "pipelines" / "cleaning.py").write_text("RULES = 1\n" * 19 + "RULES = 2\n")
    assert stale.changed_since(repo, measured, ("pipelines/",)) == ["pipelines/cleaning.py"]


def test_a_commit_the_history_does_not_hold_is_said_not_guessed(repo: Path) -> None:
    with pytest.raises(stale.NoHistory):
        stale.changed_since(repo, "0123456789abcdef0123456789abcdef01234567", ("pipelines/",))
