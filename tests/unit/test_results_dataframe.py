"""get_results_json(as_dataframe=True) gives exactly the classic SDK's frame, only faster.

The classic SDK built it with ``GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")``;
every test compares against that call: columns, their order and dtypes, values, CRS, and the
geometries' WKB bytes (so coordinates, dimensions and ring order are equal bit for bit).
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import random
import struct
import warnings
from typing import Any

import geopandas
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from up42_facade import _results
from up42_facade._results import feature_collection_to_geodataframe

# The API's example body of GET /outputs/data-json/ (api-examples/data-json.json).
API_EXAMPLE = b"""{
  "type": "FeatureCollection",
  "features": [
    {
      "type": "Feature",
      "bbox": [13.359375, 52.48278, 13.425293, 52.522906],
      "geometry": {"type": "Polygon", "coordinates": [[[13.359375, 52.48278], [13.359375, 52.522906], [13.425293, 52.522906], [13.425293, 52.48278], [13.359375, 52.48278]]]},
      "properties": {
        "uid": "21ac03b7-1b1e-43c8-b385-56fde04610aa",
        "timeStamp": 1576836871024,
        "acquisition": {"mission": "Sentinel-2", "missionCode": "S2A", "sensorId": "MSI", "beginViewingDate": 1576836871024},
        "identification": {"externalId": "S2A_MSIL1C_20191220T101431_N0208_R022_T33UUU_20191220T104412", "collection": "Sentinel-2", "tileId": "33UUU", "type": "S2MSI1C"},
        "contentDescription": {"cloudCoverPercentage": 1.0068},
        "orbit": {"relativeNumber": 22, "direction": "DESCENDING"},
        "up42.data_path": "7e17f023-a8e3-43bd-aaac-5bbef749c7f4/7e17f023-a8e3-43bd-aaac-5bbef749c7f4_0-0.tif"
      }
    }
  ]
}"""  # noqa: E501

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
HOLE = [[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.25]]
FAR_SQUARE = [[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]


def classic(raw: bytes) -> geopandas.GeoDataFrame:
    """What the classic SDK returned."""
    return geopandas.GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")


def assert_same_frame(ours: geopandas.GeoDataFrame, theirs: geopandas.GeoDataFrame) -> None:
    """Equal frames, including things assert_frame_equal does not look at."""
    assert list(ours.columns) == list(theirs.columns)
    assert ours.columns.dtype == theirs.columns.dtype
    assert ours.geometry.name == theirs.geometry.name == "geometry"
    assert ours.crs == theirs.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(ours.drop(columns="geometry")),
        pd.DataFrame(theirs.drop(columns="geometry")),
        check_exact=True,
    )
    # WKB (ISO, with Z) compares coordinates bit for bit; topological equality would not, and
    # it is false even for an invalid geometry compared with itself.
    ours_wkb = shapely.to_wkb(ours.geometry.array, flavor="iso").tolist()
    theirs_wkb = shapely.to_wkb(theirs.geometry.array, flavor="iso").tolist()
    assert ours_wkb == theirs_wkb


def assert_like_classic(raw: bytes) -> geopandas.GeoDataFrame | None:
    """Our frame equals classic's, or both raise the same error; returns our frame."""
    outcomes: list[tuple[str, Any]] = []
    for build in (classic, feature_collection_to_geodataframe):
        try:
            outcomes.append(("frame", build(raw)))
        except Exception as error:
            outcomes.append(("error", error))
    (theirs_kind, theirs), (ours_kind, ours) = outcomes
    assert ours_kind == theirs_kind, (theirs, ours)
    if theirs_kind == "error":
        assert type(ours) is type(theirs)
        assert str(ours) == str(theirs)
        return None
    assert_same_frame(ours, theirs)
    frame: geopandas.GeoDataFrame = ours
    return frame


def uses_the_fast_path(raw: bytes) -> bool:
    """Whether the vectorised path built the frame (rather than the classic code)."""
    return _results._fast_path(raw) is not None


