"""How readers type: spaced pinyin, words inside titles, highlights of whole words."""

from __future__ import annotations

import re

import pytest

from service.domain import search_pinyin, text


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
