"""Full-text search for Chinese and English, on SQLite (FTS5) and PostgreSQL (tsvector + GIN) alike.

Chinese has no spaces between words, and most query words are two characters (结对, 帮扶). The index holds
each text's search form (simplified script, folded widths, lower case) cut into tokens: overlapping
character bigrams for Han runs (结对帮扶 -> 结对 对帮 帮扶) and whole words for everything else. A query term is
cut the same way and searched as a phrase of its tokens, so `结对` finds 结对帮扶, `结对帮扶` finds only that
run of characters, and a traditional-script query finds simplified text. On SQLite 3.40 the FTS5 trigram
tokenizer silently finds nothing for 2-character terms, and bigrams index in a third of trigram's space.

Queries: words and "quoted phrases", joined by AND (the default) or OR, with parentheses; `-word` or
NOT word excludes. Anything else is text: quotes, operators and SQL are never passed through raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.normalize import search_form

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN_RE = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+", re.UNICODE)
HAN_RUN_RE = re.compile(rf"^[{HAN}]+$")


# Tables the index lives in (created by migration 0005, not described by the models): FTS5 makes its own
# shadow tables beside `articles_fts`.
INDEX_TABLES = ("articles_fts", "article_search")


def is_index_table(name: str) -> bool:
    return any(name == t or name.startswith(f"{t}_") for t in INDEX_TABLES)


class QueryError(ValueError):
    """A query that cannot be searched: said in one line."""


# Bounds on what one query may ask: a search box is open to anyone, and parentheses multiply out (16 pairs
# of `(a OR b)` are 65,536 alternatives). Real questions stay far below these.
MAX_QUERY_CHARS = 1000
MAX_DEPTH = 8  # parentheses inside parentheses
MAX_ALTERNATIVES = 64  # the OR-of-ANDs the query multiplies out to
MAX_TERMS = 64  # words and phrases, as typed


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


@dataclass(frozen=True)
class Term:
    tokens: tuple[str, ...]  # a phrase: these tokens in a row
    negated: bool = False


@dataclass(frozen=True)
class Query:
    """Disjunctive normal form: any of the groups; in a group, every term (negated ones absent)."""

    groups: tuple[tuple[Term, ...], ...]


LEX_RE = re.compile(r'\s*(?:(?P<quote>"[^"]*"?)|(?P<lpar>\()|(?P<rpar>\))|(?P<word>[^\s()"]+))')


def parse(query: str) -> Query:
    """Words and phrases with AND / OR / NOT (or -word) and parentheses, as an OR of ANDs."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS:,} characters")
    items: list[str | Term] = []
    pos = 0
    while pos < len(query):
        m = LEX_RE.match(query, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m["quote"] is not None:
            phrase = tuple(tokens(m["quote"].strip('"')))
            if phrase:
                items.append(Term(phrase))
        elif m["lpar"]:
            items.append("(")
        elif m["rpar"]:
            items.append(")")
        else:
            word = m["word"]
            if word in ("AND", "OR", "NOT"):
                items.append(word)
                continue
            if word.strip("-") == "":
                # a dash directly before a phrase or a group (-"..." or -(...)) excludes it, as NOT does:
                # dropped, it would turn what was excluded into what is searched; a dash standing alone
                # ("2022 - 2023", "title - outlet") is punctuation, excluding nothing
                if query.startswith(('"', "("), pos):
                    items.append("NOT")
                continue
            negated = word.startswith("-") and len(word) > 1
            found = tuple(tokens(word[1:] if negated else word))
            if found:
                items.append(Term(found, negated))
    if sum(isinstance(item, Term) for item in items) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} words and phrases")
    groups, rest = _expr(items, 0, 0)
    if rest != len(items):
        raise QueryError("unbalanced parentheses in the query")
    searched = tuple(g for g in groups if any(not t.negated for t in g))
    if not searched:
        raise QueryError("the query has no word to search for")
    if len(searched) < len(groups):
        raise QueryError("an alternative of the query only excludes words: give it a word to search for")
    return Query(searched)


