"""Markdown bodies rendered for frontends: safe HTML and plain text.

markdown-it-py renders with raw HTML disabled (it is escaped, not passed
through); nh3 (the Rust ammonia sanitiser) then allows only a fixed set of
tags and URL schemes, so body_html can be injected into a page as it is.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em",
    "code", "pre", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=2048)
def to_html(markdown: str) -> str:
    html = _md.render(markdown)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


@lru_cache(maxsize=2048)
def to_text(markdown: str) -> str:
    """Plain text of a Markdown body: inline content, one block a line."""
    lines = [_plain(token) for token in _md.parse(markdown) if token.type == "inline"]
    return "\n".join(line for line in lines if line)


def text_blocks(markdown: str) -> list[tuple[str, int, str]]:
    """The plain text of each block that has some, in order, as (kind, nesting level, text):
    ("heading", 0, ...) for a heading, ("paragraph", 0, ...) for a paragraph of its own,
    ("paragraph", 2, ...) for one in a list item."""
    blocks = []
    opened = None
    for token in _md.parse(markdown):
        if token.nesting == 1:
            opened = token
        elif token.type == "inline" and (text := _plain(token)):
            blocks.append((opened.type.removesuffix("_open"), opened.level, text))
    return blocks


def _plain(inline) -> str:
    return "".join(
        child.content for child in inline.children or () if child.type in ("text", "code_inline")
    ).strip()
