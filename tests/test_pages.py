"""The five seed pages parse faithfully and become 105 distinct articles."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from service.domain.content.pages import (
    PageFormatError,
    build_articles,
    load_pages,
    parse_page,
    split_answer,
)
from service.domain.content.taxonomy import load_taxonomy
from service.domain.text import normalise

PAGES = Path(__file__).resolve().parents[1] / "seeds" / "pages"
RECORD_KEYS = {
    "id", "title", "answer", "summary", "body", "category", "topics", "topics_auto", "tags",
    "regions", "disclaimer", "published_at", "status", "related_curated", "summary_auto", "regions_auto",
}


@pytest.fixture(scope="module")
def pages():
    return load_pages(PAGES)


@pytest.fixture(scope="module")
def result(pages):
    return build_articles(pages, load_taxonomy())


def by_title(result):
    return {a["title"]: a for a in result.articles}


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


# -- parsing ------------------------------------------------------------------


def test_all_five_pages_parse_with_twenty_cards(pages):
    assert len(pages) == 5
    for source, page in pages:
        assert page.title and not page.title.startswith(" ")
        assert len(page.cards) == 20, source
        assert page.disclaimer == "本内容不能代替面诊,如有不适请尽快就医。"
        for card in page.cards:
            assert card.category == "健康新闻"
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", card.date)
            assert card.title and card.excerpt
            assert "首页 顶部" not in card.excerpt and "首页 顶部" not in card.title


def test_page_002_keeps_its_answer_line_out_of_the_body(pages):
    page = dict(pages)["002_4bf20b5ac5630f69.txt"]
    assert page.title == "2025江西抚州职工医保报销额度用完了怎么办"
    assert page.answer == "继续缴费或购买商保"
    assert "继续缴费或购买商保" not in page.body_markdown
    others = [p for s, p in pages if not s.startswith("002")]
    assert all(p.answer is None for p in others)


def test_sections_lists_and_paragraphs_survive_as_markdown(pages):
    page = dict(pages)["000_e9231330f69d2e16.txt"]
    md = page.body_markdown
    assert re.findall(r"^## .+$", md, re.M) == [
        "## 一、缴费性质与年限",
        "## 二、380元标准的含义",
        "## 三、未使用380元的处理方式",
        "## 四、建议与注意事项",
    ]
    out = html(md)
    assert out.count("<h2>") == 4
    assert out.count("<ol>") == 3  # one list per section that numbers its items
    assert "<li>\n<p>断缴后果</p>\n<ul>" in out  # bullets indented under an item stay inside it
    assert out.count("<ul>") == 2  # section 二's bullets, and the nested ones
    assert md.startswith("关于医保380元/年的缴费标准")  # the lead paragraph
    assert "提示" not in md and "相关推荐" not in md


def test_repeated_item_numbers_become_one_list(pages):
    """Page 002 numbers every item "1."; its unindented paragraphs belong to them."""
    out = html(dict(pages)["002_4bf20b5ac5630f69.txt"].body_markdown)
    solutions = out.split("<h2>二、具体解决方案</h2>")[1].split("<h2>")[0]
    assert solutions.count("<ol>") == 1 and solutions.count("<li>") == 6  # 4 items + 2 bullets
    assert "<p>继续缴纳医保</p>\n<p>参保人员需按时缴纳医保费用" in solutions


def test_inline_items_with_nested_bullets(pages):
    out = html(dict(pages)["003_88b60171e65924f9.txt"].body_markdown)
    assert out.count("<ol>") == 1
    assert out.count("<ul>") == 3
    assert "<h2>" not in out


def test_hot_searches_block(pages):
    by_source = dict(pages)
    assert by_source["001_97ba0e02d4ec5194.txt"].hot_searches == []  # present, empty
    assert by_source["000_e9231330f69d2e16.txt"].hot_searches == []  # absent
    text = (PAGES / "001_97ba0e02d4ec5194.txt").read_text(encoding="utf-8")
    text = text.replace("大家都在搜\n", "大家都在搜\n医保断缴\n\n异地就医备案\n", 1)
    assert parse_page(text, "x.txt").hot_searches == ["医保断缴", "异地就医备案"]


def test_navigation_line_is_not_content(pages):
    last = dict(pages)["001_97ba0e02d4ec5194.txt"].cards[-1]
    assert last.title == "社保卡激活就可以用医保了吗"
    assert last.date == "2025-04-19"


# -- the answer rule ------------------------------------------------------------


@pytest.mark.parametrize(
    "title, answer",
    [
        ("广州医保能在珠海医院用吗", "能"),
        ("社保卡激活就可以用医保了吗", "可以"),
        ("怎么看医保每月进账多少钱", "登录医保平台或APP查询"),
        ("洛阳市退休职工医保报销比例", "3.5%"),
        ("怎么关闭职工医保账户", "单位申请或个人办理"),
        ("珠海少儿医保查询系统", None),  # the subject, split off by emphasis spacing
        ("统筹账户一年一清零吗", None),  # 医保统筹账户 不会每年清零
        ("广州医保卡的钱可以提现吗", None),
        ("怎么解绑职工医保账户", None),  # an echoed question
        ("能买医保", None),  # 医保是可以购买的 ,我国...
        ("眼睛激光手术会瞎吗", None),
    ],
)
def test_card_answers(pages, title, answer):
    cards = {c.title: c for _, p in pages for c in p.cards}
    assert cards[title].answer == answer


def test_split_answer_keeps_the_rest():
    assert split_answer("可以 根据广州市城乡居民医保政策", "外地人可以买广州居民医保吗") == (
        "可以", "根据广州市城乡居民医保政策",
    )
    assert split_answer("医保是可以购买的 ,我国", "能买医保") == (None, "医保是可以购买的 ,我国")


# -- articles -------------------------------------------------------------------


def test_105_unique_articles(result):
    assert len(result.articles) == 105
    assert len({a["id"] for a in result.articles}) == 105
    assert len({normalise(a["title"]) for a in result.articles}) == 105
    assert result.skipped == []
    assert result.hot_searches == []


def test_record_shape(result):
    for a in result.articles:
        assert set(a) == RECORD_KEYS
        assert a["category"] == "健康新闻" and a["status"] == "published" and a["topics_auto"] is True
        assert a["regions_auto"] is True and a["summary_auto"] is False  # the summary is the page's own
        assert a["tags"] == [] and a["disclaimer"] == "本内容不能代替面诊,如有不适请尽快就医。"
        assert 0 < len(a["summary"]) <= 120 and "\n" not in a["summary"]
        assert a["body"].strip()
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["published_at"])
        assert 1 <= len(a["topics"]) <= 3


def test_ids_pages_and_related(result, pages):
    articles = by_title(result)
    ids = {a["id"] for a in result.articles}
    for source, page in pages:
        article = articles[page.title]
        assert article["id"] == source.split("_")[1].removesuffix(".txt")
        assert len(article["related_curated"]) == 20
        assert set(article["related_curated"]) <= ids
        for card, rid in zip(page.cards, article["related_curated"], strict=True):
            assert rid == hashlib.sha256(normalise(card.title).encode()).hexdigest()[:16]
            assert articles[card.title]["related_curated"] == []


def test_page_dates_and_card_records(result):
    articles = by_title(result)
    assert articles["医保380元一次没用了"]["published_at"] == "2025-04-23"
    assert articles["医保账户为什么师傅的"]["published_at"] == "2025-05-16"
    card = articles["广州医保能在珠海医院用吗"]
    assert card["answer"] == "能"
    assert card["body"].startswith("珠海的医保在广州可以使用")
    assert card["summary"].startswith("珠海的医保在广州可以使用")
    assert card["published_at"] == "2025-04-19"
    page = articles["2025江西抚州职工医保报销额度用完了怎么办"]
    assert page["answer"] == "继续缴费或购买商保"
    assert page["regions"] == ["江西", "抚州"]


def test_idempotent_and_order_independent(pages):
    taxonomy = load_taxonomy()
    first = build_articles(pages, taxonomy)
    again = build_articles(load_pages(PAGES), taxonomy)
    shuffled = build_articles(list(reversed(pages)), taxonomy)
    dump = json.dumps(first.articles, ensure_ascii=False, sort_keys=True)
    assert dump == json.dumps(again.articles, ensure_ascii=False, sort_keys=True)
    assert dump == json.dumps(shuffled.articles, ensure_ascii=False, sort_keys=True)


# -- duplicates -------------------------------------------------------------------


def page_text(title, cards, date="2025-01-02"):
    lines = [title, "", "正文一段。", "", "提示:本内容不能代替面诊,如有不适请尽快就医。", "相关推荐", ""]
    for card in cards:
        lines += [card, "", f"{card}的摘要。", "", f"健康新闻 {date}", ""]
    return "\n".join(lines + ["首页 顶部"])


def test_card_equal_to_a_page_is_that_page_and_shared_cards_are_one_article():
    a = parse_page(page_text("甲问题吗", ["乙问题吗", "共同卡片"]), "000_aaaaaaaaaaaaaaaa.txt")
    b = parse_page(page_text("乙问题吗", ["甲问题吗", "共同卡片", "乙问题吗"]), "001_bbbbbbbbbbbbbbbb.txt")
    result = build_articles([("001_bbbbbbbbbbbbbbbb.txt", b), ("000_aaaaaaaaaaaaaaaa.txt", a)], [])
    titles = [x["title"] for x in result.articles]
    assert titles == ["甲问题吗", "乙问题吗", "共同卡片"]
    pa, pb, shared = result.articles
    assert pa["related_curated"] == ["bbbbbbbbbbbbbbbb", shared["id"]]
    assert pb["related_curated"] == ["aaaaaaaaaaaaaaaa", shared["id"]]  # itself left out
    assert [why for _, why in result.skipped] == [
        "same article as page 001_bbbbbbbbbbbbbbbb.txt",
        "same article as page 000_aaaaaaaaaaaaaaaa.txt",
        "same article as card on 000_aaaaaaaaaaaaaaaa.txt:14",
        "the page itself",
    ]
    assert pa["topics"] == [] and pa["published_at"] == "2025-01-02"


# -- malformed pages ------------------------------------------------------------------


def error(text):
    with pytest.raises(PageFormatError) as caught:
        parse_page(text, "bad.txt")
    return str(caught.value)


def test_missing_related_section():
    text = page_text("问题吗", ["卡片"]).replace("相关推荐", "猜你喜欢")
    assert re.fullmatch(r"bad\.txt:\d+: missing '相关推荐' line before the related cards", error(text))


def test_card_without_date_line():
    text = page_text("问题吗", ["卡片一", "卡片二"]).replace("健康新闻 2025-01-02\n\n卡片二", "卡片二", 1)
    assert error(text) == "bad.txt:12: card '卡片一' has no category/date line, found '卡片二'"


def test_card_without_excerpt():
    text = page_text("问题吗", ["卡片一"]).replace("卡片一的摘要。\n", "")
    assert error(text) == "bad.txt:11: card '卡片一' has no excerpt line"


def test_empty_title():
    assert error("\n" + page_text("问题吗", ["卡片"])) == (
        "bad.txt:1: empty title: the first line must be the article's title"
    )


def test_no_body_and_no_cards():
    no_body = "问题吗\n\n提示:x\n相关推荐\n卡片\n摘要\n健康新闻 2025-01-02"
    assert error(no_body) == "bad.txt:2: the article has no body"
    assert error("问题吗\n正文。\n相关推荐\n\n首页 顶部") == "bad.txt:3: '相关推荐' is followed by no cards"


def test_impossible_date_and_stray_text():
    text = page_text("问题吗", ["卡片"]).replace("2025-01-02", "2025-02-30")
    assert error(text) == "bad.txt:12: card '卡片' has an impossible date '2025-02-30'"
    text = page_text("问题吗", ["卡片"]).replace("相关推荐", "多出来的一行\n相关推荐")
    assert error(text) == "bad.txt:6: unexpected text between the disclaimer and the related cards"


def test_summary_falls_back_to_list_text():
    page = parse_page("问题吗\n\n一、标题\n\n  1. 第一项内容。\n\n提示:x\n相关推荐\n卡\n摘\n健康新闻 2025-01-01", "t")
    assert page.summary == "第一项内容。"
    assert page.body_markdown == "## 一、标题\n\n1. 第一项内容。\n"
