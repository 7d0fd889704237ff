"""The committed dataset: generated from seeds/pages by the importer, served as it is."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "seeds" / "pages").glob("*.txt"))
DATASET = orjson.loads((ROOT / "seeds" / "articles.json").read_bytes())["articles"]


def all_articles(client) -> list[dict]:
    first = client.get("/api/v1/articles?per_page=100").get_json()
    items = first["items"]
    for page in range(2, first["meta"]["pages"] + 1):
        items += client.get(f"/api/v1/articles?per_page=100&page={page}").get_json()["items"]
    return items


def test_committed_dataset_is_what_the_importer_makes(runner, tmp_path):
    output = tmp_path / "articles.json"
    result = runner.invoke(args=["import-pages", *map(str, PAGES), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == (ROOT / "seeds" / "articles.json").read_bytes(), (
        "seeds/articles.json is stale: regenerate it with "
        "flask --app service import-pages seeds/pages/*.txt --output seeds/articles.json")


def test_every_title_on_the_pages_is_an_article():
    titles = set()
    for page in PAGES:
        lines = [line.strip() for line in page.read_text(encoding="utf-8").splitlines()]
        titles.add(lines[0])
        # A card's title is the non-empty line two lines before its "健康新闻 date" line.
        content = [line for line in lines if line]
        for i, line in enumerate(content):
            if re.fullmatch(r"健康新闻 \d{4}-\d{2}-\d{2}", line):
                titles.add(content[i - 2])
    assert len(titles) == 105
    assert titles == {a["title"] for a in DATASET}


def test_fresh_store_serves_exactly_the_dataset(client):
    served = {a["id"]: a for a in all_articles(client)}
    assert set(served) == {a["id"] for a in DATASET}
    for article in DATASET:
        shown = served[article["id"]]
        for field in ("title", "answer", "summary", "body", "category", "regions", "disclaimer", "published_at"):
            assert shown[field] == article[field], (article["id"], field)
        assert [t["slug"] for t in shown["topics"]] == article["topics"]


def test_pages_keep_structure_answer_and_disclaimer(client):
    page = client.get("/api/v1/articles/e9231330f69d2e16?formats=html").get_json()
    assert page["title"] == "医保380元一次没用了"
    assert "## 一、缴费性质与年限" in page["body"] and "<h2>四、建议与注意事项</h2>" in page["body_html"]
    assert "<ol>" in page["body_html"] and "<ul>" in page["body_html"]
    assert page["disclaimer"] == "本内容不能代替面诊,如有不适请尽快就医。"
    assert page["published_at"] == "2025-04-23"
    fuzhou = client.get("/api/v1/articles/4bf20b5ac5630f69").get_json()
    assert fuzhou["answer"] == "继续缴费或购买商保"
    assert "继续缴费或购买商保" not in fuzhou["body"].split("\n")[0]
    assert "江西" in fuzhou["regions"] and "抚州" in fuzhou["regions"]


def test_region_filter_lists_the_guangzhou_articles(client):
    listed = client.get("/api/v1/articles?region=广州&per_page=100").get_json()["items"]
    titles = {a["title"] for a in listed}
    assert {"广州天河区医保办理地点", "广州黄埔区医保办理地点", "广州医保卡在东莞能用吗"} <= titles
    assert all("广州" in a["regions"] for a in listed)
    expected = {a["title"] for a in DATASET if "广州" in a["regions"]}
    assert titles == expected
    assert client.get("/api/v1/articles?region=广州市&per_page=100").get_json()["meta"]["total"] == len(expected)
    province = {a["title"] for a in client.get("/api/v1/articles?region=广东&per_page=100").get_json()["items"]}
    assert expected <= province


def test_topic_counts_add_up(client):
    topics = client.get("/api/v1/topics?per_page=100").get_json()["items"]
    counted = sum(t["article_count"] for t in topics)
    parent = {t["slug"]: t["parent"] for t in topics}  # a parent counts its children's articles, once
    assert counted == sum(len({*a["topics"], *filter(None, map(parent.get, a["topics"]))}) for a in DATASET)
    assert all(a["topics"] for a in DATASET), "every article has at least one topic"
    for topic in topics:
        listed = client.get(f"/api/v1/topics/{topic['slug']}/articles?per_page=1").get_json()
        assert listed["meta"]["total"] == topic["article_count"]


def test_import_pages_into_the_store_is_idempotent(runner, client, write_headers):
    client.patch("/api/v1/articles/e9231330f69d2e16", json={"answer": "编辑改过"}, headers=write_headers)
    first = runner.invoke(args=["import-pages", *map(str, PAGES)])
    assert first.exit_code == 0, first.output
    assert "0 created, 1 updated, 104 unchanged" in first.output
    again = runner.invoke(args=["import-pages", *map(str, PAGES)])
    assert "0 created, 0 updated, 105 unchanged" in again.output


def test_malformed_page_is_rejected_with_file_and_line(runner, tmp_path):
    bad = tmp_path / "bad.txt"
    card_without_date = "相关推荐\n\n卡片标题\n\n摘要\n"
    bad.write_text("一个问题\n\n正文\n\n提示:本内容不能代替面诊。\n" + card_without_date, encoding="utf-8")
    result = runner.invoke(args=["import-pages", str(bad)])
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: ", result.output), result.output
