"""`pairchive map`: who pairs with whom as a picture, places as points and relations as lines (SVG or PNG,
laid out by crawler.cli.drawing, drawn by crawler.cli.picture)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from crawler.cli.options import db_option
from crawler.cli.types import DAY

FORMATS = (".png", ".svg")


@click.command("map")
@click.option(
    "--province",
    metavar="NAME",
    help="Only relations with a side in this province (福建, 甘肃省, Gansu); the places they link to are "
    "drawn too.",
)
@click.option(
    "--place",
    metavar="NAME",
    help="Only relations with a side in this place, either direction (湖里区, 临夏, Linxia, 350206).",
)
@click.option("--since", type=DAY, help="Only relations stated by stories published on or after this day.")
@click.option(
    "--kind",
    metavar="KIND",
    help="Only this kind of programme (结对帮扶, 结对共建, 对口支援...: `pairchive pairings --help` lists them).",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="PATH",
    help="The picture to write: map.png or map.svg (the suffix chooses).",
)
@db_option
def map_command(
    province: str | None,
    place: str | None,
    since: datetime | None,
    kind: str | None,
    output: str,
    db: str | None,
) -> None:
    """Draw who pairs with whom as a map: places as points at their coordinates (sized by their relations,
    named in Chinese), relations as lines between them (as wide as the schools they join, coloured by
    kind); offline, no boundaries. A relation with a side that has no place on the map is left off and
    counted on stderr.

    Example: pairchive map --province 甘肃 -o map.png
    """
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise click.UsageError(f"-o {output}: the picture is .png or .svg")
    # Imported here, not above: the drawing and matplotlib, which `pairchive map --help` needs not.
    from crawler.cli.drawing import counted, pairing_map, scene
    from crawler.cli.pairings import selected_relations
    from crawler.cli.picture import MapError, cjk_font, png, svg, write
    from storage.pairings import KIND_NAMES
    from storage.places import GazetteerError, gazetteer

    if kind is not None and kind not in KIND_NAMES:
        raise click.BadParameter(f"{kind!r} is none of {', '.join(KIND_NAMES)}", param_hint="'--kind'")
    font = None
    try:
        if suffix == ".png":
            font = cjk_font()  # before the query: a missing font is known without the archive
        places = gazetteer()
    except (MapError, GazetteerError) as exc:
        raise click.ClickException(str(exc)) from exc
    rows = selected_relations(db, province=province, place=place, kind=kind, since=since)
    filtered = bool(province or place or kind or since)
    if not rows:
        raise click.ClickException(
            "no pairing relations" + (" match" if filtered else " stored") + ": no map written"
        )
    drawn = pairing_map(rows, places)
    if drawn.unplaced:
        said = "relation has" if drawn.unplaced == 1 else "relations have"
        click.echo(f"{drawn.unplaced} {said} a side with no place on the map", err=True)
    if not drawn.links:
        raise click.ClickException("no relation has both sides on the map: no map written")
    laid_out = scene(drawn, "结对关系 Who pairs with whom", _subtitle(province, place, kind, since))
    content = svg(laid_out).encode("utf-8") if suffix == ".svg" else png(laid_out, font)
    try:
        write(path, content)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(
        f"{output}: {counted(len(drawn.links), 'relation')} between {counted(len(drawn.places), 'place')}",
        err=True,
    )


def _subtitle(province: str | None, place: str | None, kind: str | None, since: datetime | None) -> str:
    parts = []
    if province:
        parts.append(f"province {province}")
    if place:
        parts.append(f"place {place}")
    if kind:
        parts.append(f"kind {kind}")
    if since:
        parts.append(f"since {since.date().isoformat()}")
    return "as the stored stories report it" + (": " + ", ".join(parts) if parts else "")
