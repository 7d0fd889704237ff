"""Seed pages (seeds/pages/*.txt) parsed faithfully and turned into articles.

A page is, line by line: the title (a question); optionally a one-line direct
answer; the body with 一、 section heads, ``  1. `` numbered items, ``•``
bullets and paragraphs; the disclaimer ``提示:...``; optionally ``大家都在搜``
and its (possibly empty) block of hot searches; ``相关推荐`` and its cards, each
a title line, an excerpt line and a ``健康新闻 2025-04-23`` category/date line;
and a closing ``首页 顶部`` navigation line, which is not content.

The answer rule (pages and card excerpts alike). The candidate is, for a page,
the first body line; for a card, the excerpt's text before its first run of
whitespace. It is an answer when all hold:

* it is at most 20 characters and has no sentence punctuation (,。:;!?、) -
  a direct answer is a phrase (可以, 能, 3.5%, 延迟退休, 登录医保平台或APP查询),
  not a sentence, and never a question (如何解绑职工医保账户?);
* more text follows it, and that text does not start with punctuation
  (医保是可以购买的 ,我国... is one sentence with emphasis spacing);
* it shares no run of four or more characters with the title. A segment that
  repeats the title is the subject of a sentence split by emphasis spacing
  (珠海少儿医保查询系统 是一个..., 广州医保卡的钱在正常情况下 是不能...,
  医保统筹账户 不会每年清零), not an answer to it.

The answer is stored apart and left out of the card's body and summary.
Records are made by article_content, so a page's summary follows the same rule
as any article's; it is stored as the page's own (summary_auto false).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..text import normalise
from .article_record import article_content, summary_of
from .regions import find_regions
from .taxonomy import assign_topics

RELATED = "相关推荐"
HOT_SEARCHES = "大家都在搜"
ANSWER_CHARS = 20

_SECTION = re.compile(r"^[一二三四五六七八九十]+、")
_ITEM = re.compile(r"^(\d{1,3})[.、]\s+(.*)$")
_BULLET = re.compile(r"^[•●▪]\s*(.*)$")
_DISCLAIMER = re.compile(r"^提示\s*[:：]\s*(.+)$")
_CARD_DATE = re.compile(r"^(\S.*?)\s+(\d{4}-\d{2}-\d{2})$")
_NAVIGATION = re.compile(r"^首页\s+顶部$")
_PUNCT = re.compile(r"[,，。:：;；!！?？、]")
_LEADING_PUNCT = re.compile(r"^[,，。:：;；!！?？、)）]")
_FILE_ID = re.compile(r"([0-9a-f]{16})(?:\.txt)?$")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_MD_LINE_START = re.compile(r"^(#{1,6}(\s|$)|[-+*>]\s|\d+[.)](\s|$)|=+$)")


class PageFormatError(ValueError):
    """A page that does not follow the format; str() is ``file:line: what``."""

    def __init__(self, source: str, line: int, message: str):
        super().__init__(f"{source}:{line}: {message}")
        self.source, self.line, self.message = source, line, message


@dataclass
class Card:
    title: str
    excerpt: str  # as on the page, answer included, whitespace collapsed
    answer: str | None
    category: str
    date: str  # YYYY-MM-DD
    line: int = 0  # where the card's title is, for messages


@dataclass
class ParsedPage:
    title: str
    answer: str | None
    body_markdown: str
    disclaimer: str | None
    hot_searches: list[str] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    summary: str = ""  # the body's summary (article_record.summary_of)


@dataclass
class ImportResult:
    articles: list[dict]
    skipped: list[tuple[str, str]]
    hot_searches: list[str]


# -- the answer rule ----------------------------------------------------------


def _shares_run(a: str, b: str, size: int) -> bool:
    return any(a[i : i + size] in b for i in range(len(a) - size + 1))


def is_answer(candidate: str, title: str) -> bool:
    """Whether a short leading phrase answers the title (see module docstring)."""
    candidate = candidate.strip()
    return (
        0 < len(candidate) <= ANSWER_CHARS
        and not _PUNCT.search(candidate)
        and not _shares_run(normalise(candidate), normalise(title), 4)
    )


def split_answer(excerpt: str, title: str) -> tuple[str | None, str]:
    """(answer, rest) of a card excerpt; (None, excerpt) when it has none."""
    parts = excerpt.split(None, 1)
    if len(parts) == 2 and not _LEADING_PUNCT.match(parts[1]) and is_answer(parts[0], title):
        return parts[0], parts[1]
    return None, excerpt


# -- parsing ------------------------------------------------------------------


def parse_page(text: str, source: str = "page") -> ParsedPage:
    """One page's text as a ParsedPage; PageFormatError when malformed."""
    lines = text.lstrip("\ufeff").splitlines()

    def fail(line: int, message: str):
        raise PageFormatError(source, line, message)

    title = lines[0].strip() if lines else ""
    if not title or title in (RELATED, HOT_SEARCHES) or _DISCLAIMER.match(title):
        fail(1, "empty title: the first line must be the article's title")
    related = next((i for i, line in enumerate(lines) if i and line.strip() == RELATED), None)
    if related is None:
        fail(max(len(lines), 1), f"missing '{RELATED}' line before the related cards")
    disclaimer_at = next((i for i in range(1, related) if _DISCLAIMER.match(lines[i].strip())), None)
    hot_at = next((i for i in range(1, related) if lines[i].strip() == HOT_SEARCHES), None)
    body_end = min(i for i in (disclaimer_at, hot_at, related) if i is not None)

    disclaimer = None
    if disclaimer_at is not None:
        disclaimer = _DISCLAIMER.match(lines[disclaimer_at].strip()).group(1).strip()
        for i in range(disclaimer_at + 1, hot_at if hot_at is not None else related):
            if lines[i].strip():
                fail(i + 1, "unexpected text between the disclaimer and the related cards")
    hot_searches = []
    if hot_at is not None:
        hot_searches = [line.strip() for line in lines[hot_at + 1 : related] if line.strip()]

    body = [(i + 1, lines[i].rstrip()) for i in range(1, body_end) if lines[i].strip()]
    if not body:
        fail(2, "the article has no body")
    answer = None
    if len(body) > 1 and is_answer(body[0][1], title) and not _structural(body[0][1]):
        answer = body.pop(0)[1].strip()
    markdown = _render_body(body)
    cards = _parse_cards(lines, related, fail)
    return ParsedPage(title, answer, markdown, disclaimer, hot_searches, cards, summary_of(markdown))


