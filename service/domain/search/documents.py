"""The search index's document table: what it knows of each docno besides its postings.

A docno is an article's row: its id (None once removed), title and summary
(for highlights and suggestions; packed, so a loaded table stays shared
between processes), and three arrays read on every query:
alive, draft and publication date (YYYYMMDD, the first tie-break). The
arrays grow by doubling, so registering one article is amortised O(1).
Removing an article only masks its docno; compact() drops the dead rows in
bulk and hands back the renumbering for the postings and facets to follow.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..content.article_record import is_public
from ..packed_strings import PackedStrings
from ..store import saved_arrays


def _date_number(value: object) -> int:
    digits = str(value or "")[:10].replace("-", "")
    return int(digits) if digits.isdigit() else 0


class Documents:
    """Per-docno ids, titles, summaries and flags, and the docno of each live id."""

    def __init__(self) -> None:
        self.ids = PackedStrings()  # None once removed
        self.docno: dict[str, int] = {}
        self.titles = PackedStrings()
        self.summaries = PackedStrings()
        self.alive = np.zeros(0, bool)
        self.draft = np.zeros(0, bool)
        self.date = np.zeros(0, np.int32)
        self.live = 0
        self.dead = 0

    @property
    def size(self) -> int:
        """Docnos handed out, dead ones included (array capacity may be larger)."""
        return len(self.ids)

    def visible(self, size: int, drafts: bool = False) -> np.ndarray:
        """Mask over the first size docnos of those a reader may see."""
        return self.alive[:size] if drafts else self.alive[:size] & ~self.draft[:size]

    def _grow(self, size: int) -> None:
        if size <= len(self.alive):
            return
        cap = max(size, 2 * len(self.alive), 64)
        for name in ("alive", "draft", "date"):
            old = getattr(self, name)
            new = np.zeros(cap, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def add(self, article: dict) -> int:
        """Give the article the next docno (a build given one id twice keeps both)."""
        docno = len(self.ids)
        self._grow(docno + 1)
        self.ids.append(str(article["id"]))
        self.docno[str(article["id"])] = docno
        self.titles.append(article.get("title") or "")
        self.summaries.append(article.get("summary") or "")
        self.alive[docno] = True
        self.draft[docno] = not is_public(article)
        self.date[docno] = _date_number(article.get("published_at"))
        self.live += 1
        return docno

    def remove(self, article_id: str) -> int | None:
        """Mask the article's docno and return it; None for an unknown id."""
        docno = self.docno.pop(str(article_id), None)
        if docno is None:
            return None
        self.alive[docno] = False
        self.ids[docno] = None
        self.titles[docno] = self.summaries[docno] = ""
        self.live -= 1
        self.dead += 1
        return docno

    def compact(self) -> tuple[np.ndarray, np.ndarray]:
        """Drop the dead docnos; (kept mask, old docno -> new) for the parts keyed by docno."""
        total = len(self.ids)
        keep = self.alive[:total].copy()
        remap = (np.cumsum(keep) - 1).astype(np.int32)
        kept = np.flatnonzero(keep)
        rows = kept.tolist()
        self.ids, self.titles, self.summaries = (p.taken(rows) for p in (self.ids, self.titles, self.summaries))
        self.docno = {doc_id: n for n, doc_id in enumerate(self.ids)}
        self.alive = self.alive[:total][keep]
        self.draft = self.draft[:total][keep]
        self.date = self.date[:total][keep]
        self.dead = 0
        return keep, remap

    def nbytes(self) -> int:
        return self.alive.nbytes + self.draft.nbytes + self.date.nbytes

    # -- saving ----------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Everything as flat arrays (copies of those changed in place)."""
        arrays = {
            **saved_arrays.meta({"live": self.live, "dead": self.dead}),
            **self.ids.state("ids"), **self.titles.state("titles"), **self.summaries.state("summaries"),
        }
        # docno is not quite derivable from ids: a build given one id twice keeps both docnos.
        arrays["docno"] = np.fromiter(self.docno.values(), np.int64, len(self.docno))
        # Full capacity (not just len(ids)) so _grow and nbytes() behave as before saving.
        arrays["alive"] = self.alive.copy()
        arrays["draft"] = self.draft.copy()
        arrays["date"] = self.date.copy()
        return arrays

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray]) -> Documents:
        meta = saved_arrays.read_meta(arrays)
        ids = PackedStrings.from_state(arrays, "ids")
        titles = PackedStrings.from_state(arrays, "titles", len(ids))
        summaries = PackedStrings.from_state(arrays, "summaries", len(ids))
        alive, draft, date = arrays["alive"], arrays["draft"], arrays["date"]
        if not (
            len(ids) == len(titles) == len(summaries)
            and len(alive) == len(draft) == len(date) >= len(ids)
            and alive.dtype == bool and draft.dtype == bool and date.dtype == np.int32
        ):
            raise ValueError("document table does not match")
        docs = cls()
        docs.ids = ids
        docs.docno = {ids[d]: d for d in arrays["docno"].tolist()}
        docs.titles = titles
        docs.summaries = summaries
        docs.alive, docs.draft, docs.date = alive, draft, date
        docs.live = int(meta["live"])
        docs.dead = int(meta["dead"])
        return docs
