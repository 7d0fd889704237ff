"""Chinese text pipeline shared by search, topic assignment and recommendations.

normalise() folds what readers type differently (full-width forms, case,
traditional characters) so indexing and querying meet on one spelling;
tokens() segments normalised text with rjieba plus the domain dictionary.

Speed: pure-Python OpenCC costs ~14 ms per 5,000-character page, far too
slow to index 100k articles at start. Almost all our text is already
simplified, so we precompute from OpenCC's own t2s dictionaries the set of
characters whose conversion can change anything (a character that changes
by itself, or one that changes inside a phrase such as 覆 in 反覆) and run
OpenCC only on the separator-delimited chunks that contain one of them.
OpenCC converts each chunk independently, so the result is identical to a
full conversion; untouched chunks cost one regex scan.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import rjieba
from opencc import OpenCC

DICTIONARY = Path(__file__).resolve().parent.parent / "data" / "dictionary.txt"

_t2s = OpenCC("t2s")
# A token worth indexing has at least one letter, digit or CJK ideograph.
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff]")


def _load_dictionary() -> None:
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, freq = line.partition(" ")
        rjieba.add_word(word, int(freq) if freq else None, None)


def _conversion_triggers() -> tuple[frozenset[str], frozenset[str], re.Pattern]:
    """Patterns telling whether t2s could change a chunk, from OpenCC's dicts.

    A character that t2s rewrites on its own (醫) always triggers. A character
    that only changes inside certain phrases (覆 in 反覆, never in 覆盖)
    triggers only when one of those phrases is present, so common simplified
    text is left alone.
    """
    _t2s.convert("")  # force OpenCC to load its dictionaries
    always: set[str] = set()
    phrases: dict[str, str] = {}
    for group in _t2s._dict_chain_data:
        for _max_len, _min_len, mapping in group:
            for key, value in mapping.items():
                first = value.split(" ")[0]
                if len(key) == 1 and key != first:
                    always.add(key)
                elif key != first:
                    phrases[key] = first
    only_in_phrases: set[str] = set()
    needed: set[str] = set()
    for key, first in phrases.items():
        if len(key) != len(first):  # cannot tell which character changed
            changed = set(key)
        else:
            changed = {k for k, v in zip(key, first, strict=True) if k != v}
        if not changed & always:
            only_in_phrases |= changed - always
            needed.add(key)

    alternation = "|".join(re.escape(k) for k in sorted(needed, key=len, reverse=True))
    return frozenset(always | only_in_phrases), frozenset(always), re.compile(alternation)


_load_dictionary()
_ANY_TRIGGER, _CHANGING_CHAR, _CHANGING_PHRASE = _conversion_triggers()


def _needs_conversion(chunk: str) -> bool:
    # Set look-ups beat a 4,000-character regex class several times over.
    if _ANY_TRIGGER.isdisjoint(chunk):
        return False
    return not _CHANGING_CHAR.isdisjoint(chunk) or bool(_CHANGING_PHRASE.search(chunk))


def to_simplified(text: str) -> str:
    """OpenCC t2s, run only on the chunks it could change."""
    if not _needs_conversion(text):
        return text
    parts = _t2s.split_chars_re.split(text)
    for i in range(0, len(parts), 2):  # even items are text, odd are separators
        if _needs_conversion(parts[i]):
            parts[i] = _t2s._convert(parts[i], _t2s._dict_chain_data)
    return "".join(parts)


def normalise(text: str) -> str:
    """Width-fold, lower-case and simplify one piece of text."""
    # Most text is already NFKC; the check is much cheaper than normalising.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return to_simplified(text.lower())


_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]")
_wordlike_cache: dict[str, bool] = {}


def _is_wordlike(word: str) -> bool:
    hit = _wordlike_cache.get(word)
    if hit is None:
        hit = _WORDLIKE.search(word) is not None
        if len(_wordlike_cache) < 500_000:
            _wordlike_cache[word] = hit
    return hit


def segment(text: str) -> list[str]:
    """Words of already-normalised text, punctuation and spaces dropped."""
    known = _wordlike_cache.get  # inlined: this runs once per word of every article
    return [w for w in rjieba.cut(text) if (hit := known(w)) or (hit is None and _is_wordlike(w))]


@lru_cache(maxsize=4096)
def _cached_tokens(text: str) -> tuple[str, ...]:
    return tuple(segment(normalise(text)))


def tokens(text: str) -> list[str]:
    """Normalise then segment: the one entry point for indexing and queries."""
    if len(text) <= 64:  # queries and titles repeat; bodies rarely do
        return list(_cached_tokens(text))
    return segment(normalise(text))


def _search_char_table() -> np.ndarray:
    """Per BMP code point: 0 blank, 1 keep, 2 needs NFKC, 3 t2s, 4 t2s in phrases."""
    table = np.zeros(0x10000, np.uint8)
    for code in range(0x10000):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        folded = unicodedata.normalize("NFKC", ch).lower()
        if folded != ch:  # full-width punctuation folds to nothing we keep
            table[code] = 2 if _WORDLIKE.search(folded) else 0
        elif _WORDLIKE.match(ch):
            table[code] = 1
    for ch in _ANY_TRIGGER:
        if ord(ch) < 0x10000 and table[ord(ch)] == 1:
            table[ord(ch)] = 3 if ch in _CHANGING_CHAR else 4
    return table


_SEARCH_CHARS = _search_char_table()


def _search_kinds(text: str) -> tuple[np.ndarray, np.ndarray]:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    kinds = _SEARCH_CHARS[np.minimum(codes, 0xFFFF)]
    kinds[codes > 0xFFFF] = 2  # outside the BMP: let NFKC decide
    return codes, kinds


def search_text(text: str) -> str:
    """normalise() with every non-word character turned into a space.

    One numpy pass over the code points decides what the text needs: most
    Chinese text needs neither NFKC nor t2s, only punctuation blanked, so
    this is several times faster than normalise() plus a regex. Search
    tokenises this form on both sides (the query side keeps offsets into it).
    Short strings skip numpy, whose per-call overhead would dominate.
    """
    if len(text) < 200:
        return _NON_WORD.sub(" ", normalise(text))
    codes, kinds = _search_kinds(text)
    if (kinds == 2).any():
        text = unicodedata.normalize("NFKC", text).lower()
        codes, kinds = _search_kinds(text)
        kinds[kinds == 2] = 1  # NFKC is idempotent: what is left is final
    if (kinds == 3).any() or ((kinds == 4).any() and _CHANGING_PHRASE.search(text)):
        text = to_simplified(text)
        codes, kinds = _search_kinds(text)
    blanked = np.where((kinds == 0) | (codes > 0xFFFF), np.uint32(32), codes)
    return blanked.tobytes().decode("utf-32-le", "surrogatepass")


def search_tokens(text: str) -> list[str]:
    """Index-side tokens: words plus the dictionary words inside them.

    rjieba's search mode also emits 异地 and 就医 for 异地就医, so a query
    segmented the ordinary way finds documents whichever granularity the
    document or the query happened to use.
    """
    # search_text leaves only single spaces between words, which rjieba
    # returns one per token: a plain comparison is the cheapest filter.
    return [w for w in rjieba.cut_for_search(search_text(text)) if w != " "]


def token_spans(prepared: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of search_text() output, spaces dropped."""
    return [t for t in rjieba.tokenize(prepared) if t[0] != " "]