def _structural(line: str) -> bool:
    s = line.strip()
    return bool(_SECTION.match(s) or _ITEM.match(s) or _BULLET.match(s))


def _parse_cards(lines: list[str], related: int, fail) -> list[Card]:
    rows = [(i + 1, lines[i].strip()) for i in range(related + 1, len(lines)) if lines[i].strip()]
    if rows and _NAVIGATION.match(rows[-1][1]):
        rows.pop()  # the page's 首页 顶部 footer
    cards: list[Card] = []
    pos = 0
    while pos < len(rows):
        at, title = rows[pos]
        if _CARD_DATE.match(title) or _NAVIGATION.match(title):
            fail(at, f"expected a card title, found '{title}'")
        if pos + 1 >= len(rows) or _CARD_DATE.match(rows[pos + 1][1]):
            fail(rows[pos + 1][0] if pos + 1 < len(rows) else at, f"card '{title}' has no excerpt line")
        excerpt = " ".join(rows[pos + 1][1].split())
        if pos + 2 >= len(rows):
            fail(rows[pos + 1][0], f"card '{title}' has no category/date line")
        date_at, date_line = rows[pos + 2]
        match = _CARD_DATE.match(date_line)
        if not match:
            fail(date_at, f"card '{title}' has no category/date line, found '{date_line}'")
        try:
            day = date.fromisoformat(match.group(2)).isoformat()
        except ValueError:
            fail(date_at, f"card '{title}' has an impossible date '{match.group(2)}'")
        answer, _ = split_answer(excerpt, title)
        cards.append(Card(title, excerpt, answer, match.group(1).strip(), day, at))
        pos += 3
    if not cards:
        fail(related + 1, f"'{RELATED}' is followed by no cards")
    return cards


# -- body to Markdown ---------------------------------------------------------


def _md(text: str) -> str:
    """Plain text as Markdown that renders to the same text."""
    text = _MD_SPECIAL.sub(r"\\\1", text.strip())
    if _MD_LINE_START.match(text):
        cut = re.match(r"^\d+", text)
        text = text[: cut.end()] + "\\" + text[cut.end() :] if cut else "\\" + text
    return text


def _heading_like(text: str) -> bool:
    """A numbered item that is only a short heading (个人账户与统筹账户独立)."""
    return len(text) <= 30 and not _PUNCT.search(text.rstrip(":："))


def _render_body(body: list[tuple[int, str]]) -> str:
    """Markdown of the body lines.

    Sections become ``## 一、...``; numbered items one ordered list per run
    (numbered 1, 2, 3 even where the page repeats "1."); what is indented under
    an item - or, under a heading-like item, the unindented paragraph or
    bullets right after it - stays inside that item.
    """
    blocks: list[str] = []
    item = None  # the open numbered item: {"n", "indent", "heading", "children", "last"}

    def close():
        nonlocal item
        if item is not None:
            blocks.append(_render_item(item))
        item = None

    counter = 0
    for _, raw in body:
        indent = len(raw) - len(raw.lstrip())
        line = raw.strip()
        bullet, numbered = _BULLET.match(line), _ITEM.match(line)
        if _SECTION.match(line):
            close()
            counter = 0
            blocks.append("## " + _md(line))
        elif numbered:
            counter = counter + 1 if item is not None else 1
            close()
            text = numbered.group(2).strip()
            item = {"n": counter, "indent": indent, "heading": _heading_like(text), "text": text,
                    "children": [], "last": None}
        elif item is not None and _belongs(item, indent, "bullet" if bullet else "para"):
            kind = "bullet" if bullet else "para"
            item["children"].append((kind, (bullet.group(1) if bullet else line).strip()))
            item["last"] = kind
        else:
            close()
            counter = 0
            if bullet:
                blocks.append("- " + _md(bullet.group(1)))
            else:
                blocks.append(_md(line))
    close()
    return "\n\n".join(blocks) + "\n"


