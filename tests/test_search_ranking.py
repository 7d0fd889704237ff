"""The index's answers equal those of the exhaustive scorer (tests/search_reference.py).

Hits in order, their scores, totals, facets and highlights, for every
filter, offset and limit: on the seed pages (as built, and after drafts,
edits and removals) and on small random corpora changed at random, whose
words are mostly very common so that ties and deep pages are the rule.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import search_eval
from service.domain.search import facets, postings, ranking
from service.domain.search import index as search_index
from service.domain.search.index import SearchIndex
from service.domain.search.scored_plan import ScoredPlan
from tests import search_reference

# (ALL_AT_ONCE, FIRST_CANDIDATES, SHORT_POSTINGS): as shipped, and small enough that the
# threshold, its bound and the second round all run on a corpus of a few dozen documents.
BUDGETS = [None, (0, 1, 0), (0, 2, 3), (1, 8, 5), (0, 1, 10**6), (0, 40, 0)]

SEED_TOPICS = [None, "personal-account", "enrollment", ("personal-account", "services"), "nothing-here"]
SEED_REGIONS = [None, "广东", "广州", "火星"]
PAGES = [(0, 20), (0, 1), (3, 5), (10, 10), (0, 0), (200, 20), (0, 200)]
EXTRA_QUERIES = ["医保", "医保 报销", "医保 医保 医保", "怎么", "怎么 吗", "yibaoka", "yi bao", "医保账户为什么是负的",
                 "是负", "刚出生 婴儿", "", "   ", "的"]


def _seed_queries() -> list[str]:
    return [q["query"] for q in search_eval.load_judged()] + EXTRA_QUERIES


def _same(index: SearchIndex, query: str, **options) -> None:
    got = index._search(query, options.get("topic"), options.get("region"), options.get("include_drafts", False),
                        options.get("offset", 0), options.get("limit", 20))
    want = search_reference.search(index, query, **options)
    assert got.total == want.total, (query, options)
    assert [(h.id, h.score) for h in got.hits] == [(h.id, h.score) for h in want.hits], (query, options)
    assert got == want, (query, options)


def _seed_index(changed: bool) -> SearchIndex:
    articles = search_eval.seed_articles()
    index = SearchIndex()
    index.build(articles)
    if changed:
        # Drafts, edits and removals: a delta, dead docnos and articles only include_drafts sees.
        for n, article in enumerate(articles[:30]):
            edited = dict(article, title=article["title"] + "医保报销", version=2)
            if n % 3 == 0:
                edited["status"] = "draft"
            index.upsert(edited)
        for article in articles[30:40]:
            index.remove(article["id"])
    return index


@pytest.fixture(scope="module", params=["built", "changed"])
def seed_index(request):
    return _seed_index(request.param == "changed")


@pytest.mark.parametrize("budget", BUDGETS[:3])
@pytest.mark.parametrize("query", _seed_queries())
def test_seed_queries_match_the_reference(seed_index, query, budget):
    with _budget(budget):
        for (topic, region), (offset, limit) in itertools.product(
            itertools.product(SEED_TOPICS, SEED_REGIONS), PAGES[:3]
        ):
            _same(seed_index, query, topic=topic, region=region, offset=offset, limit=limit)
        for include_drafts, (offset, limit) in itertools.product((False, True), PAGES):
            _same(seed_index, query, include_drafts=include_drafts, offset=offset, limit=limit)


@pytest.mark.parametrize("query", _seed_queries())
def test_seed_scores_are_the_accumulators_bit_for_bit(seed_index, query):
    _same_scores(seed_index, query)


def _same_scores(index: SearchIndex, query: str) -> None:
    """Every docno's float32 score as the dense accumulator had it, and the same matches."""
    if not query.strip() or not index.docs.size:
        return
    plan = index._plan(query)
    size = index.docs.size
    want = search_reference._Scores(index).score(plan, size)
    scored = ScoredPlan(index.scorer, plan)
    got = scored.scores_of(np.arange(size), size)
    assert got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), query
    assert np.array_equal(scored.matches(size), want > 0), query


@pytest.mark.parametrize("budget", BUDGETS)
def test_seed_similar_matches_the_reference(seed_index, budget):
    with _budget(budget):
        _same_similar(seed_index)


def _same_similar(seed_index):
    for terms in ([("医保", 1.0)], [("医保", 1.0), ("报销", 0.5), ("比例", 0.2)], [("婴儿", 2.0), ("参保", 1.0)],
                  [("没有这个词", 1.0)]):
        for limit in (1, 5, 50):
            assert seed_index.similar(terms, limit) == search_reference.similar(seed_index, terms, limit)
            found, scores, own = seed_index.similar_scored(terms, limit, seed_index.docs.ids[0])
            want = search_reference.similar_scored(seed_index, terms, limit, seed_index.docs.ids[0])
            assert (dict(zip(found, scores.tolist(), strict=True)), own) == want


# -- random corpora ------------------------------------------------------------

# Mostly words nearly every document holds, a few rarer ones, synonyms
# (婴儿/新生儿/宝宝, 丢了 => 补办), question words and pinyin-prone titles.
COMMON = ["医保", "报销", "比例", "参保"]
RARE = ["佛山", "广州", "新生儿", "婴儿", "宝宝", "异地就医", "备案", "医保卡", "社保卡", "丢了", "补办", "惠民保",
        "佛医保", "个人账户", "提现", "起付线", "门诊", "师傅"]
