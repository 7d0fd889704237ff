"""Article listings and topic counts: derived from the store, never stored.

Each article has a docno and, per docno, columns (listing_columns.py): whether it is
live and public, its status and category ids, its topics, regions and tags as value
sets, and its published_at and title for the two sort orders (-published_at is the
first read backwards). Every change in any process reaches on_change (the store tells
us), which updates that one docno; a list request is a few numpy masks over a ready
order, and only the records of the page it shows are read (Listing).

save()/load() keep the columns in one mapped file beside the search index's
(store/saved_arrays): rebuilding them reads every record (about 20 s of CPU at a
million articles), loading maps them; the id and key lists stay packed
(PackedStrings), decoded an item at a time.

A parent topic stands for its family: its list and its count take in the
articles of its children (an article in 新生儿参保 is an article about 参保),
each article once.
"""

from __future__ import annotations

import gc
import logging
import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from ..lru import LRU
from ..packed_strings import PackedStrings
from ..store import saved_arrays
from ..store.store import Store
from ..vocab import Vocab
from .article_record import PUBLISHED, is_public
from .listing_columns import RESORT_SHARE, SortedDocs, ValueSets, grown

SORTS = ("-published_at", "published_at", "title")
# Views change all the time (and live outside the store): that order is made per request.
BY_VIEWS = "-views"
RESULTS_KEPT = 256
# What a list reads of a record, in the order _build takes them.
FIELDS = ("title", "topics", "regions", "tags", "status", "category", "published_at")
# Value sets are folded once this many docnos (or 1/FOLD_SHARE of them all) changed.
FOLD_AT = 1024
FOLD_SHARE = 32
FORMAT = 1  # of the saved columns: bump when their layout changes
VALUE_SETS = ("topics", "regions", "tags")

log = logging.getLogger(__name__)


@dataclass(frozen=True)  # hashable: a key for cached results
class ArticleQuery:
    topic: str | None = None
    region: str | None = None
    category: str | None = None
    tag: str | None = None
    status: str | None = None
    published_after: str | None = None
    published_before: str | None = None
    sort: str = "-published_at"
    include_drafts: bool = False


class Listing(Sequence):
    """The articles a query matched, in order: docnos, read from the store only as a
    page (a slice) asks for them. Read it right away: a later change shows through."""

    def __init__(self, docnos: np.ndarray, ids: list[str], store: Store):
        self._docnos = docnos
        self._ids = ids  # docno -> id; only ever appended to, so safe to share
        self._store = store

    @property
    def total(self) -> int:
        return len(self._docnos)

    def __len__(self) -> int:
        return len(self._docnos)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._store.get("articles", self._ids[d]) for d in self._docnos[index].tolist()]
        return self._store.get("articles", self._ids[int(self._docnos[index])])

    def __iter__(self) -> Iterator[dict]:
        return iter(self[:])

    def ids(self) -> list[str]:
        return [self._ids[d] for d in self._docnos.tolist()]