def collection(*features: dict[str, Any], **members: Any) -> bytes:
    """A FeatureCollection's bytes, compact as an API sends it."""
    document = {"type": "FeatureCollection", "features": list(features), **members}
    return json.dumps(document, separators=(",", ":")).encode()


def feature(geometry: Any, properties: Any = None, **members: Any) -> dict[str, Any]:
    """One GeoJSON feature."""
    return {"type": "Feature", "geometry": geometry, "properties": properties, **members}


def scene_footprints(count: int, seed: int = 7) -> bytes:
    """Footprints shaped like the API's: 5 to 40 vertices, the example's nested properties."""
    rng = random.Random(seed)
    features = []
    for index in range(count):
        x, y = rng.uniform(-170, 170), rng.uniform(-80, 80)
        sides = rng.randint(4, 39)
        ring = [
            [
                x + rng.uniform(0.05, 0.2) * math.cos(2 * math.pi * step / sides),
                y + rng.uniform(0.05, 0.2) * math.sin(2 * math.pi * step / sides),
            ]
            for step in range(sides)
        ]
        ring.append(ring[0])
        uid = f"{rng.getrandbits(128):032x}"
        stamp = 1576836871024 + index * 1000
        features.append(
            feature(
                {"type": "Polygon", "coordinates": [ring]},
                {
                    "uid": uid,
                    "timeStamp": stamp,
                    "acquisition": {"mission": "Sentinel-2", "beginViewingDate": stamp},
                    "identification": {"externalId": f"S2A_{index}", "tileId": "33UUU"},
                    "contentDescription": {"cloudCoverPercentage": rng.uniform(0, 100)},
                    "orbit": {"relativeNumber": rng.randint(1, 143), "direction": "DESCENDING"},
                    "up42.data_path": f"{uid}/{uid}_0-0.tif",
                },
                bbox=[min(p[0] for p in ring), min(p[1] for p in ring)] * 2,
            )
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_the_api_example_gives_the_classic_frame() -> None:
    ours = assert_like_classic(API_EXAMPLE)
    assert uses_the_fast_path(API_EXAMPLE)
    assert ours is not None
    assert list(ours.columns[:3]) == ["geometry", "uid", "timeStamp"]
    assert ours.crs == "EPSG:4326"


def test_a_realistic_collection_of_polygons_equals_classic_with_geopandas_own_check() -> None:
    raw = scene_footprints(300)
    ours = feature_collection_to_geodataframe(raw)
    assert uses_the_fast_path(raw)
    assert_geodataframe_equal(ours, classic(raw), check_less_precise=False)
    assert_same_frame(ours, classic(raw))
    assert str(ours["timeStamp"].dtype) == "int64"
    assert ours["uid"].dtype == classic(raw)["uid"].dtype


def test_nested_properties_stay_dicts_in_object_columns() -> None:
    ours = assert_like_classic(API_EXAMPLE)
    assert ours is not None
    acquisition = ours.loc[0, "acquisition"]
    assert acquisition == {
        "mission": "Sentinel-2",
        "missionCode": "S2A",
        "sensorId": "MSI",
        "beginViewingDate": 1576836871024,
    }
    assert ours["acquisition"].dtype == object


@pytest.mark.parametrize(
    "raw",
    [collection(), b'{"type": "FeatureCollection", "features": []}'],
    ids=["pretty", "compact"],
)
def test_an_empty_collection_gives_an_empty_frame_with_a_geometry_column_and_crs(
    raw: bytes,
) -> None:
    ours = assert_like_classic(raw)
    assert ours is not None
    assert ours.empty
    assert list(ours.columns) == ["geometry"]
    assert ours.crs == "EPSG:4326"


def test_null_and_empty_geometries_become_none_as_in_classic() -> None:
    raw = collection(
        feature(None, {"n": 1}),
        feature({"type": "Point", "coordinates": [1, 2]}, {"n": 2}),
        feature({}, {"n": 3}),
    )
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    assert ours.geometry.isna().tolist() == [True, False, True]


def test_only_null_geometries_still_give_a_geometry_column() -> None:
    assert_like_classic(collection(feature(None, {"n": 1}), feature(None, {"n": 2})))


def test_every_geometry_type_and_dimension_matches_classic() -> None:
    raw = collection(
        feature({"type": "Point", "coordinates": [5, 6]}, {"kind": "point"}),
        feature({"type": "Point", "coordinates": [5, 6, 7]}, {"kind": "point z"}),
        feature({"type": "LineString", "coordinates": [[0, 0], [1, 1], [2, 0]]}, {"kind": "line"}),
        feature({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1, 1]]}, {"kind": "mixed"}),
        feature({"type": "Polygon", "coordinates": [SQUARE, HOLE]}, {"kind": "polygon"}),
        feature(
            {"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0, 1], [1, 1, 2], [0, 0, 1]]]},
            {"kind": "polygon z"},
        ),
        feature(
            {
                "type": "MultiLineString",
                "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3], [4, 4]]],
            },
            {"kind": "multiline"},
        ),
        feature(
            {"type": "MultiPolygon", "coordinates": [[FAR_SQUARE], [SQUARE, HOLE]]},
            {"kind": "multipolygon"},
        ),
        feature(
            {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Point", "coordinates": [1, 2]},
                    {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                ],
            },
            {"kind": "collection"},
        ),
        feature({"type": "polygon", "coordinates": [SQUARE]}, {"kind": "lower case"}),
    )
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    assert_geodataframe_equal(ours, classic(raw))
    assert ours.geometry.has_z.tolist() == [
        False, True, False, True, False, True, False, False, False, False,
    ]  # fmt: skip


