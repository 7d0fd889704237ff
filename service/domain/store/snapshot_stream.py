"""Reading a snapshot too large to parse in one call, one value at a time.

orjson parses a document in one buffer and refuses one of a few GB ("Not
enough memory to allocate buffer": a million articles is 2.5 GB). A snapshot
is one object whose members are small values and arrays of records, so it is
read in chunks: each member's value, and each record of an array, is decoded
on its own (json's raw_decode from a position), and a value cut by the end of
a chunk is decoded again once the next chunk is in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK_CHARS = 64 * 1024 * 1024
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = frozenset("0123456789.eE+-")


class _Reader:
    def __init__(self, handle, chunk: int):
        self.handle = handle
        self.chunk = chunk
        self.text = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.text = self.text[self.pos:] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character after white space ("" at the end)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at character {self.pos} of this chunk")
        self.pos += 1

    def value(self):
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                if self._more():
                    continue  # cut by the chunk's end: decode it again with the next chunk in
                raise
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and (end == len(self.text) or self.text[end] in _NUMBER) and self._more():
                continue  # a number cut by the chunk's end (1 of 1.5): decode it again with more
            self.pos = end
            return value


def members(path: Path, chunk: int = CHUNK_CHARS) -> Iterator[tuple[str, object]]:
    """(name, value) of the document's members in order; an array's value is an iterator of its
    items, which must be consumed before the next member is read. ValueError if not such a document."""
    with open(path, encoding="utf-8") as handle:
        reader = _Reader(handle, chunk)
        reader.expect("{")
        if reader.peek() == "}":
            return
        while True:
            name = reader.value()
            if not isinstance(name, str):
                raise ValueError("a member name must be a string")
            reader.expect(":")
            if reader.peek() == "[":
                reader.pos += 1
                yield name, _items(reader)
            else:
                yield name, reader.value()
            following = reader.peek()
            reader.pos += 1
            if following == "}":
                break
            if following != ",":
                raise ValueError(f"expected ',' or '}}', found {following!r}")
        if reader.peek() != "":
            raise ValueError("text after the document")


def _items(reader: _Reader) -> Iterator[object]:
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        following = reader.peek()
        reader.pos += 1
        if following == "]":
            return
        if following != ",":
            raise ValueError(f"expected ',' or ']', found {following!r}")


def read(path: Path, chunk: int = CHUNK_CHARS) -> dict:
    """The whole document, read member by member."""
    return {name: list(value) if isinstance(value, Iterator) else value for name, value in members(path, chunk)}
