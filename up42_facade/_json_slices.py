"""``json.loads`` in slices, so a big FeatureCollection parsed on a worker thread lets the
event loop run.

One ``json.loads`` of a 50,000-feature document holds the GIL for its whole run (hundreds
of milliseconds): run on a worker thread, it still stalls the event loop for that long.
``loads_in_slices`` gives exactly what ``json.loads`` gives, with the same decoder, but
decodes a top-level object's ``features`` one feature at a time, so the interpreter can
switch threads between features. Anything it does not expect (not an object, a syntax
error) is handed to ``json.loads`` itself, which then raises what it always raised.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from ._gc import collector_paused

__all__ = ["loads_in_slices"]

#: Bytes decoded to text at a time: about 4 ms each here.
DECODE_BLOCK = 4 << 20
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
#: The arrays decoded element by element: a FeatureCollection's.
_SLICED_KEYS = frozenset({"features"})


class _Unexpected(Exception):  # noqa: N818 - a signal inside this module, never shown
    """Not the shape this parser takes on: let ``json.loads`` decide."""


def loads_in_slices(raw: bytes | str) -> Any:
    """``json.loads(raw)``, decoded a feature at a time.

    Raises:
        ValueError: ``raw`` is not valid JSON (``json.JSONDecodeError``, as ``json.loads``).
    """
    text = raw if isinstance(raw, str) else _decoded(raw)
    with collector_paused():
        try:
            return _document(text)
        except (_Unexpected, ValueError):
            return json.loads(text)


def _decoded(raw: bytes) -> str:
    """``raw`` decoded as ``json.loads`` decodes bytes, a block at a time (one decode of
    60 MB would hold the GIL for about 60 ms)."""
    decoder = codecs.getincrementaldecoder(json.detect_encoding(raw))("surrogatepass")
    view = memoryview(raw)
    parts = [
        decoder.decode(view[start : start + DECODE_BLOCK])
        for start in range(0, len(raw), DECODE_BLOCK)
    ]
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _skip(text: str, index: int) -> int:
    match = _SPACE.match(text, index)
    return index if match is None else match.end()


def _expect(text: str, index: int, char: str) -> int:
    if text[index : index + 1] != char:
        raise _Unexpected
    return _skip(text, index + 1)


def _document(text: str) -> Any:
    index = _skip(text, 0)
    if text[index : index + 1] != "{":
        raise _Unexpected
    index = _skip(text, index + 1)
    result: dict[str, Any] = {}
    if text[index : index + 1] == "}":
        index += 1
    else:
        while True:
            key, index = _DECODER.raw_decode(text, index)
            if not isinstance(key, str):
                raise _Unexpected
            index = _expect(text, _skip(text, index), ":")
            if key in _SLICED_KEYS and text[index : index + 1] == "[":
                value, index = _array(text, index)
            else:
                value, index = _DECODER.raw_decode(text, index)
            result[key] = value  # a repeated key keeps its last value, as in json.loads
            index = _skip(text, index)
            if text[index : index + 1] == ",":
                index = _skip(text, index + 1)
                continue
            index = _expect(text, index, "}")
            break
    if _skip(text, index) != len(text):
        raise _Unexpected
    return result


def _array(text: str, index: int) -> tuple[list[Any], int]:
    index = _expect(text, index, "[")
    items: list[Any] = []
    if text[index : index + 1] == "]":
        return items, index + 1
    while True:
        item, index = _DECODER.raw_decode(text, index)
        items.append(item)
        index = _skip(text, index)
        if text[index : index + 1] == ",":
            index = _skip(text, index + 1)
            continue
        if text[index : index + 1] != "]":
            raise _Unexpected
        return items, index + 1
