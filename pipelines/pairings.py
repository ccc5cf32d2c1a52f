"""Facts stage: for a pairing story, who pairs with whom (pipelines.facts), as records the store writes
with the article (storage.pairings). Runs after relevance, in a crawl and in `pairchive reprocess`.

The text is read sentence by sentence; the headline too, where it states a relation the text does not
(its evidence then has the offsets -1, -1: the title, not the text). The portal's `region` resolves the
short place names it writes (a Xiamen portal's 湖里 is Xiamen's)."""

from __future__ import annotations

import dataclasses
import logging
from functools import lru_cache

from crawler.vocabulary.items import PageItem
from pipelines import Stage
from pipelines.facts import Fact, Reader, Side
from storage.pairings import FactRecord, SideRecord
from storage.places import Division, GazetteerError, gazetteer

logger = logging.getLogger(__name__)

# The reader's version, recorded with every piece of evidence: bump it when its rules change, and a
# reprocess reads the stored stories again.
VERSION = "facts-1"


@lru_cache(maxsize=256)
def reader_for(region: str | None) -> Reader:
    """A reader resolving short names by the portal's region (every division the region names)."""
    places = gazetteer()
    divisions: list[Division] = []
    if region:
        context: list[Division] = []
        for _, _, name in places.mentions(region):
            division = places.resolve(name, context)
            if division is not None:
                divisions.append(division)
                context.append(division)
        if not divisions:
            logger.warning(
                "region %r names no division the gazetteer holds: short names resolve without it", region
            )
    return Reader(places, divisions)


def _side(side: Side) -> SideRecord:
    place = side.place
    return SideRecord(
        code=place.division.code if place and place.division else None,
        place=place.written if place else "",
        town=place.town if place else None,
        schools=side.schools,
        count=side.count,
        role=side.role,
    )


def _record(fact: Fact, title: bool = False) -> FactRecord:
    start, end = (-1, -1) if title else (fact.start, fact.end)
    return FactRecord(fact.kind, _side(fact.a), _side(fact.b), fact.year, start, end, fact.evidence)


def read_facts(title: str, text: str, language: str, region: str | None = None) -> list[FactRecord]:
    """The facts of a story: its text's, and its headline's where the text does not state them."""
    reader = reader_for(region)
    found = [_record(f) for f in reader.facts(text, language)]
    found += [_record(f, title=True) for f in (reader.facts(title, language) if title else [])]
    return _towns_placed(found)  # which keeps one fact a relation, the text's before the headline's


def _towns_placed(facts: list[FactRecord]) -> list[FactRecord]:
    """A town a story names once under its division (临夏闽宁镇) and elsewhere alone (闽宁镇) is the same
    town: the lone mentions take its division, so that both are one relation."""
    placed: dict[str, SideRecord] = {}
    for fact in facts:
        for side in (fact.a, fact.b):
            if side.town and side.code and side.town not in placed:
                placed[side.town] = side

    def filled(side: SideRecord) -> SideRecord:
        known = placed.get(side.town or "")
        if side.code or known is None:
            return side
        return dataclasses.replace(side, code=known.code, place=known.place)

    out: list[FactRecord] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for fact in facts:
        fact = dataclasses.replace(fact, a=filled(fact.a), b=filled(fact.b))
        key = (fact.kind, frozenset((fact.a.key(), fact.b.key())))
        if key not in seen:  # two sentences that now state one relation: the first is its evidence here
            seen.add(key)
            out.append(fact)
    return out


class PairingsPipeline(Stage):
    def process(self, item: PageItem) -> PageItem:
        if not item.is_pairing:
            item.facts = []
            return item
        try:
            item.facts = read_facts(item.title, item.text, item.language, item.region)
        except GazetteerError as exc:  # a broken install: stored without facts, `reprocess` reads them later
            logger.error("%s: stored without its pairing facts: %s", item.url, exc)
            item.facts = []
        except Exception as exc:  # the story is stored without facts rather than lost for them
            logger.warning(
                "%s: its pairing facts could not be read (%s: %s)", item.url, type(exc).__name__, exc
            )
            item.facts = []
        return item
