"""Query-time synonym expansion for search.

Synonyms are applied to queries, not to the index, so editing
service/data/synonyms.txt needs no reindex and the index stays small.
Every term is stored as the token sequence the query side produces, so a
multi-word entry such as 丢了 (丢 + 了) matches wherever those tokens are
adjacent in a query.
"""

from __future__ import annotations

from pathlib import Path

from .. import text

SYNONYMS = Path(__file__).resolve().parents[2] / "data" / "synonyms.txt"
SYNONYM_WEIGHT = 0.85  # a group member the reader did not type
ONE_WAY_WEIGHT = 0.6  # a related term (丢了 => 补办)

Phrase = tuple[str, ...]


class Synonyms:
    """Maps a phrase (token tuple) to the weighted phrases it also looks for."""

    def __init__(self, lines: list[str]):
        self.expansions: dict[Phrase, dict[Phrase, float]] = {}
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if "=>" in line:
                left, _, right = line.partition("=>")
                for source in self._phrases(left):
                    for target in self._phrases(right):
                        self._add(source, target, ONE_WAY_WEIGHT)
            else:
                group = self._phrases(line)
                for source in group:
                    for target in group:
                        self._add(source, target, SYNONYM_WEIGHT)
        self.longest = max((len(p) for p in self.expansions), default=0)

    @staticmethod
    def _phrases(words: str) -> list[Phrase]:
        return [p for p in (tuple(text.tokens(w)) for w in words.split()) if p]

    def _add(self, source: Phrase, target: Phrase, weight: float) -> None:
        if source == target:
            return
        known = self.expansions.setdefault(source, {})
        known[target] = max(weight, known.get(target, 0.0))

    @classmethod
    def load(cls, path: Path = SYNONYMS) -> Synonyms:
        return cls(path.read_text(encoding="utf-8").splitlines())

    def match(self, query: list[str], start: int) -> tuple[int, dict[Phrase, float]]:
        """Longest synonym phrase at query[start:]: (length, expansions) or (0, {})."""
        for size in range(min(self.longest, len(query) - start), 0, -1):
            found = self.expansions.get(tuple(query[start:start + size]))
            if found:
                return size, found
        return 0, {}
