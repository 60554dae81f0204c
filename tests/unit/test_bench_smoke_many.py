"""The many-jobs benchmark rows run end to end with tiny sizes (rows checked, timings not)."""

from __future__ import annotations

import pytest

from benchmarks import bench_many
from benchmarks.__main__ import _goal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return bench_many.run(runs=1, collection_jobs=3, latency=0.001, tracked_jobs=5, run_seconds=0.5)


def test_a_row_for_the_collection_download_and_one_for_tracking(
    rows: list[dict[str, object]],
) -> None:
    assert rows[0]["what"] == (
        "JobCollection.download_results of 3 finished jobs, 1 ms API latency"
    )
    assert str(rows[1]["what"]).startswith("5 jobs tracked to the end at 20 requests/s (")
    assert rows[0]["baseline"] == "classic SDK get_jobs + JobCollection.download_results"
    assert [_goal(row)[0] for row in rows] == ["speed-up >= 5x", "time ratio <= 1.25, 429s <= 2%"]


def test_each_row_measured_real_processes(rows: list[dict[str, object]]) -> None:
    download, tracking = rows
    assert download["ratio"] == pytest.approx(download["baseline_s"] / download["ours_s"])
    assert 10 < float(download["baseline_rss_mb"]) < 1000
    assert 10 < float(download["ours_rss_mb"]) < 1000
    assert tracking["ratio"] == pytest.approx(tracking["ours_s"] / tracking["baseline_s"])
    assert 0.0 <= float(tracking["refused_share"]) <= 1.0
    assert float(tracking["ours_s"]) > 0 and 10 < float(tracking["ours_rss_mb"]) < 1000
