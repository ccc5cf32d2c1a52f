"""What pyproject.toml promises: package data that exists, and floors `make test-floor` pins."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.floor_constraints import constraints, floor

PROJECT = Path(__file__).resolve().parents[1]


def test_every_package_data_pattern_names_files_that_exist() -> None:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            assert list((PROJECT / package).glob(pattern)), f"{package}/{pattern} matches no file"


def test_floor_constraints_pin_each_floor_drop_extras_and_leave_unfloored_requirements_to_pip() -> None:
    assert floor("psycopg[binary]>=3.1.4") == ("psycopg", "3.1.4")
    assert floor("apscheduler>=3.10,<4") == ("apscheduler", "3.10")
    assert floor("tzdata") is None
    pinned = constraints(PROJECT / "pyproject.toml")
    names = [line.split("==")[0] for line in pinned]
    assert "scrapy" in names and "pytest" in names and "tzdata" not in names
    assert all("[" not in line and line.count("==") == 1 for line in pinned)
