"""Highlighting: wrap matched terms of a title or summary in <em>.

Matching runs on the normalised text (so 醫保 in a title lights up for the
query 医保) but the output keeps the original characters: normalisation is
done one character at a time to keep a map back to the source, and every
piece of source text is HTML-escaped, so the result is safe to inject.

What is marked is whole words: the query's words and its synonyms', a
multi-word phrase (上医保, 丢了) only where it appears in one piece, and a
single character only when the reader typed it as a word by itself (so the
上 of 上医保 never lights up 线上). Pinyin matches are marked only where
they cover whole words of the title (yibaoka marks 医保卡, never the 保卡 of
社保卡).
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from .. import text
from .pinyin import title_keys


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


def highlight_terms(
    query: str,
    groups: Iterable[Mapping[tuple[str, ...], float]],
    boosts: Iterable[tuple[str, float]],
    known: Callable[[str], int],
) -> set[str]:
    """The strings to mark for a search plan, whole words only.

    query is the search_text() form of what was typed; groups are the
    plan's synonym groups (phrase -> weight), boosts its question words;
    known(word) is nonzero for words the index holds (nothing else can have
    matched). A phrase of several words is marked as one piece, plus its
    words of two or more characters; a single character only when the
    reader typed it between spaces or punctuation (医保 卡, not 线上 for 上医保).
    """
    typed_alone = {w for w in query.split() if len(w) == 1}
    terms: set[str] = set()
    for group in groups:
        for phrase in group:
            if not all(known(w) for w in phrase):
                continue
            if len(phrase) > 1:
                terms.add("".join(phrase))
            terms.update(w for w in phrase if len(w) > 1 or w in typed_alone)
    terms.update(w for w, _ in boosts if known(w) and (len(w) > 1 or w in typed_alone))
    return terms


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
        for start, end in _pinyin_runs(norm, pinyin_keys):
            for j in range(start, end):
                marked[owner[j]] = 1
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


def _pinyin_runs(norm: str, keys: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of norm whose character pairs all read as query bigrams,
    trimmed to the title's word boundaries (two characters at least)."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(norm) - 1:
        if not keys.intersection(title_keys(norm[i:i + 2])):
            i += 1
            continue
        end = i + 2
        while end < len(norm) and keys.intersection(title_keys(norm[end - 1:end + 1])):
            end += 1
        runs.append((i, end))
        i = end - 1
    if not runs:
        return []
    bounds = _word_bounds(norm)
    trimmed = []
    for start, end in runs:
        start = next(b for b in bounds if b >= start)
        end = next(b for b in reversed(bounds) if b <= end)
        if end - start >= 2:
            trimmed.append((start, end))
    return trimmed


def _word_bounds(norm: str) -> list[int]:
    """Offsets where a word of norm starts or ends, ascending."""
    bounds = {0, len(norm)}
    for _, start, end in text.token_spans(norm):
        bounds.update((start, end))
    return sorted(bounds)
