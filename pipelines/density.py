"""The densest-block fallback of the extract stage: a story's text when trafilatura finds none.

Short posts, reviews and unusual templates can give trafilatura nothing to keep, although a reader sees
the story at once: it is the block of the page where text is dense, outside links and full of sentence
punctuation. Every block is scored by that (in the manner of text-density extractors: characters per tag,
link density, punctuation) and the best one is read, one paragraph per line, if it looks like a story:
enough prose, few links, and not a list of headlines with a summary each. Pages with no story (navigation,
listings, index pages) have no block that passes, and stay without text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

HIDDEN_TAGS = ("script", "style", "noscript", "template", "select", "button", "textarea", "iframe", "svg")
# Page furniture by its tag, unless it holds most of the page: some templates put the whole page in an
# <aside> or a <form>.
FURNITURE_TAGS = ("nav", "footer", "aside", "form")
CANDIDATES = {"div", "article", "section", "main", "td", "blockquote", "p", "dd", "li", "body", "center"}
LINE_BREAKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"}
LINE_BREAKS |= {"blockquote", "dd", "dt", "pre", "table", "ul", "ol", "td", "figcaption", "main"}
WS_RE = re.compile(r"\s+")
PUNCT_RE = re.compile(r"[，。！？；：、,.!?;:]")
SENTENCE_END_RE = re.compile(r"[。！？.!?]")

# What a block must have to be read as a story.
MIN_CHARS = 120  # characters outside links
MIN_SENTENCES = 3  # sentence ends outside links
PARAGRAPH_CHARS = 25  # a paragraph, for scoring
PROSE_CHARS = 40  # one run of text outside links at least this long: a paragraph
MAX_LINK_DENSITY = 0.35  # share of the block's characters in link text
# A headline list with a summary per item: three or more links standing alone (a link that is the whole
# text of its line), with less text than this between them on average.
TEASER_LINKS = 3
TEASER_CHARS = 200
HEADLINE_CHARS = 5  # a link with fewer characters (an image, an arrow) is no headline


@dataclass
class Block:
    """Counts over one element and everything inside it."""

    chars: int = 0  # visible characters, whitespace removed
    link_chars: int = 0
    tags: int = 1
    link_tags: int = 0
    punct: int = 0  # punctuation outside links
    sentences: int = 0  # sentence ends outside links
    prose: int = 0  # the longest run of text outside links
    lone_links: int = 0  # links that are the whole text of their line
    inline: int = 0  # characters outside links and outside nested blocks: its own paragraph
    inline_punct: int = 0
    paragraphs: float = 0.0  # the scores of the paragraphs it holds (`_credit_paragraphs`)

    @property
    def score(self) -> float:
        return self.paragraphs * (1 - self.link_chars / self.chars) if self.chars else 0.0

    @property
    def text_chars(self) -> int:
        return self.chars - self.link_chars


def _chars(text: str | None) -> int:
    return len(WS_RE.sub("", text)) if text else 0


def _own_text(text: str | None, block: Block) -> None:
    """Count a run of text outside links (an element's text or a child's tail) into its block."""
    if not text:
        return
    n = _chars(text)
    block.chars += n
    block.inline += n
    punct = len(PUNCT_RE.findall(text))
    block.punct += punct
    block.inline_punct += punct
    block.sentences += len(SENTENCE_END_RE.findall(text))


SUMMED = ("chars", "link_chars", "tags", "link_tags", "punct", "sentences", "lone_links")


def _count(el: HtmlElement, blocks: dict[HtmlElement, Block]) -> Block:
    """Count el and its descendants into `blocks`, innermost first."""
    block = Block()
    if el.tag == "a":
        block.chars = block.link_chars = _chars(el.text_content())
        block.tags, block.link_tags = 1 + sum(1 for _ in el.iterdescendants()), 1
        blocks[el] = block
        return block
    _own_text(el.text, block)
    for child in el:
        if isinstance(child.tag, str):
            inner = _count(child, blocks)
            for name in SUMMED:
                setattr(block, name, getattr(block, name) + getattr(inner, name))
            block.prose = max(block.prose, inner.prose)
            if child.tag not in LINE_BREAKS:  # inline markup: its text is part of this paragraph
                block.inline += inner.inline
                block.inline_punct += inner.inline_punct
        _own_text(child.tail, block)
    if el.tag in LINE_BREAKS or el.tag == "body":
        block.prose = max(block.prose, block.inline)
    links = [child for child in el if child.tag == "a"]
    if (
        el.tag in LINE_BREAKS
        and len(links) == 1
        and blocks[links[0]].chars >= HEADLINE_CHARS > block.chars - blocks[links[0]].chars
    ):
        block.lone_links += 1
    blocks[el] = block
    return block


def _credit_paragraphs(blocks: dict[HtmlElement, Block]) -> None:
    """Each paragraph's score goes to its element, its parent and half to its grandparent, so the
    element holding most of a story's paragraphs scores highest (as in Readability's scoring)."""
    for el, block in blocks.items():
        if (el.tag not in LINE_BREAKS and el.tag != "body") or block.inline < PARAGRAPH_CHARS:
            continue
        score = 1 + block.inline_punct + min(block.inline / 100, 3)
        parent = el.getparent()
        grandparent = parent.getparent() if parent is not None else None
        for target, weight in ((el, 1.0), (parent, 1.0), (grandparent, 0.5)):
            if target is not None and target in blocks:
                blocks[target].paragraphs += weight * score


def is_story(block: Block) -> bool:
    """Whether a block reads as a story: enough prose in sentences, few links, not a headline list."""
    if block.text_chars < MIN_CHARS or block.sentences < MIN_SENTENCES or block.prose < PROSE_CHARS:
        return False
    if block.link_chars > MAX_LINK_DENSITY * block.chars:
        return False
    return block.lone_links < TEASER_LINKS or block.text_chars >= TEASER_CHARS * block.lone_links


def _drop_furniture(body: HtmlElement) -> None:
    for el in list(body.iter(*HIDDEN_TAGS)):
        el.drop_tree()
    half = _chars(body.text_content()) / 2
    for el in list(body.iter(*FURNITURE_TAGS)):
        if el.getparent() is not None and _chars(el.text_content()) < half:
            el.drop_tree()


def densest_block(tree: HtmlElement) -> HtmlElement | None:
    """The page's block of densest text, if it reads as a story. Removes scripts, navigation and the like."""
    body = tree.find(".//body")
    if body is None:
        return None
    _drop_furniture(body)
    blocks: dict[HtmlElement, Block] = {}
    _count(body, blocks)
    _credit_paragraphs(blocks)
    candidates = [(block.score, -block.chars, el) for el, block in blocks.items() if el.tag in CANDIDATES]
    if not candidates:
        return None
    *_, best = max(candidates, key=lambda c: c[:2])
    return best if is_story(blocks[best]) and not _is_list_item(best) else None


def _is_list_item(el: HtmlElement) -> bool:
    """Whether el, or one of its two nearest ancestors, is one of several siblings of the same tag and
    class: an item of a list of threads, teasers or results, not a story."""
    for _ in range(3):
        parent = el.getparent()
        if parent is None:
            return False
        if (
            el.get("class")
            and sum(1 for s in parent if s.tag == el.tag and s.get("class") == el.get("class")) > 2
        ):
            return True
        el = parent
    return False


def block_text(el: HtmlElement) -> str:
    """The block's text, one paragraph per line."""
    for inner in el.iter(*LINE_BREAKS):
        inner.tail = "\n" + (inner.tail or "")
        if inner.tag == "br":
            continue
        inner.text = "\n" + (inner.text or "")
    lines = (WS_RE.sub(" ", line).strip() for line in el.text_content().splitlines())
    return "\n".join(line for line in lines if line)
