"""相关推荐: up to 20 related articles per article, precomputed, updated in place.

Why precomputed: a page view asks for its cards every time, so the lookup is
an array read (well under a millisecond); the work happens at start-up and,
per changed article, in on_change().

Ranking one article (the anchor):

1. Candidates from an inverted index over every article's SALIENT heaviest
   terms, each term keeping only its POSTINGS heaviest articles (impact
   ordering), probed with the anchor's QUERY_TERMS heaviest terms. This is
   approximate, never all-pairs; plus the anchor's curated links.
2. The POOL best by that partial score are scored exactly:
   content cosine of pruned BM25 vectors (title-weighted), topic overlap,
   the most specific shared place (or a penalty for different places), the
   page's curated 相关推荐 link, and a light recency prior. Curated links are
   scraped and noisy (a 吉林延边 back-pain hospital under a question about a
   380元 premium), so they weigh less than a fair content match.
3. MMR on the best MMR_POOL: a candidate too similar (cosine above
   MMR_THRESHOLD) to one already chosen is pushed down, so the list is not
   five copies of one story.

Only published articles are ever recommended; an article is never its own.
Reasons are built at lookup from the records and the vectors, so the lists
themselves are just two small numpy matrices.

Start-up: ranking every list is most of a build, so a large store builds with
rank=False and ranks each list at its first lookup (a dirty row). A list
still unranked when articles change is then ranked on the changed articles,
as a dirty eager list is. save()/load() keep the whole structure in one .npz
beside the data, so the next start skips the build.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from .durable import atomic_write
from .recommend_signals import MAX_REGIONS, Signals, reasons
from .recommend_vectors import TOP_TERMS, RowStore, Vocabulary, article_terms, build_vectors, weigh

LIMIT = 20
SALIENT = 8  # terms per article entered into the candidate index
POSTINGS = 1024  # articles kept per term, heaviest first (256: recall@20 0.40 at 30k; 1024: 0.91)
QUERY_TERMS = 12  # anchor terms used to probe the index
POOL = 120  # candidates scored exactly
MMR_POOL = 40
MMR_THRESHOLD, MMR_PENALTY = 0.45, 0.8
W_CONTENT, W_TOPIC, W_REGION, W_CURATED, W_RECENCY = 0.62, 0.14, 0.10, 0.08, 0.06
CURATED_FULL_AT = 0.15
MIN_SCORE = 0.04
KEYWORD_MAX_SHARE = 0.25  # a word in a quarter of all articles explains nothing
KEYWORD_MIN_CONTRIBUTION = 0.005  # below this a shared word is incidental, not what both are about
CACHE_SIZE = 20_000  # finished card lists (with reasons) kept for repeat lookups
RELINK_BUDGET = 8  # neighbour lists re-ranked inside on_change; the rest at their next lookup
TEXT_FIELDS = ("title", "answer", "summary", "body")
RANK_FIELDS = TEXT_FIELDS + ("topics", "regions", "status", "published_at", "related_curated")

log = logging.getLogger(__name__)


class Related:
    """Related-article lists for a collection of article records.

    `articles` returns the current records by id (the store's
    ``lambda: store.all("articles")``); `topic_names` returns slug -> name for
    the reasons. Subscribe on_change to the store to keep lists current.
    """

    FORMAT = 1  # bump when the saved layout changes

    def __init__(
        self,
        articles: Callable[[], Mapping[str, dict]],
        topic_names: Callable[[], Mapping[str, str]] | None = None,
        limit: int = LIMIT,
        reference_day: float | None = None,
    ):
        self._articles = articles
        self._topic_names = topic_names or dict
        self.limit = limit
        self._fixed_reference = reference_day
        self._lock = threading.RLock()
        self.changes_since_build = 0
        self._reset(0)

    @classmethod
    def from_articles(cls, articles: Iterable[dict], topic_names: Mapping[str, str] | None = None, **kw) -> Related:
        records = {a["id"]: a for a in articles}
        names = dict(topic_names or {})
        return cls(lambda: records, lambda: names, **kw).build()

    # -- building ----------------------------------------------------------

    def _reset(self, rows: int) -> None:
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.vocab = Vocabulary()
        self.vectors = RowStore(rows)
        self.signals = Signals(max(rows, 16))
        self.eligible = np.zeros(max(rows, 16), dtype=bool)
        self.curated_out: dict[int, np.ndarray] = {}
        self.curated_in: dict[int, set[int]] = {}
        self.list_ids = np.full((max(rows, 16), self.limit), -1, dtype=np.int32)
        self.list_scores = np.zeros((max(rows, 16), self.limit), dtype=np.float32)
        self.dirty = np.zeros(max(rows, 16), dtype=bool)
        self._dense = np.zeros(1024, dtype=np.float32)
        self.post_ptr = np.zeros(1, dtype=np.int64)
        self.post_rows = np.zeros(0, dtype=np.int32)
        self.post_w = np.zeros(0, dtype=np.float32)
        self.post_delta: dict[int, list[tuple[int, float]]] = {}
        self.reference_day = 0.0
        self._cache: dict[int, list[dict]] = {}

    def build(self, rank: bool = True) -> Related:
        """Vectorise every article and rank every list (minutes at 100k: see bench).

        rank=False leaves every list dirty, to be ranked at its first lookup
        (a few ms): ranking is most of the build, and most lists are never asked for.
        """
        with self._lock:
            records = list(self._articles().values())
            self._reset(len(records))
            self._cache.clear()
            self.ids = [a["id"] for a in records]
            self.row_of = {aid: i for i, aid in enumerate(self.ids)}
            self.vectors = build_vectors(records, self.vocab)
            for i, article in enumerate(records):
                self.signals.set(i, article)
                self.eligible[i] = article.get("status") == "published"
            for i, article in enumerate(records):
                self._set_curated(i, article)
            days = self.signals.day[: len(records)]
            self.reference_day = self._fixed_reference or (float(days.max()) if len(records) else 0.0)
            self._build_postings(len(records))
            if rank:
                for i in range(len(records)):
                    self._relink(i)
            else:
                self.dirty[: len(records)] = True
            self.changes_since_build = 0
            return self

    def _set_curated(self, row: int, article: dict) -> None:
        for target in self.curated_out.pop(row, ()):
            self.curated_in.get(int(target), set()).discard(row)
        targets = [self.row_of[t] for t in article.get("related_curated") or () if t in self.row_of]
        if targets:
            self.curated_out[row] = np.array(targets, dtype=np.int32)
            for t in targets:
                self.curated_in.setdefault(t, set()).add(row)

    def _build_postings(self, rows: int) -> None:
        """term -> the POSTINGS articles where it weighs most, among their SALIENT terms."""
        take = np.minimum(self.vectors.length[:rows], SALIENT)
        row_ids = np.repeat(np.arange(rows, dtype=np.int32), take)
        ends = np.cumsum(take)
        pos = np.repeat(self.vectors.start[:rows] - (ends - take), take) + np.arange(int(take.sum()))
        terms, weights = self.vectors.terms[pos], self.vectors.weights[pos]
        order = np.lexsort((-weights, terms))
        terms, weights, row_ids = terms[order], weights[order], row_ids[order]
        first = np.searchsorted(terms, terms, side="left")
        keep = (np.arange(len(terms)) - first) < POSTINGS
        terms, self.post_w, self.post_rows = terms[keep], weights[keep], row_ids[keep]
        counts = np.bincount(terms, minlength=len(self.vocab.terms))
        self.post_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.post_delta = {}

    # -- ranking -------------------------------------------------------------

    def _candidates(self, row: int) -> np.ndarray:
        tids, weights = self.vectors.row(row)
        tids, weights = tids[:QUERY_TERMS], weights[:QUERY_TERMS]
        known = tids + 1 < len(self.post_ptr)
        starts = self.post_ptr[tids[known]]
        lens = self.post_ptr[tids[known] + 1] - starts
        ends = np.cumsum(lens)
        pos = np.repeat(starts - (ends - lens), lens) + np.arange(int(ends[-1]) if len(ends) else 0)
        parts = [self.post_rows[pos]]
        contribs = [self.post_w[pos] * np.repeat(weights[known], lens)]
        if self.post_delta:
            for tid, w in zip(tids.tolist(), weights.tolist(), strict=True):
                extra = self.post_delta.get(tid)
                if extra:
                    parts.append(np.fromiter((r for r, _ in extra), dtype=np.int32, count=len(extra)))
                    contribs.append(np.fromiter((x for _, x in extra), dtype=np.float32, count=len(extra)) * w)
        cands = np.zeros(0, dtype=np.int32)
        if sum(len(p) for p in parts):
            rows, inverse = np.unique(np.concatenate(parts), return_inverse=True)
            partial = np.bincount(inverse, weights=np.concatenate(contribs))
            ok = self.eligible[rows] & (rows != row)
            rows, partial = rows[ok], partial[ok]
            if len(rows) > POOL:
                rows = rows[np.argpartition(-partial, POOL)[:POOL]]
            cands = rows
        linked = self._curated_rows(row)
        if len(linked):
            cands = np.union1d(cands, linked[self.eligible[linked] & (linked != row)])
        return cands.astype(np.int32)

    def _curated_rows(self, row: int) -> np.ndarray:
        out = self.curated_out.get(row)
        back = self.curated_in.get(row)
        if back:
            more = np.fromiter(back, dtype=np.int32, count=len(back))
            out = more if out is None else np.union1d(out, more)
        return np.zeros(0, dtype=np.int32) if out is None else out

    def _cosines(self, row: int, cands: np.ndarray) -> np.ndarray:
        tids, weights = self.vectors.row(row)
        dense = self._scratch()
        dense[tids] = weights
        pos, lens = self.vectors.gather(cands)
        prods = dense[self.vectors.terms[pos]] * self.vectors.weights[pos]
        dense[tids] = 0.0
        owner = np.repeat(np.arange(len(cands)), lens)
        return np.bincount(owner, weights=prods, minlength=len(cands)).astype(np.float32)

    def _symmetric(self, row: int, cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score without the target's recency, content cosine) for each candidate."""
        cos = self._cosines(row, cands)
        # A curated link counts in full only when the texts agree (cosine >= CURATED_FULL_AT):
        # the scraped lists hold unrelated pages, and those must not outrank real matches.
        curated = np.isin(cands, self._curated_rows(row)) * (0.3 + 0.7 * np.minimum(cos / CURATED_FULL_AT, 1.0))
        score = (
            W_CONTENT * cos
            + W_TOPIC * self.signals.topic_overlap(row, cands)
            + W_REGION * self.signals.region_match(row, cands)
            + W_CURATED * curated
        )
        return score, cos

    def _pairwise(self, cands: np.ndarray) -> np.ndarray:
        """Cosines among a few candidates, for MMR."""
        pos, lens = self.vectors.gather(cands)
        local, col = np.unique(self.vectors.terms[pos], return_inverse=True)
        dense = np.zeros((len(cands), len(local)), dtype=np.float32)
        dense[np.repeat(np.arange(len(cands)), lens), col] = self.vectors.weights[pos]
        return dense @ dense.T

    def _relink(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Rank one article's list; returns its candidates and their symmetric scores."""
        self.dirty[row] = False
        self.list_ids[row] = -1
        self.list_scores[row] = 0.0
        cands = self._candidates(row)
        if len(cands) == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        sym, _ = self._symmetric(row, cands)
        score = sym + W_RECENCY * self.signals.recency(cands, self.reference_day)
        keep = score >= MIN_SCORE
        pool, pool_score = cands[keep], score[keep]
        top = np.argsort(-pool_score, kind="stable")[:MMR_POOL]
        pool, pool_score = pool[top], pool_score[top]
        chosen = self._mmr(pool, pool_score)
        n = len(chosen)
        self.list_ids[row, :n] = pool[chosen]
        self.list_scores[row, :n] = pool_score[chosen]
        return cands, sym

    def _mmr(self, pool: np.ndarray, score: np.ndarray) -> list[int]:
        if len(pool) <= 1:
            return list(range(len(pool)))
        penalty = MMR_PENALTY * np.maximum(self._pairwise(pool) - MMR_THRESHOLD, 0.0)
        np.fill_diagonal(penalty, 0.0)
        if not penalty.any():  # nothing near-duplicate: the score order stands
            return list(range(min(self.limit, len(pool))))
        closest = np.zeros(len(pool), dtype=np.float32)
        adjusted = score.astype(np.float32).copy()
        chosen = []
        for _ in range(min(self.limit, len(pool))):
            pick = int(np.argmax(adjusted - closest))
            chosen.append(pick)
            adjusted[pick] = -np.inf
            np.maximum(closest, penalty[pick], out=closest)
        return chosen

    # -- looking up ----------------------------------------------------------

    def related(self, article_id: str, limit: int = LIMIT) -> list[dict]:
        """The article's cards, best first: [{id, score, reasons}]; [] for an unknown id."""
        with self._lock:
            records = self._articles()
            row = self.row_of.get(article_id)
            if row is None or article_id not in records:
                return []
            cards = self._cache.get(row)
            if cards is None:
                cards = self._cards(row, records)
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[row] = cards
            return [dict(c) for c in cards[:limit]]

    def _cards(self, row: int, records: Mapping[str, dict]) -> list[dict]:
        if self.dirty[row]:
            self._relink(row)
        rows = self.list_ids[row]
        rows = rows[rows >= 0]
        if not len(rows):
            return []
        anchor = records[self.ids[row]]
        names = self._topic_names()
        curated = set(self._curated_rows(row).tolist())
        words = self._keywords(row, rows)
        out = []
        for other, score, shared in zip(rows.tolist(), self.list_scores[row, : len(rows)].tolist(), words, strict=True):
            record = records.get(self.ids[other])
            if record is not None:
                why = reasons(anchor, record, shared, names, other in curated)
                out.append({"id": record["id"], "score": round(float(score), 4), "reasons": why})
        return out

    def _keywords(self, row: int, others: np.ndarray, n: int = 2) -> list[list[str]]:
        """For each other article, the shared words that contribute most to its similarity.

        One vectorised pass for the whole list: a word must be two characters or
        more, in at most KEYWORD_MAX_SHARE of all articles, and contribute at
        least KEYWORD_MIN_CONTRIBUTION.
        """
        tids, weights = self.vectors.row(row)
        dense = self._scratch()
        dense[tids] = weights
        pos, lens = self.vectors.gather(others)
        terms = self.vectors.terms[pos]
        contribution = dense[terms] * self.vectors.weights[pos]
        dense[tids] = 0.0
        owner = np.repeat(np.arange(len(others)), lens)
        vocab = self.vocab
        ok = (
            (contribution >= KEYWORD_MIN_CONTRIBUTION)
            & (vocab.length[terms] >= 2)
            & (vocab.df[terms] <= KEYWORD_MAX_SHARE * max(vocab.docs, 1))
        )
        owner, terms, contribution = owner[ok], terms[ok], contribution[ok]
        order = np.lexsort((-contribution, owner))
        owner, terms = owner[order], terms[order]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
        out: list[list[str]] = [[] for _ in range(len(others))]
        for o, t in zip(owner[rank < n].tolist(), terms[rank < n].tolist(), strict=True):
            out[o].append(vocab.terms[t])
        return out

    def shared_keywords(self, a: int, b: int, n: int = 2) -> list[str]:
        return self._keywords(a, np.array([b], dtype=np.int32), n)[0]

    def _scratch(self) -> np.ndarray:
        """A zeroed dense vector over the vocabulary; callers zero what they set."""
        if len(self._dense) < len(self.vocab.terms):
            self._dense = np.zeros(2 * len(self.vocab.terms), dtype=np.float32)
        return self._dense

    # -- keeping current -----------------------------------------------------

    def on_change(self, kind: str, key: str, old: dict | None, new: dict | None) -> None:
        """Store listener: re-link one changed article and the lists it enters or leaves."""
        if kind == "topics":
            self._cache.clear()  # a topic renamed: reasons name it
        if kind != "articles":
            return
        if old is not None and new is not None and all(old.get(f) == new.get(f) for f in RANK_FIELDS):
            return  # a views count or timestamp: nothing that ranks
        with self._lock:
            self._cache.clear()
            self.changes_since_build += 1
            row = self.row_of.get(key)
            if row is None and new is None:
                return
            if row is None:
                row = self._new_row(key)
            text_changed = old is None or new is None or any(old.get(f) != new.get(f) for f in TEXT_FIELDS)
            if text_changed:
                self._revectorise(row, old if self.vectors.length[row] else None, new)
            if new is None:
                self.eligible[row] = False
                self._set_curated(row, {})
            else:
                self.signals.set(row, new)
                self.eligible[row] = new.get("status") == "published"
                self._set_curated(row, new)
            cands, sym = self._relink(row) if new is not None else (np.zeros(0, np.int32), np.zeros(0, np.float32))
            if new is None:
                self.list_ids[row] = -1
            self._update_neighbours(row, cands, sym)

    def _new_row(self, key: str) -> int:
        row = len(self.ids)
        self.ids.append(key)
        self.row_of[key] = row
        size = row + 1
        self.vectors.ensure_rows(size)
        self.signals.ensure_rows(size)
        if size > len(self.eligible):
            grow = max(size, 2 * len(self.eligible)) - len(self.eligible)
            self.eligible = np.concatenate([self.eligible, np.zeros(grow, dtype=bool)])
            self.dirty = np.concatenate([self.dirty, np.zeros(grow, dtype=bool)])
            self.list_ids = np.concatenate([self.list_ids, np.full((grow, self.limit), -1, dtype=np.int32)])
            self.list_scores = np.concatenate([self.list_scores, np.zeros((grow, self.limit), dtype=np.float32)])
        return row

    def _revectorise(self, row: int, old: dict | None, new: dict | None) -> None:
        """New vector with the current IDF; document frequencies follow the change."""
        if old is not None:
            counts, title, _ = article_terms(old)
            for word in counts.keys() | title:
                tid = self.vocab.ids.get(word)
                if tid is not None and self.vocab.df[tid] > 0:
                    self.vocab.df[tid] -= 1
            self.vocab.docs -= 1
        if new is None:
            self.vectors.set(row, np.zeros(0, np.int32), np.zeros(0, np.float32))
            return
        counts, title, length = article_terms(new)
        for word in sorted(counts.keys() | title):
            self.vocab.add(word)
        self.vocab.docs += 1
        tids, weights = weigh(self.vocab, counts, title, length)
        self.vectors.set(row, tids, weights)
        for tid, w in zip(tids[:SALIENT].tolist(), weights[:SALIENT].tolist(), strict=True):
            self.post_delta.setdefault(tid, []).append((row, w))

    def _update_neighbours(self, row: int, cands: np.ndarray, sym: np.ndarray) -> None:
        """Lists that hold the article re-score it; lists it now beats take it in."""
        used = len(self.ids)
        holders = np.nonzero((self.list_ids[:used] == row).any(axis=1))[0]
        holders = holders[holders != row]
        if not self.eligible[row]:
            self._mark(holders)
            return
        mine = self.signals.recency(np.array([row]), self.reference_day)[0] * W_RECENCY
        if len(holders):
            hsym, _ = self._symmetric(row, holders.astype(np.int32))
            stale = []
            for h, s in zip(holders.tolist(), (hsym + mine).tolist(), strict=True):
                if s < MIN_SCORE:
                    stale.append(h)
                else:
                    self.list_scores[h][self.list_ids[h] == row] = s
            self._mark(np.array(stale, dtype=np.int64))
        held = set(holders.tolist())
        for c, s in zip(cands.tolist(), (sym + mine).tolist(), strict=True):
            if c in held or s < MIN_SCORE or self.dirty[c]:
                continue
            ids, scores = self.list_ids[c], self.list_scores[c]
            filled = int((ids >= 0).sum())
            if filled == self.limit and s <= scores[filled - 1]:
                continue
            at = next((i for i in range(filled) if scores[i] < s), filled)
            ids[at + 1 :] = ids[at:-1].copy()
            scores[at + 1 :] = scores[at:-1].copy()
            ids[at], scores[at] = row, s

    def _mark(self, rows: np.ndarray) -> None:
        """Re-rank lists that lost an entry: now while the budget lasts, the rest at their next lookup."""
        for i, h in enumerate(rows.tolist()):
            if i < RELINK_BUDGET:
                self._relink(h)
            else:
                self.dirty[h] = True

    # -- saving and loading --------------------------------------------------

    def save(self, path: Path) -> None:
        """Write everything built to one file, atomically.

        One uncompressed .npz with no object arrays: strings as UTF-8 blobs
        with end offsets, dicts of arrays flattened with end offsets, scalars
        in a JSON blob ("meta"). Lists may be saved partly ranked (dirty).
        """
        buffer = io.BytesIO()
        with self._lock:  # savez copies: the lock is not held for the disk write
            np.savez(buffer, **self._saved_arrays())
        atomic_write(path, buffer.getvalue())

    def _saved_arrays(self) -> dict[str, np.ndarray]:
        n, terms, sig = len(self.ids), len(self.vocab.terms), self.signals
        pos, lens = self.vectors.gather(np.arange(n))  # live entries only: garbage is not saved
        meta = {
            "format": self.FORMAT, "limit": self.limit, "rows": n, "terms": terms,
            "docs": self.vocab.docs, "avg_len": self.vocab.avg_len, "reference_day": self.reference_day,
            "changes_since_build": self.changes_since_build, "topic_bit": sig.topic_bit,
        }
        delta = self.post_delta
        return {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **_pack_strings("ids", self.ids),
            **_pack_strings("terms", self.vocab.terms),
            **_pack_strings("region_names", sig.region_names),
            "df": self.vocab.df[:terms],
            "term_length": self.vocab.length[:terms],
            "vec_start": np.cumsum(lens) - lens,
            "vec_length": self.vectors.length[:n],
            "vec_terms": self.vectors.terms[pos],
            "vec_weights": self.vectors.weights[pos],
            "topics": sig.topics[:n],
            "regions": sig.regions[:n],
            "day": sig.day[:n],
            "region_score": sig.region_score[: len(sig.region_names)],
            "eligible": self.eligible[:n],
            "dirty": self.dirty[:n],
            "list_ids": self.list_ids[:n],
            "list_scores": self.list_scores[:n],
            "post_ptr": self.post_ptr,
            "post_rows": self.post_rows,
            "post_w": self.post_w,
            **_pack_groups("curated_out", self.curated_out, np.int32),
            **_pack_groups("curated_in", {k: sorted(v) for k, v in self.curated_in.items()}, np.int32),
            **_pack_groups("delta_rows", {k: [r for r, _ in v] for k, v in delta.items()}, np.int32),
            # float64: the weights are Python floats, kept exactly
            **_pack_groups("delta_w", {k: [w for _, w in v] for k, v in delta.items()}, np.float64),
        }

    @classmethod
    def load(
        cls,
        path: Path,
        articles: Callable[[], Mapping[str, dict]],
        topic_names: Callable[[], Mapping[str, str]] | None = None,
        limit: int = LIMIT,
        reference_day: float | None = None,
    ) -> Related | None:
        """The saved structure bound to these accessors, or None when the file is missing,
        unreadable, of another FORMAT, or built with another limit (or another fixed reference_day).

        Nothing here checks that the file was built from these articles: the caller
        names the file after the snapshot it was built from."""
        related = cls(articles, topic_names, limit, reference_day)
        try:
            with np.load(path, allow_pickle=False) as saved:
                return related if related._restore(saved) else None
        except Exception as exc:  # noqa: BLE001 - a bad cache file costs a rebuild, never a failed start
            log.info("cannot load %s: %r", path, exc)
            return None

    def _restore(self, saved) -> bool:
        """Fill self from an open .npz; False when it was saved for other settings.

        Shapes, dtypes and index ranges are checked, so a file that reads
        but does not fit raises here rather than at some later lookup.
        """
        meta = json.loads(_array(saved, "meta", np.uint8).tobytes().decode())
        if meta["format"] != self.FORMAT or meta["limit"] != self.limit:
            return False
        if self._fixed_reference and meta["reference_day"] != self._fixed_reference:
            return False  # ranked for another day: recency would differ from a build with this one
        n, terms = int(meta["rows"]), int(meta["terms"])
        self._reset(n)
        self.ids = _unpack_strings(saved, "ids", n)
        self.row_of = {aid: i for i, aid in enumerate(self.ids)}

        vocab = self.vocab
        vocab.terms = _unpack_strings(saved, "terms", terms)
        vocab.ids = {term: i for i, term in enumerate(vocab.terms)}
        vocab.df = _grown(_array(saved, "df", np.int32, (terms,)), 1024)
        vocab.length = _grown(_array(saved, "term_length", np.int8, (terms,)), 1024)
        vocab.docs, vocab.avg_len = int(meta["docs"]), float(meta["avg_len"])

        vec = self.vectors
        vec.length[:n] = _array(saved, "vec_length", np.int32, (n,))
        vec.start[:n] = _array(saved, "vec_start", np.int64, (n,))
        vec.terms = _array(saved, "vec_terms", np.int32)
        vec.weights = _array(saved, "vec_weights", np.float32, vec.terms.shape)
        vec.used = len(vec.terms)
        _check((vec.length[:n] >= 0).all() and (vec.start[:n] >= 0).all()
               and (vec.start[:n] + vec.length[:n] <= vec.used).all())
        _check_range(vec.terms, terms)

        sig = self.signals
        sig.topic_bit = {str(slug): int(bit) for slug, bit in meta["topic_bit"].items()}
        _check(all(0 <= bit < 64 for bit in sig.topic_bit.values()))
        sig.region_names = _unpack_strings(saved, "region_names")
        sig.region_id = {name: i for i, name in enumerate(sig.region_names)}
        sig.region_score = _grown(_array(saved, "region_score", np.float32, (len(sig.region_names),)), 64)
        sig.topics[:n] = _array(saved, "topics", np.uint64, (n,))
        sig.regions[:n] = _array(saved, "regions", np.int32, (n, MAX_REGIONS))
        sig.day[:n] = _array(saved, "day", np.float32, (n,))
        _check_range(sig.regions[:n], len(sig.region_names), -1)

        self.eligible[:n] = _array(saved, "eligible", np.bool_, (n,))
        self.dirty[:n] = _array(saved, "dirty", np.bool_, (n,))
        self.list_ids[:n] = _check_range(_array(saved, "list_ids", np.int32, (n, self.limit)), n, -1)
        self.list_scores[:n] = _array(saved, "list_scores", np.float32, (n, self.limit))

        self.post_ptr = _array(saved, "post_ptr", np.int64)
        self.post_rows = _check_range(_array(saved, "post_rows", np.int32), n)
        self.post_w = _array(saved, "post_w", np.float32, self.post_rows.shape)
        _check(1 <= len(self.post_ptr) <= terms + 1 and self.post_ptr[0] == 0
               and (np.diff(self.post_ptr) >= 0).all() and self.post_ptr[-1] == len(self.post_rows))

        self.curated_out = _unpack_groups(saved, "curated_out", np.int32, n, n)
        self.curated_in = {k: set(v.tolist()) for k, v in _unpack_groups(saved, "curated_in", np.int32, n, n).items()}
        rows = _unpack_groups(saved, "delta_rows", np.int32, terms, n)
        weights = _unpack_groups(saved, "delta_w", np.float64, terms)
        _check(rows.keys() == weights.keys() and all(len(rows[k]) == len(weights[k]) for k in rows))
        self.post_delta = {k: list(zip(rows[k].tolist(), weights[k].tolist(), strict=True)) for k in rows}

        self.reference_day = float(meta["reference_day"])
        self.changes_since_build = int(meta["changes_since_build"])
        return True

    # -- introspection -------------------------------------------------------

    def nbytes(self) -> int:
        arrays = (self.eligible, self.dirty, self.list_ids, self.list_scores, self._dense,
                  self.post_ptr, self.post_rows, self.post_w, self.vocab.df,
                  self.signals.topics, self.signals.regions, self.signals.day)
        return self.vectors.nbytes() + sum(a.nbytes for a in arrays)

    def stats(self) -> dict:
        return {"articles": len(self.ids), "terms": len(self.vocab.terms), "array_bytes": self.nbytes(),
                "changes_since_build": self.changes_since_build, "top_terms": TOP_TERMS}


# -- the saved file's pieces ---------------------------------------------------


def _check(ok) -> None:
    if not ok:
        raise ValueError("saved related lists are inconsistent")


def _check_range(values: np.ndarray, end: int, start: int = 0) -> np.ndarray:
    _check(not len(values) or (int(values.min()) >= start and int(values.max()) < end))
    return values


def _array(saved, key: str, dtype, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """One stored array, of exactly this dtype (and shape): a file that differs is not ours."""
    value = saved[key]
    _check(value.dtype == np.dtype(dtype) and (shape is None or value.shape == shape))
    _check(shape is not None or value.ndim == 1)
    return value


def _grown(values: np.ndarray, minimum: int) -> np.ndarray:
    """values in an array of at least `minimum` (zero-filled): growth by doubling needs a non-empty array."""
    out = np.zeros(max(len(values), minimum), dtype=values.dtype)
    out[: len(values)] = values
    return out


def _pack_strings(name: str, strings: list[str]) -> dict[str, np.ndarray]:
    text = "".join(strings)
    ends = np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))
    blob = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return {f"{name}_utf8": blob, f"{name}_ends": ends}


