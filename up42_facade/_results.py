"""Turn a job's ``outputs/data-json/`` body into a GeoDataFrame, fast and exactly as classic did.

The classic SDK did ``GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")``. That
costs a Python list and float for every coordinate and a shapely object per feature built in a
Python loop: seconds for tens of thousands of footprints. This module gives the same frame
(same columns, order, dtypes, values and geometries, bit for bit) several times faster:

1. A regular expression cuts every ``"coordinates": [...]`` array out of the raw bytes and puts
   a random placeholder string in its place.
2. msgspec (or ``json.loads`` where msgspec would differ) parses what is left (properties,
   types, nulls), with the cyclic garbage collector paused: it only creates acyclic
   containers, and its repeated full scans of them were the largest single cost of the
   classic path.
3. The cut-out coordinate text is checked against the JSON grammar and its bracket structure
   is read with numpy; the numbers are parsed by pandas' C CSV reader, whose float parser
   (``fast_float``, pandas >= 3.1) rounds correctly, i.e. exactly as ``float()`` does.
4. ``shapely.from_ragged_array`` builds all geometries of one type at once.
5. The properties become columns through the same ``pandas.DataFrame(list_of_dicts)`` call
   that ``from_features`` ends in, so dtype inference cannot differ.

Whatever falls outside what steps 1-4 prove they handle exactly is handed to the reference
code itself: a geometry that is empty, a GeometryCollection, a ring that is not closed, ...
goes through ``shapely.geometry.shape`` (feature by feature, but only those features); a
document that is not a FeatureCollection of dict features, invalid JSON, coordinate arrays in
unexpected places, ... goes through ``json.loads`` plus ``GeoDataFrame.from_features`` as a
whole, which also raises the errors classic raised.

Measured on 50,000 footprints of 5 to 40 vertices (``benchmarks/bench_dataframe.py``, one
process per run, 2 shared cores, medians of 3): the classic path takes 3.7-4.4 s, this one
0.88-1.0 s (4.0-4.4x; once 3.2x on a busy machine), with a peak RSS of 471 MB against 532 MB.
orjson for the skeleton was faster still but built a whole document first (+76 MB peak).
Alternatives tried:
``pyogrio.read_dataframe`` on the bytes took about 2 s and changes the result (ISO date strings
become datetimes, int/str mixes become str with a warning, booleans become floats, the geometry
column moves to the end); ``shapely.from_geojson`` on re-serialised geometries was no faster
than classic, because it still needs the full ``json.loads``, whose garbage collection
dominates.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._gc import collector_paused
from ._json_slices import loads_in_slices

if TYPE_CHECKING:
    import geopandas
    import numpy as np
    import numpy.typing as npt

__all__ = ["feature_collection_to_geodataframe"]

#: Numbers parsed per block when yielding often: 1 MiB of number lines takes pandas' C
#: reader about 10 ms here, which holds the GIL that long.
NUMBER_BLOCK_BYTES = 1 << 20
#: Parsed features freed at a time when yielding often.
RELEASE_BLOCK = 1000
# Set while a parse must let other threads in often (``yield_often``).
_YIELD_OFTEN: ContextVar[bool] = ContextVar("_YIELD_OFTEN", default=False)

#: The classic SDK set this CRS on every results frame; GeoJSON (RFC 7946) is always WGS 84.
CRS = "EPSG:4326"

# A coordinates member whose value is an array of numbers, brackets, commas and JSON
# whitespace. The character class cannot cross a string (no quote), an object (no brace) or a
# literal (no letters but e/E), so in valid JSON a match ends at the closing bracket of the
# value. Inside a string these bytes cannot occur: an unescaped quote ends the string. A key
# ending in an escaped quote (``"a\\"coordinates"``) can still match; the walk does not find
# such a placeholder in a geometry, and the count check sends the document to the reference.
_COORDINATES_RE = re.compile(rb'"coordinates"[ \t\n\r]*:[ \t\n\r]*(\[[\[\]0-9eE+\-.,\t\n\r ]*\])')

# The geometry types the vectorised path builds, by code (0: not built here). The walk
# compares the lower-cased type, as shapely.geometry.shape() does.
_KINDS = ("", "point", "linestring", "multipoint", "polygon", "multilinestring", "multipolygon")
_KIND_CODE = {name: code for code, name in enumerate(_KINDS) if name}
# How deep the coordinates of each kind sit (Point [x, y]: 1; Polygon [[[x, y]]]: 3).
_KIND_DEPTH = (0, 1, 2, 2, 3, 3, 4)
# Parts that are rings (at least 4 coordinates, closed) or lines (at least 2).
_RING_KINDS = (4, 6)
_LINE_KINDS = (2, 5)

_WHITESPACE = b" \t\n\r"
_JOIN = b";"  # between cut-out arrays; cannot occur inside one (not in the regex class)

# Separator codes for the numpy passes. Lookups over the whole text go through
# bytes.translate (a C loop) into 0/1 tables, because numpy's flatnonzero is three times
# faster on booleans than on bytes.
_OPEN, _CLOSE, _COMMA, _JOINED = 1, 2, 3, 4
_SEPARATOR_CODES = bytes(
    {ord("["): _OPEN, ord("]"): _CLOSE, ord(","): _COMMA, _JOIN[0]: _JOINED}.get(b, 0)
    for b in range(256)
)
_IS_SEPARATOR = bytes(1 if code else 0 for code in _SEPARATOR_CODES)
# JSON wants a digit after a decimal point ("1." and "1.e5" are not JSON).
_POINT_WITHOUT_DIGIT = re.compile(rb"\.[^0-9]")
_IS_DIGIT = bytes(1 if b in b"0123456789" else 0 for b in range(256))
# The bytes a JSON number is made of: whitespace between two of them splits a number.
_IS_NUMBER_BYTE = bytes(1 if b in b"0123456789.eE+-" else 0 for b in range(256))

# Allowed neighbours in the separator stream, indexed by
# ((left - 1) * 4 + (right - 1)) * 2 + (1 if a number sits between them else 0).
# A number sits between "[" or "," and "," or "]"; two separators with nothing between them
# are "[[", "[]", "]]", "],", ",[", or an array end and start around a join.
_ADJACENT_OK = {"[[", "[]", "]]", "],", ",[", "];", ";["}
_PAIR_OK = bytes(
    1
    if (between and left in "[," and right in ",]")
    or (not between and left + right in _ADJACENT_OK)
    else 0
    for left in "[],;"
    for right in "[],;"
    for between in (False, True)
)

# The numbers go to pandas one per line: brackets vanish, commas and joins end lines.
_TO_LINES = bytes.maketrans(b"," + _JOIN, b"\n\n")

# The first pandas whose read_csv parses floats with fast_float in every mode, correctly
# rounded like float() (pandas 3.1.0 release notes: float_precision deprecated).
_PANDAS_FAST_FLOAT = (3, 1)

# Texts shorter than this index with 32-bit integers.
_INT32_LIMIT = 2**31 - 1

# JSON numbers longer than this go to the reference path: json.loads reads an integer literal
# as a Python int, float(int) raises OverflowError from 309 digits on and json.loads refuses
# more than 4300 digits, where a float parser would quietly give inf.
_MAX_NUMBER_CHARS = 300

# Shortest parts built here: a LinearRing of 4 coordinates once closed, a LineString of 2.
# Shorter ones go to shapely.geometry.shape, which pads, builds or refuses them as classic did.
_MIN_RING_COORDS = 4
_MIN_LINE_COORDS = 2


def feature_collection_to_geodataframe(
    raw: bytes, *, yield_often: bool = False
) -> geopandas.GeoDataFrame:
    """Parse a GeoJSON FeatureCollection into a GeoDataFrame in EPSG:4326.

    The result is exactly what the classic SDK returned,
    ``GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")``: a ``geometry`` column
    first, then one column per top-level property in order of first appearance, with the same
    dtypes (nested objects stay dicts in object columns), ``None`` for null geometries, and an
    empty frame with a geometry column for an empty collection. Only time and memory differ.

    Example::

        frame = feature_collection_to_geodataframe(response.content)
        frame[["uid", "geometry"]]

    Args:
        raw: The body of ``GET .../outputs/data-json/`` (JSON, UTF-8).
        yield_often: Parse in slices that let other threads run in between (the async
            front door's worker thread, beside an event loop), at some cost in speed: the
            properties a feature at a time (``_json_slices``) instead of by msgspec, the
            numbers in blocks of ``NUMBER_BLOCK_BYTES``. The result is the same.

    Returns:
        One row per feature, in EPSG:4326.

    Raises:
        json.JSONDecodeError: ``raw`` is not valid JSON (a ``ValueError``, as classic raised).
        Exception: Whatever ``GeoDataFrame.from_features`` raises for valid JSON that is not a
            usable FeatureCollection (``KeyError``, ``TypeError``, shapely's errors, ...).
    """
    import geopandas

    token = _YIELD_OFTEN.set(yield_often)
    try:
        frame = _fast_path(raw)
    finally:
        _YIELD_OFTEN.reset(token)
    if frame is None:
        return geopandas.GeoDataFrame.from_features(json.loads(raw), crs=CRS)
    return frame


class _UseReferenceError(Exception):
    """Raised inside the fast path: this input needs the reference code."""


def _fast_path(raw: bytes) -> geopandas.GeoDataFrame | None:
    """Build the frame with vectorised geometry construction; ``None``: use the reference."""
    with collector_paused():
        cut = _cut_out_arrays(raw)
        if cut is None:
            return None  # no coordinate arrays (or not UTF-8): nothing to gain
        skeleton, joined, n_texts, nonce = cut
        del cut
        try:
            # The coordinates first: their numpy passes then peak before the parsed
            # properties exist, not on top of them.
            compact, number_runs = _compact(joined)
            del joined
            coordinates = _read_coordinates(compact, number_runs, n_texts)
            del compact
            document = _loads(skeleton)
            del skeleton
            walk = _walk(document, nonce, n_texts)
            del document  # the features stay alive through the walk
        except _UseReferenceError:
            return None
        frame = _assemble(raw, walk, coordinates)
        if _YIELD_OFTEN.get():
            # Freeing 50,000 parsed features at once holds the GIL for over 100 ms.
            _release_gradually(walk.features)
            _release_gradually(walk.properties)
        # Freed while paused: the collector then meets only what the frame keeps.
        del walk, coordinates
    return frame


def _release_gradually(items: list[Any]) -> None:
    """Empty a big list a block at a time, so other threads run between the blocks."""
    while items:
        del items[-RELEASE_BLOCK:]


def _cut_out_arrays(raw: bytes) -> tuple[bytes, bytes, int, str] | None:
    """Cut every coordinates array out of ``raw``, leaving a placeholder string in its place.

    Returns:
        The rest (the skeleton), the arrays joined by ``_JOIN``, how many arrays, and the
        placeholder; None when there is no coordinates array.
    """
    view = memoryview(raw)  # slices of it are not copies
    pieces, arrays = [], []
    end = 0
    for match in _COORDINATES_RE.finditer(raw):
        pieces.append(view[end : match.start()])
        arrays.append(view[match.start(1) : match.end()])
        end = match.end()
    if not arrays:
        return None
    pieces.append(view[end:])
    n_texts = len(arrays)
    # A fresh random string cannot occur in the input, so every placeholder the walk meets
    # is one of ours.
    nonce = "up42-facade:" + secrets.token_hex(16)
    skeleton = (b'"coordinates":"' + nonce.encode() + b'"').join(pieces)
    del pieces
    joined = _JOIN.join(arrays)
    return skeleton, joined, n_texts, nonce


def _decode(skeleton: bytes) -> str:
    """Decode JSON bytes exactly as json.loads does (UTF-8, -16 or -32, BOM or not).

    Raises:
        _UseReferenceError: Undecodable; the reference raises the error for the original.
    """
    try:
        return skeleton.decode(json.detect_encoding(skeleton), "surrogatepass")
    except ValueError as error:
        raise _UseReferenceError from error


def _loads(skeleton: bytes) -> Any:
    if _YIELD_OFTEN.get():
        try:
            return loads_in_slices(skeleton)
        except ValueError as error:
            raise _UseReferenceError from error
    return _loads_at_once(skeleton)


def _loads_at_once(skeleton: bytes) -> Any:
    """The skeleton parsed exactly as json.loads parses it, by msgspec where it can.

    msgspec reads the UTF-8 bytes in place, builds no intermediate document (peak memory as
    json.loads) and takes about half the time. Where it would differ it refuses instead
    (NaN and Infinity literals, out-of-range floats, lone surrogates, a BOM, encodings other
    than UTF-8); those documents go to json.loads.

    Raises:
        _UseReferenceError: Not JSON; the reference raises the error for the original.
    """
    try:
        import msgspec
    except ImportError:  # pragma: no cover - a dependency; the standard parser still works
        pass
    else:
        try:
            return msgspec.json.decode(skeleton)
        except msgspec.DecodeError:
            pass
    text = _decode(skeleton)
    del skeleton  # the bytes and the text would be 2 x 30 MB at 50k features
    try:
        return json.loads(text)
    except ValueError as error:
        raise _UseReferenceError from error


def _assemble(raw: bytes, walk: _Walk, coordinates: _Coordinates) -> geopandas.GeoDataFrame | None:
    """Build the geometries and the frame; ``None``: use the reference."""
    import geopandas
    import numpy as np
    import pandas as pd

    if not walk.properties:
        return None  # empty collection: the reference builds the empty frame instantly
    geometries = np.empty(len(walk.properties), dtype=object)
    built, regular = _build_geometries(coordinates, walk.kinds)
    geometries[walk.text_feature[regular]] = built
    rejected = walk.text_feature[~regular & (walk.kinds > 0)]
    # In feature order, so that the first error raised is the one the reference raises.
    irregular = sorted(set(walk.irregular).union(rejected.tolist()))
    if irregular:
        from shapely.geometry import shape

        # Rare: cut the arrays out once more rather than keep them all along.
        texts = _COORDINATES_RE.split(raw)[1::2]
        for feature in irregular:
            geometries[feature] = shape(walk.restore(feature, texts))

    frame = pd.DataFrame(walk.properties)
    if "geometry" in frame.columns:
        return None  # a property named geometry overwrites the shape in the reference's rows
    frame.insert(0, "geometry", geometries)
    return geopandas.GeoDataFrame(frame, crs=CRS)


class _Walk:
    """What one pass over the parsed features found.

    Attributes:
        features: The parsed features, placeholders included.
        properties: Each feature's properties (``{}`` when missing or null), in order.
        irregular: Features whose geometry only the reference code may build.
        text_feature: For each cut-out array, the feature it belongs to (non-decreasing).
        kinds: For each cut-out array, the ``_KINDS`` code of the geometry it is the whole
            coordinates of, or 0 when it is part of an irregular feature.
    """

    def __init__(self, nonce: str, features: list[Any]) -> None:
        self.nonce = nonce
        self.features = features
        self.properties: list[dict[str, Any]] = []
        self.irregular: list[int] = []
        self.text_feature: npt.NDArray[np.intp]
        self.kinds: npt.NDArray[np.int8]

    def count_placeholders(self, value: Any) -> int:
        """Count the placeholders anywhere in ``value``, a parsed JSON value."""
        if type(value) is dict:
            return sum(self.count_placeholders(item) for item in value.values())
        if type(value) is list:
            return sum(self.count_placeholders(item) for item in value)
        return 1 if value == self.nonce else 0

    def restore(self, feature: int, texts: list[bytes]) -> Any:
        """Return a feature's geometry member with its cut-out arrays parsed back in place.

        The placeholders are met in document order, the order of ``texts``.
        """
        import numpy as np

        first = int(np.searchsorted(self.text_feature, feature))
        arrays = iter(texts[first:])

        def put_back(value: Any) -> Any:
            if type(value) is dict:
                return {key: put_back(item) for key, item in value.items()}
            if type(value) is list:
                return [put_back(item) for item in value]
            if value == self.nonce:
                return json.loads(next(arrays))
            return value

        return put_back(self.features[feature]["geometry"])


def _walk(document: Any, nonce: str, n_texts: int) -> _Walk:
    """Check that the parsed skeleton is a FeatureCollection of plain features, and index it.

    Raises:
        _UseReferenceError: Not a FeatureCollection of dict features, a feature without a
            geometry member, properties that are neither an object nor empty, or coordinate
            arrays outside the features' geometries.
    """
    import numpy as np

    if type(document) is not dict or document.get("type") != "FeatureCollection":
        raise _UseReferenceError
    features = document.get("features")
    if type(features) is not list:
        raise _UseReferenceError

    walk = _Walk(nonce, features)
    properties = walk.properties
    irregular = walk.irregular
    text_feature: list[int] = []
    kinds: list[int] = []
    # Type names as written ("Polygon") to codes, so that lower() runs once per spelling.
    codes: dict[str, int] = {}
    for index, feature in enumerate(features):
        if type(feature) is not dict or "geometry" not in feature:
            raise _UseReferenceError
        props = feature.get("properties")
        if not props:
            props = {}
        elif type(props) is not dict:
            raise _UseReferenceError
        properties.append(props)
        geometry = feature["geometry"]
        if not geometry:
            continue  # the reference's "if feature['geometry']": a null geometry
        if type(geometry) is dict and geometry.get("coordinates") == nonce:
            kind = geometry.get("type")
            code = 0
            if type(kind) is str:
                known = codes.get(kind)
                code = codes[kind] = _KIND_CODE.get(kind.lower(), 0) if known is None else known
            text_feature.append(index)
            kinds.append(code)
            if not code:
                irregular.append(index)
            continue
        irregular.append(index)
        count = walk.count_placeholders(geometry)
        text_feature.extend([index] * count)
        kinds.extend([0] * count)

    if len(text_feature) != n_texts:
        raise _UseReferenceError  # an array outside the geometries: in properties, ...
    walk.text_feature = np.array(text_feature, dtype=np.intp)
    walk.kinds = np.array(kinds, dtype=np.int8)
    return walk


@dataclass(frozen=True)
class _Coordinates:
    """The numbers of all cut-out arrays and where each sits in its array's structure.

    Attributes:
        count: How many arrays.
        values: Every number, in order, as json.loads and float() read it.
        number_text: Per number, the array it is in.
        number_depth: Per number, how deep in its array it sits (Point: 1, Polygon: 3).
        first_number: Per coordinate (a run of numbers opened by "["), its first number.
        dims: Per coordinate, how many numbers it has.
        coordinate_text: Per coordinate, the array it is in.
        level: Per coordinate, the outermost array it opens: 1 a geometry, 2 a polygon's
            ring or a multi-geometry's part, 3 a multipolygon's ring.
        has_empty: Per array, whether it holds an empty array (``[]`` somewhere).
    """

    count: int
    values: npt.NDArray[np.float64]
    number_text: npt.NDArray[np.int32]
    number_depth: npt.NDArray[np.int32]
    first_number: npt.NDArray[np.intp]
    dims: npt.NDArray[np.intp]
    coordinate_text: npt.NDArray[np.int32]
    level: npt.NDArray[np.int32]
    has_empty: npt.NDArray[np.bool_]


def _compact(joined: bytes) -> tuple[bytes, int]:
    """Drop the whitespace from the cut-out arrays.

    Returns:
        The arrays without whitespace, and how many runs of number bytes the arrays had with
        their whitespace (-1 when that cannot matter): more runs than numbers in the compact
        text means whitespace split a number, as in ``[1 2]``.
    """
    import numpy as np

    compact = joined.translate(None, _WHITESPACE)
    spaces = len(joined) - len(compact)
    # json.dumps writes ", " and no other whitespace: then none can be inside a number.
    if not spaces or joined.count(b", ") == spaces:
        return compact, -1
    is_number = _mask(joined, _IS_NUMBER_BYTE)
    return compact, int(np.count_nonzero(is_number[1:] > is_number[:-1]))


def _read_coordinates(compact: bytes, number_runs: int, count: int) -> _Coordinates:
    """Validate the cut-out arrays as JSON and read their numbers and structure, vectorised.

    Args:
        compact: The arrays joined by ``_JOIN``, without whitespace (``_compact``).
        number_runs: What ``_compact`` counted.
        count: How many arrays.

    Raises:
        _UseReferenceError: Some array is not valid JSON, or holds a number that json.loads
            and a float parser would read differently (the reference then raises or copes).
    """
    import numpy as np

    chars = np.frombuffer(compact, dtype=np.uint8)

    # The separator stream: every bracket, comma and join, and where it is.
    positions = np.flatnonzero(_mask(compact, _IS_SEPARATOR))
    if len(compact) < _INT32_LIMIT:
        positions = positions.astype(np.int32)  # half the memory traffic in what follows
    separators = _table(_SEPARATOR_CODES)[chars[positions]]
    gaps = np.diff(positions)
    has_number = gaps > 1
    pair = ((separators[:-1] - 1) * 4 + (separators[1:] - 1)) * 2 + has_number
    if not _table(_PAIR_OK)[pair].all():
        raise _UseReferenceError
    del pair

    # Depth after each separator. Depth moves in steps of one from 1 (every array opens with
    # "["), so if it is 0 exactly at the arrays' ends, each array is one balanced value.
    step = np.zeros(_JOINED + 1, dtype=np.int8)
    step[_OPEN], step[_CLOSE] = 1, -1
    depth = np.cumsum(step[separators], dtype=np.int32)
    joins = np.flatnonzero(separators == _JOINED)
    ends = np.sort(np.concatenate([joins - 1, joins, [len(separators) - 1]]))
    if not np.array_equal(np.flatnonzero(depth == 0), ends):
        raise _UseReferenceError
    del joins, ends

    # The numbers, each between two separators.
    slots = np.flatnonzero(has_number)
    if number_runs not in (-1, len(slots)):
        raise _UseReferenceError  # whitespace inside a number: "[1 2]"
    if gaps.max(initial=0) > _MAX_NUMBER_CHARS + 1:
        raise _UseReferenceError
    starts = positions[slots] + 1
    del positions
    _check_number_grammar(compact, chars, starts)
    del starts, chars

    values = _parse_numbers(compact.translate(_TO_LINES, b"[]"), len(slots))
    # json.loads reads "-0" as the int 0, and float(0) is +0.0, where a float parser gives -0.0
    # (as it should for "-0.0"). Of the negative zeros, the two-character ones are "-0".
    negative_zero = np.flatnonzero((values == 0.0) & np.signbit(values))
    negative_zero = negative_zero[gaps[slots[negative_zero]] == 3]
    if len(negative_zero):
        values = values.copy()  # pandas hands out a read-only view
        values[negative_zero] = 0.0
    del gaps, negative_zero

    text_index = np.cumsum(separators == _JOINED, dtype=np.int32)
    empty = (separators[:-1] == _OPEN) & (separators[1:] == _CLOSE) & ~has_number
    has_empty = np.zeros(count, dtype=bool)
    has_empty[text_index[:-1][empty]] = True
    del empty, has_number
    number_text = text_index[slots]
    del text_index
    # Coordinates: their first number follows "[" (the other numbers follow ","). The level
    # of a coordinate is one more than the lowest depth between the previous number and it.
    first_number = np.flatnonzero(separators[slots] == _OPEN)
    del separators
    lowest = np.minimum.reduceat(depth, slots) if len(slots) else depth[:0]
    level = np.concatenate([np.ones(1, dtype=np.int32), lowest[:-1] + 1])[first_number]
    number_depth = depth[slots]
    del lowest, depth, slots

    return _Coordinates(
        count=count,
        values=values,
        number_text=number_text,
        number_depth=number_depth,
        first_number=first_number,
        dims=np.diff(np.append(first_number, len(values))),
        coordinate_text=number_text[first_number],
        level=level,
        has_empty=has_empty,
    )


def _parse_numbers(lines: bytes, count: int) -> npt.NDArray[np.float64]:
    """Parse one number per line with pandas' C reader (correctly rounded, like float()).

    Raises:
        _UseReferenceError: A line is not a number, or there are not ``count`` of them.
    """
    import numpy as np
    import pandas as pd

    if not count:
        return np.empty(0, dtype=np.float64)  # only empty arrays; pandas would call it no data
    # Before 3.1 pandas' default converter is not always correctly rounded; "round_trip" is
    # Python's own. From 3.1 every mode is fast_float, and the option is deprecated.
    rounding = {} if _rounds_correctly(pd.__version__) else {"float_precision": "round_trip"}
    if _YIELD_OFTEN.get() and len(lines) > NUMBER_BLOCK_BYTES:
        blocks = [_parse_numbers_block(block, rounding) for block in _line_blocks(lines)]
        values = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.float64)
    else:
        values = _parse_numbers_block(lines, rounding)
    if len(values) != count:
        raise _UseReferenceError
    return values


def _line_blocks(lines: bytes) -> list[bytes]:
    """``lines`` cut into blocks of about ``NUMBER_BLOCK_BYTES``, each ending with a line."""
    blocks, start = [], 0
    while start < len(lines):
        end = lines.find(b"\n", min(start + NUMBER_BLOCK_BYTES, len(lines) - 1))
        end = len(lines) if end < 0 else end + 1
        blocks.append(lines[start:end])
        start = end
    return blocks


def _parse_numbers_block(lines: bytes, rounding: dict[str, str]) -> npt.NDArray[np.float64]:
    """One block of ``_parse_numbers``: one number per line, all of them read."""
    import numpy as np
    import pandas as pd

    try:
        values: npt.NDArray[np.float64] = pd.read_csv(
            io.BytesIO(lines),
            header=None,
            names=["v"],
            dtype=np.float64,
            na_filter=False,  # no "NaN", "null", "" as missing: any non-number must fail
            quoting=csv.QUOTE_NONE,  # numbers have no quotes; the tokenizer skips the checks
            engine="c",
            **rounding,
        )["v"].to_numpy()
    except (ValueError, pd.errors.ParserError) as error:
        raise _UseReferenceError from error
    return values


def _rounds_correctly(pandas_version: str) -> bool:
    """Whether this pandas reads floats correctly rounded by default (3.1 and later)."""
    release = tuple(int(part) for part in re.findall(r"\d+", pandas_version)[:2])
    return release >= _PANDAS_FAST_FLOAT


def _build_geometries(
    coordinates: _Coordinates, kinds: npt.NDArray[np.int8]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Build the geometries of all regular arrays with one shapely call per kind.

    Args:
        coordinates: What ``_read_coordinates`` found.
        kinds: Each array's ``_KINDS`` code (0: not built here).

    Returns:
        The geometries, and the mask of arrays they were built from, in order. An array left
        out is valid JSON that only the reference may turn into a geometry (or an error):
        empty arrays, a ring that is not closed, mixed dimensions, ...
    """
    import numpy as np

    c = coordinates
    regular = (kinds > 0) & ~c.has_empty
    if not len(c.values):
        return np.empty(0, dtype=object), np.zeros(c.count, dtype=bool)

    # Every number exactly at its kind's coordinate depth: no numbers beside arrays.
    kind_depth = np.array(_KIND_DEPTH, dtype=np.int32)[kinds]
    regular[c.number_text[c.number_depth != kind_depth[c.number_text]]] = False

    # One dimension (2 or 3) per geometry.
    first_of_text = np.searchsorted(c.coordinate_text, np.arange(c.count))
    text_dims = c.dims[np.minimum(first_of_text, len(c.dims) - 1)]
    bad = (c.dims != text_dims[c.coordinate_text]) | (c.dims < 2) | (c.dims > 3)
    regular[c.coordinate_text[bad]] = False

    # Parts (the arrays right above the coordinates): rings must be closed and have at least
    # 4 coordinates, lines at least 2. A geometry start also starts a part.
    coordinate_depth = kind_depth[c.coordinate_text]
    part_first = np.flatnonzero((c.level < coordinate_depth) | (c.level == 1))
    part_size = np.diff(np.append(part_first, len(c.first_number)))
    part_text = c.coordinate_text[part_first]
    ring = np.isin(kinds[part_text], _RING_KINDS)
    line = np.isin(kinds[part_text], _LINE_KINDS)
    short = (ring & (part_size < _MIN_RING_COORDS)) | (line & (part_size < _MIN_LINE_COORDS))
    # Compare bit patterns: shapely's closing test and ours must not differ on -0.0 == 0.0.
    bits = c.values.view(np.int64)
    head = c.first_number[part_first]
    tail = c.first_number[part_first + part_size - 1]
    last = len(bits) - 1
    open_ring = np.zeros(len(part_first), dtype=bool)
    for axis in range(3):
        counted = ring & (text_dims[part_text] > axis)
        differs = bits[np.minimum(head + axis, last)] != bits[np.minimum(tail + axis, last)]
        open_ring |= counted & differs
    regular[part_text[short | open_ring]] = False

    result = np.empty(c.count, dtype=object)
    for code in range(1, len(_KINDS)):
        for ndim in (2, 3):
            chosen = regular & (kinds == code) & (text_dims == ndim)
            if not chosen.any():
                continue
            if chosen.all():
                coords = c.values.reshape(-1, ndim)  # the common case: one kind, no copies
                levels = c.level
            else:
                coords = c.values[chosen[c.number_text]].reshape(-1, ndim)
                levels = c.level[chosen[c.coordinate_text]]
            result[chosen] = _from_levels(_KINDS[code], coords, levels)
    return result[regular], regular


def _table(lookup: bytes) -> npt.NDArray[np.uint8]:
    """Return a 256-entry byte lookup table as a numpy array, for ``table[bytes_array]``."""
    import numpy as np

    return np.frombuffer(lookup, dtype=np.uint8)


def _mask(data: bytes, lookup: bytes) -> npt.NDArray[np.bool_]:
    """Map every byte of ``data`` through a 0/1 table: a boolean array as long as ``data``."""
    import numpy as np

    return np.frombuffer(data.translate(lookup), dtype=np.bool_)


def _check_number_grammar(
    compact: bytes, chars: npt.NDArray[np.uint8], starts: npt.NDArray[np.integer[Any]]
) -> None:
    """Reject the numbers pandas reads but JSON forbids.

    pandas rejects what no float parser takes ("1e", "1.2.3", "--1", "1-2"); these rules add
    JSON's stricter ones: "+1", ".5", "-.5", "01", "-01", "1." and "1.e5" are not JSON.

    Args:
        compact: The coordinate text without whitespace.
        chars: The same, as a numpy array.
        starts: Where each number starts.

    Raises:
        _UseReferenceError: A number breaks one of these rules.
    """
    import numpy as np

    digit = _table(_IS_DIGIT).view(np.bool_)
    first = chars[starts]
    negative = first == ord("-")
    integer = starts + negative
    leading = chars[integer]
    # A number never ends the text (a "]" does), so the byte after any of its bytes exists.
    if (
        not (digit[first] | negative).all()
        or not digit[leading].all()
        or ((leading == ord("0")) & digit[chars[integer + 1]]).any()
        or _POINT_WITHOUT_DIGIT.search(compact)
    ):
        raise _UseReferenceError


def _from_levels(
    kind: str, coords: npt.NDArray[np.float64], level: npt.NDArray[np.int32]
) -> npt.NDArray[np.object_]:
    """Build geometries of one kind from their coordinates and each coordinate's level.

    Args:
        kind: A ``_KINDS`` name.
        coords: The coordinates, shape (n, 2) or (n, 3).
        level: Per coordinate, the outermost array it starts: 1 a geometry, 2 a polygon's
            ring or a multi-geometry's part, 3 a multipolygon's ring.

    Returns:
        One geometry per level-1 coordinate.
    """
    import numpy as np
    import shapely

    def offsets(starts: npt.NDArray[np.intp], total: int) -> npt.NDArray[np.intp]:
        return np.append(starts, total)

    kind_type = shapely.GeometryType[kind.upper()]
    if kind == "point":
        return shapely.from_ragged_array(kind_type, coords)  # type: ignore[no-any-return]
    if kind in ("linestring", "multipoint"):
        geometries = np.flatnonzero(level == 1)
        return shapely.from_ragged_array(  # type: ignore[no-any-return]
            kind_type, coords, (offsets(geometries, len(coords)),)
        )
    if kind in ("polygon", "multilinestring"):
        parts = np.flatnonzero(level <= 2)
        geometries = np.flatnonzero(level[parts] == 1)
        return shapely.from_ragged_array(  # type: ignore[no-any-return]
            kind_type,
            coords,
            (offsets(parts, len(coords)), offsets(geometries, len(parts))),
        )
    rings = np.flatnonzero(level <= 3)
    polygons = np.flatnonzero(level[rings] <= 2)
    geometries = np.flatnonzero(level[rings][polygons] == 1)
    return shapely.from_ragged_array(  # type: ignore[no-any-return]
        kind_type,
        coords,
        (
            offsets(rings, len(coords)),
            offsets(polygons, len(rings)),
            offsets(geometries, len(polygons)),
        ),
    )
