"""Query planning: a reader's text turned into what the scorer adds up.

- Queries are segmented normally (documents were indexed in rjieba's search
  mode, so 异地就医 also matches as 异地 and 就医, at SUBWORD_WEIGHT) and
  expanded with synonyms (service/data/synonyms.txt): each expansion is a
  variant in the word's group, scored below the word typed.
- Stop words (怎么, 吗, ...) neither match nor score; question words (多少,
  为什么, ...) rank but never make a document match on their own.
- Pinyin: a query in Latin letters (`yibaoka`) is split into syllable
  bigrams, matched against the titles'. A Chinese word that is unknown or
  rare (often a homophone typo such as 是负 for 师傅) also tries the bigrams
  around it, at a lower weight.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import text
from .highlight import highlight_terms
from .pinyin import latin_keys, title_keys
from .synonyms import Synonyms

MAX_QUERY_CHARS = 256  # the API rejects >200; never spend more than this
PINYIN_WEIGHT = 1.0  # a query typed in pinyin
PINYIN_FALLBACK_WEIGHT = 0.8  # bigrams around a suspected typo

# Function words: dropped from queries (unless nothing else is left).
STOP_WORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 么 嘛 是 我 我的 你 他 她 它 们 我们 这 那 这个 那个 里 里面 "
    "能 会 要 可以 能不能 可不可以 会不会 需要 有 有没有 在 和 与 或 及 还是 就 都 也 "
    "请问 一下 得 地 着 过 给 把 被 让 对 于 之 以 还 吗".split()
)
# Question words: they rank (a title asking 多少 answers a 多少 query) but
# never make a document match on their own.
BOOST_WORDS = frozenset(
    "怎么 怎么办 怎样 怎么样 如何 什么 啥 为什么 为啥 多少 多少钱 哪里 哪儿 哪些 哪个 几 多久 "
    "什么时候 是否 能否".split()
)
BOOST_WEIGHT = 0.3
SUBWORD_WEIGHT = 0.4  # 异地 and 就医 when the query said 异地就医
WEAK_DF = 0.002  # a query word in fewer docs than this share may be a typo
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Plan:
    groups: list[dict[tuple[str, ...], float]]  # each: phrase -> weight, scored by max
    pinyin: list[tuple[str, float]]  # (bigram key, weight)
    terms: set[str]  # normalised strings to highlight
    boosts: list[tuple[str, float]]  # scored only where something else matched


def clean_query(query: object) -> str:
    """The query as text to plan: bounded in length, control characters blanked."""
    if not isinstance(query, str):
        return ""
    return _CONTROL.sub(" ", query[:MAX_QUERY_CHARS])


def plan_query(query: str, synonyms: Synonyms, df: Callable[[str], int], live: int) -> Plan:
    """The plan of a cleaned query; df gives a word's live document frequency, live the documents'."""
    norm = text.search_text(query)
    spans = text.token_spans(norm)
    words = [w for w, _, _ in spans]
    groups: list[dict[tuple[str, ...], float]] = []
    boosts: list[tuple[str, float]] = []
    weak: list[tuple[int, int]] = []  # char ranges of suspected typos
    dropped: list[str] = []
    rare = max(2, int(WEAK_DF * live))
    i = 0
    while i < len(words):
        size, expansions = synonyms.match(words, i)
        if size:
            phrase = tuple(words[i:i + size])
            groups.append({phrase: 1.0, **{p: w for p, w in expansions.items() if p != phrase}})
            i += size
            continue
        word = words[i]
        i += 1
        if word in STOP_WORDS:
            dropped.append(word)
        elif word in BOOST_WORDS:
            boosts.append((word, BOOST_WEIGHT))
        else:
            groups.append({(word,): 1.0})
            groups.extend({(part,): SUBWORD_WEIGHT} for part in _subwords(word))
            if _CJK.search(word) and df(word) <= rare:
                weak.append((spans[i - 1][1], spans[i - 1][2]))
    if not groups:  # a query of stop and question words still means something
        groups = [{(w,): 1.0} for w in [*dropped, *(w for w, _ in boosts)]]
        boosts = []
    # A word typed twice (医保 医保) is scored once.
    groups = list({tuple(sorted(g.items())): g for g in groups}.values())
    boosts = list(dict.fromkeys(boosts))
    pinyin = [(k, PINYIN_WEIGHT) for k in latin_keys(norm)]
    if weak:
        pinyin += [(k, PINYIN_FALLBACK_WEIGHT) for k in _keys_around(norm, weak)]
    terms = highlight_terms(norm, groups, boosts, df)
    return Plan(groups, list(dict.fromkeys(pinyin)), terms, boosts)


def _subwords(word: str) -> list[str]:
    """Dictionary words inside a long query word (异地就医 -> 异地, 就医)."""
    if len(word) < 3:
        return []
    return [w for w in text.search_tokens(word) if w != word and len(w) > 1]


def _keys_around(norm: str, weak: list[tuple[int, int]]) -> list[str]:
    """Pinyin bigram keys of character pairs touching the weak ranges."""
    touched: set[int] = set()
    for start, end in weak:
        touched.update(range(max(start - 1, 0), min(end, len(norm) - 1)))
    keys: list[str] = []
    for i in sorted(touched):
        keys.extend(title_keys(norm[i:i + 2]))
    return keys
