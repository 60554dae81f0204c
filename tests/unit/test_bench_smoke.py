"""`make bench` cannot rot: the whole harness runs with tiny sizes (no timings asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_api

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_benchmarks_produce_a_row_per_comparison() -> None:
    rows = bench_api.run(tasks=3, latency=0.001, info_calls=5, runs=1)
    assert [row["what"] for row in rows] == [
        "get_logs of 3 tasks, 1 ms each",
        "5 job.info calls",
    ]
    for row in rows:
        assert float(row["baseline_s"]) > 0 and float(row["ours_s"]) > 0
        assert float(row["ours_rss_mb"]) > 10  # a real Python process was measured


def test_the_harness_prints_one_table_with_every_benchmark() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke"],
        capture_output=True, text=True, timeout=240, cwd=ROOT, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    table = finished.stdout
    for part in ("download", "aria2c", "resume", "get_logs", "job.info", "GeoDataFrame", "import"):
        assert part in table, part
