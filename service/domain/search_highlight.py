"""Highlighting: wrap matched terms of a title or summary in <em>.

Matching runs on the normalised text (so 醫保 in a title lights up for the
query 医保) but the output keeps the original characters: normalisation is
done one character at a time to keep a map back to the source, and every
piece of source text is HTML-escaped, so the result is safe to inject.
"""

from __future__ import annotations

import html
import unicodedata
from functools import lru_cache

from . import search_pinyin, text


@lru_cache(maxsize=8192)  # the same titles and summaries come back hit after hit
def _normalised_with_map(source: str) -> tuple[str, tuple[int, ...] | range]:
    folded = text.normalise(source)
    if len(folded) == len(source):  # the usual case: one character each
        return folded, range(len(source))
    pieces: list[str] = []
    owner: list[int] = []
    for i, ch in enumerate(source):
        folded = unicodedata.normalize("NFKC", ch).lower() if ord(ch) > 127 else ch.lower()
        pieces.append(folded)
        owner.extend([i] * len(folded))
    folded = "".join(pieces)
    simplified = text.to_simplified(folded)
    return (simplified if len(simplified) == len(folded) else folded), tuple(owner)


def highlight(source: str, terms: set[str], pinyin_keys: set[str] = frozenset()) -> str:
    """HTML of source with occurrences of terms (normalised) in <em>."""
    if not source:
        return ""
    return _highlight(source, frozenset(terms), frozenset(pinyin_keys))


@lru_cache(maxsize=8192)  # a popular query brings back the same hits with the same terms
def _highlight(source: str, terms: frozenset[str], pinyin_keys: frozenset[str]) -> str:
    norm, owner = _normalised_with_map(source)
    marked = bytearray(len(source))
    for term in terms:
        start = norm.find(term)
        while start >= 0:
            for j in range(start, start + len(term)):
                marked[owner[j]] = 1
            start = norm.find(term, start + len(term))
    if pinyin_keys:
        for i in range(len(norm) - 1):
            if any(k in pinyin_keys for k in search_pinyin.title_keys(norm[i:i + 2])):
                marked[owner[i]] = marked[owner[i + 1]] = 1
    if not any(marked):
        return html.escape(source)
    out: list[str] = []
    start = 0
    while start < len(source):
        flag = marked[start]
        end = start + 1
        while end < len(source) and marked[end] == flag:
            end += 1
        piece = html.escape(source[start:end])
        out.append(f"<em>{piece}</em>" if flag else piece)
        start = end
    return "".join(out)
