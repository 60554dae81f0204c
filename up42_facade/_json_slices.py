"""``json.loads`` in slices, so a big FeatureCollection parsed on a worker thread lets the
event loop run.

One ``json.loads`` of a 50,000-feature document holds the GIL for its whole run (hundreds
of milliseconds): run on a worker thread, it still stalls the event loop for that long.
``loads_in_slices`` gives exactly what ``json.loads`` gives, with the same decoder, but
decodes a top-level object's ``features`` one feature at a time, and the bytes to text a
block at a time (one 60 MB string would hold the GIL for over 50 ms, most of it faulting
in fresh pages), so the interpreter can switch threads in between. Anything it does not
expect (not an object, a syntax error) is handed to ``json.loads`` itself, which then
raises what it always raised.
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from ._gc import collector_paused

__all__ = ["loads_in_slices"]

#: Bytes decoded to text at a time: about 4 ms each here.
DECODE_BLOCK = 4 << 20
#: Text kept ahead of the parser before each value: a scalar (which could be cut short at
#: the end of the text and still parse) is always whole within it; a bigger value that is
#: cut short fails to parse and is retried with more text.
LOOKAHEAD = 1 << 20
#: The arrays decoded element by element: a FeatureCollection's.
SLICED_KEYS = frozenset({"features"})

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class _Unexpected(Exception):  # noqa: N818 - a signal inside this module, never shown
    """Not the shape this parser takes on: let ``json.loads`` decide."""


def loads_in_slices(raw: bytes | str) -> Any:
    """``json.loads(raw)``, decoded a feature at a time.

    Raises:
        ValueError: ``raw`` is not valid JSON (``json.JSONDecodeError``, as ``json.loads``).
    """
    with collector_paused():
        try:
            return _Reader(raw).document()
        except (_Unexpected, ValueError):
            return json.loads(raw)


class _Reader:
    """The text of ``raw``, decoded as ``json.loads`` decodes bytes, a block at a time."""

    def __init__(self, raw: bytes | str) -> None:
        self._blocks: Iterator[str]
        if isinstance(raw, str):
            self._blocks = iter([raw])
        else:
            decoder = codecs.getincrementaldecoder(json.detect_encoding(raw))("surrogatepass")
            view = memoryview(raw)
            blocks = (view[i : i + DECODE_BLOCK] for i in range(0, len(raw), DECODE_BLOCK))
            self._blocks = itertools.chain(
                (decoder.decode(block) for block in blocks), [decoder.decode(b"", final=True)]
            )
        self._text = ""
        self._pos = 0
        self._more = True

    def _extend(self) -> bool:
        """Append the next block to the text; False when the input is all read."""
        if not self._more:
            return False
        tail = next(self._blocks, None)
        if tail is None:
            self._more = False
            return False
        self._text = self._text[self._pos :] + tail
        self._pos = 0
        return True

    def _ahead(self) -> None:
        """Make sure ``LOOKAHEAD`` characters (or the rest of the input) lie ahead."""
        while len(self._text) - self._pos < LOOKAHEAD and self._extend():
            pass

    def _skip(self) -> str:
        """Skip white space; the next character, or "" at the end."""
        while True:
            self._ahead()
            match = _SPACE.match(self._text, self._pos)
            self._pos = self._pos if match is None else match.end()
            if self._pos < len(self._text) or not self._extend():
                return self._text[self._pos : self._pos + 1]

    def _expect(self, char: str) -> None:
        if self._skip() != char:
            raise _Unexpected
        self._pos += 1

    def _value(self) -> Any:
        """The next JSON value (more text is read while it is cut short)."""
        self._skip()
        while True:
            try:
                value, self._pos = _DECODER.raw_decode(self._text, self._pos)
            except json.JSONDecodeError:
                if not self._extend():
                    raise
                continue
            return value

    def document(self) -> Any:
        self._expect("{")
        result: dict[str, Any] = {}
        if self._skip() == "}":
            self._pos += 1
        else:
            while True:
                key = self._value()
                if not isinstance(key, str):
                    raise _Unexpected
                self._expect(":")
                if key in SLICED_KEYS and self._skip() == "[":
                    value: Any = self._array()
                else:
                    value = self._value()
                result[key] = value  # a repeated key keeps its last value, as in json.loads
                following = self._skip()
                self._pos += 1
                if following == ",":
                    continue
                if following != "}":
                    raise _Unexpected
                break
        if self._skip() != "":
            raise _Unexpected
        return result

    def _array(self) -> list[Any]:
        self._expect("[")
        items: list[Any] = []
        if self._skip() == "]":
            self._pos += 1
            return items
        while True:
            items.append(self._value())
            following = self._skip()
            self._pos += 1
            if following == ",":
                continue
            if following != "]":
                raise _Unexpected
            return items
