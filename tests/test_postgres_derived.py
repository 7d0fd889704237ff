"""On PostgreSQL, what every node keeps current from the change log answers as a fresh build.

A hypothesis state machine writes through node A (create, edit, unpublish, delete) and restarts
nodes (which resume from their saved indexes and replay the rest). After every step node B,
which only ever replays A's changes, and node A are asked the same questions as a node built
from scratch on the database as it now is: search results with scores and facets, suggestions,
the 相关推荐 of every article, topic counts and article lists.

POSTGRES_DIFFERENTIAL_EXAMPLES (default 4) and POSTGRES_DIFFERENTIAL_STEPS (default 8) set how many
sequences run and how long each is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from service import create_app
from service.domain.content.catalog import ArticleQuery

from .postgres import Databases, postgres_url

EXAMPLES = int(os.environ.get("POSTGRES_DIFFERENTIAL_EXAMPLES", "4"))
STEPS = int(os.environ.get("POSTGRES_DIFFERENTIAL_STEPS", "8"))
SEARCHES = ("医保", "报销", "yibaoka", "异地就医备案", "宝宝出生怎么参保", "广州医保")
WORDS = ("医保", "报销", "参保", "宝宝", "新生儿", "异地就医", "备案", "广州", "佛山", "门诊", "住院", "缴费",
         "个人账户", "家庭共济", "怎么办", "流程", "材料")
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map("".join)


def _node(url: str, data_dir: Path):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": "k", "TESTING": True, "DATABASE_URL": url,
                      "RATE_LIMIT_ENABLED": False, "ACCESS_LOG": False, "REDIS_URL": ""})
    return app.extensions["service"].open()


def _answers(services) -> dict:
    """What readers see from the derived state, asked of the domain directly."""
    out = {}
    for query in SEARCHES:
        found = services.search.search(query, limit=100)
        out[f"search {query}"] = (found.total, [(h.id, round(h.score, 4)) for h in found.hits], found.facets)
    out["suggest"] = [services.search.suggest(q) for q in ("医保", "yb", "广州")]
    for article_id in sorted(services.store.all("articles")):
        out[f"related {article_id}"] = services.related.related(article_id)
    for slug in sorted(services.store.all("topics")):
        out[f"topic {slug}"] = (services.catalog.topic_count(slug),
                                [a["id"] for a in services.catalog.articles(ArticleQuery(topic=slug))])
    return out


class NodesFollowTheLog(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.databases = Databases(postgres_url())
        self.url = self.databases.create()
        self.root = Path(tempfile.mkdtemp(prefix="pg-differential-"))
        self.a = _node(self.url, self.root / "a")
        self.b = _node(self.url, self.root / "b")
        self.created = 0
        self.steps = 0

    def teardown(self):
        for services in (self.a, self.b):
            services.close()
        self.databases.drop_all()

    def ids(self) -> list[str]:
        return sorted(self.a.store.all("articles"))

    @rule(title=phrases, body=phrases)
    def create(self, title, body):
        self.created += 1
        self.a.article_writes.create({"id": f"new-{self.created}", "title": title, "body": f"{body}。{title}"})

    @rule(data=st.data(), title=phrases)
    def retitle(self, data, title):
        self.a.article_writes.patch(data.draw(st.sampled_from(self.ids())), {"title": title}, None)

    @rule(data=st.data(), status=st.sampled_from(["draft", "published"]))
    def publish_or_unpublish(self, data, status):
        self.a.article_writes.patch(data.draw(st.sampled_from(self.ids())), {"status": status}, None)

    @rule(data=st.data())
    def delete(self, data):
        self.a.article_writes.delete(data.draw(st.sampled_from(self.ids())), None)

    @rule(node=st.sampled_from(["a", "b"]))
    def restart(self, node):
        """A node restarts: it loads the indexes it saved, reads the records back at their seq,
        and replays what was written since."""
        getattr(self, node).close()
        setattr(self, node, _node(self.url, self.root / node))

    @invariant()
    def answers_as_a_fresh_build(self):
        self.steps += 1
        fresh = _node(self.url, self.root / f"fresh-{self.steps}")  # nothing saved: built from the database
        try:
            self.b.store.refresh()
            expected = _answers(fresh)
            for name, services in (("writer", self.a), ("follower", self.b)):
                assert services.store.seq == fresh.store.seq, name
                got = _answers(services)
                differing = [key for key in expected if got.get(key) != expected[key]]
                assert not differing, f"{name} differs from a fresh build on {differing[:5]}"
        finally:
            fresh.close()


NodesFollowTheLog.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_nodes_follow_the_log_as_a_fresh_build = NodesFollowTheLog.TestCase
