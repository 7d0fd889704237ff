"""Pinyin keys so homophone typos and pinyin queries still find articles.

Phone users type 师傅 for 是负 or just `yibaoka`. Titles are indexed by
toneless syllable bigrams (医保卡 -> yi_bao, bao_ka) which both a typo'd
Chinese query and a pinyin query reduce to. Readings come from pypinyin's
per-character table (first two readings for polyphones) rather than its
phrase-aware converter: it is ~50x faster, which matters at 100k titles,
and index and query use the same table so they always agree.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, load_phrases_dict
from pypinyin.converter import UltimateConverter
from pypinyin.pinyin_dict import pinyin_dict
from pypinyin.seg.simpleseg import seg as _segment

MAX_READINGS = 2
# Latin words with only spaces between them (search_text() has already turned
# hyphens and apostrophes into spaces): `yi bao ka`, `yibao ka`, `xi'an`.
_LATIN_RUN = re.compile(r"[a-z]+(?: +[a-z]+)*")
MAX_LATIN_CHARS = 60  # the syllable split is quadratic-ish; nobody types more


def _toneless(reading: str) -> str:
    reading = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(c for c in reading if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    readings: dict[str, tuple[str, ...]] = {}
    for code, value in pinyin_dict.items():
        if 0x3400 <= code <= 0x9FFF:
            seen: list[str] = []
            for r in value.split(","):
                r = _toneless(r)
                if r and r not in seen:
                    seen.append(r)
            readings[chr(code)] = tuple(seen[:MAX_READINGS])
    syllables = frozenset(s for rs in readings.values() for s in rs)
    return readings, syllables


def readings(char: str) -> tuple[str, ...]:
    """Toneless readings of one character; () when it is not a CJK ideograph."""
    return _table()[0].get(char, ())


def char_syllables(text: str) -> list[tuple[str, ...]]:
    """Readings per character of normalised text (() for non-ideographs)."""
    table = _table()[0]
    return [table.get(c, ()) for c in text]


def bigrams_at(syll: list[tuple[str, ...]], i: int) -> list[str]:
    """Keys for the character pair at i, i+1 (every reading combination)."""
    return [f"{a}_{b}" for a in syll[i] for b in syll[i + 1]]


@lru_cache(maxsize=300_000)  # character pairs recur across titles: each is read once
def _pair_keys(pair: str) -> list[str]:
    table = _table()[0]
    return [f"{a}_{b}" for a in table.get(pair[0], ()) for b in table.get(pair[1], ())]


def title_keys(text: str) -> list[str]:
    """Bigram keys of a normalised title, one entry per occurrence."""
    keys: list[str] = []
    for i in range(len(text) - 1):
        keys.extend(_pair_keys(text[i:i + 2]))
    return keys


def split_latin(word: str) -> list[str] | None:
    """`yibaoka` -> [yi, bao, ka]: fewest syllables, or None if not pinyin."""
    syllables = _table()[1]
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            piece = word[start:end]
            current = best[end]
            if head is not None and piece in syllables and (
                current is None or len(head) + 1 < len(current)
            ):
                best[end] = [*head, piece]
    return best[n]


def latin_keys(query: str) -> list[str]:
    """Bigram keys for the pinyin in a normalised query.

    Readers separate syllables as they please (yibaoka, yi bao ka, yibao ka,
    yi-bao-ka): each word is split into syllables and the syllables of
    neighbouring words are chained, so all of these give the keys of
    yibaoka. A word that is not pinyin (app) breaks the chain.
    """
    keys: list[str] = []
    for run in _LATIN_RUN.findall(query):
        chain: list[str] = []
        for word in run.split():
            parts = split_latin(word) if len(word) <= MAX_LATIN_CHARS else None
            if parts:
                chain.extend(parts)
                continue
            keys.extend(_chain_keys(chain))
            chain = []
        keys.extend(_chain_keys(chain))
    return keys


def _chain_keys(chain: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in itertools.pairwise(chain)]


# Words whose reading pypinyin's phrase list gets wrong or lacks (佛 alone reads fu).
DOMAIN_PHRASES = {"佛医保": [["fó"], ["yī"], ["bǎo"]], "佛山": [["fó"], ["shān"]]}
load_phrases_dict(DOMAIN_PHRASES)


def spellings(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of normalised text for prefix suggestions.

    Phrase-aware (pypinyin picks 佛山 fo shan, 银行 yin hang), so what a
    reader types in pinyin matches how the title is read. The same as
    lazy_pinyin(text, errors=_alnum), which segments the text and converts
    each word on its own: titles share their words, so each word's
    conversion is remembered (3-4x faster over 100k titles).
    """
    parts = [p for word in _segment(text) for p in _word_parts(word) if p]
    return "".join(parts), "".join(p[0] for p in parts)


def _alnum(chars: str) -> list[str]:
    return [c for c in chars if c.isalnum()]


_CONVERTER = UltimateConverter()  # what lazy_pinyin makes on each call, with its defaults


@lru_cache(maxsize=200_000)
def _word_parts(word: str) -> tuple[str, ...]:
    return tuple(itertools.chain.from_iterable(_CONVERTER.convert(word, Style.NORMAL, False, _alnum, strict=True)))
