"""Trending: time-decayed views, published articles only, filters."""

from __future__ import annotations

import pytest

from service.domain.popularity.events import EventCounter
from service.domain.popularity.trending import Trending

HOUR = 3600.0
NOW = 1_700_000_000.0
RECORDS = {
    "burst-old": {"status": "published", "topics": ["benefits"], "regions": ["广东", "广州"]},
    "steady-new": {"status": "published", "topics": ["newborn"], "regions": ["广东", "佛山"]},
    "draft": {"status": "draft", "topics": ["benefits"], "regions": []},
    "quiet": {"status": "published", "topics": ["benefits"], "regions": ["江西"]},
}


@pytest.fixture
def trending():
    t = Trending(lambda: RECORDS)
    t.on_views([("burst-old", 10, NOW - 72 * HOUR), ("steady-new", 3, NOW - HOUR), ("draft", 50, NOW),
                ("quiet", 1, NOW - 2 * HOUR)], reset=False)
    return t


def test_recent_views_outweigh_an_old_burst(trending):
    ranked = trending.trending(limit=10, now=NOW)
    assert [aid for aid, _ in ranked] == ["steady-new", "burst-old", "quiet"]
    scores = dict(ranked)
    assert scores["burst-old"] == pytest.approx(10 / 8, rel=1e-6)  # three half-lives
    assert scores["steady-new"] == pytest.approx(3 * 2 ** (-1 / 24), rel=1e-6)


def test_drafts_and_unknown_articles_never_trend(trending):
    trending.on_views([("deleted", 99, NOW)], reset=False)
    assert {aid for aid, _ in trending.trending(now=NOW)} == {"burst-old", "steady-new", "quiet"}


def test_topic_and_region_filters(trending):
    assert [a for a, _ in trending.trending(topic="benefits", now=NOW)] == ["burst-old", "quiet"]
    assert [a for a, _ in trending.trending(region="佛山", now=NOW)] == ["steady-new"]
    assert [a for a, _ in trending.trending(region="广东", now=NOW)] == ["steady-new", "burst-old"]
    assert trending.trending(limit=1, now=NOW) == trending.trending(now=NOW)[:1]


def test_half_life_is_configurable():
    long = Trending(lambda: RECORDS, half_life_hours=24 * 30)
    long.on_views([("burst-old", 10, NOW - 72 * HOUR), ("steady-new", 3, NOW - HOUR)], reset=False)
    assert [a for a, _ in long.trending(now=NOW)] == ["burst-old", "steady-new"]


def test_reset_forgets_and_far_future_stays_finite():
    t = Trending(lambda: RECORDS, half_life_hours=1)
    t.on_views([("quiet", 1, NOW)], reset=False)
    t.on_views([("steady-new", 1, NOW + 5000 * HOUR)], reset=False)  # forces a rebase
    assert t.score("steady-new", NOW + 5000 * HOUR) == pytest.approx(1.0)
    t.on_views([], reset=True)
    assert t.trending(now=NOW) == []


def test_fed_by_the_view_counter(tmp_path):
    counter = EventCounter(tmp_path, flush_events=1)
    for _ in range(3):
        counter.record("quiet", now=NOW)
    counter.record("steady-new", now=NOW)
    t = Trending(lambda: RECORDS)
    counter.subscribe(t.on_views)
    other = EventCounter(tmp_path, flush_events=1)
    other.record("steady-new", now=NOW)
    other.record("steady-new", now=NOW)
    other.record("steady-new", now=NOW)
    counter.refresh()
    assert [a for a, _ in t.trending(now=NOW)] == ["steady-new", "quiet"]
