"""One line per headline figure, in a form `quick.py` collects: `ratio: NAME = VALUE x BASELINE`.

Every benchmark prints its own tables; this line is what `make bench-quick` gathers into one summary, so
the figure's name here is the one `figures.toml` and benchmarks/README.md use.
"""

from __future__ import annotations

PREFIX = "ratio: "


def ratio(name: str, value: float, baseline: str) -> None:
    """Print the figure `name` as `value` times `baseline` (measured in the same run)."""
    # two decimals, or two significant digits for a small figure (a cost that is 0.3% of its baseline)
    shown = f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.2g}"
    print(f"{PREFIX}{name} = {shown} x {baseline}", flush=True)


def parse(line: str) -> tuple[str, float, str] | None:
    """(name, value, baseline) of a line `ratio` printed, else None."""
    if not line.startswith(PREFIX):
        return None
    name, _, rest = line[len(PREFIX) :].partition(" = ")
    value, _, baseline = rest.partition(" x ")
    try:
        return name.strip(), float(value), baseline.strip()
    except ValueError:
        return None
