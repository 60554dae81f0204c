"""Importing up42_facade loads no heavy library: geopandas, matplotlib & co. load on use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import bench_import

HEAVY = ("geopandas", "pandas", "shapely", "pyogrio", "matplotlib", "folium", "rasterio", "numpy")


def heavy_modules_after(statement: str) -> list[str]:
    """The heavy top-level modules a fresh interpreter holds after ``statement``."""
    code = (
        f"import json, sys\n{statement}\n"
        f"loaded = {{name.split('.')[0] for name in sys.modules}}\n"
        f"print(json.dumps(sorted(loaded & {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import up42_facade",
        "import up42_facade._results",
        "import up42_facade._viz",
        "from up42_facade import Job, JobTask",
    ],
)
def test_importing_the_facade_loads_no_heavy_library(statement: str) -> None:
    assert heavy_modules_after(statement) == []


def test_the_heavy_libraries_load_on_first_use() -> None:
    statement = (
        "from up42_facade._results import feature_collection_to_geodataframe\n"
        'feature_collection_to_geodataframe(b\'{"type": "FeatureCollection", "features": []}\')'
    )
    assert {"geopandas", "pandas", "shapely", "numpy"} <= set(heavy_modules_after(statement))


def test_the_import_benchmark_gives_a_sane_row() -> None:
    rows = bench_import.run(runs=1)
    assert len(rows) == 1
    row = rows[0]
    assert {"what", "baseline_s", "ours_s", "ratio", "baseline_rss_mb", "ours_rss_mb"} <= set(row)
    assert "import" in row["what"]
    assert row["baseline_s"] > 0
    assert row["ours_s"] > 0
    assert row["ratio"] == pytest.approx(row["ours_s"] / row["baseline_s"])
    assert row["difference_ms"] == pytest.approx((row["ours_s"] - row["baseline_s"]) * 1000)
    # Real, small interpreters were measured, not this test process.
    assert 5 < row["baseline_rss_mb"] < 500
    assert 5 < row["ours_rss_mb"] < 500
