"""``loads_in_slices`` is ``json.loads``, value for value and error for error; the async
door's GeoDataFrame, parsed in slices, is the sync door's."""

from __future__ import annotations

import json

import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.bench_dataframe import make_collection
from up42_facade._json_slices import DECODE_BLOCK, LOOKAHEAD, loads_in_slices
from up42_facade._results import NUMBER_BLOCK_BYTES, feature_collection_to_geodataframe

SCALARS = st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def outcome(parse: object, raw: bytes | str) -> object:
    """What ``parse(raw)`` gives, or the type and message of the error it raises."""
    try:
        return parse(raw)  # type: ignore[operator]
    except ValueError as error:
        return (type(error), str(error))


def same_as_json(raw: bytes | str) -> None:
    assert outcome(loads_in_slices, raw) == outcome(json.loads, raw)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(), VALUES, max_size=4),
    st.lists(VALUES, max_size=6),
    st.sampled_from(["", " ", "\n\t", "  \r\n"]),
)
def test_a_document_with_features_parses_exactly_as_json_loads(
    top: dict[str, object], features: list[object], space: str
) -> None:
    document = {**top, "features": features}
    text = json.dumps(document, indent=1 if space else None)
    same_as_json(space + text + space)
    same_as_json(text.encode("utf-8"))
    same_as_json(text.encode("utf-16"))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"features": [1,,2]}',
        b'{"features": [1, 2]',
        b'{"features": [1, 2]} x',
        b'{"features" [1]}',
        b'{"a": 1, "a": 2, "features": [], "features": [3]}',
        b"[1, 2]",
        b'"text"',
        b"",
        b"\xef\xbb\xbf" + b'{"features": [NaN, Infinity]}',
        b'{"features": ["\\ud800", "\\u00e9"]}',
    ],
)
def test_odd_and_broken_documents_give_what_json_loads_gives(raw: bytes) -> None:
    same_as_json(raw)


def test_text_longer_than_a_decode_block_decodes_across_the_block_seams() -> None:
    name = "é" * (DECODE_BLOCK // 2 + 7)  # two-byte characters straddle the 4 MiB seams
    raw = json.dumps({"features": [{"name": name}] * 3}, ensure_ascii=False).encode()
    assert len(raw) > 2 * DECODE_BLOCK
    same_as_json(raw)


def test_the_geodataframe_parsed_in_slices_is_the_one_parsed_at_once() -> None:
    raw = make_collection(8_000)
    assert raw.count(b",") > NUMBER_BLOCK_BYTES // 16  # the numbers span several blocks
    assert_geodataframe_equal(
        feature_collection_to_geodataframe(raw, yield_often=True),
        feature_collection_to_geodataframe(raw),
    )


def test_values_longer_than_the_lookahead_are_read_whole() -> None:
    long_string = "x" * (LOOKAHEAD + 5)
    raw = json.dumps({"meta": long_string, "features": [{"p": long_string}, [1.5] * 300_000]})
    same_as_json(raw.encode())
    same_as_json(raw.encode()[:-2])  # cut short: json.loads's own error
