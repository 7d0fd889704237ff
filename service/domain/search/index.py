"""Full-text search over articles: BM25F on numpy postings, in process.

Why this shape:
- BM25F folds the fields into one pseudo term frequency per (term, article)
  (title counts five times a body mention, each field length-normalised),
  so a posting is one docno and one uint8 impact and a query is a few numpy
  scatter-adds into a dense accumulator, then np.argpartition for the page.
  A very common term such as 医保 (every article) stays well under 5 ms at
  100k articles.
- Documents are tokenised in rjieba's search mode (异地就医 is also indexed
  as 异地 and 就医); queries are segmented normally and expanded with
  synonyms (service/data/synonyms.txt), each expansion scored below the
  word typed. Stop words (怎么, 吗, ...) neither match nor score.
- Pinyin: title syllable bigrams live in a second postings list. A query in
  Latin letters (`yibaoka`) is split into syllables and matched there; a
  Chinese query whose words are unknown or single characters (often a
  homophone typo such as 是负 for 师傅) also tries the bigrams around them,
  at a lower weight.
- Facets follow the usual faceted-UI rule: topic counts are over the
  query's matches with the region filter applied (not the topic filter),
  region counts with the topic filter applied (not the region filter), so
  a reader sees how many results each alternative choice would give.
- upsert/remove cost about a millisecond: they append to a delta and mask
  the old docno; the delta is folded into the arrays every DELTA_DOCS
  changes and dead docnos are dropped once they are a quarter of the index.
- save/load: building tokenises every article (tens of seconds at 100k),
  so the built index is saved as one uncompressed .npz (flat arrays;
  strings as a UTF-8 blob plus lengths; scalars as a JSON blob) and loaded
  at the next start. Derived parts (dense rows) are recomputed, lazy ones
  (the suggester) rebuilt on first use. A file of another FORMAT or scoring
  setup, or one that does not read, loads as None: it is a cache, the
  caller rebuilds.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import text
from ..store import npz
from .highlight import highlight, highlight_terms
from .pinyin import latin_keys, title_keys
from .postings import IMPACT_SCALE, Facet, Postings, Vocab
from .suggest import Suggester, popular_matches
from .synonyms import Synonyms

FIELDS = ("title", "answer", "summary", "meta", "body")
FIELD_WEIGHT = np.array([1.0, 2.0, 1.5, 1.5, 1.0])  # title's own weight is TITLE_SHARE
FIELD_B = np.array([0.3, 0.6, 0.5, 0.0, 0.75])
K1 = 1.2
TITLE_K1 = 0.3  # one title mention is nearly the whole title share
TITLE_SHARE = 0.55
PINYIN_K1 = 1.2
BODY_CHARS = 4000  # index the opening of long bodies: it carries the answer
MAX_QUERY_CHARS = 256  # the API rejects >200; never spend more than this
PINYIN_WEIGHT = 1.0  # a query typed in pinyin
PINYIN_FALLBACK_WEIGHT = 0.8  # bigrams around a suspected typo
# Length normalisation uses these typical lengths (in tokens; those of the
# site's pages, measured on seeds/) rather than the corpus averages: an
# article's impacts then never depend on what else is in the index, so an
# edit elsewhere never changes its score, and an index kept current one
# change at a time holds exactly what a rebuild would.
TYPICAL_LENGTHS = np.array([8.0, 1.0, 50.0, 2.0, 110.0])  # per field, as FIELDS
TYPICAL_TITLE_KEYS = 20.0  # pinyin syllable bigrams per title
DELTA_DOCS = 2000
BATCH = 2048
ANSWERS_KEPT = 2048  # remembered search and suggest answers (cleared by any change)

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
GROUP_EXTRA = 0.25  # weight of a synonym group's second and later variants
SUBWORD_WEIGHT = 0.4  # 异地 and 就医 when the query said 异地就医
WEAK_DF = 0.002  # a query word in fewer docs than this share may be a typo
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_MD_LINK = re.compile(r"\]\([^)]*\)|https?://\S+")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass
class Hit:
    id: str
    score: float
    highlights: dict[str, str]


@dataclass
class SearchResult:
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: {"topics": [], "regions": []}
    )


@dataclass
class _Plan:
    groups: list[dict[tuple[str, ...], float]]  # each: phrase -> weight, scored by max
    pinyin: list[tuple[str, float]]  # (bigram key, weight)
    terms: set[str]  # normalised strings to highlight
    boosts: list[tuple[str, float]]  # scored only where something else matched


def _field_texts(article: dict) -> list[str]:
    meta = " ".join([*(article.get("tags") or []), article.get("category") or ""])
    body = _MD_LINK.sub(" ", (article.get("body") or "")[:BODY_CHARS])
    return [
        article.get("title") or "",
        article.get("answer") or "",
        article.get("summary") or "",
        meta,
        body,
    ]


def _article_tokens(article: dict) -> tuple[list[list[str]], list[str]]:
    """(search tokens per field, title pinyin keys): what a build and an upsert index."""
    fields = [text.search_tokens(value) if value else [] for value in _field_texts(article)]
    return fields, title_keys(text.normalise(article.get("title") or ""))


def _date_number(value: object) -> int:
    digits = str(value or "")[:10].replace("-", "")
    return int(digits) if digits.isdigit() else 0


def _clean_query(query: object) -> str:
    if not isinstance(query, str):
        return ""
    return _CONTROL.sub(" ", query[:MAX_QUERY_CHARS])


def _locked(method):
    """Serialise public calls: a threaded worker may refresh while it searches."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class SearchIndex:
    """In-process search index; see the module docstring for the design."""

    FORMAT = 2  # bump when the saved layout changes

    def __init__(self, synonyms: Synonyms | None = None):
        self.synonyms = synonyms if synonyms is not None else Synonyms.load()
        self._lock = threading.RLock()
        self._reset()

    # -- building --------------------------------------------------------

    def _reset(self) -> None:
        self.postings = Postings()
        self.pinyin = Postings()
        self.topics = Facet()
        self.regions = Facet()
        self._ids: list[str | None] = []
        self._docno: dict[str, int] = {}
        self._titles: list[str] = []
        self._summaries: list[str] = []
        self._alive = np.zeros(0, bool)
        self._draft = np.zeros(0, bool)
        self._date = np.zeros(0, np.int32)
        self._live = 0
        self._dead = 0
        # Document frequencies over live documents: postings of a removed or
        # replaced version stay in the arrays until compaction and must not count.
        self._live_df: dict[tuple[int, str], int] = {}
        self._suggester: Suggester | None = None
        # Answers to repeated searches and completions, until the index changes:
        # readers repeat what is popular (大家都在搜 invites it).
        self._answers: dict[tuple, object] = {}

    def _remembered(self, key: tuple, compute):
        answer = self._answers.get(key)
        if answer is None:
            if len(self._answers) >= ANSWERS_KEPT:
                self._answers.clear()
            answer = self._answers[key] = compute()
        return answer

    def _grow(self, size: int) -> None:
        if size <= len(self._alive):
            return
        cap = max(size, 2 * len(self._alive), 64)
        for name in ("_alive", "_draft", "_date"):
            old = getattr(self, name)
            new = np.zeros(cap, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _register(self, article: dict) -> int:
        docno = len(self._ids)
        self._grow(docno + 1)
        self._ids.append(str(article["id"]))
        self._docno[str(article["id"])] = docno
        self._titles.append(article.get("title") or "")
        self._summaries.append(article.get("summary") or "")
        self._alive[docno] = True
        self._draft[docno] = article.get("status", "published") != "published"
        self._date[docno] = _date_number(article.get("published_at"))
        self.topics.add(docno, list(article.get("topics") or []))
        self.regions.add(docno, list(article.get("regions") or []))
        self._live += 1
        return docno

    @_locked
    def build(self, articles: Iterable[dict], workers: int = 1) -> None:
        """Index all articles from scratch (replaces any previous content).

        Tokenising is ~90% of the cost, so workers > 1 splits it over
        forked processes (Linux); call it before starting threads, e.g. in
        the gunicorn master with preload_app, whose forked workers then
        share the arrays copy-on-write.
        """
        global _BUILDING
        self._reset()
        articles = list(articles)
        for article in articles:
            self._register(article)
        ranges = [(lo, min(lo + BATCH, len(articles))) for lo in range(0, len(articles), BATCH)]
        _BUILDING = articles
        try:
            if workers > 1 and len(ranges) > 1 and "fork" in mp.get_all_start_methods():
                with mp.get_context("fork").Pool(workers) as pool:
                    self._collect(pool.imap(_tokenise_batch, ranges))
            else:
                self._collect(map(_tokenise_batch, ranges))
        finally:
            _BUILDING = []

    def _collect(self, batches: Iterable[tuple]) -> None:
        vocab, pvocab = self.postings.vocab, self.pinyin.vocab
        term_rows: list[tuple[np.ndarray, ...]] = []
        pkeys: list[np.ndarray] = []
        pdocs: list[np.ndarray] = []
        nf = len(FIELDS)
        for first, words, tids, lens, keys, kids, kcounts in batches:
            ndocs = len(kcounts)
            to_global = np.fromiter(map(vocab.__getitem__, words), np.int64, len(words))
            flds = np.repeat(np.tile(np.arange(nf), ndocs), lens)
            dnos = np.repeat(np.arange(first, first + ndocs), lens.reshape(-1, nf).sum(axis=1))
            kdocs = np.repeat(np.arange(first, first + ndocs), kcounts)
            term_rows.append(self._flush(first, to_global[tids], flds, dnos, lens))
            key_map = np.fromiter(map(pvocab.__getitem__, keys), np.int64, len(keys))
            pkeys.append(key_map[kids])
            pdocs.append(kdocs)
        self.postings.load(*_stack(term_rows))
        if pkeys and sum(map(len, pkeys)):
            self.pinyin.load(*self._pinyin_rows(np.concatenate(pkeys), np.concatenate(pdocs)))

    @staticmethod
    def _flush(first, tids, flds, dnos, lens) -> tuple[np.ndarray, ...]:
        """Turn one batch of token rows into (term, docno, impact) rows."""
        length = np.asarray(lens, np.float64).reshape(-1, len(FIELDS))
        ndocs = length.shape[0]
        t = np.asarray(tids, np.int64)
        if not len(t):
            return t, t.astype(np.int32), t.astype(np.uint8)
        d = np.asarray(dnos, np.int64) - first
        f = np.asarray(flds, np.int64)
        nf = len(FIELDS)
        span = ndocs * nf
        uniq, tf = np.unique((t * span + d * nf + f), return_counts=True)
        f = uniq % nf
        d = (uniq // nf) % ndocs
        norm = 1 - FIELD_B[f] + FIELD_B[f] * length[d, f] / TYPICAL_LENGTHS[f]
        contrib = FIELD_WEIGHT[f] * tf / norm
        in_title = f == 0
        pair = uniq // nf  # (term, doc) key; fields of a pair are adjacent
        starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
        title = np.add.reduceat(np.where(in_title, contrib, 0.0), starts)
        rest = np.add.reduceat(np.where(in_title, 0.0, contrib), starts)
        return (pair[starts] // ndocs), (d[starts] + first), _impact(title, rest)

    @staticmethod
    def _pinyin_rows(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, ...]:
        pairs, tf = np.unique(keys.astype(np.int64) * (1 << 32) + docs, return_counts=True)
        k, d = pairs >> 32, pairs & 0xFFFFFFFF
        doc_ids, per_doc = np.unique(docs, return_counts=True)
        norm = 0.25 + 0.75 * per_doc[np.searchsorted(doc_ids, d)] / TYPICAL_TITLE_KEYS
        pseudo = tf / norm
        return k, d, _quantise(pseudo / (PINYIN_K1 + pseudo))

    # -- incremental -----------------------------------------------------

    @_locked
    def upsert(self, article: dict) -> None:
        """Add or replace one article (cheap: a delta append plus a mask).

        Impacts come from the same code as a build's, on a batch of one, so
        an article indexed here is scored exactly as a rebuild would score it.
        """
        self.remove(str(article["id"]))
        docno = self._register(article)
        fields, keys = _article_tokens(article)
        vocab = self.postings.vocab
        tids = np.fromiter((vocab[w] for words in fields for w in words), np.int64)
        lens = np.fromiter(map(len, fields), np.int64, len(fields))
        flds = np.repeat(np.arange(len(FIELDS)), lens)
        terms, _, impacts = self._flush(docno, tids, flds, np.full(len(tids), docno), lens)
        if len(terms):
            self.postings.add(docno, dict(zip(terms.tolist(), impacts.tolist(), strict=True)))
        if keys:
            kids = np.fromiter(map(self.pinyin.vocab.__getitem__, keys), np.int64, len(keys))
            kterms, _, kimpacts = self._pinyin_rows(kids, np.full(len(kids), docno))
            self.pinyin.add(docno, dict(zip(kterms.tolist(), kimpacts.tolist(), strict=True)))
        if self._suggester is not None:
            self._suggester.add(docno, self._titles[docno])
        self._changed()
        self._maintain()

    def _changed(self) -> None:
        """Forget what depends on the set of live documents."""
        self._answers.clear()
        self._live_df.clear()

    @_locked
    def remove(self, article_id: str) -> None:
        """Forget an article; unknown ids are ignored."""
        docno = self._docno.pop(str(article_id), None)
        if docno is None:
            return
        self._alive[docno] = False
        self._ids[docno] = None
        self._titles[docno] = self._summaries[docno] = ""
        self._live -= 1
        self._dead += 1
        if self._suggester is not None:
            self._suggester.remove(docno)
        self._changed()
        self._maintain()

    def _maintain(self) -> None:
        if self.postings.delta_docs >= DELTA_DOCS:
            self.postings.merge_delta()
            self.pinyin.merge_delta()
        total = len(self._ids)
        if self._dead > 1000 and self._dead * 4 > total:
            self._compact()

    def _compact(self) -> None:
        total = len(self._ids)
        keep = self._alive[:total].copy()
        remap = (np.cumsum(keep) - 1).astype(np.int32)
        for part in (self.postings, self.pinyin, self.topics, self.regions):
            part.compact(keep, remap)
        kept = np.flatnonzero(keep)
        self._ids = [self._ids[i] for i in kept]
        self._titles = [self._titles[i] for i in kept]
        self._summaries = [self._summaries[i] for i in kept]
        self._docno = {doc_id: n for n, doc_id in enumerate(self._ids)}
        self._alive = self._alive[:total][keep]
        self._draft = self._draft[:total][keep]
        self._date = self._date[:total][keep]
        self._dead = 0
        self._suggester = None

    def __len__(self) -> int:
        return self._live

    def __contains__(self, article_id: object) -> bool:
        return str(article_id) in self._docno

    # -- querying --------------------------------------------------------

    def _df(self, postings: Postings, term: str) -> int:
        """Live documents holding the term: a removed or replaced version's
        postings stay in the arrays until compaction and must not count."""
        if not self._dead:
            return postings.df(term)
        key = (postings is self.pinyin, term)
        df = self._live_df.get(key)
        if df is None:
            found = postings.get(term)
            df = self._live_df[key] = int(self._alive[found[0]].sum()) if found is not None else 0
        return df

    def _idf(self, df: int) -> float:
        n = max(self._live, 1)
        return float(np.log1p((n - df + 0.5) / (df + 0.5)))

    def _plan(self, query: str) -> _Plan:
        norm = text.search_text(query)
        spans = text.token_spans(norm)
        words = [w for w, _, _ in spans]
        groups: list[dict[tuple[str, ...], float]] = []
        boosts: list[tuple[str, float]] = []
        weak: list[tuple[int, int]] = []  # char ranges of suspected typos
        dropped: list[str] = []
        rare = max(2, int(WEAK_DF * self._live))
        i = 0
        while i < len(words):
            size, expansions = self.synonyms.match(words, i)
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
                if _CJK.search(word) and self._df(self.postings, word) <= rare:
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
        terms = highlight_terms(norm, groups, boosts, lambda w: self._df(self.postings, w))
        return _Plan(groups, list(dict.fromkeys(pinyin)), terms, boosts)

    def _score(self, plan: _Plan, size: int) -> np.ndarray:
        acc = np.zeros(size, np.float32)
        for group in plan.groups:
            # One idf for the whole group, from its most common member (as
            # Lucene's SynonymQuery does): a rare synonym such as 转回 must not
            # outscore the word the reader typed (转移).
            df = max((self._df(self.postings, p[0]) for p in group if len(p) == 1), default=0)
            idf = self._idf(df) if df and len(group) > 1 else None
            if len(group) == 1 and len(phrase := next(iter(group))) == 1:
                self._add_term(acc, self.postings, phrase[0], group[phrase], idf)
            else:
                self._add_group(acc, group, idf)
        for key, weight in plan.pinyin:
            self._add_term(acc, self.pinyin, key, weight)
        if plan.boosts:
            extra = np.zeros(size, np.float32)
            for word, weight in plan.boosts:
                self._add_term(extra, self.postings, word, weight)
            acc += extra * (acc > 0)
        return acc

    def _add_group(self, acc: np.ndarray, group: dict, idf: float | None) -> None:
        """acc += a synonym group: best variant in full, others at GROUP_EXTRA.

        More variants in one doc (佛医保 and 普惠型 together) are extra,
        weaker evidence. Common single words use their dense rows.
        """
        size = len(acc)
        best = np.zeros(size, np.float32)
        total = np.zeros(size, np.float32)
        for phrase, weight in group.items():
            dense = self.postings.dense_row(phrase[0]) if len(phrase) == 1 else None
            if dense is not None:
                row, extra_docs, extra_imps = dense
                df = self._df(self.postings, phrase[0])
                scale = np.float32(weight * (self._idf(df) if idf is None else idf) / IMPACT_SCALE)
                scores = row * scale
                np.maximum(best[: len(row)], scores, out=best[: len(row)])
                total[: len(row)] += scores
                found = (extra_docs, extra_imps.astype(np.float32) * scale) if len(extra_docs) else None
            else:
                found = self._phrase_scores(phrase, weight, idf)
            if found is not None:
                docs, scores = found
                np.maximum.at(best, docs, scores)
                total[docs] += scores
        acc += (1 - GROUP_EXTRA) * best + GROUP_EXTRA * total

    def _add_term(
        self, acc: np.ndarray, postings: Postings, term: str, weight: float,
        idf: float | None = None,
    ) -> None:
        """acc += this term's scores, from its dense row when it has one."""
        dense = postings.dense_row(term)
        if dense is None:
            found = self._term_scores(postings, term, weight, idf)
            if found is not None:
                _accumulate(acc, *found)
            return
        row, extra_docs, extra_imps = dense
        scale = weight * (self._idf(self._df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        acc[: len(row)] += row * np.float32(scale)  # uint8 * float32 -> float32
        if len(extra_docs):
            acc[extra_docs] += extra_imps.astype(np.float32) * np.float32(scale)

    def _term_scores(
        self, postings: Postings, term: str, weight: float, idf: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnos, scores) of one term, or None when no document has it."""
        found = postings.get(term)
        if found is None:
            return None
        docs, imps = found
        scale = weight * (self._idf(self._df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        return docs, imps.astype(np.float32) * np.float32(scale)

    def _phrase_scores(
        self, phrase: tuple[str, ...], weight: float, idf: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnos, scores) of the docs holding every word of the phrase.

        Starts from the rarest word and looks the others up by binary search
        (postings are in docno order), so 办 + 医保 costs what 办 costs.
        """
        if len(phrase) == 1:
            return self._term_scores(self.postings, phrase[0], weight, idf)
        found = [self._term_scores(self.postings, w, weight / len(phrase)) for w in phrase]
        if any(f is None for f in found):
            return None
        found.sort(key=lambda f: len(f[0]))
        docs, scores = found[0]
        for other_docs, other_scores in found[1:]:
            at = np.minimum(np.searchsorted(other_docs, docs), len(other_docs) - 1)
            keep = other_docs[at] == docs
            docs, scores = docs[keep], scores[keep] + other_scores[at[keep]]
        return (docs, scores) if len(docs) else None

    @_locked
    def search(
        self,
        query: str,
        topic: str | tuple[str, ...] | None = None,
        region: str | None = None,
        include_drafts: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResult:
        """Ranked matches for the query, with highlights and facet counts (shared: do not modify)."""
        key = ("search", query, topic, region, include_drafts, offset, limit)
        return self._remembered(key, lambda: self._search(query, topic, region, include_drafts, offset, limit))

    def _search(self, query, topic, region, include_drafts, offset, limit) -> SearchResult:
        size = len(self._ids)
        query = _clean_query(query)
        offset, limit = max(int(offset), 0), max(int(limit), 0)
        if not query.strip() or not size:
            return SearchResult(total=0)
        plan = self._plan(query)
        if not plan.groups and not plan.pinyin:
            return SearchResult(total=0)
        acc = self._score(plan, size)
        visible = self._alive[:size] if include_drafts else self._alive[:size] & ~self._draft[:size]
        matched = (acc > 0) & visible
        in_topic = None
        for name in ((topic,) if isinstance(topic, str) else topic or ()):  # a topic, or a family of them
            mask = self.topics.docs_with(name, size)
            in_topic = mask if in_topic is None else in_topic | mask
        in_region = self.regions.docs_with(region, size) if region else None
        topic_universe = visible & in_region if region else visible
        region_universe = visible & in_topic if topic else visible
        facets = {
            "topics": self.topics.counts(matched & topic_universe, topic_universe),
            "regions": self.regions.counts(matched & region_universe, region_universe),
        }
        final = matched
        if topic:
            final = final & in_topic
        if region:
            final = final & in_region
        candidates = np.flatnonzero(final)
        page = self._page(candidates, acc, offset, limit)
        hits = [self._hit(int(d), float(acc[d]), plan) for d in page]
        return SearchResult(total=len(candidates), hits=hits, facets=facets)

    def _page(self, candidates: np.ndarray, acc: np.ndarray, offset: int, limit: int) -> np.ndarray:
        want = offset + limit
        if not limit or offset >= len(candidates):
            return candidates[:0]
        scores = acc[candidates]
        if want < len(candidates):
            # Keep every candidate tied with the k-th score so ties break the
            # same way whichever of them argpartition happened to pick.
            kth = np.partition(scores, len(scores) - want)[len(scores) - want]
            keep = scores >= kth
            candidates, scores = candidates[keep], scores[keep]
        dates = self._date[candidates]
        order = np.lexsort((-dates, -scores))
        candidates, scores, dates = candidates[order], scores[order], dates[order]
        # Equal score and date break on the article id, never the docno: a docno
        # says when an article was last indexed, which a rebuild does not know.
        group = np.concatenate(([0], np.cumsum((scores[1:] != scores[:-1]) | (dates[1:] != dates[:-1]))))
        end = min(want, len(candidates))
        lo = int(np.searchsorted(group, group[offset]))
        hi = int(np.searchsorted(group, group[end - 1], side="right"))
        ids = self._ids
        window = sorted(zip(group[lo:hi].tolist(), candidates[lo:hi].tolist(), strict=True),
                        key=lambda gd: (gd[0], ids[gd[1]]))
        return np.array([d for _, d in window[offset - lo:end - lo]], np.int64)

    def _hit(self, docno: int, score: float, plan: _Plan) -> Hit:
        keys = {k for k, _ in plan.pinyin}
        return Hit(
            id=self._ids[docno] or "",
            score=round(score, 4),
            highlights={
                "title": highlight(self._titles[docno], plan.terms, keys),
                "summary": highlight(self._summaries[docno], plan.terms),
            },
        )

    @_locked
    def similar(self, terms: Sequence[tuple[str, float]], limit: int, exclude: str | None = None) -> list[str]:
        """Ids of the published articles best matching these weighted words, best first.

        The candidates behind 相关推荐 (as Lucene's MoreLikeThis): an anchor's
        heaviest words as a query, scored like a search, so they are exactly
        what a fresh index would give. Equal scores break on date, then id.
        """
        size = len(self._ids)
        if not size or not terms or limit <= 0:
            return []
        acc = np.zeros(size, np.float32)
        for term, weight in terms:
            self._add_term(acc, self.postings, term, weight)
        visible = (acc > 0) & self._alive[:size] & ~self._draft[:size]
        skip = self._docno.get(exclude) if exclude is not None else None
        if skip is not None:
            visible[skip] = False
        return [self._ids[d] or "" for d in self._page(np.flatnonzero(visible), acc, 0, limit).tolist()]

    # -- suggestions -----------------------------------------------------

    @_locked
    def suggest(self, prefix: str, limit: int = 10, popular: Sequence[str] = ()) -> list[dict]:
        """Popular queries, then titles, that start with the prefix or contain it.

        A prefix matches the normalised text, its full pinyin (yibao) or its
        initials (ybk); words inside a title match by text (search_suggest).
        Drafts are never suggested.
        """
        key = ("suggest", prefix, limit, tuple(popular))
        return [dict(s) for s in self._remembered(key, lambda: self._suggest(prefix, limit, popular))]

    def _suggest(self, prefix: str, limit: int, popular: Sequence[str]) -> list[dict]:
        prefix = _clean_query(prefix)
        limit = max(int(limit), 0)
        if not prefix.strip() or not limit:
            return []
        out = [{"text": q, "id": None} for q in popular_matches(prefix, popular)]
        if self._suggester is None:
            self._suggester = Suggester(
                ((d, t) for d, t in enumerate(self._titles) if self._ids[d] is not None),
                lambda d: self._ids[d],  # ties between equal titles go by article id
            )
        seen = {o["text"] for o in out}
        docnos = [
            d for d in self._suggester.candidates(prefix)
            if self._alive[d] and not self._draft[d]
        ]
        for d in docnos:  # candidates() returns them ranked
            if self._titles[d] not in seen:
                seen.add(self._titles[d])
                out.append({"text": self._titles[d], "id": self._ids[d]})
        return out[:limit]

    # -- saving ----------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the whole index to one file, atomically."""
        with self._lock:
            arrays = self._state()
        # Serialised and written outside the lock so searches are not held up:
        # the arrays referenced are replaced on change, never modified in place
        # (those that are were copied by _state).
        npz.save(path, arrays)

    @classmethod
    def load(cls, path: Path, synonyms: Synonyms | None = None) -> SearchIndex | None:
        """The saved index, or None when the file is missing, unreadable, or of another FORMAT."""
        try:
            with npz.opened(path) as saved:
                parts = cls._restore(saved)
        except Exception:  # any unreadable cache (truncated, garbage, missing keys) means rebuild
            return None
        if parts is None:
            return None
        index = cls(synonyms)
        for name, value in parts.items():
            setattr(index, name, value)
        return index

    def _state(self) -> dict[str, np.ndarray]:
        meta = {
            "format": self.FORMAT,
            "scoring": _scoring(),
            "live": self._live,
            "dead": self._dead,
        }
        arrays = {**npz.meta(meta), **npz.pack_strings("ids", (i or "" for i in self._ids))}
        arrays["ids_none"] = np.fromiter((i is None for i in self._ids), bool, len(self._ids))
        arrays.update(npz.pack_strings("titles", self._titles))
        arrays.update(npz.pack_strings("summaries", self._summaries))
        # _docno is not quite derivable from _ids: a build given one id twice keeps both docnos.
        arrays["docno"] = np.fromiter(self._docno.values(), np.int64, len(self._docno))
        # Full capacity (not just len(_ids)) so _grow and nbytes() behave as before saving.
        arrays["alive"] = self._alive.copy()
        arrays["draft"] = self._draft.copy()
        arrays["date"] = self._date.copy()
        for name in _PARTS:
            for key, value in getattr(self, name).state().items():
                arrays[f"{name}.{key}"] = value
        return arrays

    @classmethod
    def _restore(cls, saved: Mapping[str, np.ndarray]) -> dict[str, object] | None:
        """Attribute values from a saved file, None if it is of another format."""
        meta = npz.read_meta(saved)
        if meta.get("format") != cls.FORMAT or meta.get("scoring") != _scoring():
            return None
        ids: list[str | None] = npz.unpack_strings(saved, "ids")
        ids_none = saved["ids_none"]  # each lookup re-reads the member: read once
        for docno in np.flatnonzero(ids_none).tolist():
            ids[docno] = None
        titles = npz.unpack_strings(saved, "titles")
        summaries = npz.unpack_strings(saved, "summaries")
        alive, draft, date = saved["alive"], saved["draft"], saved["date"]
        if not (
            len(ids) == len(titles) == len(summaries) == len(ids_none)
            and len(alive) == len(draft) == len(date) >= len(ids)
            and alive.dtype == bool and draft.dtype == bool and date.dtype == np.int32
        ):
            raise ValueError("document table does not match")
        parts: dict[str, object] = {
            "_ids": ids,
            "_docno": {ids[d]: d for d in saved["docno"].tolist()},
            "_titles": titles,
            "_summaries": summaries,
            "_alive": alive,
            "_draft": draft,
            "_date": date,
            "_live": int(meta["live"]),
            "_dead": int(meta["dead"]),
        }
        files = saved.keys()
        for name, kind in _PARTS.items():
            prefix = f"{name}."
            parts[name] = kind.from_state({k[len(prefix):]: saved[k] for k in files if k.startswith(prefix)})
        return parts

    # -- diagnostics -----------------------------------------------------

    def nbytes(self) -> int:
        """Bytes held in numpy arrays (Python-side vocab and strings excluded)."""
        arrays = self._alive.nbytes + self._draft.nbytes + self._date.nbytes
        return arrays + sum(p.nbytes() for p in (self.postings, self.pinyin, self.topics, self.regions))


_PARTS: dict[str, type[Postings] | type[Facet]] = {
    "postings": Postings, "pinyin": Postings, "topics": Facet, "regions": Facet,
}


def _scoring() -> list:
    """The constants baked into saved impacts: a file built under others is stale."""
    return json.loads(json.dumps([
        FIELDS, FIELD_WEIGHT.tolist(), FIELD_B.tolist(), K1, TITLE_K1, TITLE_SHARE, PINYIN_K1,
        BODY_CHARS, IMPACT_SCALE, TYPICAL_LENGTHS.tolist(), TYPICAL_TITLE_KEYS,
    ]))


def _impact(title: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """uint8 impact of a (term, doc): saturated title part plus BM25F rest.

    Titles here are the reader's question, so a title mention is its own
    saturating component rather than a few more pseudo-occurrences that a
    body repeating the term would swamp.
    """
    score = TITLE_SHARE * title / (TITLE_K1 + title) + (1 - TITLE_SHARE) * rest / (K1 + rest)
    return _quantise(score)


def _accumulate(acc: np.ndarray, docs: np.ndarray, scores: np.ndarray) -> None:
    """acc[docs] += scores, for docs without repeats."""
    if len(docs) * 8 > len(acc):
        # A fancy-index scatter costs ~9 ns an element, bincount ~3.5 ns.
        acc += np.bincount(docs, weights=scores, minlength=len(acc)).astype(np.float32)
    else:
        acc[docs] += scores


def _quantise(impact: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(impact * IMPACT_SCALE), 1, IMPACT_SCALE).astype(np.uint8)


_BUILDING: list[dict] = []  # the articles being built, inherited by forked workers


def _tokenise_batch(bounds: tuple[int, int]) -> tuple:
    """Tokens of articles[lo:hi] as ids over a batch-local vocabulary.

    Only the word ids (int32) and per-field counts cross the process
    boundary; field and docno of each token follow from the counts.
    """
    lo, hi = bounds
    local = Vocab()
    tids: list[int] = []
    lens: list[int] = []
    keys = Vocab()
    kids: list[int] = []
    kcounts: list[int] = []
    for docno in range(lo, hi):
        fields, found = _article_tokens(_BUILDING[docno])
        for words in fields:
            tids.extend(map(local.__getitem__, words))
            lens.append(len(words))
        kids.extend(map(keys.__getitem__, found))
        kcounts.append(len(found))
    return (
        lo, list(local), np.asarray(tids, np.int32), np.asarray(lens, np.int64),
        list(keys), np.asarray(kids, np.int32), np.asarray(kcounts, np.int64),
    )


def _stack(rows: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.uint8)
    return tuple(np.concatenate(parts) for parts in zip(*rows, strict=True))


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

