"""The full-text index tokens as migration 0005 computed them (storage.fulltext then)."""

from __future__ import annotations

import re

from storage.migrations.frozen.text import search_form

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN_RE = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+", re.UNICODE)
HAN_RUN_RE = re.compile(rf"^[{HAN}]+$")


# Tables the index lives in (created by migration 0005, not described by the models): FTS5 makes its own
# shadow tables beside `articles_fts`.


def tokens(text: str) -> list[str]:
    """The index tokens of a text: Han bigrams and lower-cased words, in order."""
    out: list[str] = []
    for run in RUN_RE.findall(search_form(text).lower()):
        if HAN_RUN_RE.match(run) and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(title: str, text: str) -> str:
    """What goes into the index for an article: its title's and text's tokens, space-separated."""
    return " ".join(tokens(f"{title}\n{text}"))
