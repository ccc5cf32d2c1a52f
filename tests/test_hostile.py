"""The hostile web covers every class of hostile input: each class has a case module under tests/hostile/
with at least one case, and a test module of its own that serves or feeds those cases."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.hostile import CLASSES, Case, HostileWeb, all_cases, case_modules, class_folder, routes

TESTS = Path(__file__).parent


@pytest.mark.parametrize("klass", sorted(CLASSES))
def test_every_class_has_a_case_module_with_cases(klass: int) -> None:
    modules = [m for m in case_modules() if m.startswith(f"c{klass:02d}_")]
    assert len(modules) == 1, (
        f"class {klass} ({CLASSES[klass]}) needs one module tests/hostile/c{klass:02d}_*.py"
    )
    cases = [c for c in all_cases() if c.klass == klass]
    assert cases, f"class {klass} has no case"
    assert all(c.routes or c.inputs for c in cases), "a case serves a path or feeds an input"


@pytest.mark.parametrize("klass", sorted(CLASSES))
def test_every_class_has_tests_that_use_its_cases(klass: int) -> None:
    (module,) = [m for m in case_modules() if m.startswith(f"c{klass:02d}_")]
    tests = sorted(TESTS.glob(f"test_hostile_c{klass:02d}_*.py"))
    assert tests, f"class {klass} needs tests/test_hostile_c{klass:02d}_*.py"
    text = "\n".join(t.read_text(encoding="utf-8") for t in tests)
    assert re.search(rf"\b{module}\b", text), f"the tests of class {klass} use tests.hostile.{module}"
    assert re.search(r"^def test_", text, re.M)


def test_cases_have_unique_names_and_say_what_they_do() -> None:
    cases: list[Case] = all_cases()
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    assert all(c.does.strip() for c in cases)


def test_the_hostile_web_answers_404_where_no_case_serves(hostile: HostileWeb) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(hostile.base + "/nowhere", timeout=30)
    missing.value.close()
    assert missing.value.code == 404
    assert hostile.asked[-1] == "/nowhere"


def test_every_route_is_served_under_its_class_folder() -> None:
    served = routes()
    for case in all_cases():
        for path in case.routes:
            assert class_folder(case.klass) + path.lstrip("/") in served