QUESTION = ["怎么", "多少", "为什么", "吗"]
PINYIN = ["yibao", "yibaoka", "fo shan", "shifu", "是负"]
TOPICS = ["t1", "t2", "t3"]
REGIONS = ["广东", "佛山", "广州"]
DATES = ["2024-01-01", "2025-01-01", "2025-06-01"]

words = st.lists(st.sampled_from(COMMON * 4 + RARE + QUESTION), min_size=0, max_size=6)


@st.composite
def articles(draw, n: int) -> dict:
    return {
        "id": f"x{n}", "title": "".join(draw(words)) or "医保", "answer": "".join(draw(words)) or None,
        "summary": "，".join(draw(words)), "body": "。".join(draw(words) + draw(words)), "category": "",
        "topics": draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)),
        "tags": draw(st.lists(st.sampled_from(RARE), max_size=2)),
        "regions": draw(st.lists(st.sampled_from(REGIONS), max_size=2, unique=True)),
        "published_at": draw(st.sampled_from(DATES)),
        "status": draw(st.sampled_from(["published"] * 5 + ["draft"])), "version": 1,
    }


@st.composite
def changed_corpora(draw) -> tuple[list[dict], list[tuple]]:
    size = draw(st.integers(1, 40))
    corpus = [draw(articles(n)) for n in range(size)]
    changes = []
    for step in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["upsert", "upsert", "remove", "compact"]))
        if kind == "upsert":
            n = draw(st.integers(0, size + 10))  # an edit or a new article
            changes.append(("upsert", dict(draw(articles(n)), version=step + 2)))
        elif kind == "remove":
            changes.append(("remove", f"x{draw(st.integers(0, size + 10))}"))
        else:
            changes.append(("compact",))
    return corpus, changes


queries = (st.lists(st.sampled_from(COMMON * 3 + RARE + QUESTION + PINYIN), max_size=4).map(" ".join)
           | st.lists(st.sampled_from(COMMON + RARE + QUESTION), min_size=1, max_size=4).map("".join))

options = st.fixed_dictionaries({
    "topic": st.sampled_from([None, "t1", "t2", ("t1", "t3"), "nothing"]),
    "region": st.sampled_from([None, "广东", "广州", "nowhere"]),
    "include_drafts": st.booleans(),
    "offset": st.sampled_from([0, 0, 1, 3, 7, 39, 100]),
    "limit": st.sampled_from([0, 1, 2, 5, 20, 100]),
})


# (DENSE_TERMS, DENSE_ON_USE): dense rows built with the index, on first use (and dropped), or none.
DENSE = [(64, 64), (2, 64), (2, 1), (0, 0)]


@contextlib.contextmanager
def _small_deltas(dense: tuple[int, int] = DENSE[0]):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search_index, "DELTA_DOCS", 4)  # merge deltas now and then
        patch.setattr(facets, "DELTA_ASSIGNMENTS", 5)
        patch.setattr(postings, "DENSE_TERMS", dense[0])
        patch.setattr(postings, "DENSE_ON_USE", dense[1])
        yield


@contextlib.contextmanager
def _budget(budget: tuple[int, int, int] | None):
    with pytest.MonkeyPatch.context() as patch:
        if budget is not None:
            for name, value in zip(("ALL_AT_ONCE", "FIRST_CANDIDATES", "SHORT_POSTINGS"), budget, strict=True):
                patch.setattr(ranking, name, value)
        yield


def _changed_index(corpus: list[dict], changes: list[tuple]) -> SearchIndex:
    index = SearchIndex()
    index.build(corpus)
    for change in changes:
        if change[0] == "upsert":
            index.upsert(change[1])
        elif change[0] == "remove":
            index.remove(change[1])
        elif index.docs.dead:
            index._compact()
    return index


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changed_corpora(), st.lists(st.tuples(queries, options), min_size=1, max_size=8), st.sampled_from(BUDGETS),
       st.sampled_from(DENSE))
def test_random_corpora_match_the_reference(corpus_changes, asked, budget, dense):
    with _small_deltas(dense), _budget(budget):
        index = _changed_index(*corpus_changes)
        for query, opts in asked:
            _same(index, query, **opts)
            _same_scores(index, query)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changed_corpora(), st.lists(st.tuples(st.sampled_from(COMMON + RARE + QUESTION), st.floats(0.1, 3.0)),
                                   min_size=1, max_size=5),
       st.integers(1, 30), st.sampled_from(BUDGETS), st.sampled_from(DENSE))
def test_random_similar_matches_the_reference(corpus_changes, terms, limit, budget, dense):
    with _small_deltas(dense), _budget(budget):
        index = _changed_index(*corpus_changes)
        exclude = index.docs.ids[0] if index.docs.size else None
        assert index.similar(terms, limit, exclude) == search_reference.similar(index, terms, limit, exclude)
        found, scores, own = index.similar_scored(terms, limit, exclude)
        assert (dict(zip(found, scores.tolist(), strict=True)), own) == search_reference.similar_scored(
            index, terms, limit, exclude)
