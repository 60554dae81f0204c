"""The GeoDataFrame benchmark runs end to end on a small collection (rows checked, timings not)."""

from __future__ import annotations

import json

import geopandas
import pytest
from geopandas.testing import assert_geodataframe_equal

from benchmarks import bench_dataframe
from up42_facade._results import feature_collection_to_geodataframe

pytestmark = pytest.mark.slow


def test_the_dataframe_benchmark_gives_a_sane_row() -> None:
    rows = bench_dataframe.run(features=200, runs=1)
    assert len(rows) == 1
    row = rows[0]
    assert {"what", "baseline_s", "ours_s", "ratio", "baseline_rss_mb", "ours_rss_mb"} <= set(row)
    # The harness matches its goal ("speed-up >= 4x") on this word.
    assert "GeoDataFrame" in row["what"]
    assert "200" in row["what"]
    assert row["baseline_s"] > 0
    assert row["ours_s"] > 0
    assert row["ratio"] == pytest.approx(row["baseline_s"] / row["ours_s"])
    assert len(row["baseline_runs_s"]) == len(row["ours_runs_s"]) == 1
    # Real, small processes were measured (libraries and a small document), not this one.
    assert 20 < row["baseline_rss_mb"] < 1000
    assert 20 < row["ours_rss_mb"] < 1000


def test_the_benchmark_document_is_what_the_api_sends_and_converts_like_classic() -> None:
    raw = bench_dataframe.make_collection(50, seed=1)
    assert raw == bench_dataframe.make_collection(50, seed=1)  # seeded: every run the same
    document = json.loads(raw)
    assert document["type"] == "FeatureCollection"
    first = document["features"][0]
    assert first["geometry"]["type"] == "Polygon"
    assert {"uid", "acquisition", "identification", "up42.data_path"} <= set(first["properties"])
    ours = feature_collection_to_geodataframe(raw)
    theirs = geopandas.GeoDataFrame.from_features(document, crs="EPSG:4326")
    assert_geodataframe_equal(ours, theirs)
