"""Article text as compact, pruned BM25 vectors for 相关推荐.

Why this shape: several gunicorn workers each hold the vectors for every
article, so they live in flat numpy arrays (one growable CSR: term ids and
float32 weights per row) rather than per-article Python objects. Each row
keeps only its TOP_TERMS heaviest terms, L2-normalised, which keeps 100k
articles near 16 MB and makes a dot product a short gather.

The weights depend on corpus statistics (document frequencies, the average
length), which every change moves a little. So the raw term counts of each
article are kept too, and the weighted vectors are made from them in one
vectorised pass with the statistics as they are now (weigh): the vectors
are always exactly what a build from scratch would make. WeighedVectors keeps
them until the statistics move.

Weighting: BM25 saturation over body, answer and (half-weighted, since it
repeats the body's opening) summary, plus a flat bonus for every word in the
title: the title is the question, the best single statement of what a page
is about. Function words, question words and bare years are dropped; they
link every page to every other page.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import repeat

import numpy as np

from ..text import tokens

TOP_TERMS = 40  # terms kept per article
K1, B = 1.2, 0.75
TITLE_BONUS = 2.0  # added to the saturated tf (at most ~2.2) of a title word
FIELD_WEIGHTS = (("answer", 1.0), ("summary", 0.5), ("body", 1.0))
MAX_BODY_CHARS = 4000  # the opening carries the topic; long tails add noise and cost

STOPWORDS = frozenset(
    """的 了 是 吗 呢 吧 啊 呀 在 和 与 及 或 等 也 都 就 还 又 被 把 对 为 以 于 之 其 而 则 这 那 这个 那个
    有 没有 不 会 能 可 可以 需 需要 如 如果 如何 怎么 怎样 怎么样 什么 哪些 哪个 哪里 多少 一 个 些 每 各 该
    上 下 中 后 前 时 内 外 我 你 他 她 它 们 我们 你们 他们 要 将 并 但 且 即 从 到 由 给 让 通过 进行 相关
    具体 情况 问题 一般 主要 以下 如下 说明 包括 可能 已 已经 因为 所以 根据 按照 按 年 月 日 元 吗 么 呢 着
    过 得 地 很 更 最 非常 较 比较 一定 其他 其中 以及 或者 并且 而且 还是 就是 不是 同时 如下 例如 比如
    关于 对于 由于 需要 应 应当 可 均 即可 直接 目前 当前 相应 有关 所 来 去 做 用 时候 是否 一下 方面
    并非 而是 不能 才能 需在 能否 单独 一次 无需 无法 不会 不用 必须 仍 仍然 以上 超过 部分 方式 建议 注意
    提供 支持 开始 要求 条件 不同 相同 主要 均可 另外 此外 因此 然后 之后 之前 期间 以后 以前 每年 一年
    为什么 怎么办 怎么回事 为何 里面 时需 为准""".split()
)
_NOISE = re.compile(r"^(\d{1,2}|(19|20)\d\d年?|\d+\.\d+%?|\d+%)$")  # 3, 2025, 3.5%: not topics


def _words(text: str | None) -> list[str]:
    return [w for w in tokens(text) if w not in STOPWORDS and not _NOISE.match(w)] if text else []


def article_terms(article: dict) -> tuple[Counter, set[str], float]:
    """(weighted term counts outside the title, title words, weighted length)."""
    # Counted per field in C, filtered once per distinct word: a page repeats its words
    # several times. Weights are 1 and 0.5, so the sums are exact in any order.
    counts: Counter = Counter()
    for field, weight in FIELD_WEIGHTS:
        text = article.get(field) or ""
        if field == "body":
            text = text[:MAX_BODY_CHARS]
        if not text:
            continue
        if weight == 1.0:
            counts.update(tokens(text))
        else:
            for word, n in Counter(tokens(text)).items():
                counts[word] += weight * n
    drop = counts.keys() & STOPWORDS
    # Every _NOISE alternative starts with a digit (\d is exactly str.isdecimal): most words skip the regex.
    drop.update(w for w in counts if w[:1].isdecimal() and _NOISE.match(w))
    for word in drop:
        counts.pop(word)  # dict.pop: Counter's own __delitem__ is Python code
    title = set(_words(article.get("title")))
    return counts, title, float(sum(counts.values()))


def batch_terms(articles: list[dict], lo: int, hi: int) -> list[tuple[Counter, set[str], float]]:
    """article_terms of articles[lo:hi]: a build's batch (forked.batch_map)."""
    return [article_terms(article) for article in articles[lo:hi]]


