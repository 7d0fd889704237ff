"""How readers type: spaced pinyin, words inside titles, highlights of whole words."""

from __future__ import annotations

import re

import pytest

from service.domain import text
from service.domain.search import pinyin as search_pinyin
from service.domain.search.index import SearchIndex


def search(client, q, **params):
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- pinyin however it is spaced ----------------------------------------------


@pytest.mark.parametrize("q", ["yi bao ka", "yibao ka", "yi baoka", "YiBaoKa", "yi-bao-ka", "Yi Bao Ka"])
def test_spaced_pinyin_finds_what_joined_pinyin_finds(client, q):
    joined = search(client, "yibaoka", per_page=10)
    spaced = search(client, q, per_page=10)
    assert joined["meta"]["total"] > 0
    assert spaced["meta"]["total"] == joined["meta"]["total"]
    assert [h["id"] for h in spaced["items"]] == [h["id"] for h in joined["items"]]


@pytest.mark.parametrize("query, keys", [
    ("yi bao ka", ["yi_bao", "bao_ka"]),
    ("yibao ka", ["yi_bao", "bao_ka"]),
    ("shebaoka mima", ["she_bao", "bao_ka", "ka_mi", "mi_ma"]),
    ("xi'an yibao", ["xi_an", "an_yi", "yi_bao"]),
    ("yibao app ka", ["yi_bao"]),  # a word that is not pinyin breaks the chain
    ("yi 医保 ka", []),  # nor are syllables chained across Chinese
    ("bao", []),
])
def test_latin_keys_chain_syllables_across_spaces(query, keys):
    assert search_pinyin.latin_keys(text.search_text(query)) == keys


# -- highlights mark whole words -----------------------------------------------

EM = re.compile(r"<em>([^<]*)</em>")


def marked(body):
    """Every highlighted piece of every card (titles and summaries)."""
    return [m for h in body["items"] for text_ in h["highlights"].values() for m in EM.findall(text_)]


def card(body, article_id):
    return next(h for h in body["items"] if h["id"] == article_id)["highlights"]


def test_a_synonym_phrase_is_marked_whole_never_its_single_characters(client, write_headers):
    for article_id, title in (("online-pay", "医保线上怎么参保"), ("join-up", "孩子怎么上医保")):
        assert client.post("/api/v1/articles", headers=write_headers, json={
            "id": article_id, "title": title, "body": "正文"}).status_code == 201
    body = search(client, "上医保", per_page=100)  # 上医保 is a synonym of 参保 (上 + 医保)
    assert card(body, "online-pay")["title"] == "<em>医保</em>线上怎么<em>参保</em>"
    assert card(body, "join-up")["title"] == "孩子怎么<em>上医保</em>"
    assert "上" not in marked(body)


def test_one_character_words_of_a_synonym_are_not_marked_alone(client):
    body = search(client, "医保卡丢了", per_page=100)  # 丢了 = 丢 + 了, 不见了 = 不见 + 了
    pieces = marked(body)
    assert any("不见了" in p for p in pieces) and any(p.startswith("医保卡") for p in pieces)
    assert not [p for p in pieces if len(p) == 1], pieces


def test_a_character_the_reader_typed_alone_is_marked(client):
    body = search(client, "医保 卡", per_page=100)
    assert "卡" in marked(body)


def test_pinyin_highlights_whole_words_of_the_title(client):
    body = search(client, "yibaoka", per_page=100)
    titles = [h["highlights"]["title"] for h in body["items"]]
    assert "<em>医保卡</em>只能一张吗" in titles
    password = next(t for t in titles if t.startswith("社保卡密码"))
    assert password == "社保卡密码就是刷<em>医保</em>的密码吗"  # never 社<em>保卡</em>
    assert "<em>社保卡</em>" in search(client, "shebaoka")["items"][0]["highlights"]["title"]


# -- suggestions: words inside titles ------------------------------------------


def suggest(client, q):
    response = client.get("/api/v1/search/suggest", query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [i["text"] for i in response.get_json()["items"] if i["kind"] == "title"]


@pytest.mark.parametrize("q, title", [
    ("提现", "广州医保卡提现电话"),
    ("南昌", "江西南昌医保缴费二维码"),
    ("清零", "统筹的钱会清零吗"),
])
def test_suggest_finds_words_inside_titles(client, q, title):
    titles = suggest(client, q)
    assert title in titles and all(q in t for t in titles)


def test_suggest_puts_titles_starting_with_the_prefix_first(client, write_headers):
    assert client.post("/api/v1/articles", headers=write_headers, json={
        "id": "cash-out", "title": "提现到账要多久", "body": "正文"}).status_code == 201
    titles = suggest(client, "提现")
    assert titles[0] == "提现到账要多久" and "广州医保卡提现电话" in titles[1:]
    assert suggest(client, "tixian")[0] == "提现到账要多久"  # pinyin still completes prefixes
    assert "提现到账要多久" in suggest(client, "txdz")  # and initials
    assert suggest(client, "ti-xian")[0] == suggest(client, "ti xian")[0] == "提现到账要多久"


def _doc(article_id, title, status="published"):
    return {"id": article_id, "title": title, "answer": None, "summary": "", "body": title,
            "category": "", "topics": [], "tags": [], "regions": [], "published_at": "2025-01-01",
            "status": status, "version": 1}


PREFIXES = ["提现", "医保卡", "广州", "ybk", "yibaoka", "gz", "卡提", "佛山"]


def test_suggestions_after_edits_match_a_fresh_index():
    edited = SearchIndex()
    edited.build([_doc("m", "医保卡提现"), _doc("z", "广州医保卡提现"), _doc("k", "佛山医保卡提现多久"),
                  _doc("q", "要删掉的医保卡提现")])
    for prefix in PREFIXES:
        edited.suggest(prefix)  # the suggester now exists and is updated in place
    edited.upsert(_doc("b", "医保卡提现"))  # same title as m: the smaller id is shown
    edited.upsert(_doc("a", "医保卡提现"))
    edited.upsert(_doc("k", "佛山医保卡怎么提现"))
    edited.remove("q")
    edited.remove("m")
    edited.upsert(_doc("c", "广州医保卡提现"))
    fresh = SearchIndex()
    fresh.build([_doc("c", "广州医保卡提现"), _doc("k", "佛山医保卡怎么提现"), _doc("z", "广州医保卡提现"),
                 _doc("a", "医保卡提现"), _doc("b", "医保卡提现")])
    for prefix in PREFIXES:
        assert edited.suggest(prefix) == fresh.suggest(prefix), prefix
    assert fresh.suggest("提现") == [
        {"text": "医保卡提现", "id": "a"},
        {"text": "广州医保卡提现", "id": "c"},
        {"text": "佛山医保卡怎么提现", "id": "k"},
    ]


def test_popular_queries_containing_the_prefix_follow_those_starting_with_it():
    index = SearchIndex()
    index.build([_doc("a", "医保卡提现")])
    popular = ["医保提现", "提现多久到账", "医保", "广州提现"]
    texts = [s["text"] for s in index.suggest("提现", popular=popular)]
    assert texts == ["提现多久到账", "医保提现", "广州提现", "医保卡提现"]