def test_missing_null_and_varying_properties_fill_the_columns_as_classic() -> None:
    raw = collection(
        feature({"type": "Point", "coordinates": [0, 0]}, {"a": 1, "flag": True}),
        feature({"type": "Point", "coordinates": [1, 1]}, None),
        feature({"type": "Point", "coordinates": [2, 2]}),
        feature({"type": "Point", "coordinates": [3, 3]}, {"b": "x", "a": 2.5, "flag": None}),
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4, 4]}},
        feature({"type": "Point", "coordinates": [5, 5]}, {"when": "2020-01-01T00:00:00Z"}),
        feature({"type": "Point", "coordinates": [6, 6]}, {"mixed": [1, "two"], "a": None}),
    )
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    assert list(ours.columns) == ["geometry", "a", "flag", "b", "when", "mixed"]


def test_features_without_any_property_give_a_geometry_only_frame() -> None:
    raw = collection(
        feature({"type": "Point", "coordinates": [0, 0]}),
        feature({"type": "Point", "coordinates": [1, 1]}, {}),
    )
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    assert list(ours.columns) == ["geometry"]


def test_pretty_printed_json_and_a_byte_order_mark_give_the_classic_frame() -> None:
    pretty = json.dumps(json.loads(scene_footprints(20)), indent=2).encode()
    assert_like_classic(pretty)
    assert uses_the_fast_path(pretty)
    with_bom = b"\xef\xbb\xbf" + API_EXAMPLE
    assert_like_classic(with_bom)
    assert uses_the_fast_path(with_bom)


def test_numbers_in_every_json_spelling_are_read_as_json_loads_reads_them() -> None:
    numbers = [
        "0", "-0", "-0.0", "0.0", "1", "-1", "10", "1.5", "-1.5", "1e5", "1E5", "1e+05", "1E-5",
        "2.5e-3", "123456789012345678901234567890", "9007199254740993", "0.1000000000000000055511",
        "1e999", "-1e999", "1e-400", "5e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
    ]  # fmt: skip
    points = ",".join(
        f'{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{number},1]}},'
        f'"properties":{{"spelling":"{number}"}}}}'
        for number in numbers
    )
    raw = f'{{"type":"FeatureCollection","features":[{points}]}}'.encode()
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    signs = [math.copysign(1, x) for x in ours.geometry.x.tolist()[:3]]
    assert signs == [1.0, 1.0, -1.0]  # "-0" is the int 0 to json.loads, so +0.0