def _unpack_strings(saved, name: str, count: int | None = None) -> list[str]:
    text = _array(saved, f"{name}_utf8", np.uint8).tobytes().decode("utf-8", "surrogatepass")
    ends = _array(saved, f"{name}_ends", np.int64, None if count is None else (count,))
    _check((ends[-1] if len(ends) else 0) == len(text) and (np.diff(ends, prepend=0) >= 0).all())
    bounds = [0, *ends.tolist()]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _pack_groups(name: str, groups: Mapping, dtype) -> dict[str, np.ndarray]:
    """int -> list or array, as keys, end offsets and one flat array (insertion order kept)."""
    parts = [np.asarray(v, dtype=dtype) for v in groups.values()]
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    return {
        f"{name}_keys": np.fromiter(groups, dtype=np.int64, count=len(groups)),
        f"{name}_ends": np.cumsum(sizes),
        f"{name}_values": np.concatenate(parts) if parts else np.zeros(0, dtype=dtype),
    }


def _unpack_groups(saved, name: str, dtype, key_end: int, value_end: int | None = None) -> dict[int, np.ndarray]:
    keys = _check_range(_array(saved, f"{name}_keys", np.int64), key_end)
    ends = _array(saved, f"{name}_ends", np.int64, keys.shape)
    values = _array(saved, f"{name}_values", dtype)
    if value_end is not None:
        _check_range(values, value_end)
    _check((ends[-1] if len(ends) else 0) == len(values) and (np.diff(ends, prepend=0) >= 0).all())
    parts = np.split(values, ends[:-1]) if len(keys) else []  # split() of nothing is one empty part
    return dict(zip(keys.tolist(), parts, strict=True))
