"""Turn a job's ``outputs/data-json/`` body into a GeoDataFrame, fast and exactly as classic did.

The classic SDK did ``GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")``. That
costs a Python list and float for every coordinate and a shapely object per feature built in a
Python loop: seconds for tens of thousands of footprints. This module gives the same frame
(same columns, order, dtypes, values and geometries, bit for bit) several times faster:

1. A regular expression cuts every ``"coordinates": [...]`` array out of the raw bytes and puts
   a random placeholder string in its place.
2. ``json.loads`` parses what is left (properties, types, nulls), with the cyclic garbage
   collector paused: it only creates acyclic containers, and its repeated full scans of them
   were the largest single cost of the classic path.
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

Measured alternatives (50,000 polygon features, see ``benchmarks/bench_dataframe.py``):
``pyogrio.read_dataframe`` on the bytes was slower than the classic path and changes the
result (ISO date strings become datetimes, int/str mixes become str with a warning, booleans
become floats, the geometry column moves to the end); ``shapely.from_geojson`` on re-serialised
geometries needs the full ``json.loads`` first and was only about 1.5x faster overall.
"""

from __future__ import annotations

import gc
import io
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas
    import numpy as np
    import numpy.typing as npt

__all__ = ["feature_collection_to_geodataframe"]

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

# JSON numbers longer than this go to the reference path: json.loads turns an integer literal
# into a Python int, and float(int) raises OverflowError from 309 digits on (and json.loads
# itself refuses more than 4300 digits), where a float parser would quietly give inf.
_MAX_NUMBER_CHARS = 300

# Minimum coordinates per part, as the shapely constructors demand (LinearRing: 4 once
# closed; LineString: 2). Shorter parts go to the reference path, which raises as classic did.
_MIN_RING_COORDS = 4
_MIN_LINE_COORDS = 2

_WHITESPACE = b" \t\n\r"
_SEMI = ord(";")  # joins the cut-out arrays; cannot occur inside one (not in the regex class)

# Byte classes for the numpy passes. Separators get codes 1..4, everything else 0.
_OPEN, _CLOSE, _COMMA = 1, 2, 3
_SEPARATOR_CODES = bytes(
    {ord("["): _OPEN, ord("]"): _CLOSE, ord(","): _COMMA, _SEMI: 4}.get(b, 0) for b in range(256)
)
_IS_DIGIT = bytes(1 if 0x30 <= b <= 0x39 else 0 for b in range(256))
# Characters a JSON number is made of: whitespace between two of them splits a number.
_IS_NUMBER_CHAR = bytes(1 if b in b"0123456789.eE+-" else 0 for b in range(256))
_IS_WHITESPACE = bytes(1 if b in _WHITESPACE else 0 for b in range(256))

# Allowed neighbour pairs in the separator stream, indexed by
# ((left - 1) * 4 + (right - 1)) * 2 + (1 if a number sits between them else 0).
# A number must sit between "[" or "," on its left and "," or "]" on its right; two separators
# without a number between them must be "[[", "[]", "]]", "],", ",[", "];" or ";[".
_PAIR_OK = bytes(
    1
    if (
        (between and left in "[," and right in ",]")
        or (not between and left + right in {"[[", "[]", "]]", "],", ",[", "];", ";["})
    )
    else 0
    for left in "[],;"
    for right in "[],;"
    for between in (False, True)
)

# The numbers go to pandas one per line: brackets vanish, commas and joins become newlines.
_TO_LINES = bytes.maketrans(b",;", b"\n\n")


