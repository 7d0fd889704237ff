"""Vocab: a dense id per string, shared by the search index and the article catalogue."""

from __future__ import annotations


class Vocab(dict):
    """str -> dense id, assigning the next id to an unseen key on lookup."""

    def __missing__(self, key: str) -> int:
        value = self[key] = len(self)
        return value

    @classmethod
    def of(cls, names: list[str]) -> Vocab:
        """The vocab whose ids are the positions in names (its insertion order)."""
        vocab = cls(zip(names, range(len(names)), strict=True))
        if len(vocab) != len(names):
            raise ValueError("duplicate vocabulary entries")
        return vocab
