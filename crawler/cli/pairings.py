"""`pairchive pairings`: who pairs with whom, as the stored stories report it."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from crawler.cli.options import (
    ConfigError,
    app_config,
    db_option,
    json_option,
    raw_csv_option,
    table,
    write_csv,
)
from crawler.cli.types import DAY
from storage.db import open_for_reading
from storage.pairings import KIND_NAMES, RelationRow, relations
from storage.places import PROVINCE, Division, GazetteerError, gazetteer

CSV_HEADER = [
    "relation",
    "kind",
    "a_code",
    "a_place",
    "a_town",
    "a_schools",
    "a_count",
    "a_role",
    "b_code",
    "b_place",
    "b_town",
    "b_schools",
    "b_count",
    "b_role",
    "years",
    "articles",
]


def divisions_named(name: str, level: str | None = None) -> list[Division]:
    """Every division a name may mean (its full or short name, its code, or its name in pinyin)."""
    try:
        places = gazetteer()
    except GazetteerError as exc:
        raise click.ClickException(str(exc)) from exc
    text = name.strip()
    if text.isdigit() and len(text) == 6 and text in places.by_code:
        found = [places.by_code[text]]
    else:
        found = places.candidates(text) or places.english_candidates(text.title().replace(" ", ""))
    return [d for d in found if level is None or d.level == level]


def side_text(side: dict[str, Any]) -> str:
    where = side["place"] or ""
    if side.get("town") and side["town"] not in where:
        where += side["town"]
    parts = [where] if where else []
    if side.get("code"):
        parts.append(f"({side['code']})")
    elif where:
        parts.append("(unresolved)")
    if side.get("schools"):
        parts.append("、".join(side["schools"][:3]) + ("…" if len(side["schools"]) > 3 else ""))
    if side.get("count"):
        parts.append(f"{side['count']} schools")
    return " ".join(parts) or "-"


def helper_first(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The two sides with the helper first where a sentence says who helps whom (→), else as stored (↔)."""
    if b.get("role") == "helper":
        return b, "→", a
    return a, "→" if a.get("role") == "helper" else "↔", b


def selected_relations(
    db: str | None,
    *,
    province: str | None,
    place: str | None,
    kind: str | None,
    since: datetime | None,
    limit: int | None = None,
) -> list[RelationRow]:
    """The relations `--province`, `--place`, `--kind` and `--since` select (pairings and map): a province
    the gazetteer does not know is a configuration error; a place is any division of the name (its counties
    too) or any written place, town or school holding it."""
    within: list[str] = []
    if province:
        within = [d.code for d in divisions_named(province, PROVINCE)]
        if not within:
            raise ConfigError(f"--province: {province!r} is no province the gazetteer knows")
    codes = [d.code for d in divisions_named(place)] if place else []
    sessions = open_for_reading(app_config(db).db_url).sessions
    with sessions() as session:
        return relations(
            session,
            codes=codes,
            place=place.strip() if place else None,
            within=within,
            kind=kind,
            since=since.date() if since else None,
            limit=limit,
        )


def as_record(row: RelationRow) -> dict[str, Any]:
    return {
        "relation": row.id,
        "kind": row.kind,
        "a": row.a,
        "b": row.b,
        "directed": row.directed,
        "years": row.years,
        "articles": row.articles,
        "evidence": row.evidence,
    }


@click.command("pairings")
@click.option(
    "--province", metavar="NAME", help="Only relations with a side in this province (福建, 甘肃省, Gansu)."
)
@click.option(
    "--place",
    metavar="NAME",
    help="Only relations with a side in this place, either direction: a division (湖里区, 临夏, Linxia, "
    "350206, its counties too) or any written place, town or school holding the name.",
)
@click.option("--since", type=DAY, help="Only relations stated by stories published on or after this day.")
@click.option("--kind", type=click.Choice(KIND_NAMES), help="Only this kind of programme.")
@click.option(
    "--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Most relations."
)
@json_option("One JSON object per relation, with its sides, years and every piece of evidence.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="CSV with a header row (formula cells defused: --raw-csv)."
)
@raw_csv_option
@db_option
def pairings(
    province: str | None,
    place: str | None,
    since: datetime | None,
    kind: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
    raw_csv: bool,
    db: str | None,
) -> None:
    """Who pairs with whom: the relations the stored stories report (places, schools, kinds), newest first.

    A relation is two sides (a place with its division code, named schools, a count of schools) and the
    kind of programme; the stories and sentences that state it are its evidence (--json).

    Example: pairchive pairings --place 湖里区
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    rows = selected_relations(db, province=province, place=place, kind=kind, since=since, limit=limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(as_record(row), ensure_ascii=False))
        return
    if as_csv:
        write_csv(
            sys.stdout,
            CSV_HEADER,
            (
                [
                    row.id,
                    row.kind,
                    *(
                        value
                        for side in (row.a, row.b)
                        for value in (
                            side["code"] or "",
                            side["place"],
                            side["town"] or "",
                            "|".join(side["schools"]),
                            side["count"] if side["count"] is not None else "",
                            side["role"] or "",
                        )
                    ),
                    " ".join(map(str, row.years)),
                    " ".join(map(str, row.articles)),
                ]
                for row in rows
            ),
            raw=raw_csv,
        )
        return
    if not rows:
        click.echo(
            "no pairing relations" + (" match" if (province or place or kind or since) else " stored"),
            err=True,
        )
        return
    lines = []
    for row in rows:
        a, link, b = helper_first(row.a, row.b)
        lines.append(
            (
                row.id,
                row.kind,
                side_text(a),
                link,
                side_text(b),
                " ".join(map(str, row.years)) or "-",
                " ".join(map(str, row.articles)),
            )
        )
    click.echo(table(["relation", "kind", "side a", "", "side b", "year", "articles"], lines))