def test_random_doubles_survive_bit_for_bit() -> None:
    rng = random.Random(3)
    values: list[float] = []
    while len(values) < 4000:
        value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(value):
            values.append(value)
    values += [rng.uniform(-180, 180) for _ in range(4000)]
    points = [
        feature({"type": "Point", "coordinates": [x, y]}) for x, y in itertools.pairwise(values)
    ]
    raw = collection(*points)
    ours = assert_like_classic(raw)
    assert uses_the_fast_path(raw)
    assert ours is not None
    assert ours.geometry.x.to_numpy().view(np.int64).tolist() == (
        np.array(values[:-1]).view(np.int64).tolist()
    )


def read_point_x(token: bytes) -> float | None:
    """The x the vectorised reader gives for a Point ``[token,1]``, or None if it refuses."""
    compact, number_runs = _results._compact(b"[" + token + b",1]")
    try:
        coordinates = _results._read_coordinates(compact, number_runs, 1)
    except _results._UseReferenceError:
        return None
    built, regular = _results._build_geometries(coordinates, np.array([1], dtype=np.int8))
    assert regular.tolist() == [True]
    x: float = built[0].x
    return x


def test_the_number_reader_accepts_exactly_the_numbers_json_accepts() -> None:
    # Every token up to four characters over the characters of JSON numbers: whatever pandas'
    # parser would forgive ("01", "1.", ".5", "+1") must be refused like json.loads does.
    accepted = refused = 0
    for length in range(1, 5):
        for characters in itertools.product("019.eE+-", repeat=length):
            token = "".join(characters).encode()
            try:
                expected: float | None = float(json.loads(b"[" + token + b"]")[0])
            except ValueError:
                expected = None
            x = read_point_x(token)
            if expected is None:
                assert x is None, token
                refused += 1
            else:
                assert x is not None, token
                assert (x, math.copysign(1, x)) == (expected, math.copysign(1, expected)), token
                accepted += 1
    assert accepted > 100
    assert refused > 1000


@pytest.mark.parametrize(
    ("version", "correct"),
    [("3.1.1", True), ("3.1.0rc0", True), ("3.2.0.dev0+12.g1a2b", True), ("4.0.0", True),
     ("3.0.2", False), ("2.2.3", False), ("1.5.3", False)],
)  # fmt: skip
def test_numbers_are_read_correctly_rounded_on_every_pandas(version: str, correct: bool) -> None:
    # Before pandas 3.1 the CSV reader's default float converter may be off by one ulp; the
    # fast path asks those versions for the round-trip converter (Python's own) instead.
    assert _results._rounds_correctly(version) is correct


def test_the_round_trip_converter_older_pandas_get_reads_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_results, "_rounds_correctly", lambda version: False)
    raw = scene_footprints(200)
    with warnings.catch_warnings():
        # This pandas has deprecated the option the older ones need.
        warnings.filterwarnings("ignore", message="The 'float_precision' argument is deprecated")
        ours = feature_collection_to_geodataframe(raw)
        assert uses_the_fast_path(raw)
    assert_same_frame(ours, classic(raw))


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [-0.0, 0]]]},
        {"type": "Point", "coordinates": []},
        {"type": "Polygon", "coordinates": [[]]},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "Point", "coordinates": [[1, 2]]},
        {"type": "LinearRing", "coordinates": SQUARE},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}},
        {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1, 1]]},
    ],
    ids=[
        "unclosed triangle",
        "unclosed square",
        "closed ring of three",
        "ring closed by -0.0",
        "empty point",
        "empty polygon",
        "empty multipolygon",
        "nested point",
        "linear ring",
        "feature as geometry",
        "mixed dimensions",
    ],
)
def test_unusual_geometries_are_built_exactly_as_classic_built_them(
    geometry: dict[str, Any],
) -> None:
    regular = feature({"type": "Polygon", "coordinates": [SQUARE]}, {"n": 0})
    raw = collection(regular, feature(geometry, {"n": 1}), regular)
    assert assert_like_classic(raw) is not None
    assert uses_the_fast_path(raw)


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "LineString", "coordinates": [[0, 0]]},
        {"type": "LineString", "coordinates": [[0, 0], [1, 1, 1]]},
        {"type": "Point", "coordinates": [1]},
        {"type": "Point", "coordinates": [1, 2, 3, 4]},
        {"type": "Hexagon", "coordinates": [1, 2]},
        {"coordinates": [1, 2]},
        {"type": "Point"},
        {"type": "LineString", "coordinates": [[1, 2], "a"]},
        ["not", "a", "geometry"],
        {"type": "Point", "coordinates": [int("9" * 400), 1]},
    ],
    ids=[
        "line of one",
        "line of mixed dimensions",
        "point of one number",
        "point of four numbers",
        "unknown type",
        "no type",
        "no coordinates",
        "string coordinate",
        "list geometry",
        "integer beyond float",
    ],
)
def test_geometries_classic_refused_raise_the_classic_error(geometry: Any) -> None:
    raw = collection(feature({"type": "Point", "coordinates": [0, 0]}), feature(geometry))
    # assert_like_classic gives None when classic raised and we raised the same error.
    assert assert_like_classic(raw) is None


