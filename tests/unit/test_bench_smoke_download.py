"""The download benchmark runs end to end on a tiny archive (rows checked, timings not)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import bench_download

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("curl") is None or shutil.which("tar") is None,
        reason="the download benchmark compares against curl and tar",
    ),
]


def test_the_download_benchmark_gives_a_sane_row_per_comparison() -> None:
    rows = bench_download.run(size_mb=1, runs=1)
    assert [row["what"] for row in rows] == [
        "download of a 1 MiB archive",
        "download and unpack of a 1 MiB archive",
    ]
    for row in rows:
        assert {"what", "baseline_s", "ours_s", "ratio", "baseline_rss_mb", "ours_rss_mb"} <= set(
            row
        )
        assert row["baseline_s"] > 0 and row["ours_s"] > 0
        assert row["ratio"] == pytest.approx(row["ours_s"] / row["baseline_s"])
        assert row["ours_process_s"] >= row["ours_s"]
        # A real Python process was measured, and a small one: not the benchmark's own RSS.
        assert 10 < row["ours_rss_mb"] < 150
        assert row["baseline_rss_mb"] > 0
