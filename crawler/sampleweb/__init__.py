"""A web of fictional regional portals, served on loopback for the demo and the tests.

Every page is generated from the story files in `stories/` by `portals.py`; nothing here is hand-edited HTML.
"""

from crawler.sampleweb.portals import PORTALS, Portal, build_site, load_stories
from crawler.sampleweb.server import SampleWeb

__all__ = ["PORTALS", "Portal", "SampleWeb", "build_site", "load_stories"]