def test_members_after_the_coordinates_do_not_disturb_the_cut() -> None:
    # Brackets after the array, before the geometry closes: in "bbox" and in a string.
    raw = (
        b'{"type": "FeatureCollection", "features": ['
        b'{"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Polygon",'
        b' "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]], "bbox": [0, 0, 1, 1]}},'
        b'{"type": "Feature", "properties": {"n": 2}, "geometry": {"coordinates": [5, 6],'
        b' "type": "Point", "note": "a ] in a string"}}]}'
    )
    assert assert_like_classic(raw) is not None
    assert uses_the_fast_path(raw)


@pytest.mark.parametrize(
    "coordinates",
    [b"[1];[2]", b"[1;2]", b"[01,1]", b"[1.,1]", b"[.5,1]", b"[+1,1]", b"[-.5,1]", b"[1.e5,1]",
     b"[1 2]", b"[- 1,1]",
     b"[1e,1]", b"[--1,1]", b"[1,,2]", b"[1,]", b"[,1]", b"[[1,2]", b"[1,2]]", b"[1,2] [3]",
     b"[1,2][3]", b"[1[2]]"],
)  # fmt: skip
def test_invalid_json_raises_the_same_decode_error_as_classic(coordinates: bytes) -> None:
    raw = collection(feature({"type": "Point", "coordinates": "HERE"}))
    raw = raw.replace(b'"HERE"', coordinates)
    with pytest.raises(json.JSONDecodeError) as classic_error:
        classic(raw)
    with pytest.raises(json.JSONDecodeError) as our_error:
        feature_collection_to_geodataframe(raw)
    assert str(our_error.value) == str(classic_error.value)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([feature({"type": "Point", "coordinates": [1, 2]}, {"x": 1})]).encode(),
        b'{"type": "Feature", "geometry": null, "properties": {}}',
        b"{}",
        collection(feature({"type": "Point", "coordinates": [1, 2]}, {"coordinates": [1, 2]})),
        collection(feature({"type": "Point", "coordinates": [1, 2]}, {"geometry": "x"})),
        collection(
            feature(
                {"type": "Point", "coordinates": [1, 2]},
                {"x": 1},
                centroid={"type": "Point", "coordinates": [3, 4]},
            )
        ),
        collection(feature({"type": "Point", "coordinates": [1, 2]}, [["a", 1]])),
        collection({"type": "Feature", "properties": {"a": 1}}),
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
        b'{"type":"Point","coordinates":[1,2],"coordinates":[3,4]},"properties":{}}]}',
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
        b'{"type":"Point","coordinates":[1,2]},"properties":{"a\\"coordinates":[5]}}]}',
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
        b'{"type":"Point","\\u0063oordinates":[1,2]},"properties":{}}]}',
        API_EXAMPLE.decode().encode("utf-16"),
    ],
    ids=[
        "list of features",
        "single feature",
        "empty object",
        "coordinates in properties",
        "property named geometry",
        "foreign member with coordinates",
        "properties as pairs",
        "feature without geometry",
        "duplicate coordinates key",
        "key ending in an escaped quote",
        "escaped coordinates key",
        "utf-16",
    ],
)
def test_unusual_documents_get_exactly_what_classic_gave(raw: bytes) -> None:
    assert_like_classic(raw)