class Catalog:
    def __init__(self, store: Store, normalise_region: Callable[[str], str | None],
                 views: Callable[[str], int] = lambda article_id: 0, *,
                 views_revision: Callable[[], int] | None = None, fold_at: int = FOLD_AT,
                 resort_share: int = RESORT_SHARE):
        """`views_revision`, when given, changes whenever any view count does: counts read
        for the views order are kept until it moves (without it they are read per request)."""
        self.store = store
        self._views_revision = views_revision
        self._views_at: int | None = None
        self._view_counts = np.zeros(0, np.int64)
        self._views_known = np.zeros(0, bool)
        self._fold_at, self._resort_share = fold_at, resort_share  # tests make every path run
        self._normalise_region = normalise_region
        self._views = views
        self._lock = threading.RLock()
        self._results = LRU(RESULTS_KEPT)
        self._built = False
        self._families: dict[str, set[str]] = {}
        self._counts: Counter | None = None
        self._empty()

    def _empty(self) -> None:
        self._ids: list[str] = []  # docno -> article id
        self._docno: dict[str, int] = {}
        self._alive = np.zeros(0, bool)
        self._public = np.zeros(0, bool)
        self._status = np.zeros(0, np.int32)
        self._category = np.zeros(0, np.int32)
        self._statuses, self._categories = Vocab(), Vocab()
        self._published: list[str] = []  # docno -> published_at ("" when there is none)
        self._titles: list[str] = []
        self._topics, self._regions, self._tags = ValueSets(), ValueSets(), ValueSets()
        self._by_published = SortedDocs(self._published, self._ids, self._resort_share)
        self._by_title = SortedDocs(self._titles, self._ids, self._resort_share)

    # -- kept current ------------------------------------------------------

    def on_change(self, kind, key, old, new) -> None:
        if kind not in ("articles", "topics"):
            return
        with self._lock:
            self._results.clear()  # a topic's parent decides which lists it is in
            if kind == "topics":
                self._families = {}
                self._counts = None  # parents changed: every count is made again, from the columns
                return
            if not self._built:
                return  # built from the store when first asked
            self._put(key, new)
            self._fold_if_many()
            if self._counts is not None:
                topics = self.store.all("topics")
                self._counts.subtract(_counted_topics(old, topics))
                self._counts.update(_counted_topics(new, topics))

    def build(self) -> Catalog:
        """Make the columns now (a service does, before its workers fork and share them);
        otherwise the first list or count makes them."""
        self._ready()
        return self

    def _ready(self) -> None:
        if self._built:
            return
        # No change may be applied while every record is read (it would be counted twice).
        with self.store.holding_changes(), self._lock, _no_collection():
            if self._built:
                return
            self._build(self.store.all("articles"))
            self._built = True

    def _build(self, records: dict[str, dict]) -> None:
        """Every column from the records, a field at a time."""
        self._empty()
        size = len(records)
        self._ids.extend(records)  # in place: the orders hold these lists
        self._docno = dict(zip(self._ids, range(size), strict=True))
        self._alive = np.ones(size, bool)
        # Records are read one at a time (a store's are decoded when read): only their fields are kept.
        try:  # every record article_record() makes has each field
            fields = list(zip(*map(itemgetter(*FIELDS), records.values()), strict=True)) or [()] * len(FIELDS)
            public = None
        except KeyError:  # a record made otherwise (by hand, before some field was there)
            fields = list(zip(*map(_fields_of, records.values()), strict=True)) or [()] * len(FIELDS)
            public = np.fromiter(map(is_public, records.values()), bool, size)
        titles, topics, regions, tags, status, category, published = fields
        self._status = np.fromiter(map(self._statuses.__getitem__, status), np.int32, size)
        self._category = np.fromiter(map(self._categories.__getitem__, category), np.int32, size)
        self._public = public if public is not None else _equal(self._status, self._statuses.get(PUBLISHED))
        self._published.extend([p or "" for p in published])
        self._titles.extend(titles)
        for values, per_docno in zip((self._topics, self._regions, self._tags), (topics, regions, tags), strict=True):
            values.load(per_docno)
        by_id = sorted(range(size), key=self._ids.__getitem__)
        self._by_published.rebuild(by_id)
        self._by_title.rebuild(by_id)

    def _put(self, key: str, article: dict | None) -> None:
        docno = self._docno.get(key)
        if docno is None:
            docno = self._docno[key] = len(self._ids)
            self._ids.append(key)
            self._published.append("")
            self._titles.append("")
            size = docno + 1
            self._alive, self._public = grown(self._alive, size), grown(self._public, size)
            self._status, self._category = grown(self._status, size), grown(self._category, size)
        if article is None:
            self._alive[docno] = self._public[docno] = False
            for values in (self._topics, self._regions, self._tags):
                values.set(docno, ())
            self._by_published.move(docno)
            self._by_title.move(docno)
            return
        published, title = article.get("published_at") or "", article["title"]
        if not self._alive[docno] or published != self._published[docno]:
            self._by_published.move(docno)
        if not self._alive[docno] or title != self._titles[docno]:
            self._by_title.move(docno)
        self._alive[docno] = True
        self._public[docno] = is_public(article)
        self._status[docno] = self._statuses[article.get("status")]
        self._category[docno] = self._categories[article.get("category")]
        self._published[docno], self._titles[docno] = published, title
        self._topics.set(docno, article.get("topics") or ())
        self._regions.set(docno, article.get("regions") or ())
        self._tags.set(docno, article.get("tags") or ())

    def _fold_if_many(self) -> None:
        many = max(self._fold_at, len(self._ids) // FOLD_SHARE)
        for values in (self._topics, self._regions, self._tags):
            if len(values.changed) > many:
                values.fold()

    # -- lists -------------------------------------------------------------

    def articles(self, query: ArticleQuery) -> Listing:
        """Every article matching the query, in the requested order.

        Results are kept until an article changes (the same list pages are asked
        for again and again); the views order moves all the time and is not kept.
        """
        self._ready()
        with self._lock:
            if query.sort == BY_VIEWS:
                docnos = self._by_views(self._matching(query))
            else:
                docnos = self._results.get_or_put(query, lambda: self._matching(query))
            return Listing(docnos, self._ids, self.store)

    def _matching(self, query: ArticleQuery) -> np.ndarray:
        """The docnos matching the query; by views, in -published_at order (views sort them next)."""
        size = len(self._ids)
        mask = (self._public if not query.include_drafts else self._alive)[:size].copy()
        if query.status:
            mask &= _equal(self._status[:size], self._statuses.get(query.status))
        if query.topic:
            mask &= self._topics.having(self._topics.ids(self._family(query.topic)), size)
        if query.region:
            region = self._normalise_region(query.region) or query.region
            mask &= self._regions.having(self._regions.ids([region]), size)
        if query.category:
            mask &= _equal(self._category[:size], self._categories.get(query.category))
        if query.tag:
            mask &= self._tags.having(self._tags.ids([query.tag]), size)
        by_published = self._by_published.current(self._alive)
        if query.published_after or query.published_before:
            mask &= self._published_between(by_published, query.published_after, query.published_before, size)
        order = self._by_title.current(self._alive) if query.sort == "title" else by_published
        matched = order[mask[order]]
        return matched if query.sort == "published_at" or query.sort == "title" else matched[::-1]

    def _published_between(self, by_published: np.ndarray, after: str | None, before: str | None,
                           size: int) -> np.ndarray:
        """A mask of the docnos published in [after, before]: one run of the published_at order."""
        published = self._published.__getitem__
        start = bisect_left(by_published, after, key=published) if after else 0
        end = bisect_right(by_published, before, key=published) if before else len(by_published)
        mask = np.zeros(size, bool)
        mask[by_published[start:end]] = True
        return mask

    def _by_views(self, newest_first: np.ndarray) -> np.ndarray:
        counts = self._view_counts_of(newest_first)
        return newest_first[np.argsort(-counts, kind="stable")]  # stable: newest first on ties

    def _view_counts_of(self, docnos: np.ndarray) -> np.ndarray:
        """Live view counts, read once per docno while the views revision stays the same."""
        read = lambda docnos: np.fromiter(  # noqa: E731
            map(self._views, map(self._ids.__getitem__, docnos.tolist())), np.int64, len(docnos))
        revision = self._views_revision() if self._views_revision is not None else None
        if revision is None:
            return read(docnos)
        size = len(self._ids)
        if revision != self._views_at:
            self._views_at = revision
            self._view_counts, self._views_known = np.zeros(size, np.int64), np.zeros(size, bool)
        else:
            self._view_counts, self._views_known = grown(self._view_counts, size), grown(self._views_known, size)
        missing = docnos[~self._views_known[docnos]]
        self._view_counts[missing] = read(missing)
        self._views_known[missing] = True
        return self._view_counts[docnos]

    def _family(self, slug: str) -> set[str]:
        family = self._families.get(slug)
        if family is None:
            family = self._families[slug] = topic_family(slug, self.store.all("topics"))
        return family

    # -- topic counts ------------------------------------------------------

    def topic_count(self, slug: str) -> int:
        """Published articles that carry this topic or one of its children."""
        self._ready()
        with self._lock:
            if self._counts is None:
                self._counts = self._count_topics()
            return self._counts[slug]

    def _count_topics(self) -> Counter:
        """Per topic slug, the public articles with it or a child of it: each article once."""
        docs, ids = self._topics.pairs()
        public = self._public[docs]
        docs, ids = docs[public].astype(np.int64), ids[public]
        vocab, topics = self._topics.vocab, self.store.all("topics")
        names = list(vocab)
        parents = [topics.get(name, {}).get("parent") for name in names]
        parent = np.array([vocab[p] if p else -1 for p in parents] or [-1], np.int64)[ids]
        has = parent >= 0
        docs = np.concatenate((docs, docs[has]))
        ids = np.concatenate((ids, parent[has]))
        width = len(vocab)
        pairs = np.sort(docs * width + ids)
        once = np.ones(len(pairs), bool)  # a docno's topic listed twice, or reached twice, counts once
        once[1:] = pairs[1:] != pairs[:-1]
        counts = np.bincount(pairs[once] % width, minlength=width)
        return Counter({name: int(n) for name, n in zip(vocab, counts.tolist(), strict=True) if n})

    # -- saving and loading ------------------------------------------------

    def save(self, path: Path) -> None:
        """The columns as they are now (folded and sorted first), to one file."""
        self._ready()
        with self._lock:
            size = len(self._ids)
            arrays = {
                **saved_arrays.meta({"format": FORMAT, "size": size}),
                **PackedStrings.of(self._ids).state("ids"),
                **PackedStrings.of(self._published).state("published"),
                **PackedStrings.of(self._titles).state("titles"),
                **PackedStrings.of(self._statuses).state("statuses"),
                **PackedStrings.of(self._categories).state("categories"),
                "alive": self._alive[:size], "public": self._public[:size],
                "status": self._status[:size], "category": self._category[:size],
                "by_published": self._by_published.current(self._alive),
                "by_title": self._by_title.current(self._alive),
            }
            for name in VALUE_SETS:
                values = getattr(self, f"_{name}")
                values.fold()
                arrays.update({**PackedStrings.of(values.vocab).state(f"{name}_vocab"),
                               f"{name}_indptr": values.indptr, f"{name}_docs": values.docs})
            arrays = {k: np.array(v) for k, v in arrays.items()}  # copies: the lock is not held for the write
        saved_arrays.save(path, arrays)

    def blank(self) -> Catalog:
        """A catalogue of the same settings with no columns yet: what a newer generation's saved
        columns are loaded into, off to the side."""
        return Catalog(self.store, self._normalise_region, self._views, views_revision=self._views_revision,
                       fold_at=self._fold_at, resort_share=self._resort_share)

    def load_saved(self, path: Path) -> Catalog | None:
        return self if self.load(path) else None

    def adopt(self, other: Catalog) -> None:
        """Serve other's columns from now on (its lists and counts too; a blank() of this one,
        so everything else is the same)."""
        with self._lock:
            vars(self).update({name: value for name, value in vars(other).items() if name != "_lock"})

    def load(self, path: Path) -> bool:
        """The columns saved for the store's current state (the caller names the file after
        it); False, and nothing changed, when the file is missing, unreadable or of another FORMAT."""
        try:
            with saved_arrays.opened(path) as saved:
                columns = _columns(saved)
        except (OSError, ValueError, KeyError) as exc:
            log.info("cannot load %s: %r", path, exc)
            return False
        if columns is None:
            return False
        orders = columns.pop("by_published"), columns.pop("by_title")
        with self._lock:
            self._empty()
            for name, value in columns.items():
                setattr(self, name, value)
            self._docno = {key: docno for docno, key in enumerate(self._ids)}
            self._by_published = SortedDocs(self._published, self._ids, self._resort_share)
            self._by_title = SortedDocs(self._titles, self._ids, self._resort_share)
            self._by_published.docs, self._by_title.docs = orders
            self._results.clear()
            self._counts, self._families, self._built = None, {}, True
        return True

    def nbytes(self) -> int:
        """The columns' arrays (the id and key lists are not counted)."""
        arrays = (self._alive, self._public, self._status, self._category)
        parts = (self._topics, self._regions, self._tags, self._by_published, self._by_title)
        return sum(a.nbytes for a in arrays) + sum(p.nbytes() for p in parts)


def _columns(saved) -> dict | None:
    """The saved columns, checked, as Catalog attributes (plus the two orders); None for another FORMAT."""
    check, array = saved_arrays.check, saved_arrays.array
    meta = saved_arrays.read_meta(saved)
    if meta.get("format") != FORMAT:
        return None
    size = int(meta["size"])
    columns: dict = {
        "_ids": PackedStrings.from_state(saved, "ids", size),
        "_published": PackedStrings.from_state(saved, "published", size),
        "_titles": PackedStrings.from_state(saved, "titles", size),
        "_statuses": Vocab.of(list(PackedStrings.from_state(saved, "statuses"))),
        "_categories": Vocab.of(list(PackedStrings.from_state(saved, "categories"))),
        "_alive": array(saved, "alive", np.bool_, (size,)), "_public": array(saved, "public", np.bool_, (size,)),
    }
    columns["_status"] = saved_arrays.in_range(array(saved, "status", np.int32, (size,)), len(columns["_statuses"]))
    columns["_category"] = saved_arrays.in_range(array(saved, "category", np.int32, (size,)),
                                                 len(columns["_categories"]))
    for order in ("by_published", "by_title"):
        columns[order] = saved_arrays.in_range(array(saved, order, np.int32), size)
        check(len(columns[order]) == int(columns["_alive"].sum()))
    for name in VALUE_SETS:
        values = ValueSets()
        values.vocab = Vocab.of(list(PackedStrings.from_state(saved, f"{name}_vocab")))
        values.indptr = array(saved, f"{name}_indptr", np.int64, (len(values.vocab) + 1,))
        values.docs = saved_arrays.in_range(array(saved, f"{name}_docs", np.int32), size)
        check(values.indptr[0] == 0 and values.indptr[-1] == len(values.docs) and (np.diff(values.indptr) >= 0).all())
        columns[f"_{name}"] = values
    return columns


@contextmanager
def _no_collection():
    """The cyclic collector kept out of a build: it makes ~10 objects an article and none
    of them cyclic, but each collection would walk the whole store (half the build's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fields_of(article: dict) -> tuple:
    """FIELDS of a record that may lack some (as _put reads them)."""
    get = article.get
    return (article["title"], get("topics") or (), get("regions") or (), get("tags") or (), get("status"),
            get("category"), get("published_at"))


def _equal(column: np.ndarray, value: int | None) -> np.ndarray:
    """Where the column holds this id (nowhere, for a value no article ever had)."""
    return column == value if value is not None else np.zeros(len(column), bool)


def _counted_topics(article: dict | None, topics: dict[str, dict]) -> set[str]:
    """The topic slugs a public article counts for: its own and their parents."""
    if not is_public(article):
        return set()
    parents = (topics.get(t, {}).get("parent") for t in article["topics"])
    return {*article["topics"], *(p for p in parents if p)}


def topic_family(slug: str, topics: dict[str, dict]) -> set[str]:
    """The slug and its children's slugs (one level of nesting)."""
    return {slug, *(t["slug"] for t in topics.values() if t.get("parent") == slug)}