def _belongs(item: dict, indent: int, kind: str) -> bool:
    if indent > item["indent"]:
        return True
    if kind == "bullet" and item["last"] == "bullet":
        return indent >= item["indent"]
    return item["heading"] and item["last"] is None


def _render_item(item: dict) -> str:
    marker = f"{item['n']}. "
    pad = " " * len(marker)
    parts = [marker + _md(item["text"])]
    for kind, text in item["children"]:
        parts.append(pad + ("- " + _md(text) if kind == "bullet" else _md(text)))
    return "\n\n".join(parts)


# -- pages to articles ----------------------------------------------------------


def card_id(title: str) -> str:
    return hashlib.sha256(normalise(title).encode("utf-8")).hexdigest()[:16]


def page_id(source: str, page: ParsedPage) -> str:
    """The hex hash in the file name (000_e9231330f69d2e16.txt), else the title's hash."""
    match = _FILE_ID.search(Path(source).name)
    return match.group(1) if match else card_id(page.title)


def _key(title: str) -> str:
    return " ".join(normalise(title).split())


def _record(taxonomy: list[dict], **fields) -> dict:
    """An article from a page or a card; its summary is the page's own, its topics and regions derived."""
    return article_content(fields, topics=lambda title, body: assign_topics(title, body, taxonomy),
                           regions=find_regions)


def _common(values: list[str]) -> str | None:
    """The most common value; ties go to the greatest (the latest date)."""
    if not values:
        return None
    counts = Counter(values)
    return max(counts, key=lambda v: (counts[v], v))


def build_articles(pages: list[tuple[str, ParsedPage]], taxonomy: list[dict]) -> ImportResult:
    """Article records from parsed pages: each page, and each distinct card.

    Pages are taken in file-name order, so the result does not depend on the
    order they are given in. A card whose title (normalised) is a page's title
    is that page; a card seen on an earlier page is that earlier article.
    """
    ordered = sorted(pages, key=lambda item: item[0])
    by_key: dict[str, tuple[str, str]] = {}  # title key -> (id, where it came from)
    kept: list[tuple[str, ParsedPage, dict]] = []
    card_records, skipped, hot = [], [], []

    for source, page in ordered:
        key = _key(page.title)
        if key in by_key:
            skipped.append((f"page {source}", f"same title as {by_key[key][1]}"))
            continue
        pid = page_id(source, page)
        by_key[key] = (pid, f"page {source}")
        kept.append((source, page, _record(
            taxonomy, id=pid, title=page.title, answer=page.answer, summary=page.summary,
            body=page.body_markdown, category=_common([c.category for c in page.cards]),
            disclaimer=page.disclaimer, published_at=_common([c.date for c in page.cards]),
        )))
        hot.extend(h for h in page.hot_searches if h not in hot)

    for source, page, record in kept:
        related = []
        for card in page.cards:
            key, where = _key(card.title), f"card '{card.title}' ({source}:{card.line})"
            if key in by_key:
                cid, origin = by_key[key]
                why = "the page itself" if cid == record["id"] else f"same article as {origin}"
                skipped.append((where, why))
            else:
                cid = card_id(card.title)
                by_key[key] = (cid, f"card on {source}:{card.line}")
                card_records.append(_card_record(cid, card, record["disclaimer"], taxonomy))
            if cid != record["id"] and cid not in related:
                related.append(cid)
        record["related_curated"] = related
    return ImportResult([r for _, _, r in kept] + card_records, skipped, hot)


def _card_record(cid: str, card: Card, disclaimer: str, taxonomy: list[dict]) -> dict:
    """A card as an article: the excerpt (less its answer) is summary and body."""
    _, rest = split_answer(card.excerpt, card.title)
    body = _md(rest) + "\n"
    return _record(
        taxonomy, id=cid, title=card.title, answer=card.answer, summary=summary_of(body), body=body,
        category=card.category, disclaimer=disclaimer, published_at=card.date,
    )


def load_pages(directory: str | Path) -> list[tuple[str, ParsedPage]]:
    """Every ``*.txt`` page in a directory, parsed, in file-name order."""
    paths = sorted(Path(directory).glob("*.txt"))
    return [(p.name, parse_page(p.read_text(encoding="utf-8"), source=p.name)) for p in paths]