def test_the_garbage_collector_is_left_as_it_was() -> None:
    feature_collection_to_geodataframe(API_EXAMPLE)
    assert gc.isenabled()
    gc.disable()
    try:
        feature_collection_to_geodataframe(API_EXAMPLE)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_garbage_collector_is_restored_when_parsing_fails() -> None:
    with pytest.raises(ValueError):
        feature_collection_to_geodataframe(b'{"type": "FeatureCollection", "features": [')
    assert gc.isenabled()


# Random collections: every geometry kind, 2D and 3D, nulls, odd numbers and properties.
def _geometry_of(kind: str) -> Any:
    return lambda coordinates: {"type": kind, "coordinates": coordinates}


_numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _geometries(dims: int) -> st.SearchStrategy[Any]:
    """Geometries whose coordinates all have ``dims`` numbers (rings closed, mostly)."""
    coordinate = st.lists(_numbers, min_size=dims, max_size=dims)
    line = st.lists(coordinate, min_size=2, max_size=6)
    ring = line.map(lambda points: [*points, points[0]] if len(points) > 2 else points)
    return st.one_of(
        coordinate.map(_geometry_of("Point")),
        line.map(_geometry_of("LineString")),
        st.lists(coordinate, min_size=1, max_size=4).map(_geometry_of("MultiPoint")),
        st.lists(ring, min_size=1, max_size=3).map(_geometry_of("Polygon")),
        st.lists(line, min_size=1, max_size=3).map(_geometry_of("MultiLineString")),
        st.lists(st.lists(ring, min_size=1, max_size=2), min_size=1, max_size=3).map(
            _geometry_of("MultiPolygon")
        ),
    )


_geometry = st.one_of(st.none(), st.sampled_from([2, 3]).flatmap(_geometries))
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_properties = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["uid", "a", "b", "nested", "geometry"]), _value, max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    features=st.lists(st.tuples(_geometry, _properties), max_size=8),
    indent=st.sampled_from([None, 1]),
)
def test_random_collections_give_exactly_what_classic_gave(
    features: list[tuple[Any, Any]], indent: int | None
) -> None:
    raw = json.dumps(
        {"type": "FeatureCollection", "features": [feature(g, p) for g, p in features]},
        indent=indent,
    ).encode()
    assert_like_classic(raw)


@pytest.mark.parametrize(
    "value",
    [b"NaN", b"-Infinity", b"1e400", b'"\\ud800"', b"123456789012345678901234567890", b"-0"],
)
def test_property_values_msgspec_refuses_or_reads_alike_still_match_classic(value: bytes) -> None:
    """msgspec parses the properties; where it would differ from json.loads, json.loads does."""
    raw = (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        b'{"type": "Point", "coordinates": [13.4, 52.5]}, "properties": {"v": ' + value + b"}}]}"
    )
    assert assert_like_classic(raw) is not None
    assert uses_the_fast_path(raw)


def test_irregular_arrays_with_empty_or_deep_nesting_do_not_disturb_their_neighbours() -> None:
    ring = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    open_ring = [[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 6.5]]
    irregular = [
        {"type": "Polygon", "coordinates": [[[[[[1.0, 2.0]]]]]]},  # numbers too deep
        {"type": "MultiPolygon", "coordinates": [[[[[[[1.0, 2.0]]]]]]]},
        {"type": "MultiPolygon", "coordinates": [[ring, []], [[], ring]]},  # empty arrays
        {"type": "Polygon", "coordinates": [ring, [[]], ring]},
        {"type": "LineString", "coordinates": [[1.0, 2.0], [[3.0, 4.0]]]},
        {"type": "Point", "coordinates": []},
    ]
    regular = [
        {"type": "Polygon", "coordinates": [open_ring]},
        {"type": "Polygon", "coordinates": [ring, ring]},
        {"type": "MultiPolygon", "coordinates": [[ring], [ring, ring]]},
    ]
    for neighbour, geometry in itertools.product(irregular, regular):
        assert_like_classic(collection(feature(geometry), feature(neighbour), feature(geometry)))
