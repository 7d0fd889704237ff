"""The synthetic corpus (bench/corpus.py) as a store the service starts on without seeding.

    python -m bench.store_corpus --size 10000 --out /tmp/bench-data [--check]

writes /tmp/bench-data/snapshot.json: schema 2, seq 0, the real taxonomy
(seeds/topics.json), the 105 real seed articles and size - 105 synthetic ones,
every record filled in the way seeds.py fills a new store (created_at,
updated_at, version, views, *_auto flags).

corpus.generate() is left as it is (search_bench and related_bench compare
runs on it); this module only post-processes its articles, from a second
seeded random stream, so the same size and seed give the same store:

* ids are 16 hex characters like the real pages';
* a quarter of the titles that name a city also name one of its districts
  (广州天河区, 抚州临川区, 延边延吉市);
* regions are the canonical chain service.domain.content.regions.find_regions gives
  for such a title (广东, 广州, 天河区), [] when the title names no place;
* topics are real slugs, chosen by rules from the scheme, subject, people
  and question words of the title (the service's own assign_topics costs
  ~5 ms an article, too slow for 100k; --check compares a sample with it);
* views follow a heavy-tailed distribution, so sort=-views means something.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path

import orjson

from . import corpus

ROOT = Path(__file__).resolve().parent.parent
DISCLAIMER = "本内容不能代替面诊,如有不适请尽快就医。"

# Real county-level divisions under the corpus's cities (GB/T 2260 names).
DISTRICTS = {
    "广州": ["天河区", "越秀区", "海珠区", "白云区", "番禺区", "黄埔区"],
    "深圳": ["福田区", "南山区", "宝安区", "龙岗区"],
    "佛山": ["禅城区", "南海区", "顺德区"],
    "珠海": ["香洲区"], "汕头": ["龙湖区"], "惠州": ["惠城区"], "江门": ["蓬江区"],
    "南昌": ["东湖区", "青山湖区"], "抚州": ["临川区"], "九江": ["浔阳区"], "赣州": ["章贡区"],
    "长春": ["南关区", "朝阳区"], "延边": ["延吉市"],
    "郑州": ["金水区", "二七区"], "洛阳": ["涧西区"],
    "济南": ["历下区"], "青岛": ["市南区", "黄岛区"],
    "昆明": ["五华区"], "武汉": ["武昌区", "洪山区", "江汉区"],
    "南京": ["鼓楼区", "玄武区"], "苏州": ["姑苏区", "吴中区"],
    "北京": ["朝阳区", "海淀区"], "太原": ["小店区"],
}

# Title words -> topic slugs (seeds/topics.json), most specific first.
TOPIC_RULES: list[tuple[str, str]] = [
    ("异地就医备案", "cross-region"), ("个人账户余额", "personal-account"), ("门诊统筹", "pooled-fund"),
    ("生育津贴", "maternity"), ("慢特病", "chronic-disease"), ("转移接续", "transfer"),
    ("药品目录", "catalogue"), ("家庭共济", "personal-account"), ("提现", "personal-account"),
    ("激活", "insurance-card"), ("密码", "insurance-card"), ("缴费年限", "flexible-retirement"),
    ("退休待遇", "flexible-retirement"), ("报销比例", "benefits"), ("起付标准", "benefits"),
    ("住院报销", "benefits"), ("大病保险", "benefits"), ("缴费标准", "enrollment"),
    ("断缴补缴", "enrollment"), ("定点医院", "services"),
    ("医保个人账户", "personal-account"), ("统筹账户", "pooled-fund"), ("少儿医保", "newborn"),
    ("灵活就业医保", "flexible-retirement"), ("医保电子凭证", "insurance-card"), ("医保卡", "insurance-card"),
    ("社保卡", "insurance-card"), ("惠民保", "supplementary"), ("佛医保", "supplementary"),
    ("城乡居民医保", "enrollment"), ("居民医保", "enrollment"), ("新农合", "enrollment"),
    ("新生儿", "newborn"), ("婴儿", "newborn"), ("大学生", "newborn"), ("孕妇", "maternity"),
    ("退休职工", "flexible-retirement"), ("灵活就业人员", "flexible-retirement"), ("外地人", "cross-region"),
    ("农民工", "enrollment"),
    ("怎么查询", "services"), ("在哪里办", "services"), ("电话", "services"), ("需要什么材料", "services"),
    ("怎么办理", "services"), ("为什么是0", "personal-account"), ("会清零吗", "personal-account"),
]


def _topics(title: str, rng: random.Random) -> list[str]:
    if "治疗" in title and "能走医保吗" in title:  # the disease-and-treatment style
        slugs = ["catalogue", "health-knowledge"]
        if rng.random() < 0.3:
            slugs.append("hospitals")
        return slugs
    slugs: list[str] = []
    taken = ""
    for word, slug in TOPIC_RULES:
        if word in title and word not in taken and slug not in slugs:
            slugs.append(slug)
            taken += word  # 医保卡 inside 医保电子凭证 etc. counted once
        if len(slugs) == 3:
            break
    return slugs or ["benefits"]


def _place_of(a: dict) -> tuple[str, str] | None:
    """(province, city) when the title names the city, else None."""
    if len(a["regions"]) == 2:
        province, city = a["regions"]
    else:
        province = city = a["regions"][0]
    return (province, city) if city in a["title"] else None


def _record(a: dict, n: int, seed: int, rng: random.Random) -> dict:
    title = a["title"]
    regions: list[str] = []
    place = _place_of(a)
    if place:
        province, city = place
        regions = [province] if province == city else [province, city]
        if city in DISTRICTS and rng.random() < 0.25:
            district = rng.choice(DISTRICTS[city])
            title = title.replace(city, city + district, 1)
            regions.append(district)
    summary = a["summary"]
    if len(summary) > 120:
        summary = summary[:119] + "…"
    stamp = f"{a['published_at']}T00:00:00.000Z"
    views = min(int(rng.paretovariate(1.2)) - 1, 500_000) if rng.random() < 0.7 else 0
    return {
        "id": hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).hexdigest(),
        "title": title,
        "answer": a["answer"],
        "summary": summary,
        "body": a["body"],
        "category": a["category"],
        "topics": _topics(title, rng),
        "tags": a["tags"],
        "regions": regions,
        "disclaimer": DISCLAIMER,
        "published_at": a["published_at"],
        "created_at": stamp,
        "updated_at": stamp,
        "status": a["status"],
        "version": 1,
        "views": views,
        "summary_auto": False,
        "topics_auto": True,
        "regions_auto": True,
    }


def document(size: int, seed: int = 7) -> dict:
    """A schema-2 snapshot document with `size` articles (the seeds' included)."""
    from service.domain.content.seeds import seed_document
    from service.domain.store import migrate

    doc = migrate.upgrade(seed_document(ROOT / "seeds"))
    real = doc["articles"][:size]
    rng = random.Random(seed * 1_000_003 + 1)
    synthetic = [_record(a, n, seed, rng) for n, a in enumerate(corpus.generate(max(0, size - len(real)), seed))]
    doc["articles"] = real + synthetic
    doc["seq"] = 0
    doc.setdefault("pins", [])
    return doc


def write(data_dir: Path, size: int, seed: int = 7) -> dict:
    """Write DATA_DIR/snapshot.json; returns {"articles": n, "bytes": b, "seconds": s}."""
    started = time.perf_counter()
    doc = document(size, seed)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    raw = orjson.dumps(doc)
    (data_dir / "snapshot.json").write_bytes(raw)
    return {"articles": len(doc["articles"]), "bytes": len(raw), "seconds": time.perf_counter() - started}


def compare_with_service(doc: dict, sample: int = 300) -> dict:
    """How often the rule-made topics and regions agree with the service's own derivation."""
    from service.domain.content.regions import find_regions
    from service.domain.content.taxonomy import assign_topics

    rng = random.Random(0)
    articles = [a for a in doc["articles"] if a.get("tags")]  # synthetic ones
    picked = rng.sample(articles, min(sample, len(articles)))
    regions_same = sum(find_regions(a["title"], a["body"]) == a["regions"] for a in picked)
    topic_first = topic_overlap = 0
    for a in picked:
        derived = assign_topics(a["title"], a["body"], doc["topics"])
        topic_first += bool(derived) and derived[0] in a["topics"]
        topic_overlap += bool(set(derived) & set(a["topics"]))
    n = max(len(picked), 1)
    return {"sample": len(picked), "regions_equal": regions_same / n,
            "topics_primary_in_ours": topic_first / n, "topics_overlap": topic_overlap / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="the DATA_DIR to write snapshot.json into")
    parser.add_argument("--check", action="store_true",
                        help="validate every record (service.domain.store.records) and compare a sample with "
                             "the service's topic and region derivation")
    args = parser.parse_args(argv)
    info = write(args.out, args.size, args.seed)
    print(f"{args.out / 'snapshot.json'}: {info['articles']} articles, {info['bytes'] / 2**20:.1f} MB "
          f"in {info['seconds']:.1f} s")
    if args.check:
        from service.domain.store.records import check_document

        doc = orjson.loads((args.out / "snapshot.json").read_bytes())
        problems = check_document(doc)
        for line in problems[:20]:
            print("problem:", line)
        print(f"records: {len(problems)} problems")
        print("agreement with the service's derivation:", compare_with_service(doc))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
