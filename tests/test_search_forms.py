"""How readers type: spaced pinyin, words inside titles, highlights of whole words."""

from __future__ import annotations

import re

import pytest

from service.domain import search_pinyin, text
from tests.conftest import WRITE


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


def test_a_synonym_phrase_is_marked_whole_never_its_single_characters(client):
    for article_id, title in (("online-pay", "医保线上怎么参保"), ("join-up", "孩子怎么上医保")):
        assert client.post("/api/v1/articles", headers=WRITE, json={
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