class Vocabulary:
    """Term ids and document frequencies; grows as articles arrive."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.df = np.zeros(1024, dtype=np.int32)
        self.length = np.zeros(1024, dtype=np.int8)  # characters per term, capped: reasons skip 1-character words
        self.docs = 0
        self.avg_len = 1.0

    def id(self, term: str) -> int:
        tid = self.ids.get(term)
        if tid is None:
            tid = self.ids[term] = len(self.terms)
            self.terms.append(term)
            if tid >= len(self.df):
                self.df = np.concatenate([self.df, np.zeros(len(self.df), dtype=np.int32)])
                self.length = np.concatenate([self.length, np.zeros(len(self.length), dtype=np.int8)])
            self.length[tid] = min(len(term), 100)
        return tid

    def idfs(self, tids: np.ndarray) -> np.ndarray:
        df = self.df[tids].astype(np.float64)
        n = max(self.docs, 1)  # df never exceeds docs: both count the articles as they are now
        return np.log1p((n - df + 0.5) / (df + 0.5))


def term_arrays(vocab: Vocabulary, counts: Counter, title: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term ids, tf, in title) in word order: ~9 bytes a term instead of a Counter's ~100.

    Word order (not id order) so a row holds the same entries in the same
    order whenever and in whatever vocabulary it was made.
    """
    words = sorted(counts.keys() | title)
    ids = list(map(vocab.ids.get, words))  # map() over bound methods: no Python frame per word
    if None in ids:
        ids = [vocab.id(w) if t is None else t for w, t in zip(words, ids, strict=True)]  # new ids in word order
    tids = np.array(ids, dtype=np.int32)
    tf = np.array(list(map(counts.get, words, repeat(0.0, len(words)))), dtype=np.float32)
    in_title = np.array(list(map(title.__contains__, words)), dtype=bool)
    return tids, tf, in_title