def _expr(items: list[str | Term], i: int, depth: int) -> tuple[tuple[tuple[Term, ...], ...], int]:
    """OR of AND-sequences, down to a closing parenthesis or the end."""
    if depth > MAX_DEPTH:
        raise QueryError(f"the query nests parentheses more than {MAX_DEPTH} deep")
    alternatives: list[tuple[Term, ...]] = []
    current: list[tuple[tuple[Term, ...], ...]] = [((),)]  # AND of sub-expressions, each in DNF
    negate_next = False
    while i < len(items):
        item = items[i]
        if item == ")":
            break
        i += 1
        if item == "OR":
            alternatives.extend(_and(current))
            current = [((),)]
        elif item == "AND":
            continue
        elif item == "NOT":
            negate_next = True
        elif item == "(":
            sub, i = _expr(items, i, depth + 1)
            if i >= len(items) or items[i] != ")":
                raise QueryError("unbalanced parentheses in the query")
            i += 1
            if negate_next:
                raise QueryError("NOT before parentheses is not supported: put NOT before each word")
            current.append(sub)
        else:
            assert isinstance(item, Term)
            term = Term(item.tokens, item.negated or negate_next)
            negate_next = False
            current.append(((term,),))
    alternatives.extend(_and(current))
    if len(alternatives) > MAX_ALTERNATIVES:
        raise QueryError(f"the query multiplies out to more than {MAX_ALTERNATIVES} alternatives")
    return tuple(alternatives), i


def _and(parts: list[tuple[tuple[Term, ...], ...]]) -> list[tuple[Term, ...]]:
    groups: list[tuple[Term, ...]] = [()]
    for part in parts:
        if len(groups) * len(part) > MAX_ALTERNATIVES:  # checked before multiplying, not after
            raise QueryError(f"the query multiplies out to more than {MAX_ALTERNATIVES} alternatives")
        groups = [g + alt for g in groups for alt in part]
    return [g for g in groups if g]


def relaxed(query: Query) -> Query:
    """A query every match of `query` also matches, cheaper to answer: each phrase becomes its tokens in
    any order (no positions to check) and exclusions are left out. For bounds, never for answers."""
    groups = []
    for group in query.groups:
        tokens = dict.fromkeys(token for term in group if not term.negated for token in term.tokens)
        groups.append(tuple(Term((token,)) for token in tokens))
    return Query(tuple(dict.fromkeys(groups)))


def fts5_match(query: Query) -> str:
    """An FTS5 MATCH expression: every token quoted (quotes doubled), phrases as quoted token runs."""

    def phrase(term: Term) -> str:
        return '"' + " ".join(t.replace('"', '""') for t in term.tokens) + '"'

    parts = []
    for group in query.groups:
        positive = [phrase(t) for t in group if not t.negated]
        negative = [phrase(t) for t in group if t.negated]
        expr = " AND ".join(positive)
        if negative:  # one NOT of an OR: FTS5's parser overflows on a long chain of nested NOTs
            expr = f"({expr}) NOT ({' OR '.join(negative)})"
        parts.append(f"({expr})")
    return " OR ".join(parts)


def tsquery(query: Query) -> str:
    """A PostgreSQL tsquery (for to_tsquery('simple', ...)): lexemes quoted, phrases joined by <->."""

    def lexeme(token: str) -> str:
        return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"

    def phrase(term: Term) -> str:
        body = " <-> ".join(lexeme(t) for t in term.tokens)
        return f"!({body})" if term.negated else f"({body})"

    return " | ".join("(" + " & ".join(phrase(t) for t in group) + ")" for group in query.groups)


def highlight_terms(query: Query) -> list[str]:
    """The searched phrases as text (tokens re-joined), to mark in snippets."""
    out = []
    for group in query.groups:
        for term in group:
            if not term.negated:
                first, *rest = term.tokens
                joined = (
                    first + "".join(t[-1] for t in rest) if HAN_RUN_RE.match(first) else " ".join(term.tokens)
                )
                out.append(joined)
    return sorted(set(out), key=lambda s: (-len(s), s))
