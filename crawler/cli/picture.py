"""The pairing map's pictures: a laid-out scene (crawler.cli.drawing) as SVG, written by hand with its
text kept as text, or as PNG through matplotlib's Agg renderer (no display), in the scene's pixels; and
writing either whole or not at all. matplotlib is imported only to draw a PNG."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from crawler.cli.drawing import BACKGROUND, HEIGHT, INK, WIDTH, Scene

# The fonts the PNG looks for, first found wins (PAIRCHIVE_MAP_FONTS overrides: family names or font
# files, comma-separated). The SVG names the same families and leaves the choice to its reader.
FONTS_ENV = "PAIRCHIVE_MAP_FONTS"
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
)
SVG_FAMILIES = (*CJK_FAMILIES[:7], "PingFang SC", "Microsoft YaHei", "sans-serif")
FONT_PACKAGE = "fonts-noto-cjk"


class MapError(Exception):
    """A map that cannot be drawn as asked (no font for its labels)."""


# -- SVG, by hand: every element in the scene's order, text as text -----------------------------------


def _path_data(path: tuple[tuple[str, tuple[float, ...]], ...]) -> str:
    return " ".join(f"{cmd} " + " ".join(f"{v:g}" for v in values) for cmd, values in path)


def svg(drawn: Scene) -> str:
    families = ", ".join(f"'{f}'" if " " in f else f for f in SVG_FAMILIES)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family={quoteattr(families)}>',
        f"<title>{escape(drawn.title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{BACKGROUND}"/>',
    ]
    for s in drawn.strokes:
        cls = (
            f' class="relation" data-relation="{s.relation}" data-schools="{s.schools}"' if s.relation else ""
        )
        lines.append(
            f'<path{cls} d="{_path_data(s.path)}" fill="none" stroke="{s.colour}" '
            f'stroke-width="{s.width:g}" stroke-opacity="0.75" stroke-linecap="round"/>'
        )
    for d in drawn.dots:
        cls = f' class="place" data-code="{d.code}"' if d.code else ""
        lines.append(
            f'<circle{cls} cx="{d.x:g}" cy="{d.y:g}" r="{d.r:g}" fill="{INK}" stroke="#ffffff" stroke-width="1.5"/>'
        )
    for t in drawn.labels:
        cls = f' class="label" data-code="{t.place}"' if t.place else ""
        weight = ' font-weight="bold"' if t.bold else ""
        halo = ' stroke="#ffffff" stroke-width="3" paint-order="stroke"' if t.place else ""
        lines.append(
            f'<text{cls} x="{t.x:g}" y="{t.y:g}" font-size="{t.size:g}" text-anchor="{t.anchor}" '
            f'fill="{t.colour}"{weight}{halo}>{escape(t.text)}</text>'
        )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


# -- PNG, through matplotlib's Agg in the scene's pixels ------------------------------------------------


def cjk_font(wanted: Sequence[str] | None = None) -> Any:
    """The matplotlib font properties of the first of `wanted` (family names or font files; default
    $PAIRCHIVE_MAP_FONTS, else CJK_FAMILIES) that is installed. MapError where none is."""
    from matplotlib import font_manager

    if wanted is None:
        env = os.environ.get(FONTS_ENV)
        wanted = [w.strip() for w in env.split(",") if w.strip()] if env is not None else CJK_FAMILIES
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in wanted:
        if name in installed:
            return font_manager.FontProperties(
                family=[name]
            )  # a list: a string would be parsed as a fontconfig pattern
        if Path(name).suffix.lower() in (".ttf", ".otf", ".ttc") and Path(name).is_file():
            return font_manager.FontProperties(fname=name)
    raise MapError(
        f"no CJK font for the PNG map's labels: install {FONT_PACKAGE} (or another CJK font), or write .svg"
    )


def png(drawn: Scene, font: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, PathPatch
    from matplotlib.path import Path as MplPath

    dpi = 100
    points = 72 / dpi  # matplotlib sizes lines and text in points, the scene in pixels
    figure = Figure(figsize=(WIDTH / dpi, HEIGHT / dpi), dpi=dpi, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, WIDTH)
    axes.set_ylim(HEIGHT, 0)
    axes.set_axis_off()
    codes = {
        "M": [MplPath.MOVETO],
        "L": [MplPath.LINETO],
        "Q": [MplPath.CURVE3] * 2,
        "C": [MplPath.CURVE4] * 3,
    }
    for s in drawn.strokes:
        vertices: list[tuple[float, float]] = []
        kinds: list[Any] = []
        for cmd, values in s.path:
            vertices += list(zip(values[::2], values[1::2], strict=True))
            kinds += codes[cmd]
        axes.add_patch(
            PathPatch(
                MplPath(vertices, kinds),
                fill=False,
                edgecolor=s.colour,
                alpha=0.75,
                linewidth=s.width * points,
                capstyle="round",
            )
        )
    for d in drawn.dots:
        axes.add_patch(Circle((d.x, d.y), d.r, facecolor=INK, edgecolor="#ffffff", linewidth=1.5 * points))
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=3 * points, foreground="#ffffff")]
    for t in drawn.labels:
        properties = font.copy()
        properties.set_size(t.size * points)
        properties.set_weight("bold" if t.bold else "normal")
        axes.text(
            t.x,
            t.y,
            t.text,
            fontproperties=properties,
            color=t.colour,
            ha={"start": "left", "middle": "center", "end": "right"}[t.anchor],
            va="baseline",
            path_effects=halo if t.place else None,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


# -- writing: the whole picture or nothing --------------------------------------------------------------


def write(path: Path, content: bytes) -> None:
    """Write `content` to a temporary file beside `path`, then rename it over `path`: a reader never
    sees half a picture, and a failure leaves nothing behind. OSError propagates."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)  # as any file the user writes, not mkstemp's 0600
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