def weigh(raw: RowStore, rows: np.ndarray, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pruned vectors of these rows: (term ids, weights, entries per row), heaviest first in each row.

    Made from the raw term counts with the vocabulary's statistics as they
    are now, so a vector is always what a build from scratch would make.
    Pruning keeps the TOP_TERMS heaviest terms that can link the article to
    another: a body word no other article has (df 1) links nothing, yet has
    the highest IDF and would crowd out the words that matter. It still counts
    in the norm, so a kept row's cosine is the full cosine restricted to
    shared, informative words. Ties break on the word (a row is in word
    order and the sort is stable), so builds repeat.
    """
    pos, lens = raw.gather(rows)
    owner = np.repeat(np.arange(len(rows)), lens)
    tids, tf, in_title = raw.take(pos)
    tf = tf.astype(np.float64)
    norm_len = K1 * (1 - B + B * raw.size[rows][owner] / vocab.avg_len)
    vals = vocab.idfs(tids) * (tf * (K1 + 1) / (tf + norm_len) + TITLE_BONUS * in_title)
    norms = np.sqrt(np.bincount(owner, weights=vals * vals, minlength=len(rows)))
    norms[norms == 0] = 1.0
    linking = np.flatnonzero(in_title | (vocab.df[tids] >= 2))
    order = linking[_heaviest(-vals[linking], owner[linking], len(rows), TOP_TERMS)]
    counts = np.bincount(owner[order], minlength=len(rows))
    return tids[order], (vals[order] / norms[owner[order]]).astype(np.float32), counts


def _heaviest(keys: np.ndarray, owner: np.ndarray, rows: int, top: int) -> np.ndarray:
    """Positions of each owner's `top` smallest keys, owner by owner, smallest first, equal keys
    in position order (owner is non-decreasing): what a lexsort on (keys, owner) cut at `top` gives.

    Sorted row by row in a padded matrix: many short sorts cost a third of one long lexsort."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    counts = np.bincount(owner, minlength=rows)
    starts = np.cumsum(counts) - counts
    grid = np.full((rows, int(counts.max())), np.inf)
    grid[owner, np.arange(len(owner)) - starts[owner]] = keys  # padding (inf) sorts after every key
    picked = np.argsort(grid, axis=1, kind="stable")[:, :top]
    return (starts[:, None] + picked)[np.arange(picked.shape[1]) < np.minimum(counts, top)[:, None]]


class RowStore:
    """Growable CSR: row r is entries [start[r], start[r]+length[r]) of terms/weights/flags, plus a
    size per row.

    Raw rows use weights for term counts, flags for "in the title" and size
    for the weighted length; pruned vectors use weights only. A changed row
    is appended anew and its old slot becomes garbage, so an update never
    shifts other rows; compact() reclaims the garbage.

    Entries before `split` are the loaded ones (load_base: a mapped saved
    index, shared by every worker) and are never grown or rewritten in place:
    growing them would give each worker its own copy at its first change (a
    GB at a million articles). Entries from `split` on live in a tail that grows.
    """

    def __init__(self, rows: int = 0, nnz: int = 0):
        self.start = np.zeros(max(rows, 16), dtype=np.int64)
        self.length = np.zeros(max(rows, 16), dtype=np.int32)
        self.size = np.zeros(max(rows, 16), dtype=np.float64)
        self.terms = np.zeros(0, dtype=np.int32)  # the loaded entries [0, split)
        self.weights = np.zeros(0, dtype=np.float32)
        self.flags = np.zeros(0, dtype=bool)
        self.split = 0
        self._tail = self._empty(max(nnz, 1024))  # entries [split, split + len)
        self.used = 0

    @staticmethod
    def _empty(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.float32), np.zeros(n, dtype=bool)

    def load_base(self, terms: np.ndarray, weights: np.ndarray, flags: np.ndarray, lengths: np.ndarray) -> None:
        """Rows 0..len(lengths)-1 as these entries, one row after the other (kept as they are)."""
        n = len(lengths)
        self.ensure_rows(n)
        self.terms, self.weights, self.flags = terms, weights, flags
        self.split = self.used = len(terms)
        self.length[:n] = lengths
        self.start[:n] = np.cumsum(lengths) - lengths
        self._tail = self._empty(1024)

    def ensure_rows(self, rows: int) -> None:
        if rows > len(self.start):
            grow = max(rows, 2 * len(self.start)) - len(self.start)
            self.start = np.concatenate([self.start, np.zeros(grow, dtype=np.int64)])
            self.length = np.concatenate([self.length, np.zeros(grow, dtype=np.int32)])
            self.size = np.concatenate([self.size, np.zeros(grow, dtype=np.float64)])

    def _capacity(self) -> int:
        return self.split + len(self._tail[0])

    def set(self, row: int, tids: np.ndarray, vals: np.ndarray, flags: np.ndarray | None = None,
            size: float = 0.0) -> None:
        self.ensure_rows(row + 1)
        n = len(tids)
        if self.used + n > self._capacity():
            if self.garbage() > self._capacity() // 2:
                self.compact()
            if self.used + n > self._capacity():
                grow = max(n, self._capacity() // 8)  # modest steps: every worker holds this
                self._tail = tuple(np.concatenate([a, np.zeros(grow, dtype=a.dtype)]) for a in self._tail)
        at = self.used - self.split
        terms, weights, in_title = self._tail
        terms[at : at + n] = tids
        weights[at : at + n] = vals
        in_title[at : at + n] = False if flags is None else flags
        self.start[row], self.length[row], self.size[row] = self.used, n, size
        self.used += n

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        s, n = int(self.start[r]), int(self.length[r])
        if s >= self.split:  # a row is written whole, so it lies on one side of the split
            terms, weights, _ = self._tail
            return terms[s - self.split : s - self.split + n], weights[s - self.split : s - self.split + n]
        return self.terms[s : s + n], self.weights[s : s + n]

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat positions of the given rows' entries (for take()), and each row's entry count."""
        lens = self.length[rows].astype(np.int64)
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64), lens
        ends = np.cumsum(lens)
        offsets = np.repeat(self.start[rows] - (ends - lens), lens)
        return offsets + np.arange(total, dtype=np.int64), lens

    def take(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(terms, weights, flags) of these flat positions."""
        base = (self.terms, self.weights, self.flags)
        if not len(pos) or int(pos.max()) < self.split:
            return tuple(a[pos] for a in base)
        if int(pos.min()) >= self.split:
            return tuple(a[pos - self.split] for a in self._tail)
        in_tail = pos >= self.split
        out = tuple(np.empty(len(pos), dtype=a.dtype) for a in base)
        for got, old, new in zip(out, base, self._tail, strict=True):
            got[~in_tail] = old[pos[~in_tail]]
            got[in_tail] = new[pos[in_tail] - self.split]
        return out

    def garbage(self) -> int:
        return self.used - int(self.length.sum())

    def compact(self) -> None:
        """Every live entry into a new tail, in row order (the loaded entries are let go)."""
        rows = np.nonzero(self.length)[0]
        pos, lens = self.gather(rows)
        live = self.take(pos)
        self.terms, self.weights, self.flags = self._empty(0)
        self.split = 0
        self._tail = tuple(np.concatenate([a, np.zeros(max(1024, len(a) // 8), dtype=a.dtype)]) for a in live)
        self.start[rows] = np.cumsum(lens) - lens
        self.used = len(pos)

    def nbytes(self) -> int:
        arrays = (self.start, self.length, self.size, self.terms, self.weights, self.flags, *self._tail)
        return sum(a.nbytes for a in arrays)


class WeighedVectors:
    """The rows' weighed vectors, made on first use and kept until the statistics move.

    A bounded memo of weigh(): past `kept` rows it starts again. Whoever
    changes the raw rows or the vocabulary calls clear(). The kept vectors
    sit in one flat CSR with a slot per row, so a lookup finds, weighs and
    gathers its ~120 candidates in a few array operations, with no Python
    work per row. Also holds the scratch dense vector the dot products use.
    """

    def __init__(self, raw: RowStore, vocab: Vocabulary, kept: int):
        self.raw, self.vocab = raw, vocab
        self._kept = kept
        self._has = np.zeros(1024, dtype=bool)  # per row: its vector is in terms/weights
        self._start = np.zeros(1024, dtype=np.int64)
        self._length = np.zeros(1024, dtype=np.int64)
        self._terms = np.zeros(4096, dtype=np.int32)
        self._weights = np.zeros(4096, dtype=np.float32)
        self._used = 0  # entries of terms/weights in use
        self._count = 0  # rows held
        self._dense = np.zeros(1024, dtype=np.float32)

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        self._has[:] = False
        self._used = self._count = 0

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term ids, weights, entries per row) of these rows' vectors, in rows' order."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        self._fit(int(rows.max()) + 1)
        missing = np.unique(rows[~self._has[rows]])
        if len(missing):
            if self._count + len(missing) > self._kept:
                self.clear()  # full: start again with what this lookup needs
                missing = np.unique(rows)
            self._add(missing)
        lens = self._length[rows]
        ends = np.cumsum(lens)
        total = int(ends[-1])
        pos = np.repeat(self._start[rows] - (ends - lens), lens) + np.arange(total, dtype=np.int64)
        return self._terms[pos], self._weights[pos], lens

    def one(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(term ids, weights) of one row, heaviest first."""
        terms, weights, _ = self.of(np.array([row]))
        return terms, weights

    def _fit(self, rows: int) -> None:
        if rows > len(self._has):
            grow = max(rows, 2 * len(self._has)) - len(self._has)
            self._has = np.concatenate([self._has, np.zeros(grow, dtype=bool)])
            self._start = np.concatenate([self._start, np.zeros(grow, dtype=np.int64)])
            self._length = np.concatenate([self._length, np.zeros(grow, dtype=np.int64)])

    def _add(self, rows: np.ndarray) -> None:
        """Weigh these rows (none held) and hold their vectors."""
        terms, weights, counts = weigh(self.raw, rows, self.vocab)
        end = self._used + len(terms)
        if end > len(self._terms):
            size = max(end, 2 * len(self._terms))
            self._terms = np.concatenate([self._terms[: self._used], np.zeros(size - self._used, np.int32)])
            self._weights = np.concatenate([self._weights[: self._used], np.zeros(size - self._used, np.float32)])
        self._terms[self._used : end] = terms
        self._weights[self._used : end] = weights
        self._start[rows] = self._used + np.cumsum(counts) - counts
        self._length[rows] = counts
        self._has[rows] = True
        self._used, self._count = end, self._count + len(rows)

    def dense(self) -> np.ndarray:
        """A zeroed dense vector over the vocabulary; callers zero what they set."""
        if len(self._dense) < len(self.vocab.terms):
            self._dense = np.zeros(2 * len(self.vocab.terms), dtype=np.float32)
        return self._dense

    def nbytes(self) -> int:
        arrays = (self._dense, self._has, self._start, self._length, self._terms, self._weights)
        return sum(a.nbytes for a in arrays)
