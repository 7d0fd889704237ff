"""For-you: blends the history's related lists, newest first, varied topics."""

from __future__ import annotations

import pytest

from bench.related_eval import seed_articles
from service.domain.content.taxonomy import load_taxonomy
from service.domain.popularity.trending import Trending
from service.domain.recommend.for_you import ForYou
from service.domain.recommend.related import Related

NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def articles():
    return seed_articles()


@pytest.fixture(scope="module")
def records(articles):
    return {a["id"]: a for a in articles}


@pytest.fixture(scope="module")
def related(articles):
    return Related.from_articles(articles, {t["slug"]: t["name"] for t in load_taxonomy()})


def by_title(articles, title):
    return next(a for a in articles if a["title"] == title)["id"]


def make(related, records, views=()):
    trending = Trending(lambda: records)
    trending.on_views([(aid, n, NOW) for aid, n in views], reset=False)
    return ForYou(related, trending, lambda: records)


def test_history_drives_the_list_and_is_excluded(articles, records, related):
    read = by_title(articles, "婴儿可以买医保吗")
    items, unknown = make(related, records).for_you([read], limit=5, now=NOW)
    assert unknown == []
    assert read not in [i["id"] for i in items]
    first = records[items[0]["id"]]["title"]
    assert "婴儿" in first
    assert items[0]["reasons"][0] == "因为你看过「婴儿可以买医保吗」"
    assert len(items) == 5 and len({i["id"] for i in items}) == 5


def test_newest_history_weighs_most(articles, records, related):
    fo = by_title(articles, "佛山佛医保保障范围")
    baby = by_title(articles, "婴儿可以买医保吗")
    engine = make(related, records)
    first = records[engine.for_you([fo, baby], limit=3, now=NOW)[0][0]["id"]]["title"]
    assert "佛医保" in first
    first = records[engine.for_you([baby, fo], limit=3, now=NOW)[0][0]["id"]]["title"]
    assert "婴儿" in first


def test_topics_stay_varied(articles, records, related):
    fo = by_title(articles, "佛山佛医保保障范围")
    items, _ = make(related, records).for_you([fo], limit=6, now=NOW)
    firsts = [records[i["id"]]["topics"][0] if records[i["id"]]["topics"] else "-" for i in items]
    assert max(firsts.count(t) for t in set(firsts)) <= 2


def test_unknown_ids_are_ignored_and_returned(articles, records, related):
    draft_id = "some-draft"
    recs = {**records, draft_id: dict(articles[0], id=draft_id, status="draft")}
    baby = by_title(articles, "婴儿可以买医保吗")
    items, unknown = make(related, recs).for_you(["nope", baby, draft_id, "nope"], limit=4, now=NOW)
    assert unknown == ["nope", draft_id]
    assert items and all(i["id"] in records for i in items)


def test_empty_or_unknown_history_falls_back_to_trending(articles, records, related):
    hot = by_title(articles, "广州医保卡提现电话")
    engine = make(related, records, views=[(hot, 50)])
    for history in ([], ["nope"]):
        items, _ = engine.for_you(history, limit=3, now=NOW)
        assert items[0]["id"] == hot
        assert items[0]["reasons"] == ["最近很多人在看"]
        assert len(items) == 3  # topped up with the newest articles
